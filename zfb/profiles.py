"""Poverty profiles: groups of households that are poor in the same way.

:func:`profile_features` turns a canonical households table
(``docs/data-model.md``) into numbers: its causes one-hot (every primary
category, and the secondary causes frequent enough to matter) and its
numeric traits. :class:`PovertyProfiles` clusters them, a scikit-learn
estimator that chooses the number of clusters by the silhouette, and
:func:`describe_profiles` says what each cluster is in words, from the
causes and traits that set it apart ("illness with no working-age adult").
:func:`profile_stability` refits with other seeds and reports how much the
clusters move (adjusted Rand index).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._causes import split_codes
from .errors import ConfigError, Problem, ValidationError
from .taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "PovertyProfiles",
    "Stability",
    "describe_profiles",
    "plot_profiles",
    "profile_features",
    "profile_stability",
]

logger = logging.getLogger(__name__)

Method = Literal["auto", "kmeans", "minibatch", "hdbscan"]

# above this many households "auto" uses MiniBatchKMeans
_MINIBATCH_FROM = 20000
# the number of clusters is chosen on at most this many households
_SELECT_SIZE = 20000

# numeric traits: (feature name, how it is built)
_TRAITS = (
    "size",
    "log_income",
    "labour_count",
    "children_in_school",
    "elderly_count",
    "members_ill",
    "members_disabled",
    "land_per_person",
    "space_per_person",
    "unsafe_housing",
    "has_debt",
    "log_debt",
)

# words for traits that set a cluster apart: (feature, direction) -> (en, zh)
_TRAIT_WORDS: dict[tuple[str, int], tuple[str, str]] = {
    ("size", 1): ("large households", "人口多"),
    ("size", -1): ("small households", "人口少"),
    ("log_income", 1): ("higher incomes", "收入较高"),
    ("log_income", -1): ("the lowest incomes", "收入最低"),
    ("labour_count", 1): ("several working adults", "劳动力较多"),
    ("labour_count", -1): ("few working-age adults", "劳动力少"),
    ("children_in_school", 1): ("children in school", "有在校子女"),
    ("elderly_count", 1): ("elderly members", "有老人"),
    ("members_ill", 1): ("ill members", "有患病成员"),
    ("members_disabled", 1): ("disabled members", "有残疾成员"),
    ("land_per_person", 1): ("more land", "耕地较多"),
    ("land_per_person", -1): ("little land", "耕地少"),
    ("space_per_person", -1): ("cramped housing", "住房狭小"),
    ("unsafe_housing", 1): ("unsafe housing", "住房不安全"),
    ("has_debt", 1): ("debt", "有负债"),
    ("log_debt", 1): ("heavy debt", "负债重"),
}
# a trait is named when the cluster mean is this many county sd away
_TRAIT_Z = 0.6
# a cause is named when its share in the cluster exceeds the county's by this
_CAUSE_LIFT = 0.15


# ---------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------
def _numeric(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series(np.nan, index=table.index)
    col = table[column]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)
        return pd.Series(values, index=table.index)
    return pd.to_numeric(col.astype("object"), errors="coerce").astype(float)


def profile_features(
    households: pd.DataFrame,
    *,
    secondary_min_share: float = 0.02,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Numbers that describe each household, for clustering.

    Parameters
    ----------
    households : DataFrame
        Canonical households table; ``causes`` is required, ``size`` and
        ``income_per_capita`` and the optional traits are used when present.
    secondary_min_share : float, default=0.02
        A secondary cause gets its own column when at least this share of
        households lists it.
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`: gives the primary categories.

    Returns
    -------
    DataFrame of shape (n_households, n_features)
        Same index as ``households``; all columns float. First one column
        per primary category, ``primary:ILL`` ..., 1 when the household
        lists that category or any of its secondaries; then ``cause:<code>``
        for each frequent secondary cause, in taxonomy order; then the
        numeric traits present in the table: ``size``, ``log_income``
        (``log(1 + income_per_capita)``), ``labour_count``,
        ``children_in_school``, ``elderly_count``, ``members_ill``,
        ``members_disabled``, ``land_per_person`` (mu), ``space_per_person``
        (m²), ``unsafe_housing`` and ``has_debt`` (0/1), ``log_debt``
        (``log(1 + debt_amount)``). Missing trait values are filled with the
        trait's median (0 when every value is missing).

    Raises
    ------
    ValidationError
        If ``causes`` is missing.
    ConfigError
        If ``secondary_min_share`` is not in [0, 1].

    Notes
    -----
    The traits are not scaled here: :class:`PovertyProfiles` standardises
    the columns that are not 0/1 when it fits, so that features built for a
    new table keep the meaning they had for the training one.
    """
    if "causes" not in households.columns:
        raise ValidationError(
            [Problem("<households>", None, "causes", "", "required column is missing")]
        )
    if not 0 <= secondary_min_share <= 1:
        raise ConfigError(
            f"secondary_min_share must be between 0 and 1; got {secondary_min_share}"
        )
    tax = taxonomy or load_taxonomy()

    # causes, one row per (household, code)
    pairs = split_codes(households["causes"])
    rows = pairs["row"].to_numpy()
    cid, ucodes = pd.factorize(pairs["code"])
    uprim = np.array([str(c).split(".")[0] for c in ucodes], dtype=object)
    n = len(households)
    out: dict[str, np.ndarray] = {}
    for p in tax.primaries:
        col = np.zeros(n)
        col[rows[np.isin(cid, np.flatnonzero(uprim == p))]] = 1.0
        out[f"primary:{p}"] = col
    counts = np.bincount(cid, minlength=len(ucodes))
    where = {c: i for i, c in enumerate(ucodes)}
    for code in tax.secondaries:
        i = where.get(code)
        if i is not None and counts[i] >= max(secondary_min_share * n, 1):
            col = np.zeros(n)
            col[rows[cid == i]] = 1.0
            out[f"cause:{code}"] = col

    # traits
    size = _numeric(households, "size")
    traits = {
        "size": size,
        "log_income": np.log1p(_numeric(households, "income_per_capita").clip(lower=0)),
        "labour_count": _numeric(households, "labour_count"),
        "children_in_school": _numeric(households, "children_in_school"),
        "elderly_count": _numeric(households, "elderly_count"),
        "members_ill": _numeric(households, "members_ill"),
        "members_disabled": _numeric(households, "members_disabled"),
        "land_per_person": _numeric(households, "arable_land_mu") / size,
        "space_per_person": _numeric(households, "living_space_m2") / size,
        "unsafe_housing": _numeric(households, "unsafe_housing"),
        "has_debt": _numeric(households, "has_debt"),
        "log_debt": np.log1p(_numeric(households, "debt_amount").clip(lower=0)),
    }
    for name in _TRAITS:
        values = traits[name].replace([np.inf, -np.inf], np.nan)
        if values.isna().all():
            continue
        out[name] = values.fillna(values.median()).to_numpy(dtype=float)
    return pd.DataFrame(out, index=households.index)


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------
def _binary_columns(X: np.ndarray) -> np.ndarray:
    return ((X == 0) | (X == 1)).all(axis=0)


class PovertyProfiles(ClusterMixin, BaseEstimator):
    """Cluster households into poverty profiles.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of clusters, or ``"auto"`` to choose it in ``k_range`` by the
        mean silhouette (see Notes). Ignored by ``"hdbscan"``.
    method : {"auto", "kmeans", "minibatch", "hdbscan"}, default="auto"
        :class:`~sklearn.cluster.KMeans`,
        :class:`~sklearn.cluster.MiniBatchKMeans` or the density-based
        :class:`~sklearn.cluster.HDBSCAN`; ``"auto"`` takes KMeans up to
        20,000 households and MiniBatchKMeans above.
    k_range : tuple of int, default=(2, 10)
        Smallest and largest number of clusters tried by ``"auto"``.
    scale : bool, default=True
        Standardise the columns that are not 0/1 (mean 0, standard
        deviation 1) before clustering; 0/1 columns are kept as they are.
    sample_size : int, default=3000
        Households on which the silhouette is computed (a random sample),
        and on which HDBSCAN is fitted.
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster; default 1 % of the households it is
        fitted on, at least 5.
    random_state : int, RandomState or None, default=None
        Seed of the clustering and of the samples.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training household, 0 to ``n_clusters_ - 1``
        (HDBSCAN marks households in no dense cluster with -1).
    n_clusters_ : int
        Number of clusters found.
    cluster_centers_ : ndarray of shape (n_clusters_, n_features)
        Mean of each cluster's households, in the units of ``X``.
    silhouette_ : float
        Mean silhouette of the clustering on the sample (NaN when it cannot
        be computed: one cluster, or as many clusters as households).
    silhouette_scores_ : dict of int to float
        With ``n_clusters="auto"``: the silhouette of each number tried.
    method_ : str
        The method used.
    mean_, scale_ : ndarray of shape (n_features,)
        Centre and scale applied to each column (0 and 1 for 0/1 columns
        and when ``scale=False``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when ``X`` is a DataFrame with string names.

    Notes
    -----
    **Number of clusters.** With ``"auto"``, each ``k`` in ``k_range`` is
    fitted and the one with the largest mean silhouette [1]_ wins; the
    silhouettes are computed on one random sample of ``sample_size``
    households, the same for every ``k`` (its distance matrix takes
    ``8 sample_size**2`` bytes, 72 MB for 3,000). On more than 20,000
    households the choice is made on a random sample of 20,000 and the
    chosen ``k`` is then fitted on all.

    **Prediction.** KMeans and MiniBatchKMeans assign the nearest centre.
    HDBSCAN [2]_ has no prediction of its own: :meth:`predict` assigns the
    nearest cluster centre, so a household HDBSCAN left as noise (-1) in
    ``labels_`` gets a cluster from :meth:`predict`. HDBSCAN is fitted on
    at most ``sample_size`` households; the others are assigned to the
    nearest centre.

    KMeans costs O(n k d) per iteration; ``"auto"`` fits up to nine
    numbers of clusters, so it takes several times one fit.

    References
    ----------
    .. [1] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the
       interpretation and validation of cluster analysis. *Journal of
       Computational and Applied Mathematics* 20, 53-65.
    .. [2] Campello, R. J. G. B., Moulavi, D. and Sander, J. (2013).
       Density-based clustering based on hierarchical density estimates.
       *PAKDD 2013*, 160-172.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> X, _ = make_blobs(300, centers=4, random_state=0)
    >>> PovertyProfiles(random_state=0).fit(X).n_clusters_
    4
    """

    def __init__(
        self,
        n_clusters: int | Literal["auto"] = "auto",
        method: Method = "auto",
        *,
        k_range: tuple[int, int] = (2, 10),
        scale: bool = True,
        sample_size: int = 3000,
        min_cluster_size: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.k_range = k_range
        self.scale = scale
        self.sample_size = sample_size
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state

    # checks
    def _check_params(self) -> None:
        if self.method not in ("auto", "kmeans", "minibatch", "hdbscan"):
            raise ConfigError(
                "method must be 'auto', 'kmeans', 'minibatch' or 'hdbscan'; got "
                f"{self.method!r}"
            )
        if not (
            self.n_clusters == "auto"
            or (isinstance(self.n_clusters, int | np.integer) and self.n_clusters >= 1)
        ):
            raise ConfigError(
                "n_clusters must be 'auto' or an int of 1 or more; got "
                f"{self.n_clusters!r}"
            )
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ConfigError(
                f"k_range must be (low, high) with 2 <= low <= high; got {self.k_range}"
            )
        if self.sample_size < 2:
            raise ConfigError(f"sample_size must be 2 or more; got {self.sample_size}")

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) / self.scale_

    def _kmeans(self, k: int, method: str, seed: int) -> KMeans | MiniBatchKMeans:
        if method == "minibatch":
            return MiniBatchKMeans(k, n_init=3, batch_size=4096, random_state=seed)
        return KMeans(k, n_init=4, random_state=seed)

    @staticmethod
    def _silhouette(D: np.ndarray, labels: np.ndarray) -> float:
        """Mean silhouette from the distances ``D`` of the sampled households.

        Households labelled -1 (noise) are left out.
        """
        keep = labels >= 0
        if not keep.all():
            labels, D = labels[keep], D[np.ix_(keep, keep)]
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= len(labels):
            return float("nan")
        return float(silhouette_score(D, labels, metric="precomputed"))

    # fit
    def fit(self, X: Any, y: Any = None) -> PovertyProfiles:
        """Cluster the households of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            For example :func:`profile_features`; no missing values.
        y : ignored

        Returns
        -------
        PovertyProfiles
            Fitted.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        n = len(X)

        # scaling
        self.mean_ = np.zeros(X.shape[1])
        self.scale_ = np.ones(X.shape[1])
        if self.scale:
            cont = ~_binary_columns(X)
            self.mean_[cont] = X[:, cont].mean(axis=0)
            sd = X[:, cont].std(axis=0)
            self.scale_[cont] = np.where(sd > 0, sd, 1.0)
        Z = self._transform(X)

        method = self.method
        if method == "auto":
            method = "minibatch" if n > _MINIBATCH_FROM else "kmeans"
        self.method_ = method
        self.silhouette_scores_ = {}

        # one sample, and its distances, for every silhouette
        size = min(self.sample_size, n)
        sil_rows = np.sort(rng.choice(n, size, replace=False))
        D = pairwise_distances(Z[sil_rows])

        if method == "hdbscan":
            self._fit_hdbscan(Z, rng, seed)
        else:
            self._fit_kmeans(Z, method, rng, seed, sil_rows, D)
        self.n_clusters_ = len(self.cluster_centers_)
        self.silhouette_ = self._silhouette(D, self.labels_[sil_rows])
        logger.debug(
            "PovertyProfiles: %d households, %s, %d clusters, silhouette %.3f",
            n,
            method,
            self.n_clusters_,
            self.silhouette_,
        )
        return self

    def _fit_kmeans(
        self,
        Z: np.ndarray,
        method: str,
        rng: Any,
        seed: int,
        sil_rows: np.ndarray,
        D: np.ndarray,
    ) -> None:
        n = len(Z)
        if self.n_clusters == "auto":
            lo, hi = self.k_range
            ks = [k for k in range(lo, hi + 1) if k < n] or [min(lo, n)]
            if n > _SELECT_SIZE:
                pick = np.sort(rng.choice(n, _SELECT_SIZE, replace=False))
            else:
                pick = np.arange(n)
            fitted = {}
            for k in ks:
                model = self._kmeans(k, method, seed).fit(Z[pick])
                fitted[k] = model
                self.silhouette_scores_[k] = self._silhouette(
                    D, model.predict(Z[sil_rows])
                )
            scores = {
                k: s for k, s in self.silhouette_scores_.items() if np.isfinite(s)
            }
            k = max(scores, key=scores.get) if scores else ks[0]
            model = (
                fitted[k] if len(pick) == n else self._kmeans(k, method, seed).fit(Z)
            )
        else:
            k = min(int(self.n_clusters), n)
            model = self._kmeans(k, method, seed).fit(Z)
        self._model = model
        self.labels_ = model.predict(Z).astype(np.int64)
        self._centers_z = model.cluster_centers_
        self.cluster_centers_ = model.cluster_centers_ * self.scale_ + self.mean_

    def _fit_hdbscan(self, Z: np.ndarray, rng: Any, seed: int) -> None:
        n = len(Z)
        size = min(self.sample_size, n)
        pick = np.sort(rng.choice(n, size, replace=False)) if size < n else np.arange(n)
        min_size = self.min_cluster_size or max(5, size // 100)
        model = HDBSCAN(min_cluster_size=min(min_size, size), copy=True).fit(Z[pick])
        found = model.labels_
        kept = np.unique(found[found >= 0])
        if len(kept) == 0:
            # everything is noise: one cluster of all
            centers = Z.mean(axis=0, keepdims=True)
            found = np.zeros(size, dtype=np.int64)
        else:
            centers = np.vstack([Z[pick][found == c].mean(axis=0) for c in kept])
        self._model = model
        self._centers_z = centers
        labels = self._nearest(Z)
        labels[pick] = found
        self.labels_ = labels.astype(np.int64)
        self.cluster_centers_ = centers * self.scale_ + self.mean_

    def _nearest(self, Z: np.ndarray) -> np.ndarray:
        d = (
            (Z**2).sum(axis=1)[:, None]
            - 2 * Z @ self._centers_z.T
            + (self._centers_z**2).sum(axis=1)[None, :]
        )
        return d.argmin(axis=1).astype(np.int64)

    def predict(self, X: Any) -> np.ndarray:
        """Profile of each household: the nearest cluster centre.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        check_is_fitted(self, "cluster_centers_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = self._transform(X)
        if self.method_ == "hdbscan":
            return self._nearest(Z)
        return self._model.predict(Z).astype(np.int64)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit and return ``labels_``.

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self.fit(X).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


# ---------------------------------------------------------------------------
# stability
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Stability:
    """How much a clustering changes with the seed.

    Attributes
    ----------
    matrix : DataFrame
        Adjusted Rand index of every pair of seeds (index and columns the
        seeds; 1 on the diagonal).
    mean, min : float
        Mean and smallest ARI over the pairs of different seeds.
    n_clusters : Series of int
        Number of clusters found with each seed.
    """

    matrix: pd.DataFrame
    mean: float
    min: float
    n_clusters: pd.Series


def profile_stability(
    model: PovertyProfiles,
    X: Any,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> Stability:
    """Refit ``model`` with each seed and compare the clusterings.

    Parameters
    ----------
    model : PovertyProfiles
        Unfitted or fitted; cloned for each seed (its ``random_state`` is
        replaced).
    X : array-like or DataFrame of shape (n_samples, n_features)
    seeds : sequence of int, default=(0, 1, 2, 3, 4)
        At least two.

    Returns
    -------
    Stability
        The adjusted Rand index [1]_ of every pair: 1 means the same
        partition, 0 what chance would give. Above about 0.8, the profiles
        can be read as features of the data rather than of the seed.

    References
    ----------
    .. [1] Hubert, L. and Arabie, P. (1985). Comparing partitions. *Journal
       of Classification* 2(1), 193-218.
    """
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ConfigError(f"profile_stability needs at least two seeds; got {seeds}")
    labels = {}
    for s in seeds:
        labels[s] = clone(model).set_params(random_state=s).fit_predict(X)
    m = np.ones((len(seeds), len(seeds)))
    for i, a in enumerate(seeds):
        for j in range(i + 1, len(seeds)):
            b = seeds[j]
            m[i, j] = m[j, i] = adjusted_rand_score(labels[a], labels[b])
    off = m[~np.eye(len(seeds), dtype=bool)]
    return Stability(
        matrix=pd.DataFrame(m, index=seeds, columns=seeds),
        mean=float(off.mean()),
        min=float(off.min()),
        n_clusters=pd.Series(
            {s: int(len(np.unique(v[v >= 0]))) for s, v in labels.items()},
            name="n_clusters",
        ),
    )


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------
def _cause_name(column: str, tax: Taxonomy) -> tuple[str, str]:
    code = column.split(":", 1)[1]
    if code in tax.causes.index:
        return str(tax.causes.at[code, "name_en"]), str(tax.causes.at[code, "name_zh"])
    return code, code


def describe_profiles(
    features: pd.DataFrame,
    labels: Any,
    *,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Say in words what sets each cluster apart.

    Parameters
    ----------
    features : DataFrame of shape (n_households, n_features)
        Output of :func:`profile_features` (its column names are read).
    labels : array-like of shape (n_households,)
        Cluster of each household, for example ``model.labels_``; -1 is
        noise.
    taxonomy : Taxonomy, optional
        For the names of the causes; default :func:`zfb.load_taxonomy`.

    Returns
    -------
    DataFrame
        One row per cluster, sorted by size (largest first), RangeIndex.
        Columns ``cluster`` (int), ``households`` (int), ``share`` (of all
        households), ``causes`` (codes of the causes that set it apart,
        joined by ``;``), ``description_en`` and ``description_zh`` (for
        example ``"kidney failure with few working-age adults"``), then the
        cluster mean of every trait column of ``features``.

    Notes
    -----
    A cause sets a cluster apart when the share of its households listing
    it is at least 15 percentage points above the share over all
    households; the two such causes with the largest excess are named (a
    secondary cause rather than its primary category when most of the
    cluster lists it). A trait sets it apart when its cluster mean is at
    least 0.6 standard deviations from the overall mean; the two farthest
    are named. ``labour_count`` below 0.2 on average reads "no working-age
    adult"; ``size`` below 1.3 "people living alone". A cluster with no
    such cause reads "mixed causes".
    """
    tax = taxonomy or load_taxonomy()
    labels = np.asarray(labels)
    if labels.shape != (len(features),):
        raise ConfigError(
            f"labels has {labels.size} values for {len(features)} households"
        )
    cause_cols = [c for c in features.columns if c.startswith(("primary:", "cause:"))]
    trait_cols = [c for c in features.columns if c not in cause_cols]
    values = features.to_numpy(dtype=float)
    overall = values.mean(axis=0)
    sd = values.std(axis=0)
    col = {c: i for i, c in enumerate(features.columns)}

    rows = []
    for cluster in np.unique(labels):
        mask = labels == cluster
        mean = values[mask].mean(axis=0)
        # causes
        lift = {c: mean[col[c]] - overall[col[c]] for c in cause_cols}
        chosen = [
            c
            for c in sorted(lift, key=lift.get, reverse=True)
            if lift[c] >= _CAUSE_LIFT
        ]
        picked: list[str] = []
        for c in chosen:
            code = c.split(":", 1)[1]
            prim = code.split(".")[0]
            if c.startswith("primary:"):
                # a secondary of it that most of the cluster lists says more
                subs = [s for s in chosen if s.startswith(f"cause:{prim}.")]
                if subs and mean[col[subs[0]]] >= 0.5:
                    continue
            elif f"primary:{prim}" in picked:
                continue
            picked.append(c)
            if len(picked) == 2:
                break
        # traits
        words: list[tuple[str, str]] = []
        said: set[str] = set()  # traits already in words of their own
        if "labour_count" in col and mean[col["labour_count"]] < 0.2:
            words.append(("no working-age adult", "无劳动力"))
            said.add("labour_count")
        if "size" in col and mean[col["size"]] < 1.3:
            words.append(("people living alone", "独居"))
            said.add("size")
        z = {
            t: (mean[col[t]] - overall[col[t]]) / sd[col[t]]
            for t in trait_cols
            if sd[col[t]] > 0 and t not in said
        }
        for t in sorted(z, key=lambda t: abs(z[t]), reverse=True):
            if len(words) >= 2 or abs(z[t]) < _TRAIT_Z:
                break
            word = _TRAIT_WORDS.get((t, int(np.sign(z[t]))))
            if word and word not in words:
                words.append(word)
        names = [_cause_name(c, tax) for c in picked]
        cause_en = " and ".join(n[0] for n in names) if names else "mixed causes"
        cause_zh = "、".join(n[1] for n in names) if names else "原因多样"
        if int(cluster) == -1:
            cause_en, cause_zh = "no dense profile (noise)", "无明显类型(噪声)"
        en = cause_en + (" with " + " and ".join(w for w, _ in words) if words else "")
        zh = cause_zh + ("，" + "、".join(w for _, w in words) if words else "")
        row = {
            "cluster": int(cluster),
            "households": int(mask.sum()),
            "share": float(mask.mean()),
            "causes": ";".join(c.split(":", 1)[1] for c in picked),
            "description_en": en,
            "description_zh": zh,
        }
        row.update({t: float(mean[col[t]]) for t in trait_cols})
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(
        ["households", "cluster"], ascending=[False, True]
    ).reset_index(drop=True)


def plot_profiles(
    description: pd.DataFrame,
    *,
    lang: Literal["zh", "en"] = "zh",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of the share of households in each profile.

    Parameters
    ----------
    description : DataFrame
        Output of :func:`describe_profiles`.
    lang : {"zh", "en"}, default="zh"
        Language of the descriptions used as labels.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    Axes
        One bar per profile in ``ax.containers[0]``, largest at the top, its
        width the share of households.
    """
    if lang not in ("zh", "en"):
        raise ConfigError(f"lang must be 'zh' or 'en'; got {lang!r}")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    from matplotlib.ticker import PercentFormatter

    from .plot import plain_texts, use_cjk_font

    fonts = [use_cjk_font(), "sans-serif"]
    data = description.sort_values("share", ascending=False)
    y = np.arange(len(data))
    kwargs.setdefault("color", "#8e44ad")
    ax.barh(y, data["share"].to_numpy(), **kwargs)
    ax.set_yticks(y, labels=plain_texts(data[f"description_{lang}"]))
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    label = {"zh": "户数占比", "en": "share of households"}[lang]
    ax.set_xlabel(label, fontfamily=fonts)
    ax.tick_params(labelfontfamily=fonts)
    return ax
