"""Representativeness of a survey sample against the registry, by township.

A county's survey records some of its registered households; before its
shares are read as the county's, one asks whether the sample is spread over
the townships as the registry is. :func:`representativeness` compares the
two distributions: coverage per township, a chi-square goodness-of-fit test
of the sample's counts against the registry's shares, effect sizes that do
not grow with the sample (Cohen's w, Cramér's V, the total variation
distance) and a verdict in plain words with its caveats.
:func:`read_registry` reads the registry's households per township from a
file, for ``zfb report --registry`` and the dashboards.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ConfigError, Problem, ValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "Representativeness",
    "plot_coverage",
    "read_registry",
    "representativeness",
    "sample_counts",
]

logger = logging.getLogger(__name__)

# Cohen's (1988) conventions for the effect size w of a chi-square test
_SMALL_W, _MEDIUM_W = 0.1, 0.3
# expected counts below this make the chi-square approximation doubtful
_MIN_EXPECTED = 5.0
# a sample this large makes differences of no practical size significant
_LARGE_N = 5000


@dataclass(frozen=True, eq=False)
class Representativeness:
    """The sample against the registry, township by township.

    Attributes
    ----------
    table : DataFrame
        One row per township, indexed by township name (index named after
        the group, ``"township"`` by default), in the registry's order;
        columns ``registered`` and ``sampled`` (int), ``coverage``
        (``sampled / registered``), ``registry_share`` and
        ``sample_share`` (each summing to 1), ``expected`` (sampled
        households expected under the registry's shares), ``residual``
        (Pearson residual ``(sampled - expected) / sqrt(expected)``; beyond
        about ±2 a township stands out).
    registered, sampled : int
        Totals.
    coverage : float
        ``sampled / registered`` over the county.
    chi2, dof, p_value : float, int, float
        Pearson's chi-square goodness-of-fit statistic of the sampled counts
        against ``expected``, its degrees of freedom (townships - 1) and
        p-value.
    cohens_w : float
        ``sqrt(chi2 / sampled)``: 0.1 is a small effect, 0.3 medium, 0.5
        large (Cohen 1988).
    cramers_v : float
        ``sqrt(chi2 / (sampled * dof))``, 0 to 1.
    total_variation : float
        Half the sum of ``|sample_share - registry_share|``: the share of
        the sample that would have to be in other townships to match the
        registry exactly.
    alpha : float
        Significance level of the verdict.
    verdict : str
        One paragraph in plain words.
    caveats : list of str
        What the verdict does not say, each one sentence or two.
    """

    table: pd.DataFrame
    registered: int
    sampled: int
    coverage: float
    chi2: float
    dof: int
    p_value: float
    cohens_w: float
    cramers_v: float
    total_variation: float
    alpha: float
    verdict: str
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """The headline numbers as a flat dict."""
        return {
            "registered": self.registered,
            "sampled": self.sampled,
            "coverage": self.coverage,
            "chi2": self.chi2,
            "dof": self.dof,
            "p_value": self.p_value,
            "cohens_w": self.cohens_w,
            "cramers_v": self.cramers_v,
            "total_variation": self.total_variation,
        }


def read_registry(path: str | os.PathLike) -> pd.Series:
    """Read the registry's households per township.

    Parameters
    ----------
    path : path
        CSV or XLSX with a ``township`` column (or ``乡镇``) and a
        ``households`` column (or ``registered``, ``户数``).

    Returns
    -------
    Series of int
        Indexed by township name (named ``township``), in file order.

    Raises
    ------
    ConfigError
        If a column is missing or a count is not a whole number.
    """
    from .io import read_table

    raw = read_table(path)
    town = next((c for c in ("township", "乡镇") if c in raw.columns), None)
    count = next(
        (c for c in ("households", "registered", "户数") if c in raw.columns), None
    )
    if town is None or count is None:
        raise ConfigError(
            f"{path}: a registry table needs a township column and a households "
            f"column; it has {', '.join(map(str, raw.columns))}"
        )
    numbers = pd.to_numeric(raw[count], errors="coerce")
    bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 2
        raise ConfigError(
            f"{path}, row {row}: {count} must be a whole number of households, "
            f"0 or more; got {raw[count].iloc[row - 2]!r}"
        )
    return pd.Series(
        numbers.to_numpy(dtype="int64"),
        index=pd.Index(raw[town].astype(str), name="township"),
        name="registered",
    )


def sample_counts(households: pd.DataFrame, by: str = "township") -> pd.Series:
    """Count the sampled households of each township (or other group).

    Parameters
    ----------
    households : DataFrame
        Canonical households table, or any table with the ``by`` column.
    by : str, default="township"

    Returns
    -------
    Series of int
        Households per group, indexed by group name (named ``by``), in
        order of first appearance; rows with a missing group are not
        counted.

    Raises
    ------
    ValidationError
        If the ``by`` column is missing.
    """
    if by not in households.columns:
        raise ValidationError(
            [Problem("<households>", None, by, "", "required column is missing")]
        )
    counts = households[by].value_counts(sort=False, dropna=True)
    return counts.astype("int64").rename("sampled").rename_axis(by)


def _as_counts(values: Any, what: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ConfigError(
                f"{what} must be a Series of counts indexed by township, or a "
                f"one-column DataFrame; got columns {list(values.columns)}"
            )
        values = values.iloc[:, 0]
    if isinstance(values, Mapping):
        values = pd.Series(dict(values))
    if not isinstance(values, pd.Series):
        raise ConfigError(
            f"{what} must be a Series or dict of counts by township; got "
            f"{type(values).__name__}"
        )
    counts = pd.to_numeric(values, errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts != counts.round())
    if bad.any():
        raise ValidationError(
            Problem(
                f"<{what}>",
                None,
                str(name),
                str(values[name]),
                "must be a whole count, 0 or more",
            )
            for name in counts.index[bad]
        )
    if not counts.index.is_unique:
        dup = counts.index[counts.index.duplicated()].unique().tolist()
        raise ValidationError(
            Problem(f"<{what}>", None, str(name), "", "township is listed twice")
            for name in dup
        )
    return counts.astype("int64")


def _core(registered: np.ndarray, sampled: np.ndarray) -> dict[str, Any]:
    """Goodness of fit of ``sampled`` counts to the shares of ``registered``.

    Both are arrays of shape (n_townships,), with positive registered counts.
    """
    n = sampled.sum()
    p_reg = registered / registered.sum()
    p_smp = sampled / n
    expected = p_reg * n
    chi2 = float((((sampled - expected) ** 2) / expected).sum())
    dof = len(registered) - 1
    p_value = float(stats.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    return {
        "p_reg": p_reg,
        "p_smp": p_smp,
        "expected": expected,
        "residual": (sampled - expected) / np.sqrt(expected),
        "chi2": chi2,
        "dof": dof,
        "p_value": p_value,
        "cohens_w": float(np.sqrt(chi2 / n)),
        "cramers_v": float(np.sqrt(chi2 / (n * dof))) if dof > 0 else 0.0,
        "total_variation": float(0.5 * np.abs(p_smp - p_reg).sum()),
    }


def _size_word(w: float) -> str:
    if w < _SMALL_W:
        return "negligible"
    if w < _MEDIUM_W:
        return "small"
    return "medium to large"


def _verdict(table: pd.DataFrame, core: dict[str, Any], alpha: float) -> str:
    share = f"{core['total_variation']:.1%}"
    stat = (
        f"chi-square = {core['chi2']:.1f} on {core['dof']} degrees of freedom, "
        f"p = {core['p_value']:.3g}; Cohen's w = {core['cohens_w']:.3f}"
    )
    size = _size_word(core["cohens_w"])
    over = table.sort_values("residual", ascending=False)
    worst_under = ", ".join(
        f"{name} ({row['coverage']:.0%})"
        for name, row in over.iloc[::-1].head(3).iterrows()
        if row["residual"] < -2
    )
    worst_over = ", ".join(
        f"{name} ({row['coverage']:.0%})"
        for name, row in over.head(3).iterrows()
        if row["residual"] > 2
    )
    if core["p_value"] >= alpha:
        text = (
            "The sample is spread over the townships as the registry is: the "
            "difference is within what chance would give "
            f"({stat})."
        )
    elif size == "negligible":
        text = (
            "The sample's spread over the townships differs from the registry's "
            f"by more than chance ({stat}), but the difference is {size}: "
            f"{share} of the sampled households would have to be in other "
            "townships to match the registry. For county-wide shares the sample "
            "can be read as representative of the townships."
        )
    else:
        text = (
            "The sample is not spread over the townships as the registry is "
            f"({stat}, a {size} effect): {share} of the sampled households would "
            "have to be in other townships to match. Weight the townships by "
            "registered / sampled households before reading county-wide shares."
        )
    if worst_under and core["p_value"] < alpha:
        text += f" Least covered: {worst_under}."
    if worst_over and core["p_value"] < alpha:
        text += f" Most covered: {worst_over}."
    return text


def _caveats(table: pd.DataFrame, core: dict[str, Any], n: int) -> list[str]:
    out = []
    if n >= _LARGE_N:
        out.append(
            f"With {n:,} sampled households even differences of no practical "
            "size are statistically significant: judge by the effect size (Cohen's "
            "w, total variation distance), not by the p-value."
        )
    small = table.index[table["expected"] < _MIN_EXPECTED].tolist()
    if small:
        out.append(
            f"{len(small)} township(s) expect fewer than {_MIN_EXPECTED:g} sampled "
            "households, so the chi-square p-value is approximate: "
            + ", ".join(map(str, small[:5]))
            + ("..." if len(small) > 5 else "")
            + "."
        )
    over = table.index[table["sampled"] > table["registered"]].tolist()
    if over:
        out.append(
            "More households were sampled than are registered in "
            + ", ".join(map(str, over))
            + ": the registry totals and the sample do not name the same "
            "households (different dates or township names)."
        )
    missing = table.index[table["sampled"] == 0].tolist()
    if missing:
        out.append(
            "No household was sampled in "
            + ", ".join(map(str, missing))
            + ": nothing in the sample speaks for them."
        )
    out.append(
        "The test compares the spread over townships only: a sample can match "
        "the registry township by township and still differ in causes, household "
        "size or status, and a sample chosen by cadres rather than drawn at random "
        "can be biased within each township."
    )
    out.append(
        "The chi-square test treats the sample as a draw with replacement from the "
        "registry; when the sample is a large share of the registry (here "
        f"{core['coverage']:.0%}) it is conservative, since sampling without "
        "replacement varies less."
    )
    return out


def representativeness(
    registry: pd.Series | Mapping[str, int] | pd.DataFrame,
    sample: pd.Series | Mapping[str, int] | pd.DataFrame,
    *,
    alpha: float = 0.05,
    by: str = "township",
) -> Representativeness:
    """Compare the sample's households per township with the registry's.

    Parameters
    ----------
    registry : Series or dict
        Registered households per township, indexed by township name.
        Every township of the county should be listed, including those with
        no sampled household.
    sample : Series, dict or households DataFrame
        Sampled households per township, or a households table whose ``by``
        column is counted with :func:`sample_counts`.
    alpha : float, default=0.05
        Significance level of the verdict.
    by : str, default="township"
        Column counted when ``sample`` is a households table; also the name
        of the result's index.

    Returns
    -------
    Representativeness
        The table per township, the test, the effect sizes, a verdict and
        caveats.

    Raises
    ------
    ValidationError
        If a count is negative or not whole, a township is listed twice, the
        sample names townships the registry does not list, a registered
        township has 0 households, or nothing is sampled.
    ConfigError
        If ``alpha`` is not between 0 and 1, or an input is of the wrong type.

    Notes
    -----
    The expected count of township ``t`` is ``n p_t``, with ``n`` the sampled
    households and ``p_t`` the township's share of the registry; Pearson's
    statistic is ``sum_t (o_t - e_t)^2 / e_t``, chi-square with ``T - 1``
    degrees of freedom under the hypothesis that the sample is spread as
    the registry [1]_. The p-value answers "could chance alone give a
    difference this large?", which, with tens of thousands of households,
    is nearly always no; the effect sizes say whether the difference
    matters: Cohen's ``w = sqrt(chi2 / n)`` [2]_ and the total variation
    distance, which does not depend on ``n`` at all.

    References
    ----------
    .. [1] Pearson, K. (1900). On the criterion that a given system of
       deviations from the probable in the case of a correlated system of
       variables is such that it can be reasonably supposed to have arisen
       from random sampling. *Philosophical Magazine*, series 5, 50(302),
       157-175.
    .. [2] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral
       Sciences*, 2nd ed., chapter 7. Lawrence Erlbaum.

    Examples
    --------
    >>> r = representativeness({"A": 100, "B": 200, "C": 300},
    ...                        {"A": 30, "B": 50, "C": 70})
    >>> round(r.chi2, 4), r.dof, round(r.total_variation, 4)
    (1.3333, 2, 0.0333)
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1; got {alpha}")
    reg = _as_counts(registry, "registry")
    if isinstance(sample, pd.DataFrame) and by in sample.columns:
        smp = sample_counts(sample, by)
    else:
        smp = _as_counts(sample, "sample")
    unknown = smp.index.difference(reg.index)
    if len(unknown):
        raise ValidationError(
            Problem(
                "<sample>",
                None,
                by,
                str(name),
                "township is not in the registry: fix its name or add its total",
            )
            for name in unknown
        )
    empty = reg.index[reg == 0]
    if len(empty):
        raise ValidationError(
            Problem(
                "<registry>",
                None,
                str(name),
                "0",
                "registered households must be 1 or more",
            )
            for name in empty
        )
    smp = smp.reindex(reg.index, fill_value=0).astype("int64")
    n = int(smp.sum())
    if n == 0:
        raise ValidationError(
            [Problem("<sample>", None, None, "", "no household was sampled")]
        )

    core = _core(reg.to_numpy(dtype=float), smp.to_numpy(dtype=float))
    core["coverage"] = n / float(reg.sum())
    table = pd.DataFrame(
        {
            "registered": reg.to_numpy(),
            "sampled": smp.to_numpy(),
            "coverage": smp.to_numpy() / reg.to_numpy(),
            "registry_share": core["p_reg"],
            "sample_share": core["p_smp"],
            "expected": core["expected"],
            "residual": core["residual"],
        },
        index=pd.Index(reg.index, name=by),
    )
    verdict = _verdict(table, core, alpha)
    caveats = _caveats(table, core, n)
    logger.debug(
        "representativeness: %d of %d households, chi2=%.2f, w=%.4f",
        n,
        int(reg.sum()),
        core["chi2"],
        core["cohens_w"],
    )
    return Representativeness(
        table=table,
        registered=int(reg.sum()),
        sampled=n,
        coverage=core["coverage"],
        chi2=core["chi2"],
        dof=core["dof"],
        p_value=core["p_value"],
        cohens_w=core["cohens_w"],
        cramers_v=core["cramers_v"],
        total_variation=core["total_variation"],
        alpha=alpha,
        verdict=verdict,
        caveats=caveats,
    )


def plot_coverage(
    result: Representativeness,
    *,
    lang: Literal["zh", "en", "both"] = "zh",
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of the coverage of each township.

    Parameters
    ----------
    result : Representativeness
        Output of :func:`representativeness`.
    lang : {"zh", "en", "both"}, default="zh"
        Language of the axis label.
    ax : Axes, optional
        Axes to draw on; default the current axes.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.barh`.

    Returns
    -------
    Axes
        One bar per township in ``ax.containers[0]``, in the registry's
        order, its width the coverage (0 to 1); a dashed line marks the
        county's coverage.
    """
    if lang not in ("zh", "en", "both"):
        raise ConfigError(f"lang must be 'zh', 'en' or 'both'; got {lang!r}")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    from matplotlib.ticker import PercentFormatter

    from .plot import plain_texts, use_cjk_font

    fonts = [use_cjk_font(), "sans-serif"]
    table = result.table
    y = np.arange(len(table))
    kwargs.setdefault("color", "#27ae60")
    ax.barh(y, table["coverage"].to_numpy(), **kwargs)
    ax.set_yticks(y, labels=plain_texts(table.index))
    ax.invert_yaxis()
    ax.axvline(result.coverage, color="0.3", linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    zh, en = "调查覆盖率", "coverage of the registry"
    ax.set_xlabel({"zh": zh, "en": en, "both": f"{zh} {en}"}[lang], fontfamily=fonts)
    ax.tick_params(labelfontfamily=fonts)
    return ax
