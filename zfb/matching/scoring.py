"""The score of an eligible pair, its terms, the amount and the explanation.

The score of a household *h* and a project *p* is::

    score = relevance(h, p) * priority(h, p)

    relevance = exact      (1.0)  a secondary tag equals one of h's causes
              | need_kind  (0.8)  a need-kind tag equals h's need kind
              | primary    (0.5)  a primary tag is the category of one of h's causes
    priority  = base + depth * gap + severity * (s - 1) / 2
    gap       = max(0, 1 - income_per_capita / poverty_line)
    s         = severity of the cause the pair was matched on (1 to 3)

with the defaults of :class:`ScoreWeights` (``base=0.2, depth=0.5,
severity=0.3``, poverty line 4,000 CNY per person per year), so that priority
lies between 0.2 (income at or above the line, least severe cause) and 1.0 (no
income, most severe cause) and a score between 0 and 1. ``gap`` is the poverty
gap ratio of Foster, Greer and Thorbecke (1984), the P1 member of their family.

The amount of a pair is what the project pays the household: its
``need_amount``, or when that is missing the ``typical_amount`` of its need
kind, capped by the project's ``per_household_cap`` when one is set.

References
----------
.. [1] J. Foster, J. Greer and E. Thorbecke, "A class of decomposable poverty
   measures", Econometrica 52(3), 761-766, 1984.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..taxonomy import Taxonomy

__all__ = ["ScoreWeights", "poverty_gap", "priority", "explain"]

#: How a pair was matched, best first, as written in the ``match`` column.
MATCH_KINDS: tuple[str, ...] = ("exact", "need_kind", "primary")


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score of an eligible pair.

    Parameters
    ----------
    exact : float, default=1.0
        Relevance when a project's secondary-cause tag equals one of the
        household's causes.
    need_kind : float, default=0.8
        Relevance when a project's need-kind tag equals the household's need
        kind.
    primary : float, default=0.5
        Relevance when a project's primary-category tag is the category of one
        of the household's causes (or is the cause itself, for a household
        recorded with a primary category only).
    poverty_line : float, default=4000.0
        CNY per person per year. The poverty gap of a household is
        ``max(0, 1 - income_per_capita / poverty_line)``.
    base : float, default=0.2
        Priority of a household at or above the line whose cause has
        severity 1; keeps every eligible pair worth matching.
    depth : float, default=0.5
        Weight of the poverty gap (0 to 1) in the priority.
    severity : float, default=0.3
        Weight of the severity term ``(s - 1) / 2`` (0 for severity 1, 1 for
        severity 3) in the priority.

    Raises
    ------
    ConfigError
        If a weight is negative or not finite, the poverty line is not
        positive, or every priority weight is 0.
    """

    exact: float = 1.0
    need_kind: float = 0.8
    primary: float = 0.5
    poverty_line: float = 4000.0
    base: float = 0.2
    depth: float = 0.5
    severity: float = 0.3

    def __post_init__(self) -> None:
        for name in ("exact", "need_kind", "primary", "base", "depth", "severity"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(
                    f"ScoreWeights.{name} must be a finite number >= 0, got {value!r}"
                )
        if not (math.isfinite(self.poverty_line) and self.poverty_line > 0):
            raise ConfigError(
                "ScoreWeights.poverty_line must be a positive number of CNY per "
                f"person per year, got {self.poverty_line!r}"
            )
        if self.base + self.depth + self.severity == 0:
            raise ConfigError(
                "ScoreWeights.base, depth and severity are all 0: every priority "
                "would be 0; give at least one of them a positive weight"
            )

    def relevance(self, kind: str) -> float:
        """Relevance of a pair matched as ``kind`` (one of ``MATCH_KINDS``)."""
        if kind not in MATCH_KINDS:
            raise ValueError(f"kind must be one of {MATCH_KINDS}, got {kind!r}")
        return float(getattr(self, kind))


def poverty_gap(income_per_capita: np.ndarray, poverty_line: float) -> np.ndarray:
    """Poverty gap ratio ``max(0, 1 - income / line)`` of each household.

    Parameters
    ----------
    income_per_capita : array-like of shape (n_households,)
        CNY per person per year, 0 or more.
    poverty_line : float
        CNY per person per year.

    Returns
    -------
    ndarray of shape (n_households,)
        Between 0 (at or above the line) and 1 (no income).
    """
    income = np.asarray(income_per_capita, dtype=float)
    return np.clip(1.0 - income / poverty_line, 0.0, 1.0)


def priority(
    gap: np.ndarray, severity: np.ndarray, weights: ScoreWeights
) -> np.ndarray:
    """Priority ``base + depth * gap + severity_weight * (severity - 1) / 2``.

    Parameters
    ----------
    gap : array-like of shape (n,)
        Poverty gap ratios, see :func:`poverty_gap`.
    severity : array-like of shape (n,)
        Severity of the cause each pair was matched on, 1 to 3.
    weights : ScoreWeights

    Returns
    -------
    ndarray of shape (n,)
    """
    gap = np.asarray(gap, dtype=float)
    sev = np.asarray(severity, dtype=float)
    return weights.base + weights.depth * gap + weights.severity * (sev - 1.0) / 2.0


def _thousands(value: float) -> str:
    return f"{value:,.0f}"


@functools.lru_cache(maxsize=8)
def _names(taxonomy: Taxonomy) -> dict[str, tuple[str, str]]:
    """(Chinese name, "Chinese English" label) of every cause and need kind."""
    out = {}
    for table in (taxonomy.need_kinds, taxonomy.causes):
        for code, zh, en in zip(
            table.index, table["name_zh"], table["name_en"], strict=True
        ):
            out[code] = (zh, f"{zh} {en}")
    return out


def explain(
    match: str,
    matched_on: str,
    tag: str,
    need_implied: bool,
    income_per_capita: float,
    severity: int,
    amount: float,
    capped: bool,
    taxonomy: Taxonomy,
    weights: ScoreWeights,
) -> str:
    """One line, in plain words, saying why a pair scores what it scores.

    Parameters
    ----------
    match : {"exact", "need_kind", "primary"}
        How the pair was matched.
    matched_on : str
        The household's cause or need-kind code the pair was matched on.
    tag : str
        The project's tag that matched.
    need_implied : bool
        Whether the need kind was taken from the main cause because the
        household records none.
    income_per_capita, severity, amount, capped
        Terms of the pair (see :func:`zfb.matching.eligible_edges`).
    taxonomy : Taxonomy
    weights : ScoreWeights

    Returns
    -------
    str
        For example ``"serves 尿毒症 kidney failure (exact cause); income
        1,850 CNY/person, 46% of the poverty line; severity 3"``.
    """
    names = _names(taxonomy)
    if match == "exact":
        serves = f"serves {names[matched_on][1]} (exact cause)"
    elif match == "need_kind":
        how = "need kind of its main cause" if need_implied else "need kind"
        serves = f"serves {names[matched_on][1]} ({how})"
    elif matched_on == tag:
        serves = f"serves {names[tag][1]} (category)"
    else:
        cause = names[matched_on][0]
        serves = f"serves {names[tag][1]} (category of its cause {cause})"
    share = 100.0 * income_per_capita / weights.poverty_line
    text = (
        f"{serves}; income {_thousands(income_per_capita)} CNY/person, "
        f"{share:.0f}% of the poverty line; severity {int(severity)}"
    )
    if capped:
        text += f"; amount capped at {_thousands(amount)} CNY by the project"
    return text


def explain_frame(
    pairs: pd.DataFrame, taxonomy: Taxonomy, weights: ScoreWeights
) -> pd.Series:
    """:func:`explain` for each row of ``pairs`` (columns as in edges, plus
    ``need_implied`` and ``income_per_capita``), index kept."""
    texts = [
        explain(
            m,
            on,
            tag,
            bool(imp),
            float(inc),
            int(sev),
            float(amt),
            bool(cap),
            taxonomy,
            weights,
        )
        for m, on, tag, imp, inc, sev, amt, cap in zip(
            pairs["match"],
            pairs["matched_on"],
            pairs["tag"],
            pairs["need_implied"],
            pairs["income_per_capita"],
            pairs["severity"],
            pairs["amount"],
            pairs["capped"],
            strict=True,
        )
    ]
    return pd.Series(texts, index=pairs.index, dtype="str")
