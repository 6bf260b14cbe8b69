"""Research exports: de-identified households, k-anonymity checked.

A research export starts from the analyst's view of the households (no
names, no phone numbers, no free text) and then:

1. drops every identifier (the analyst pseudonym too, so two exports cannot
   be linked record by record) and the village and village group;
2. generalises the quasi-identifiers: the village becomes its township
   (already dropped above), household size is top-coded (``6+``), income
   per person becomes a band, and an ``age`` column, when the table has
   one, becomes a ten-year band; money amounts are rounded to 100 CNY;
3. checks k-anonymity over the quasi-identifiers: every combination of
   their values must be shared by at least ``k`` records; the records of
   smaller groups are suppressed (left out), and counted.

References
----------
.. [1] L. Sweeney, "k-anonymity: a model for protecting privacy",
   International Journal of Uncertainty, Fuzziness and Knowledge-Based
   Systems 10(5), 557-570, 2002.
.. [2] P. Samarati, "Protecting respondents' identities in microdata
   release", IEEE Transactions on Knowledge and Data Engineering 13(6),
   1010-1027, 2001 (generalisation and suppression).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from . import audit
from .engine import Store
from .export import write_frame
from .roles import Role, view

__all__ = [
    "DEFAULT_INCOME_EDGES",
    "DEFAULT_QUASI_IDENTIFIERS",
    "ResearchExport",
    "class_sizes",
    "deidentify",
    "income_band",
    "research_export",
]

logger = logging.getLogger(__name__)

#: Lower edges of the income bands, CNY per person per year.
DEFAULT_INCOME_EDGES: tuple[float, ...] = (0, 1000, 2000, 3000, 4000, 6000)
#: Quasi-identifiers checked by default (``age_band`` too when present).
DEFAULT_QUASI_IDENTIFIERS: tuple[str, ...] = ("township", "size_band", "income_band")
_DROP = ("household_id", "village", "group", "name", "phone", "help_plan", "notes")
_MONEY = ("need_amount", "debt_amount", "subsidy_income")
_SIZE_TOP = 6
_AGE_WIDTH = 10


@dataclass(frozen=True)
class ResearchExport:
    """A de-identified table and what it took to make it k-anonymous.

    Attributes
    ----------
    table : DataFrame
        One row per record kept, sorted by the quasi-identifiers, RangeIndex;
        no identifier column.
    k : int
    quasi_identifiers : tuple of str
    records : int
        Records before suppression.
    suppressed : int
        Records left out because their group had fewer than ``k`` records.
    classes : int
        Groups (equivalence classes) of the records kept.
    path : Path or None
        The file written, if any.
    """

    table: pd.DataFrame
    k: int
    quasi_identifiers: tuple[str, ...]
    records: int
    suppressed: int
    classes: int
    path: Path | None = None

    @property
    def suppressed_share(self) -> float:
        """Share of the records suppressed (0 for an empty table)."""
        return self.suppressed / self.records if self.records else 0.0

    def __str__(self) -> str:
        return (
            f"{len(self.table)} of {self.records} records kept in {self.classes} "
            f"groups of at least {self.k} ({', '.join(self.quasi_identifiers)}); "
            f"{self.suppressed} suppressed ({self.suppressed_share:.1%})"
        )


def income_band(values: pd.Series, edges: Sequence[float] = DEFAULT_INCOME_EDGES):
    """Band incomes: ``"1000-1999"``, ..., the last band open (``"6000+"``).

    Parameters
    ----------
    values : Series of float
    edges : sequence of float
        Increasing lower edges; the first is the lowest income (usually 0).

    Returns
    -------
    Series of str
        Same index; NA where the income is missing.
    """
    edges = [float(e) for e in edges]
    if len(edges) < 1 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ConfigError(f"income band edges must increase, got {edges}")

    def fmt(x: float) -> str:
        return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"

    labels = [f"{fmt(a)}-{fmt(b - 1)}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{fmt(edges[-1])}+")
    bins = [-math.inf, *edges[1:], math.inf]
    out = pd.cut(values.astype("float64"), bins=bins, labels=labels, right=False)
    return out.astype("string")


def _size_band(size: pd.Series) -> pd.Series:
    s = size.astype("Int64")
    out = s.astype("string")
    return out.where(s < _SIZE_TOP, f"{_SIZE_TOP}+")


def _age_band(age: pd.Series) -> pd.Series:
    a = pd.to_numeric(age, errors="coerce")
    low = (a // _AGE_WIDTH) * _AGE_WIDTH
    text = low.map(
        lambda x: pd.NA if pd.isna(x) else f"{int(x)}-{int(x) + _AGE_WIDTH - 1}"
    )
    return text.astype("string")


def class_sizes(table: pd.DataFrame, quasi_identifiers: Sequence[str]) -> pd.Series:
    """Size of each record's equivalence class (records sharing its QI values).

    Missing values form a value of their own.

    Returns
    -------
    Series of int64
        Same index as ``table``.
    """
    if not quasi_identifiers:
        return pd.Series(len(table), index=table.index, dtype="int64")
    keys = table[list(quasi_identifiers)].astype("string").fillna("\x00NA")
    return (
        keys.groupby(list(quasi_identifiers), dropna=False)[quasi_identifiers[0]]
        .transform("size")
        .astype("int64")
    )


def deidentify(
    households: pd.DataFrame,
    *,
    k: int = 5,
    quasi_identifiers: Sequence[str] | None = None,
    income_edges: Sequence[float] = DEFAULT_INCOME_EDGES,
) -> ResearchExport:
    """De-identify a households table and make it k-anonymous.

    Parameters
    ----------
    households : DataFrame
        A households table (canonical, or an analyst's view).
    k : int, default 5
        Smallest group allowed.
    quasi_identifiers : sequence of str, optional
        Columns of the result checked together; default
        :data:`DEFAULT_QUASI_IDENTIFIERS` plus ``age_band`` when the table
        has an ``age`` column.
    income_edges : sequence of float
        Lower edges of the income bands (see :func:`income_band`).

    Returns
    -------
    ResearchExport
        Its ``table`` has the input's columns less identifiers, villages and
        free text, with ``size_band``, ``income_band`` (and ``age_band``)
        in place of ``size``, ``income_per_capita`` (and ``age``), money
        rounded to 100 CNY.

    Raises
    ------
    ConfigError
        If ``k`` is not a positive integer or a quasi-identifier is not a
        column of the result.

    Notes
    -----
    Only the quasi-identifiers are protected: a rare combination of other
    columns (a secondary cause with a rare need kind, say) can still single
    a household out, so add such columns to ``quasi_identifiers`` when a
    release needs it. Suppression removes whole records; it never changes a
    value, so the shares of the records kept are exact, but small townships
    lose more records than large ones.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be an integer 1 or more, got {k!r}")
    df = households.drop(columns=[c for c in _DROP if c in households.columns])
    if "size" in df.columns:
        df.insert(df.columns.get_loc("size"), "size_band", _size_band(df.pop("size")))
    if "income_per_capita" in df.columns:
        col = df.columns.get_loc("income_per_capita")
        df.insert(
            col, "income_band", income_band(df.pop("income_per_capita"), income_edges)
        )
    if "age" in df.columns:
        df.insert(df.columns.get_loc("age"), "age_band", _age_band(df.pop("age")))
    for col in _MONEY:
        if col in df.columns:
            df[col] = (df[col].astype("float64") / 100).round() * 100
    if quasi_identifiers is None:
        qis = [q for q in DEFAULT_QUASI_IDENTIFIERS if q in df.columns]
        if "age_band" in df.columns:
            qis.append("age_band")
    else:
        qis = list(quasi_identifiers)
    missing = [q for q in qis if q not in df.columns]
    if missing:
        raise ConfigError(
            f"quasi-identifiers {missing} are not columns of the export; it has "
            + ", ".join(df.columns)
        )
    sizes = class_sizes(df, qis)
    kept = df[sizes >= k]
    if qis:
        kept = kept.sort_values(qis, kind="stable")
    kept = kept.reset_index(drop=True)
    classes = (
        int(kept[qis].astype("string").fillna("").drop_duplicates().shape[0])
        if qis
        else int(len(kept) > 0)
    )
    return ResearchExport(
        table=kept,
        k=int(k),
        quasi_identifiers=tuple(qis),
        records=len(df),
        suppressed=int(len(df) - len(kept)),
        classes=classes,
    )


def research_export(
    store: Store,
    path: str | PathLike | None = None,
    *,
    k: int = 5,
    quasi_identifiers: Sequence[str] | None = None,
    income_edges: Sequence[float] = DEFAULT_INCOME_EDGES,
    actor: str = "zfb export",
) -> ResearchExport:
    """Write the store's households as a de-identified, k-anonymous table.

    Parameters
    ----------
    store : Store
    path : str or path-like, optional
        ``.csv``, ``.xlsx`` or ``.parquet``; nothing is written without it.
    k, quasi_identifiers, income_edges
        See :func:`deidentify`.
    actor : str
        Who exports (recorded in the audit log with the counts).

    Returns
    -------
    ResearchExport
        With ``path`` set when a file was written.
    """
    result = deidentify(
        view(store, "households", Role.analyst()),
        k=k,
        quasi_identifiers=quasi_identifiers,
        income_edges=income_edges,
    )
    written = write_frame(result.table, path) if path is not None else None
    with store.write() as conn:
        audit.record(
            conn,
            actor=actor,
            action="export",
            table="households",
            detail=(
                f"research export, k={result.k}: {len(result.table)} kept, "
                f"{result.suppressed} suppressed"
            ),
        )
    logger.info("research export: %s", result)
    return ResearchExport(**{**result.__dict__, "path": written})
