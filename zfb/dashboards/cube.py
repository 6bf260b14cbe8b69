"""Filtered county figures that answer at once, on a county of any size.

A dashboard filters the county by township and by cause and shows, for the
households left, the headline numbers of :func:`zfb.analysis.summary`, the
cause shares of :func:`zfb.analysis.cause_shares` and the table of
:func:`zfb.analysis.matches_by_township`. Recomputing those from the rows
takes about a second on 46,000 households; a :class:`CountyCube` computes
them once per *cell* and adds cells up, so a filter change takes a few
milliseconds and gives the same numbers.

A cell is a township and the set of primary categories its households list
(for example 泼机镇 and {ILL, CAP}). Every household is in exactly one cell,
and every filter the dashboards offer (one township or all; households that
list a given primary category, or all) is a union of cells, so counts and
sums of the filtered households are sums over cells.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import analysis, illness
from ..errors import ZfbWarning
from ..taxonomy import REGISTRY_OPTIONS, Taxonomy, load_taxonomy

__all__ = ["CountyCube"]

logger = logging.getLogger(__name__)

_LEVELS = ("primary", "secondary", "registry")
_SHARE_COLUMNS = ["cause", "name_zh", "name_en", "households", "total", "share"]
_TOWNSHIP_COLUMNS = [
    "township",
    "households",
    "matched",
    "unmatched",
    "share_matched",
    "amount",
    "need",
    "unmet_need",
]
# name of the grouping column handed to cause_shares
_CELL = "_cell"


def _lists(causes: pd.Series, primary: str) -> np.ndarray:
    """Whether each list of cause codes holds ``primary`` or one of its
    secondaries (codes are ``PRI`` or ``PRI.NAME``, joined by ``;``)."""
    pattern = rf"(?:^|;)\s*{primary}(?:\.[^;]*)?\s*(?:;|$)"
    return causes.astype("str").str.contains(pattern, regex=True).to_numpy(bool)


@dataclass
class CountyCube:
    """Figures of a county by cell, added up for any township/cause filter.

    Build one with :meth:`build`; the attributes are its internal arrays.

    Attributes
    ----------
    townships : list of str
        Township names, in the order they first appear in the households
        table.
    primaries : list of str
        Codes of the primary categories of the taxonomy, in taxonomy order.
    has_matches : bool
        Whether a matches table was given (the match figures are then part
        of :meth:`summary`).
    notes : list of str
        What the build had to say about its input (for example matches that
        name unknown households), to show on the page.
    """

    townships: list[str]
    primaries: list[str]
    has_matches: bool
    notes: list[str]
    # per household, shape (n_households,)
    _cell: np.ndarray = field(repr=False)
    _township: np.ndarray = field(repr=False)
    _village: np.ndarray = field(repr=False)
    _size: np.ndarray = field(repr=False)
    _income: np.ndarray = field(repr=False)
    _need: np.ndarray = field(repr=False)
    _rows: np.ndarray = field(repr=False)
    _paid: np.ndarray = field(repr=False)
    _matched: np.ndarray = field(repr=False)
    _unmet: np.ndarray = field(repr=False)
    _has_villages: bool = field(repr=False)
    # per cell, shape (n_cells,)
    _cell_township: np.ndarray = field(repr=False)
    _cell_bits: np.ndarray = field(repr=False)
    _cell_total: np.ndarray = field(repr=False)
    # cause_shares by cell, one table per level
    _shares: dict[str, pd.DataFrame] = field(repr=False)
    _order: dict[str, dict[str, int]] = field(repr=False)
    # illness_breakdown and training_needs by cell
    _illness: pd.DataFrame = field(repr=False)
    _training: pd.DataFrame = field(repr=False)
    _illness_order: dict[str, int] = field(repr=False)
    _training_order: dict[str, int] = field(repr=False)

    @classmethod
    def build(
        cls,
        households: pd.DataFrame,
        matches: pd.DataFrame | None = None,
        *,
        taxonomy: Taxonomy | None = None,
        levels: Sequence[str] = _LEVELS,
    ) -> CountyCube:
        """Compute the figures of every cell of a county.

        Parameters
        ----------
        households : DataFrame
            Canonical households table.
        matches : DataFrame, optional
            Matches table (``household_id``, ``project_id``, ``amount``).
            Rows naming a household that is not in ``households`` are left
            out, and a note says how many.
        taxonomy : Taxonomy, optional
            Default :func:`zfb.load_taxonomy`.
        levels : sequence of {"primary", "secondary", "registry"}
            Levels of :meth:`cause_shares` to prepare; default all three.

        Returns
        -------
        CountyCube

        Notes
        -----
        Building costs about one call of :func:`zfb.analysis.cause_shares`
        per level on the whole county (about 0.4 s per level on 46,000
        households); memory is one row per cell and cause, a few tens of
        thousands of rows.
        """
        tax = taxonomy or load_taxonomy()
        bad = [lv for lv in levels if lv not in _LEVELS]
        if bad:
            raise ValueError(f"levels must be among {_LEVELS}; got {bad}")
        hh = households.reset_index(drop=True)
        n = len(hh)
        notes: list[str] = []

        # cells: township and the set of primary categories listed
        town_codes, town_names = pd.factorize(hh["township"].astype("str"))
        primaries = tax.primaries
        bits = np.zeros(n, dtype=np.int64)
        for k, code in enumerate(primaries):
            bits |= _lists(hh["causes"], code).astype(np.int64) << k
        key = town_codes.astype(np.int64) * (1 << len(primaries)) + bits
        cell, cell_keys = pd.factorize(key)
        cell_keys = np.asarray(cell_keys, dtype=np.int64)
        cell_township = cell_keys >> len(primaries)
        cell_bits = cell_keys & ((1 << len(primaries)) - 1)
        cell_total = np.bincount(cell, minlength=len(cell_keys))

        # cause shares by cell
        grouped = pd.DataFrame({_CELL: cell, "causes": hh["causes"]})
        shares = {
            lv: analysis.cause_shares(grouped, level=lv, by=_CELL, taxonomy=tax)
            for lv in levels
        }
        codes = tax.to_frame()["code"].tolist()
        order = {
            "primary": {c: i for i, c in enumerate(codes)},
            "secondary": {c: i for i, c in enumerate(codes)},
            "registry": {c: i for i, c in enumerate(REGISTRY_OPTIONS)},
        }

        # illness and training needs by cell
        with_need = grouped.assign(
            need_kind=hh["need_kind"] if "need_kind" in hh.columns else pd.NA
        )
        ill = illness.illness_breakdown(grouped, by=_CELL, taxonomy=tax)
        training = illness.training_needs(with_need, by=_CELL, taxonomy=tax)
        ill_order = {c: i for i, c in enumerate(["ILL", *tax.children("ILL")])}
        training_order = {c: i for i, c in enumerate(illness.SKILL_CAUSES)}

        # households' own numbers
        village = (
            hh["village"] if "village" in hh.columns else pd.Series(pd.NA, hh.index)
        )
        village_codes, _ = pd.factorize(village.astype("string"))
        need = hh["need_amount"].to_numpy(dtype="float64", na_value=np.nan)
        rows = np.zeros(n, dtype=np.int64)
        paid = np.zeros(n, dtype="float64")
        matched = np.zeros(n, dtype=bool)
        unmet = need.copy()
        if matches is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ZfbWarning)
                matched = analysis.is_matched(hh, matches).to_numpy(dtype=bool)
                unmet = analysis.unmet_need(hh, matches).to_numpy(dtype="float64")
            notes += sorted({str(w.message) for w in caught})
            ids = pd.Index(hh["household_id"].astype("str"))
            pos = ids.get_indexer(matches["household_id"].astype("str"))
            known = pos >= 0
            amount = pd.to_numeric(matches["amount"], errors="coerce")
            amount = amount.to_numpy(dtype="float64", na_value=np.nan)[known]
            rows = np.bincount(pos[known], minlength=n).astype(np.int64)
            paid = np.bincount(pos[known], weights=np.nan_to_num(amount), minlength=n)
        logger.debug("cube: %d households in %d cells", n, len(cell_keys))
        return cls(
            townships=[str(t) for t in town_names],
            primaries=list(primaries),
            has_matches=matches is not None,
            notes=notes,
            _cell=cell,
            _township=town_codes,
            _village=village_codes,
            _size=hh["size"].to_numpy(dtype=np.int64),
            _income=hh["income_per_capita"].to_numpy(dtype="float64"),
            _need=need,
            _rows=rows,
            _paid=paid,
            _matched=matched,
            _unmet=unmet,
            _has_villages="village" in hh.columns,
            _cell_township=cell_township,
            _cell_bits=cell_bits,
            _cell_total=cell_total,
            _shares=shares,
            _order=order,
            _illness=ill,
            _training=training,
            _illness_order=ill_order,
            _training_order=training_order,
        )

    # filters
    def _cells(self, township: str | None, cause: str | None) -> np.ndarray:
        """Which cells the filter keeps, shape (n_cells,)."""
        keep = np.ones(len(self._cell_total), dtype=bool)
        if township is not None:
            if township in self.townships:
                keep &= self._cell_township == self.townships.index(township)
            else:
                keep[:] = False
        if cause is not None:
            if cause not in self.primaries:
                raise ValueError(
                    f"cause must be a primary category ({', '.join(self.primaries)}) "
                    f"or None; got {cause!r}"
                )
            keep &= (self._cell_bits >> self.primaries.index(cause)) & 1 == 1
        return keep

    def mask(self, township: str | None = None, cause: str | None = None) -> np.ndarray:
        """Which households the filter keeps.

        Parameters
        ----------
        township : str, optional
            Keep the households of this township; None keeps all. A name
            that is not in the county keeps none.
        cause : str, optional
            Keep the households that list this primary category (or one of
            its secondary causes); None keeps all.

        Returns
        -------
        ndarray of bool, shape (n_households,)
            In the order of the households table given to :meth:`build`.
        """
        return self._cells(township, cause)[self._cell]

    def households(self, township: str | None = None, cause: str | None = None) -> int:
        """Number of households the filter keeps."""
        return int(self._cell_total[self._cells(township, cause)].sum())

    # figures
    def summary(
        self, township: str | None = None, cause: str | None = None
    ) -> dict[str, int | float]:
        """Headline numbers of the filtered households.

        Returns
        -------
        dict
            The keys and values of ``zfb.analysis.summary(filtered,
            matches=matches)`` (without the matches keys when the cube was
            built without matches): ``households``, ``people``,
            ``townships``, ``villages``, ``median_income_per_capita``,
            ``households_with_need``, ``total_need`` and, with matches,
            ``matches``, ``matched_households``, ``unmatched_households``,
            ``share_matched``, ``amount_matched``, ``unmet_need``.
        """
        m = self.mask(township, cause)
        n = int(m.sum())
        need = self._need[m]
        out: dict[str, int | float] = {
            "households": n,
            "people": int(self._size[m].sum()),
            "townships": int(np.unique(self._township[m]).size),
        }
        if self._has_villages:
            v = self._village[m]
            out["villages"] = int(np.unique(v[v >= 0]).size)
        median = pd.Series(self._income[m]).median()
        out["median_income_per_capita"] = float(median) if n else float("nan")
        out["households_with_need"] = int((~np.isnan(need)).sum())
        out["total_need"] = float(np.nansum(need)) if n else 0.0
        if self.has_matches:
            matched = int(self._matched[m].sum())
            out["matches"] = int(self._rows[m].sum())
            out["matched_households"] = matched
            out["unmatched_households"] = n - matched
            out["share_matched"] = matched / n if n else float("nan")
            out["amount_matched"] = float(self._paid[m].sum())
            out["unmet_need"] = float(np.nansum(self._unmet[m])) if n else 0.0
        return out

    def cause_shares(
        self,
        township: str | None = None,
        cause: str | None = None,
        *,
        level: str = "primary",
    ) -> pd.DataFrame:
        """Cause shares of the filtered households.

        Returns
        -------
        DataFrame
            What ``zfb.analysis.cause_shares(filtered, level=level)`` returns:
            one row per cause listed by at least one filtered household,
            columns ``cause``, ``name_zh``, ``name_en``, ``households``
            (int), ``total`` (int, the filtered households) and ``share``,
            sorted by ``households`` descending then in taxonomy (or
            registry) order; RangeIndex.

        Raises
        ------
        ValueError
            If ``level`` was not prepared by :meth:`build`.
        """
        if level not in self._shares:
            raise ValueError(
                f"level {level!r} was not prepared; build the cube with "
                f"levels including it (prepared: {', '.join(self._shares)})"
            )
        keep = self._cells(township, cause)
        table = self._shares[level]
        rows = table[keep[table[_CELL].to_numpy()]]
        total = int(self._cell_total[keep].sum())
        if rows.empty:
            return table.iloc[:0][_SHARE_COLUMNS].reset_index(drop=True)
        names = rows.drop_duplicates("cause").set_index("cause")[["name_zh", "name_en"]]
        counts = rows.groupby("cause", sort=False)["households"].sum()
        out = names.loc[counts.index].reset_index()
        out["households"] = counts.to_numpy(dtype=np.int64)
        out["total"] = np.int64(total)
        out["share"] = out["households"] / total
        rank = out["cause"].map(self._order[level]).fillna(len(self._order[level]))
        out = out.assign(_rank=rank.to_numpy())
        out = out.sort_values(["households", "_rank"], ascending=[False, True])
        return out[_SHARE_COLUMNS].reset_index(drop=True)

    def _breakdown(
        self,
        table: pd.DataFrame,
        keep: np.ndarray,
        any_name: str,
        order: dict[str, int],
        extra: str | None = None,
    ) -> pd.DataFrame:
        """Sum a breakdown of :mod:`zfb.illness` by cell over the kept cells."""
        share_any = f"share_of_{any_name.removesuffix('_households')}"
        columns = ["cause", "name_zh", "name_en", "households", any_name, "total"]
        columns += ["share", share_any] + ([extra] if extra else [])
        rows = table[keep[table[_CELL].to_numpy()]]
        if rows.empty:
            return table.iloc[:0].reindex(columns=columns).reset_index(drop=True)
        total = int(self._cell_total[keep].sum())
        any_count = int(rows.drop_duplicates(_CELL)[any_name].sum())
        names = rows.drop_duplicates("cause").set_index("cause")[["name_zh", "name_en"]]
        sums = ["households", *([extra] if extra else [])]
        counts = rows.groupby("cause", sort=False)[sums].sum()
        out = names.loc[counts.index].reset_index()
        for col in sums:
            out[col] = counts[col].to_numpy(dtype=np.int64)
        out[any_name] = np.int64(any_count)
        out["total"] = np.int64(total)
        out["share"] = out["households"] / out["total"]
        out[share_any] = out["households"] / out[any_name]
        out["_rank"] = out["cause"].map(order).to_numpy()
        out = out.sort_values(["households", "_rank"], ascending=[False, True])
        return out[columns].reset_index(drop=True)

    def illness(
        self, township: str | None = None, cause: str | None = None
    ) -> pd.DataFrame:
        """Households poor because of each illness, of the filtered households.

        Returns
        -------
        DataFrame
            What ``zfb.illness.illness_breakdown(filtered, by=None)``
            returns: columns ``cause``, ``name_zh``, ``name_en``,
            ``households``, ``ill_households``, ``total``, ``share`` and
            ``share_of_ill``, most households first; RangeIndex.
        """
        keep = self._cells(township, cause)
        return self._breakdown(
            self._illness, keep, "ill_households", self._illness_order
        )

    def training(
        self, township: str | None = None, cause: str | None = None
    ) -> pd.DataFrame:
        """Households lacking each skill, of the filtered households.

        Returns
        -------
        DataFrame
            What ``zfb.illness.training_needs(filtered, by=None)`` returns:
            columns ``cause``, ``name_zh``, ``name_en``, ``households``,
            ``skill_households``, ``total``, ``share``, ``share_of_skill`` and
            ``asks_training``, most households first; RangeIndex.
        """
        keep = self._cells(township, cause)
        return self._breakdown(
            self._training,
            keep,
            "skill_households",
            self._training_order,
            extra="asks_training",
        )

    def matches_by_township(
        self, township: str | None = None, cause: str | None = None
    ) -> pd.DataFrame:
        """Matched households and amounts by township, of the filtered households.

        Returns
        -------
        DataFrame
            What ``zfb.analysis.matches_by_township(filtered, matches)``
            returns: one row per township with at least one filtered
            household, sorted by ``households`` descending then by name;
            columns ``township``, ``households``, ``matched``, ``unmatched``
            (int), ``share_matched``, ``amount``, ``need``, ``unmet_need``
            (float); RangeIndex. Without matches every household counts as
            unmatched.
        """
        m = self.mask(township, cause)
        t = self._township[m]
        k = len(self.townships)
        households = np.bincount(t, minlength=k)
        matched = np.bincount(t, weights=self._matched[m], minlength=k)
        amount = np.bincount(t, weights=self._paid[m], minlength=k)
        need = np.bincount(t, weights=np.nan_to_num(self._need[m]), minlength=k)
        unmet = np.bincount(t, weights=np.nan_to_num(self._unmet[m]), minlength=k)
        out = pd.DataFrame(
            {
                "township": pd.Series(self.townships, dtype="str"),
                "households": households.astype(np.int64),
                "matched": matched.astype(np.int64),
                "amount": amount,
                "need": need,
                "unmet_need": unmet,
            }
        )
        out = out[out["households"] > 0].copy()
        out["unmatched"] = out["households"] - out["matched"]
        out["share_matched"] = out["matched"] / out["households"]
        out = out.sort_values(["households", "township"], ascending=[False, True])
        return out[_TOWNSHIP_COLUMNS].reset_index(drop=True)
