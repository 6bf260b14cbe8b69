"""Multidimensional poverty: the Alkire-Foster counting method.

A household is *deprived* in an indicator when it falls below that
indicator's cut-off; its *deprivation score* is the weighted share of
indicators in which it is deprived; it is *multidimensionally poor* when its
score reaches the poverty cut-off ``k``. From these, :func:`mpi` computes the
headcount ratio H, the intensity A and the adjusted headcount ratio
M0 = H x A, with the censored headcount of every indicator, each indicator's
contribution to M0 and, when asked, the decomposition by group (township,
village...), whose population-weighted sum gives back the total.

:func:`deprivations_from_households` builds a deprivation matrix from the
canonical households table (``docs/data-model.md``) with the cut-offs stated
in :data:`INDICATORS`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .errors import ConfigError, Problem, ValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "INDICATORS",
    "MPIResult",
    "deprivations_from_households",
    "mpi",
    "plot_mpi_by_group",
    "plot_mpi_contributions",
]

logger = logging.getLogger(__name__)

Missing = Literal["raise", "drop"]
Lang = Literal["zh", "en", "both"]

# scores within this distance below k still count as reaching k, so that
# weights such as 1/3 + 1/3 + 1/3 are not lost to rounding
_TOL = 1e-9


@dataclass(frozen=True)
class _Indicator:
    name_zh: str
    name_en: str
    rule: str


#: The indicators :func:`deprivations_from_households` can build, with the
#: rule each one applies (the cut-offs are its keyword arguments).
INDICATORS: dict[str, _Indicator] = {
    "income": _Indicator(
        "收入",
        "income",
        "income_per_capita is below income_line (CNY per person per year)",
    ),
    "schooling": _Indicator(
        "受教育程度",
        "schooling",
        "causes list LAB.ILLITERATE (an adult is illiterate or semi-literate)",
    ),
    "school_attendance": _Indicator(
        "适龄儿童就学",
        "school attendance",
        "causes list EDU.DROPOUT_RISK (a child is out of school or about to drop out)",
    ),
    "health": _Indicator(
        "健康",
        "health",
        "members_ill is 1 or more, or causes list an ILL cause",
    ),
    "disability": _Indicator(
        "残疾",
        "disability",
        "members_disabled is 1 or more, or causes list a DIS cause",
    ),
    "housing": _Indicator(
        "住房安全",
        "safe housing",
        "unsafe_housing is true, or causes list RES.UNSAFE_HOUSE, RES.NO_HOUSE "
        "or DST.HOUSE_DAMAGE",
    ),
    "water": _Indicator(
        "饮水安全",
        "safe drinking water",
        "causes list RES.UNSAFE_WATER or RES.WATER_FAR",
    ),
    "land": _Indicator(
        "耕地",
        "arable land",
        "arable_land_mu / size is below land_per_person (mu), or causes list "
        "RES.NO_LAND or RES.LITTLE_LAND",
    ),
    "labour": _Indicator(
        "劳动力",
        "labour",
        "labour_count is 0, or causes list LAB.NO_ADULT",
    ),
    "debt": _Indicator(
        "债务",
        "debt",
        "debt_amount is more than debt_to_income times the household's yearly "
        "income (income_per_capita x size), or causes list a CAP.DEBT_ cause",
    ),
}

# cause rules: (codes matched exactly, primary categories matched with all
# their secondaries, code prefixes)
_CAUSE_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "schooling": (("LAB.ILLITERATE",), (), ()),
    "school_attendance": (("EDU.DROPOUT_RISK",), (), ()),
    "health": ((), ("ILL",), ()),
    "disability": ((), ("DIS",), ()),
    "housing": (("RES.UNSAFE_HOUSE", "RES.NO_HOUSE", "DST.HOUSE_DAMAGE"), (), ()),
    "water": (("RES.UNSAFE_WATER", "RES.WATER_FAR"), (), ()),
    "land": (("RES.NO_LAND", "RES.LITTLE_LAND"), (), ()),
    "labour": (("LAB.NO_ADULT",), (), ()),
    "debt": ((), (), ("CAP.DEBT_",)),
}


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MPIResult:
    """The Alkire-Foster measures of one deprivation matrix.

    Attributes
    ----------
    k : float
        Poverty cut-off, a share of the total weight, in (0, 1].
    n : int
        Number of households (rows) measured.
    H : float
        Headcount ratio: share of households whose score reaches ``k``.
    A : float
        Intensity: mean score of the poor (0 when nobody is poor).
    M0 : float
        Adjusted headcount ratio, ``H * A``; also the mean censored score.
    indicators : DataFrame
        One row per indicator, indexed by indicator name, in input order;
        columns ``weight`` (normalised, sums to 1), ``uncensored_headcount``
        (share of all households deprived in it), ``censored_headcount``
        (share of all households both poor and deprived in it) and
        ``contribution`` (per cent of M0: ``weight * censored_headcount /
        M0 * 100``, summing to 100; NaN when M0 is 0).
    scores : Series
        Deprivation score of every household (0 to 1), on the input index.
    poor : Series of bool
        Whether each household is multidimensionally poor, on the input index.
    groups : DataFrame or None
        With ``by``: one row per group, indexed by the group value (index
        named after ``by``), in order of first appearance; columns ``n``
        (households), ``population_share`` (of the total, summing to 1),
        ``H``, ``A``, ``M0`` and ``contribution`` (per cent of the total
        M0: ``population_share * M0 / total M0 * 100``, summing to 100).
    group_headcounts : DataFrame or None
        With ``by``: censored headcount ratio of each indicator within each
        group; index as ``groups``, one column per indicator.
    """

    k: float
    n: int
    H: float
    A: float
    M0: float
    indicators: pd.DataFrame
    scores: pd.Series
    poor: pd.Series
    groups: pd.DataFrame | None = None
    group_headcounts: pd.DataFrame | None = None

    def summary(self) -> dict[str, float]:
        """The headline numbers: ``n``, ``k``, ``H``, ``A`` and ``M0``."""
        return {"n": self.n, "k": self.k, "H": self.H, "A": self.A, "M0": self.M0}


# ---------------------------------------------------------------------------
# private core on validated arrays
# ---------------------------------------------------------------------------
def _af_core(
    g: np.ndarray, w: np.ndarray, k: float, s: np.ndarray | None = None
) -> dict[str, Any]:
    """Alkire-Foster measures of a 0/1 matrix.

    Parameters
    ----------
    g : ndarray of shape (n, d), bool
        Deprivation matrix, ``g[i, j]`` true when household ``i`` is
        deprived in indicator ``j``.
    w : ndarray of shape (d,)
        Weights, positive, summing to 1.
    k : float
        Poverty cut-off in (0, 1].
    s : ndarray of shape (n,), optional
        Sample weights (default 1 for every household).

    Returns
    -------
    dict
        ``scores`` (n,), ``poor`` (n,), ``H``, ``A``, ``M0`` (float),
        ``uncensored`` and ``censored`` headcount ratios (d,).
    """
    scores = g @ w
    poor = scores >= k - _TOL
    s = np.ones(len(g)) if s is None else s
    total = s.sum()
    sp = s * poor
    H = sp.sum() / total
    M0 = (sp * scores).sum() / total
    A = M0 / H if H > 0 else 0.0
    uncensored = (s @ g) / total
    censored = (sp @ g) / total
    return {
        "scores": scores,
        "poor": poor,
        "H": float(H),
        "A": float(A),
        "M0": float(M0),
        "uncensored": uncensored,
        "censored": censored,
    }


def _af_groups(
    g: np.ndarray,
    scores: np.ndarray,
    poor: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    s: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """H, A, M0 and censored headcounts of each group, by ``np.bincount``.

    ``codes`` are the group numbers 0 to ``n_groups - 1`` of each row.
    """
    s = np.ones(len(g)) if s is None else s
    size = np.bincount(codes, weights=s, minlength=n_groups)
    n = np.bincount(codes, minlength=n_groups)
    sp = s * poor
    poor_w = np.bincount(codes, weights=sp, minlength=n_groups)
    m0_w = np.bincount(codes, weights=sp * scores, minlength=n_groups)
    H = poor_w / size
    M0 = m0_w / size
    A = np.divide(M0, H, out=np.zeros_like(M0), where=H > 0)
    censored = (
        np.column_stack(
            [
                np.bincount(codes, weights=sp * g[:, j], minlength=n_groups)
                for j in range(g.shape[1])
            ]
        )
        if g.shape[1]
        else np.zeros((n_groups, 0))
    )
    return {
        "n": n,
        "size": size,
        "H": H,
        "A": A,
        "M0": M0,
        "censored": censored / size[:, None],
    }


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
def _weights(
    weights: Mapping[str, float] | pd.Series | Sequence[float] | None,
    columns: list[str],
) -> pd.Series:
    if weights is None:
        if not columns:
            raise ValidationError(
                [Problem("<deprivations>", None, None, "", "no indicator column")]
            )
        return pd.Series(1.0 / len(columns), index=columns, dtype=float)
    if isinstance(weights, Mapping | pd.Series):
        w = pd.Series(dict(weights), dtype=float)
        missing = [c for c in w.index if c not in columns]
        if missing:
            raise ValidationError(
                Problem(
                    "<deprivations>", None, c, "", "weighted indicator is not a column"
                )
                for c in missing
            )
        extra = [c for c in columns if c not in w.index]
        if extra:
            raise ConfigError(
                f"columns {extra} of the deprivation matrix have no weight: give "
                "them one, or drop them from the matrix"
            )
    else:
        values = np.asarray(weights, dtype=float)
        if values.shape != (len(columns),):
            raise ConfigError(
                f"weights must have one value per indicator column ({len(columns)}); "
                f"got {values.size}"
            )
        w = pd.Series(values, index=columns)
    if not len(w):
        raise ConfigError("weights must name at least one indicator")
    if not np.isfinite(w.to_numpy()).all() or (w <= 0).any():
        raise ConfigError(
            f"weights must be positive finite numbers; got {w.to_dict()}: drop an "
            "indicator instead of giving it weight 0"
        )
    return w / w.sum()


def _matrix(
    deprivations: pd.DataFrame, columns: list[str], missing: Missing
) -> tuple[np.ndarray, np.ndarray]:
    """The 0/1 matrix as bool, and the mask of rows kept."""
    frame = deprivations[columns]
    na = frame.isna()
    keep = ~na.any(axis=1).to_numpy()
    if not keep.all() and missing == "raise":
        bad = [c for c in columns if na[c].any()]
        raise ValidationError(
            Problem(
                "<deprivations>",
                None,
                c,
                "NA",
                f"{int(na[c].sum())} missing value(s): fill them, or pass "
                "missing='drop' to measure only complete rows",
            )
            for c in bad
        )
    problems = []
    for c in columns:
        col = frame[c][keep]
        try:
            values = col.to_numpy(dtype=float)
        except (TypeError, ValueError):
            problems.append(
                Problem("<deprivations>", None, c, "", "must be 0/1 or bool")
            )
            continue
        odd = ~np.isin(values, (0.0, 1.0))
        if odd.any():
            value = str(col[odd].iloc[0])
            problems.append(
                Problem("<deprivations>", None, c, value, "must be 0/1 or bool")
            )
    if problems:
        raise ValidationError(problems)
    g = frame[keep].to_numpy(dtype=float) == 1.0
    return g, keep


def mpi(
    deprivations: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series | Sequence[float] | None = None,
    k: float = 1 / 3,
    by: str | pd.Series | Sequence[Any] | None = None,
    *,
    sample_weight: pd.Series | Sequence[float] | None = None,
    missing: Missing = "raise",
) -> MPIResult:
    """Alkire-Foster multidimensional poverty of a deprivation matrix.

    Parameters
    ----------
    deprivations : DataFrame of shape (n_households, n_indicators)
        One row per household, one column per indicator, 1 (or True) where
        the household is deprived, 0 (or False) where it is not. A column
        named by ``by`` is read as the group and is not an indicator.
    weights : mapping, Series or sequence of float, optional
        Weight of each indicator, positive; by name (every indicator column
        must have one) or in column order. Normalised to sum to 1. Default
        equal weights.
    k : float, default=1/3
        Poverty cut-off as a share of the total weight, in (0, 1]: a
        household is poor when its weighted share of deprivations is at
        least ``k`` (the global MPI uses 1/3). With ``d`` equally weighted
        indicators, "deprived in at least ``c`` of them" is ``k = c / d``;
        ``k`` equal to the smallest weight is the union approach, ``k = 1``
        the intersection approach.
    by : str, Series or sequence, optional
        Groups to decompose by: a column of ``deprivations`` (for example
        ``"township"``) or one value per row, in row order. Missing values
        form their own group.
    sample_weight : Series or sequence of float, optional
        Weight of each household (a survey's expansion factors); default 1.
    missing : {"raise", "drop"}, default="raise"
        What to do with rows where an indicator is missing: raise, or leave
        them out of every measure (the denominator included).

    Returns
    -------
    MPIResult
        ``H``, ``A``, ``M0``, the ``indicators`` table (weights, censored and
        uncensored headcounts, contributions in per cent), ``scores`` and
        ``poor`` per household and, with ``by``, the ``groups`` and
        ``group_headcounts`` tables. See :class:`MPIResult`.

    Raises
    ------
    ValidationError
        If an indicator column holds something other than 0/1 or bool, or
        is missing values while ``missing="raise"``, or a weighted name is
        not a column.
    ConfigError
        If ``k`` is outside (0, 1], a weight is not positive, a column has
        no weight, or ``by`` / ``sample_weight`` have the wrong length.

    Notes
    -----
    With normalised weights ``w`` and deprivation matrix ``g``, the score of
    household ``i`` is ``c_i = sum_j w_j g_ij``; it is poor when
    ``c_i >= k``. Then ``H = q / n`` (``q`` the number of poor),
    ``A = sum over the poor of c_i / q`` and ``M0 = H A``, which is also
    ``sum_j w_j h_j`` with ``h_j`` the censored headcount ratio of
    indicator ``j``. M0 is additively decomposable [1]_: with groups ``g``
    of population share ``n_g / n``, ``M0 = sum_g (n_g / n) M0_g``.

    Scores within 1e-9 below ``k`` count as reaching it, so that sums of
    weights such as thirds do not miss the cut-off by rounding. Only M0
    (alpha = 0) is computed: the indicators are 0/1, so the gap measures
    M1 and M2 of [1]_ do not apply. Standard errors are not computed.

    Runs in O(n d) time and memory; one million households with ten
    indicators take about a second.

    References
    ----------
    .. [1] Alkire, S. and Foster, J. (2011). Counting and multidimensional
       poverty measurement. *Journal of Public Economics* 95(7-8), 476-487.
    .. [2] Alkire, S., Foster, J. E., Seth, S., Santos, M. E., Roche, J. M.
       and Ballon, P. (2015). *Multidimensional Poverty Measurement and
       Analysis*, chapter 5. Oxford University Press.

    Examples
    --------
    The four households of [1]_ (section 2), deprived where their
    achievement is below z = (13, 12, 3, 1), with k = 2 of 4 indicators:

    >>> import pandas as pd
    >>> g = pd.DataFrame({"income": [0, 0, 1, 0], "schooling": [0, 1, 1, 1],
    ...                   "health": [0, 0, 1, 0], "insurance": [0, 1, 1, 0]})
    >>> r = mpi(g, k=2 / 4)
    >>> r.H, r.A, r.M0
    (0.5, 0.75, 0.375)
    """
    if not isinstance(deprivations, pd.DataFrame):
        raise ConfigError(
            f"deprivations must be a DataFrame; got {type(deprivations).__name__}"
        )
    if missing not in ("raise", "drop"):
        raise ConfigError(f"missing must be 'raise' or 'drop'; got {missing!r}")
    k = float(k)
    if not 0 < k <= 1:
        raise ConfigError(
            f"k must be a share of the total weight in (0, 1]; got {k}: for "
            "'deprived in c of d equally weighted indicators' pass c / d"
        )

    # groups, indicators, weights
    group_name: str | None = None
    if isinstance(by, str):
        if by not in deprivations.columns:
            raise ValidationError(
                [Problem("<deprivations>", None, by, "", "group column is missing")]
            )
        group_name, groups = by, deprivations[by]
        columns = [c for c in deprivations.columns if c != by]
    else:
        columns = list(deprivations.columns)
        groups = None
        if by is not None:
            values = np.asarray(by, dtype=object)
            if values.shape != (len(deprivations),):
                raise ConfigError(
                    f"by has {values.size} values for {len(deprivations)} rows"
                )
            groups = pd.Series(values, index=deprivations.index)
            group_name = getattr(by, "name", None) or "group"
    w = _weights(weights, columns)
    columns = list(w.index)
    g, keep = _matrix(deprivations, columns, missing)
    s = None
    if sample_weight is not None:
        s = np.asarray(sample_weight, dtype=float)
        if s.shape != (len(deprivations),):
            raise ConfigError(
                f"sample_weight has {s.size} values for {len(deprivations)} rows"
            )
        if not np.isfinite(s).all() or (s < 0).any():
            raise ConfigError("sample_weight must be finite and 0 or more")
        s = s[keep]
    if not len(g) or (s is not None and s.sum() <= 0):
        raise ValidationError(
            [Problem("<deprivations>", None, None, "", "no household to measure")]
        )
    if (~keep).any():
        logger.info("mpi: %d row(s) with a missing indicator left out", (~keep).sum())

    # totals
    core = _af_core(g, w.to_numpy(), k, s)
    M0 = core["M0"]
    contribution = w.to_numpy() * core["censored"] / M0 * 100 if M0 > 0 else np.nan
    indicators = pd.DataFrame(
        {
            "weight": w.to_numpy(),
            "uncensored_headcount": core["uncensored"],
            "censored_headcount": core["censored"],
            "contribution": contribution,
        },
        index=pd.Index(columns, name="indicator"),
    )
    index = deprivations.index[keep]
    scores = pd.Series(core["scores"], index=index, name="score")
    poor = pd.Series(core["poor"], index=index, name="poor")

    # groups
    group_table = group_headcounts = None
    if groups is not None:
        codes, uniques = pd.factorize(groups[keep], use_na_sentinel=False)
        parts = _af_groups(g, core["scores"], core["poor"], codes, len(uniques), s)
        share = parts["size"] / parts["size"].sum()
        gindex = pd.Index(uniques, name=group_name)
        with np.errstate(invalid="ignore", divide="ignore"):
            gcontrib = share * parts["M0"] / M0 * 100 if M0 > 0 else np.nan
        group_table = pd.DataFrame(
            {
                "n": parts["n"].astype(np.int64),
                "population_share": share,
                "H": parts["H"],
                "A": parts["A"],
                "M0": parts["M0"],
                "contribution": gcontrib,
            },
            index=gindex,
        )
        group_headcounts = pd.DataFrame(
            parts["censored"], index=gindex, columns=columns
        )

    logger.debug(
        "mpi: n=%d, d=%d, k=%.3f, H=%.4f, A=%.4f, M0=%.4f",
        len(g),
        len(columns),
        k,
        core["H"],
        core["A"],
        M0,
    )
    return MPIResult(
        k=k,
        n=int(len(g)),
        H=core["H"],
        A=core["A"],
        M0=M0,
        indicators=indicators,
        scores=scores,
        poor=poor,
        groups=group_table,
        group_headcounts=group_headcounts,
    )


# ---------------------------------------------------------------------------
# indicators from the households table
# ---------------------------------------------------------------------------
def _cause_pattern(
    exact: Sequence[str], primaries: Sequence[str], prefixes: Sequence[str]
) -> str:
    alternatives = [re.escape(p) for p in exact]
    alternatives += [re.escape(p) + r"(?:\.[^;]*)?" for p in primaries]
    alternatives += [re.escape(p) + r"[^;]*" for p in prefixes]
    return rf"(?:^|;)\s*(?:{'|'.join(alternatives)})\s*(?:;|$)"


def _has_cause(ids: np.ndarray, uniques: pd.Series, indicator: str) -> np.ndarray:
    """Whether each household lists a cause of the indicator's rule.

    The pattern is matched once per distinct ``causes`` string (``uniques``)
    and spread to the households by their ``ids``.
    """
    pattern = _cause_pattern(*_CAUSE_RULES[indicator])
    hit = uniques.str.contains(pattern, regex=True).to_numpy(dtype=bool)
    return hit[ids] if len(hit) else np.zeros(len(ids), dtype=bool)


def _known(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of a column as float and the mask of known ones (NaN if absent)."""
    if column not in table.columns:
        nan = np.full(len(table), np.nan)
        return nan, np.zeros(len(table), dtype=bool)
    col = table[column]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.to_numeric(col.astype("object"), errors="coerce")
        values = values.to_numpy(dtype=float, na_value=np.nan)
    return values, ~np.isnan(values)


def deprivations_from_households(
    households: pd.DataFrame,
    indicators: Sequence[str] | None = None,
    *,
    income_line: float = 3000.0,
    land_per_person: float = 0.8,
    debt_to_income: float = 1.0,
) -> pd.DataFrame:
    """Build the deprivation matrix of a canonical households table.

    Parameters
    ----------
    households : DataFrame
        Canonical households table (``docs/data-model.md``). ``causes`` is
        required; ``size`` and ``income_per_capita`` for the income, land and
        debt indicators; the optional fields ``members_ill``,
        ``members_disabled``, ``unsafe_housing``, ``arable_land_mu``,
        ``labour_count`` and ``debt_amount`` are used where present.
    indicators : sequence of str, optional
        Names from :data:`INDICATORS`, in the order wanted; default all ten.
    income_line : float, default=3000.0
        Income cut-off in CNY per person per year: about the national rural
        poverty line of 2016 in current prices (2,300 CNY at 2010 prices).
    land_per_person : float, default=0.8
        Arable-land cut-off in mu (亩) per person; 0.8 mu is the warning line
        of arable land per person often quoted in China.
    debt_to_income : float, default=1.0
        A household is deprived in debt when its debt exceeds this many
        years of its income.

    Returns
    -------
    DataFrame of shape (n_households, n_indicators)
        Same index as ``households``, one ``boolean`` column per indicator,
        True where the household is deprived. ``income`` is NA where
        ``income_per_capita`` is missing; every other indicator is known for
        every household (see Notes).

    Raises
    ------
    ValidationError
        If ``causes`` (or ``size`` / ``income_per_capita`` when an indicator
        needs them) is missing.
    ConfigError
        If an indicator name is unknown or a cut-off is negative.

    Notes
    -----
    Each indicator but ``income`` joins two sources with "or": the trait
    column of the registry where it is present and known, and the causes
    the household lists. A household whose trait is missing is judged by its
    causes alone; a column that is absent is not an error. The rules:

    - ``income``: ``income_per_capita < income_line``.
    - ``schooling``: ``LAB.ILLITERATE`` is listed (the table holds no years
      of schooling per member, so an illiterate or semi-literate adult is
      the proxy).
    - ``school_attendance``: ``EDU.DROPOUT_RISK`` is listed.
    - ``health``: ``members_ill >= 1`` or an ``ILL`` cause.
    - ``disability``: ``members_disabled >= 1`` or a ``DIS`` cause.
    - ``housing``: ``unsafe_housing`` or ``RES.UNSAFE_HOUSE``,
      ``RES.NO_HOUSE``, ``DST.HOUSE_DAMAGE``.
    - ``water``: ``RES.UNSAFE_WATER`` or ``RES.WATER_FAR``.
    - ``land``: ``arable_land_mu / size < land_per_person`` or
      ``RES.NO_LAND``, ``RES.LITTLE_LAND``. Households of urban
      sub-districts (街道) farm little and are often deprived here; leave
      the indicator out for them.
    - ``labour``: ``labour_count == 0`` or ``LAB.NO_ADULT``.
    - ``debt``: ``debt_amount > debt_to_income * income_per_capita * size``
      or a ``CAP.DEBT_*`` cause.

    The indicators follow the "two assurances and three guarantees"
    (两不愁三保障: food and clothing, compulsory schooling, basic medical
    care, safe housing) and safe drinking water, with land, labour and debt
    from the registry; they and their cut-offs are choices to state in any
    report, not an official index.
    """
    names = list(INDICATORS) if indicators is None else list(indicators)
    unknown = [n for n in names if n not in INDICATORS]
    if unknown:
        raise ConfigError(
            f"unknown indicator(s) {unknown}; choose from {', '.join(INDICATORS)}"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"indicators are listed twice: {names}")
    for value, label in (
        (income_line, "income_line"),
        (land_per_person, "land_per_person"),
        (debt_to_income, "debt_to_income"),
    ):
        if not np.isfinite(value) or value < 0:
            raise ConfigError(f"{label} must be a number, 0 or more; got {value}")
    required = {"causes"}
    if {"income", "land", "debt"} & set(names):
        required |= {"size", "income_per_capita"}
    missing = [c for c in sorted(required) if c not in households.columns]
    if missing:
        raise ValidationError(
            Problem(
                "<households>", None, c, "", "required column of the households table"
            )
            for c in missing
        )

    ids, uniques = pd.factorize(
        households["causes"].fillna("").astype(str), use_na_sentinel=False
    )
    uniques = pd.Series(uniques, dtype=object)
    size, _ = _known(households, "size")
    income, income_known = _known(households, "income_per_capita")
    out: dict[str, pd.Series] = {}
    for name in names:
        if name == "income":
            values = pd.array(income < income_line, dtype="boolean")
            values[~income_known] = pd.NA
            out[name] = pd.Series(values, index=households.index)
            continue
        deprived = _has_cause(ids, uniques, name)
        if name == "health":
            ill, known = _known(households, "members_ill")
            deprived |= known & (ill >= 1)
        elif name == "disability":
            dis, known = _known(households, "members_disabled")
            deprived |= known & (dis >= 1)
        elif name == "housing":
            unsafe, known = _known(households, "unsafe_housing")
            deprived |= known & (unsafe == 1)
        elif name == "land":
            land, known = _known(households, "arable_land_mu")
            with np.errstate(invalid="ignore", divide="ignore"):
                deprived |= known & (land / size < land_per_person)
        elif name == "labour":
            labour, known = _known(households, "labour_count")
            deprived |= known & (labour == 0)
        elif name == "debt":
            debt, known = _known(households, "debt_amount")
            with np.errstate(invalid="ignore"):
                deprived |= known & (debt > debt_to_income * income * size)
        out[name] = pd.Series(
            pd.array(deprived, dtype="boolean"), index=households.index
        )
    return pd.DataFrame(out, index=households.index)


# ---------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------
def _label(name: str, lang: Lang) -> str:
    info = INDICATORS.get(name)
    if info is None:
        return str(name)
    return {
        "zh": info.name_zh,
        "en": info.name_en,
        "both": f"{info.name_zh} {info.name_en}",
    }[lang]


def _fonts() -> list[str]:
    from .plot import use_cjk_font

    return [use_cjk_font(), "sans-serif"]


def _plain(label: object) -> str:
    from .plot import plain_text

    return plain_text(label)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _check_lang(lang: str) -> None:
    if lang not in ("zh", "en", "both"):
        raise ConfigError(f"lang must be 'zh', 'en' or 'both'; got {lang!r}")


def plot_mpi_contributions(
    result: MPIResult, *, lang: Lang = "zh", ax: Axes | None = None, **kwargs: Any
) -> Axes:
    """Horizontal bars of each indicator's contribution to M0, in per cent.

    Parameters
    ----------
    result : MPIResult
        Output of :func:`mpi`.
    lang : {"zh", "en", "both"}, default="zh"
        Language of the labels.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    Axes
        One bar per indicator in ``ax.containers[0]``, largest at the top,
        its width the contribution in per cent.
    """
    _check_lang(lang)
    data = result.indicators["contribution"].fillna(0.0).sort_values(ascending=False)
    ax = _axes(ax)
    fonts = _fonts()
    kwargs.setdefault("color", "#2e86c1")
    y = np.arange(len(data))
    bars = ax.barh(y, data.to_numpy(), **kwargs)
    ax.set_yticks(y, labels=[_plain(_label(n, lang)) for n in data.index])
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[f"{v:.1f}%" for v in data], padding=2)
    xlabel = {"zh": "对M0的贡献(%)", "en": "contribution to M0 (%)"}
    xlabel["both"] = f"{xlabel['zh']} {xlabel['en']}"
    ax.set_xlabel(xlabel[lang], fontfamily=fonts)
    ax.tick_params(labelfontfamily=fonts)
    ax.margins(x=0.15)
    return ax


def plot_mpi_by_group(
    result: MPIResult,
    *,
    measure: Literal["M0", "H", "A"] = "M0",
    lang: Lang = "zh",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of M0 (or H, A) of each group of a decomposed result.

    Parameters
    ----------
    result : MPIResult
        Output of :func:`mpi` called with ``by``.
    measure : {"M0", "H", "A"}, default="M0"
        Which measure to draw.
    lang : {"zh", "en", "both"}, default="zh"
        Language of the axis label.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    Axes
        One bar per group in ``ax.containers[0]``, highest at the top; a
        dashed vertical line marks the county value.

    Raises
    ------
    ConfigError
        If ``result`` has no groups, or ``measure`` is unknown.
    """
    _check_lang(lang)
    if result.groups is None:
        raise ConfigError("result has no groups: call mpi(..., by=...) first")
    if measure not in ("M0", "H", "A"):
        raise ConfigError(f"measure must be 'M0', 'H' or 'A'; got {measure!r}")
    data = result.groups[measure].sort_values(ascending=False)
    ax = _axes(ax)
    fonts = _fonts()
    kwargs.setdefault("color", "#c0392b")
    y = np.arange(len(data))
    ax.barh(y, data.to_numpy(), **kwargs)
    ax.set_yticks(y, labels=[_plain(v) for v in data.index])
    ax.invert_yaxis()
    ax.axvline(getattr(result, measure), color="0.3", linestyle="--", linewidth=1)
    names = {
        "M0": ("调整后贫困发生率", "adjusted headcount"),
        "H": ("贫困发生率", "headcount"),
        "A": ("贫困强度", "intensity"),
    }[measure]
    label = {
        "zh": f"{names[0]} {measure}",
        "en": f"{names[1]} {measure}",
        "both": f"{names[0]} {names[1]} {measure}",
    }[lang]
    ax.set_xlabel(label, fontfamily=fonts)
    ax.tick_params(labelfontfamily=fonts)
    return ax
