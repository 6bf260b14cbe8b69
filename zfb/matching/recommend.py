"""Recommendations: top-k projects per household, top-k households per project.

A cadre sees, for each household, the projects to approach first; a funder
sees, for each project, the households (or bundles) to consider first. Both
lists rank the eligible pairs of single mode (or of another mode) by score,
among the pairs that can still happen:

- the household holds no accepted, funded or delivered match (those stay as
  they are, see :mod:`zfb.matching.states`);
- the project has a place and enough budget left for the household's
  amount, once its held matches are counted;
- the pair was not declined before.

:class:`Recommender` keeps the eligible pairs and the lists. When households
or projects are added, changed or removed, or matches change state, it
recomputes the pairs of what changed and only the lists that can change: a
household's list when one of its pairs changed, a project's list when a
changed pair enters it or leaves it. :class:`UpdateStats` counts what was
touched.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..taxonomy import Taxonomy, load_taxonomy
from .modes import mode_eligibility
from .scoring import ScoreWeights, explain_frame
from .states import MatchBook

__all__ = ["Recommender", "UpdateStats"]

logger = logging.getLogger(__name__)

_TERMS = [
    "household_id",
    "project_id",
    "amount",
    "score",
    "relevance",
    "priority",
    "match",
    "matched_on",
    "tag",
    "severity",
    "capped",
    "need_implied",
    "income_per_capita",
]


@dataclass
class UpdateStats:
    """What an update recomputed.

    Attributes
    ----------
    households, projects : int
        Records added, changed or removed.
    edges : int
        Eligible pairs recomputed (removed and rebuilt).
    household_lists, project_lists : int
        Lists recomputed.
    seconds : float
    """

    households: int = 0
    projects: int = 0
    edges: int = 0
    household_lists: int = 0
    project_lists: int = 0
    seconds: float = 0.0


class Recommender:
    """Top-k lists kept up to date as records and matches change.

    Parameters
    ----------
    households, projects : DataFrame
        Canonical tables; ids must be unique.
    taxonomy : Taxonomy, optional
    k : int, default=5
        Length of each list.
    weights : ScoreWeights, optional
    book : MatchBook, optional
        Matches with their states; held matches are kept, declined pairs
        left out. Call :meth:`sync` after changing it.
    mode : str, default="single"
        The mode projects must accept.

    Attributes
    ----------
    stats : UpdateStats
        What the last build or update recomputed.
    """

    def __init__(
        self,
        households: pd.DataFrame,
        projects: pd.DataFrame,
        taxonomy: Taxonomy | None = None,
        *,
        k: int = 5,
        weights: ScoreWeights | None = None,
        book: MatchBook | None = None,
        mode: str = "single",
    ) -> None:
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"k must be a whole number, 1 or more; got {k!r}")
        self.k = k
        self.mode = mode
        self.taxonomy = load_taxonomy() if taxonomy is None else taxonomy
        self.weights = ScoreWeights() if weights is None else weights
        self.book = MatchBook() if book is None else book
        clock = time.perf_counter()
        self._households = households.reset_index(drop=True).copy()
        self._projects = projects.reset_index(drop=True).copy()
        self._edges = self._pairs(self._households, self._projects)
        self._room, self._held, self._declined = self._state()
        self._hh = self._lists(self._edges, "household_id", "project_id")
        self._pj = self._lists(self._edges, "project_id", "household_id")
        self.stats = UpdateStats(
            households=len(self._households),
            projects=len(self._projects),
            edges=len(self._edges),
            household_lists=len(self._households),
            project_lists=len(self._projects),
            seconds=time.perf_counter() - clock,
        )

    # building blocks
    def _pairs(self, households: pd.DataFrame, projects: pd.DataFrame) -> pd.DataFrame:
        if len(households) == 0 or len(projects) == 0:
            return pd.DataFrame({c: [] for c in _TERMS})
        households = households.reset_index(drop=True)
        elig = mode_eligibility(
            households,
            projects.reset_index(drop=True),
            self.mode,
            self.taxonomy,
            self.weights,
        )
        e = elig.edges
        h = e["h"].to_numpy()
        return e.assign(
            need_implied=elig.need_implied[h],
            income_per_capita=households["income_per_capita"].to_numpy(float)[h],
        )[_TERMS]

    def _state(self):
        room = self.book.room(self._projects)[["capacity_left", "budget_left"]]
        held_hh = set(self.book.held()["household_id"]) if len(self.book) else set()
        return room, held_hh, self.book.declined_pairs()

    def _possible(self, edges: pd.DataFrame) -> np.ndarray:
        """Which pairs can still happen (room, not held, not declined)."""
        if len(edges) == 0:
            return np.zeros(0, dtype=bool)
        room = self._room.reindex(edges["project_id"].to_numpy())
        ok = (room["capacity_left"].to_numpy() >= 1) & (
            room["budget_left"].to_numpy() >= edges["amount"].to_numpy(float)
        )
        if self._held:
            ok &= ~edges["household_id"].isin(self._held).to_numpy()
        if self._declined:
            pairs = pd.MultiIndex.from_arrays(
                [edges["household_id"], edges["project_id"]]
            )
            ok &= ~pairs.isin(list(self._declined))
        return ok

    def _lists(self, edges: pd.DataFrame, owner: str, other: str) -> pd.DataFrame:
        """Top-k of each owner by score (ties: the other id)."""
        e = edges[self._possible(edges)]
        e = e.sort_values(
            [owner, "score", other], ascending=[True, False, True], kind="stable"
        )
        top = e.groupby(owner, sort=False).head(self.k).copy()
        top.insert(1, "rank", top.groupby(owner, sort=False).cumcount().to_numpy() + 1)
        return top.reset_index(drop=True)

    def _kth(self, lists: pd.DataFrame, owner: str) -> pd.Series:
        """Score an entry must beat to enter each owner's full list (-inf if short)."""
        g = lists.groupby(owner)["score"]
        kth = g.min().where(g.size() >= self.k, -np.inf)
        return kth

    def _recompute(self, households: set, projects: set) -> None:
        if households:
            ids = list(households)
            keep = ~self._hh["household_id"].isin(ids)
            part = self._edges[self._edges["household_id"].isin(ids)]
            self._hh = pd.concat(
                [self._hh[keep], self._lists(part, "household_id", "project_id")],
                ignore_index=True,
            )
        if projects:
            ids = list(projects)
            keep = ~self._pj["project_id"].isin(ids)
            part = self._edges[self._edges["project_id"].isin(ids)]
            self._pj = pd.concat(
                [self._pj[keep], self._lists(part, "project_id", "household_id")],
                ignore_index=True,
            )

    def _affected(self, old: pd.DataFrame, new: pd.DataFrame, owner: str) -> set:
        """Owners (projects or households) whose list a changed pair can alter."""
        lists = self._pj if owner == "project_id" else self._hh
        other = "household_id" if owner == "project_id" else "project_id"
        listed = lists[lists[other].isin(set(old[other]) | set(new[other]))]
        out = set(listed[owner])
        if len(new):
            kth = self._kth(lists, owner).reindex(new[owner].to_numpy()).fillna(-np.inf)
            enters = new["score"].to_numpy(float) >= kth.to_numpy()
            out |= set(new[owner].to_numpy()[enters])
        return out

    # updates
    def update_households(self, changed: pd.DataFrame) -> UpdateStats:
        """Add or replace households; recompute only what they touch.

        Parameters
        ----------
        changed : DataFrame
            Canonical household rows; an id already known replaces the old
            record, a new id adds one. Matches already held stay as they are.

        Returns
        -------
        UpdateStats
        """
        clock = time.perf_counter()
        ids = set(changed["household_id"].astype(str))
        keep = ~self._households["household_id"].astype(str).isin(ids)
        self._households = pd.concat(
            [self._households[keep], changed], ignore_index=True
        )
        old = self._edges[self._edges["household_id"].isin(ids)]
        new = self._pairs(changed, self._projects)
        self._edges = pd.concat(
            [self._edges[~self._edges["household_id"].isin(ids)], new],
            ignore_index=True,
        )
        projects = self._affected(old, new, "project_id")
        self._recompute(ids, projects)
        self.stats = UpdateStats(
            households=len(ids),
            edges=len(old) + len(new),
            household_lists=len(ids),
            project_lists=len(projects),
            seconds=time.perf_counter() - clock,
        )
        return self.stats

    def remove_households(self, household_ids) -> UpdateStats:
        """Remove households and their pairs; their held matches stay in the book."""
        clock = time.perf_counter()
        ids = {str(i) for i in household_ids}
        self._households = self._households[
            ~self._households["household_id"].astype(str).isin(ids)
        ].reset_index(drop=True)
        old = self._edges[self._edges["household_id"].isin(ids)]
        self._edges = self._edges[~self._edges["household_id"].isin(ids)]
        projects = set(self._pj.loc[self._pj["household_id"].isin(ids), "project_id"])
        self._hh = self._hh[~self._hh["household_id"].isin(ids)]
        self._recompute(set(), projects)
        self.stats = UpdateStats(
            households=len(ids),
            edges=len(old),
            project_lists=len(projects),
            seconds=time.perf_counter() - clock,
        )
        return self.stats

    def update_projects(self, changed: pd.DataFrame) -> UpdateStats:
        """Add or replace projects; recompute only what they touch.

        Parameters
        ----------
        changed : DataFrame
            Canonical project rows; an id already known replaces the old
            record. Its held matches stay and still use its room.

        Returns
        -------
        UpdateStats
        """
        clock = time.perf_counter()
        ids = set(changed["project_id"].astype(str))
        keep = ~self._projects["project_id"].astype(str).isin(ids)
        self._projects = pd.concat([self._projects[keep], changed], ignore_index=True)
        old = self._edges[self._edges["project_id"].isin(ids)]
        new = self._pairs(self._households, changed)
        self._edges = pd.concat(
            [self._edges[~self._edges["project_id"].isin(ids)], new], ignore_index=True
        )
        self._room, self._held, self._declined = self._state()
        households = self._affected(old, new, "household_id")
        self._recompute(households, ids)
        self.stats = UpdateStats(
            projects=len(ids),
            edges=len(old) + len(new),
            household_lists=len(households),
            project_lists=len(ids),
            seconds=time.perf_counter() - clock,
        )
        return self.stats

    def remove_projects(self, project_ids) -> UpdateStats:
        """Remove projects and their pairs."""
        clock = time.perf_counter()
        ids = {str(i) for i in project_ids}
        self._projects = self._projects[
            ~self._projects["project_id"].astype(str).isin(ids)
        ].reset_index(drop=True)
        old = self._edges[self._edges["project_id"].isin(ids)]
        self._edges = self._edges[~self._edges["project_id"].isin(ids)]
        self._room, self._held, self._declined = self._state()
        households = set(self._hh.loc[self._hh["project_id"].isin(ids), "household_id"])
        self._pj = self._pj[~self._pj["project_id"].isin(ids)]
        self._recompute(households, set())
        self.stats = UpdateStats(
            projects=len(ids),
            edges=len(old),
            household_lists=len(households),
            seconds=time.perf_counter() - clock,
        )
        return self.stats

    def sync(self) -> UpdateStats:
        """Follow the book after matches changed state.

        A household that now holds a match leaves every list and its own
        list empties; a project whose room changed gets its list recomputed,
        and so do the households that have a pair with it.
        """
        clock = time.perf_counter()
        old_room, old_held, old_declined = self._room, self._held, self._declined
        self._room, self._held, self._declined = self._state()
        moved = self._room.ne(old_room.reindex(self._room.index)).any(axis=1)
        projects = set(self._room.index[moved.to_numpy()])
        flipped = (self._held ^ old_held) | {
            h for h, _ in self._declined ^ old_declined
        }
        projects |= {p for _, p in self._declined ^ old_declined}
        households = set(flipped)
        households |= set(
            self._edges.loc[self._edges["project_id"].isin(projects), "household_id"]
        )
        projects |= set(
            self._pj.loc[self._pj["household_id"].isin(flipped), "project_id"]
        )
        projects |= set(
            self._edges.loc[self._edges["household_id"].isin(flipped), "project_id"]
        )
        self._recompute(households, projects)
        self.stats = UpdateStats(
            household_lists=len(households),
            project_lists=len(projects),
            seconds=time.perf_counter() - clock,
        )
        return self.stats

    # the lists
    def _explained(self, rows: pd.DataFrame) -> pd.Series:
        if len(rows) == 0:
            return pd.Series([], dtype="str")
        return explain_frame(rows, self.taxonomy, self.weights)

    def for_household(self, household_ids=None) -> pd.DataFrame:
        """Top-k projects of each household (its cadre's list).

        Parameters
        ----------
        household_ids : list of str, optional
            Default every household.

        Returns
        -------
        DataFrame
            Sorted by household then rank: ``household_id``, ``rank`` (1 is
            best), ``project_id``, ``score``, ``amount``, ``explanation``. A
            household with no possible project has no row.
        """
        rows = self._hh
        if household_ids is not None:
            rows = rows[rows["household_id"].isin([str(i) for i in household_ids])]
        rows = rows.sort_values(["household_id", "rank"]).reset_index(drop=True)
        out = rows[["household_id", "rank", "project_id", "score", "amount"]].copy()
        out["explanation"] = self._explained(rows).to_numpy()
        out = out.astype(
            {
                "household_id": "str",
                "project_id": "str",
                "explanation": "str",
                "rank": np.int64,
            }
        )
        return out

    def for_project(self, project_ids=None) -> pd.DataFrame:
        """Top-k households of each project (its funder's list).

        Returns
        -------
        DataFrame
            Sorted by project then rank: ``project_id``, ``rank``,
            ``household_id``, ``score``, ``amount``, ``explanation``.
        """
        rows = self._pj
        if project_ids is not None:
            rows = rows[rows["project_id"].isin([str(i) for i in project_ids])]
        rows = rows.sort_values(["project_id", "rank"]).reset_index(drop=True)
        out = rows[["project_id", "rank", "household_id", "score", "amount"]].copy()
        out["explanation"] = self._explained(rows).to_numpy()
        out = out.astype(
            {
                "project_id": "str",
                "household_id": "str",
                "explanation": "str",
                "rank": np.int64,
            }
        )
        return out

    def bundles_for_project(self, bundles, project_ids=None) -> pd.DataFrame:
        """Top-k bundles of each project that serves every household of them.

        Parameters
        ----------
        bundles : Bundles
            From :func:`zfb.matching.bundles.make_bundles` on this
            recommender's households (in the same order).
        project_ids : list of str, optional

        Returns
        -------
        DataFrame
            ``project_id``, ``rank``, ``bundle_id``, ``households``,
            ``score`` (sum over the bundle), ``amount`` (sum),
            ``explanation``.
        """
        from .bundles import bundle_edges

        hpos = pd.Index(self._households["household_id"].astype(str))
        ppos = pd.Index(self._projects["project_id"].astype(str))
        e = self._edges[self._possible(self._edges)]
        if project_ids is not None:
            e = e[e["project_id"].isin([str(i) for i in project_ids])]
        e = e.assign(
            h=hpos.get_indexer(e["household_id"]), p=ppos.get_indexer(e["project_id"])
        )
        be = bundle_edges(e, bundles)
        room = self._room.reindex(ppos[be["p"].to_numpy()])
        fits = (room["capacity_left"].to_numpy() >= be["households"].to_numpy()) & (
            room["budget_left"].to_numpy() >= be["amount"].to_numpy()
        )
        be = be[fits]
        table = bundles.table
        out = pd.DataFrame(
            {
                "project_id": ppos[be["p"].to_numpy()].to_numpy(dtype=object),
                "bundle_id": table["bundle_id"].to_numpy(dtype=object)[
                    be["b"].to_numpy()
                ],
                "households": be["households"].to_numpy(np.int64),
                "score": be["score"].to_numpy(float),
                "amount": be["amount"].to_numpy(float),
                "cause": table["cause"].to_numpy(dtype=object)[be["b"].to_numpy()],
                "township": table["township"].to_numpy(dtype=object)[
                    be["b"].to_numpy()
                ],
            }
        )
        out = out.sort_values(
            ["project_id", "score", "bundle_id"], ascending=[True, False, True]
        )
        out = out.groupby("project_id", sort=False).head(self.k).reset_index(drop=True)
        out.insert(
            1, "rank", out.groupby("project_id", sort=False).cumcount().to_numpy() + 1
        )
        out["explanation"] = [
            f"bundle of {n} households sharing {c} in {t}; serves every one of them; "
            f"{a:,.0f} CNY in all"
            for n, c, t, a in zip(
                out["households"],
                out["cause"],
                out["township"],
                out["amount"],
                strict=True,
            )
        ]
        out = out.drop(columns=["cause", "township"])
        for col in ("project_id", "bundle_id", "explanation"):
            out[col] = out[col].astype("str")
        return out

    @property
    def edges(self) -> pd.DataFrame:
        """Every eligible pair kept (household_id, project_id, amount, score, terms)."""
        return self._edges.reset_index(drop=True)
