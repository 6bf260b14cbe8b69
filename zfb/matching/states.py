"""Match states: proposed, accepted, funded, delivered (or declined, expired,
withdrawn).

A match (对接) is proposed by a solver or a person, then accepted by the
funder and the household's cadre, funded when the money is paid, and
delivered when the household has received the help. A proposed or accepted
match may instead be declined by a person, or expire when nobody acts on it
in time. A proposal that a new match run no longer makes is withdrawn: nobody
decided against it, and a later run may propose it again. Every change
records who made it and when, and stays with the match (:class:`MatchBook`);
the tables (:meth:`MatchBook.to_frame`, :meth:`MatchBook.history_frame`) are
plain DataFrames, and the store (:mod:`zfb.store`) keeps the same states,
rules and history in its ``matches`` and ``match_history`` tables.

The allowed changes (:data:`TRANSITIONS`)::

    proposed  -> accepted | declined | expired | withdrawn
    accepted  -> funded   | declined | expired
    funded    -> delivered
    withdrawn -> proposed
    delivered, declined, expired: final

The ``actor`` of a change is an account id or a role (``"cadre:0042"``,
``"funder:星芽基金会"``), never a person's name or phone number.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ZfbError

__all__ = [
    "FINAL_STATES",
    "HELD_STATES",
    "HISTORY_COLUMNS",
    "MATCH_COLUMNS",
    "MATCH_STATES",
    "OPEN_STATES",
    "RUN_STATES",
    "TRANSITIONS",
    "Match",
    "MatchBook",
    "StateError",
    "Transition",
]

logger = logging.getLogger(__name__)

#: Every state, in the order a match goes through them, then the other ends.
MATCH_STATES: tuple[str, ...] = (
    "proposed",
    "accepted",
    "funded",
    "delivered",
    "declined",
    "expired",
    "withdrawn",
)
#: State -> the states it may change to.
TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"accepted", "declined", "expired", "withdrawn"}),
    "accepted": frozenset({"funded", "declined", "expired"}),
    "funded": frozenset({"delivered"}),
    "withdrawn": frozenset({"proposed"}),
    "delivered": frozenset(),
    "declined": frozenset(),
    "expired": frozenset(),
}
#: States a match never leaves: help delivered, declined by a person, expired.
FINAL_STATES: tuple[str, ...] = tuple(s for s, to in TRANSITIONS.items() if not to)
#: States in which a match holds its household and its project's room: a new
#: solve or recommendation keeps them as they are.
HELD_STATES: tuple[str, ...] = ("accepted", "funded", "delivered")
#: States of a match still under way (a pair cannot be proposed twice).
OPEN_STATES: tuple[str, ...] = ("proposed", "accepted", "funded")
#: States a new match run may change: it updates a proposal, withdraws one it
#: no longer makes, and proposes a withdrawn pair again. Every other state is
#: a person's decision or an end, which a run keeps as it is.
RUN_STATES: tuple[str, ...] = ("proposed", "withdrawn")

#: Columns of :meth:`MatchBook.to_frame`.
MATCH_COLUMNS = [
    "match_id",
    "household_id",
    "project_id",
    "mode",
    "amount",
    "score",
    "explanation",
    "status",
    "created_at",
    "updated_at",
    "updated_by",
]
#: Columns of :meth:`MatchBook.history_frame` (and of the store's
#: ``match_history``, which adds its own ``history_id``).
HISTORY_COLUMNS = ["match_id", "status_from", "status_to", "actor", "at", "note"]


class StateError(ZfbError):
    """A change of state that the rules do not allow, or an unknown match."""


@dataclass(frozen=True)
class Transition:
    """One change of a match's state.

    Attributes
    ----------
    match_id : str
    status_from : str or None
        None for the proposal itself.
    status_to : str
    actor : str
        Account id or role of who made the change.
    at : datetime.datetime
        When, timezone-aware (UTC unless given otherwise).
    note : str
    """

    match_id: str
    status_from: str | None
    status_to: str
    actor: str
    at: dt.datetime
    note: str = ""


@dataclass
class Match:
    """A household (or bundle) to a project, with its state and history.

    Attributes
    ----------
    match_id, household_id, project_id, mode : str
    amount, score : float
    explanation : str
    status : str
        One of :data:`MATCH_STATES`.
    history : list of Transition
        Oldest first; the first is the proposal.
    """

    match_id: str
    household_id: str
    project_id: str
    mode: str
    amount: float
    score: float
    explanation: str
    status: str
    history: list[Transition] = field(default_factory=list)


def _now(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at


def _check_actor(actor: str) -> str:
    actor = str(actor).strip()
    if not actor:
        raise StateError(
            "every change of a match needs an actor (an account id or role)"
        )
    return actor


class MatchBook:
    """The matches of a county with their states and histories.

    Examples
    --------
    >>> book = MatchBook()
    >>> [mid] = book.propose(result.matches, actor="solver")  # doctest: +SKIP
    >>> book.set_status(mid, "accepted", actor="funder:0007")  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._matches: dict[str, Match] = {}
        self._open: dict[tuple[str, str], str] = {}
        self._next = 1

    def __len__(self) -> int:
        return len(self._matches)

    def __iter__(self) -> Iterator[Match]:
        return iter(self._matches.values())

    def __getitem__(self, match_id: str) -> Match:
        try:
            return self._matches[match_id]
        except KeyError:
            raise StateError(f"no match {match_id!r}") from None

    def propose(
        self,
        matches: pd.DataFrame,
        *,
        actor: str,
        at: dt.datetime | None = None,
        mode: str = "single",
        note: str = "",
    ) -> list[str]:
        """Add proposed matches.

        A pair whose match was withdrawn gets that match back (``withdrawn ->
        proposed``, with the new amount, score and explanation), as the store
        does; any other pair gets a new match.

        Parameters
        ----------
        matches : DataFrame
            ``household_id``, ``project_id`` and optionally ``amount``,
            ``score``, ``explanation`` (a matches table of any mode).
        actor : str
        at : datetime, optional
            Default now (UTC).
        mode : str, default="single"
        note : str, default=""

        Returns
        -------
        list of str
            The ids of the proposed matches, in the order of ``matches``.

        Raises
        ------
        StateError
            If a pair already has a match under way (proposed, accepted or
            funded), or ``at`` is earlier than the last change of a withdrawn
            match proposed again; nothing is changed then.
        """
        actor = _check_actor(actor)
        at = _now(at)
        pairs = list(
            zip(
                matches["household_id"].astype(str),
                matches["project_id"].astype(str),
                strict=True,
            )
        )
        taken = [pr for pr in pairs if pr in self._open]
        dupes = len(pairs) - len(set(pairs))
        if taken or dupes:
            what = f"{taken[0][0]} -> {taken[0][1]}" if taken else "a pair listed twice"
            raise StateError(
                f"{len(taken) + dupes} pair(s) already have a match under way "
                f"(first: {what}); decline or expire it before proposing again"
            )
        withdrawn = {
            (m.household_id, m.project_id): m for m in self if m.status == "withdrawn"
        }
        late = [
            withdrawn[pr].match_id
            for pr in pairs
            if pr in withdrawn and at < withdrawn[pr].history[-1].at
        ]
        if late:
            raise StateError(
                f"match {late[0]}: proposing it again at {at.isoformat()} is earlier "
                "than its withdrawal"
            )
        n = len(matches)
        amount = (
            matches["amount"].to_numpy(float)
            if "amount" in matches
            else np.full(n, np.nan)
        )
        score = (
            matches["score"].to_numpy(float)
            if "score" in matches
            else np.full(n, np.nan)
        )
        text = (
            matches["explanation"].astype(str).tolist()
            if "explanation" in matches
            else [""] * n
        )
        ids = []
        for (hid, pid), a, s, t in zip(pairs, amount, score, text, strict=True):
            again = withdrawn.get((hid, pid))
            if again is not None:
                again.amount, again.score, again.explanation = float(a), float(s), t
                again.history.append(
                    Transition(again.match_id, "withdrawn", "proposed", actor, at, note)
                )
                again.status = "proposed"
                self._open[(hid, pid)] = again.match_id
                ids.append(again.match_id)
                continue
            mid = f"M{self._next:07d}"
            self._next += 1
            self._matches[mid] = Match(
                mid,
                hid,
                pid,
                mode,
                float(a),
                float(s),
                t,
                "proposed",
                [Transition(mid, None, "proposed", actor, at, note)],
            )
            self._open[(hid, pid)] = mid
            ids.append(mid)
        logger.debug("%d matches proposed by %s", len(ids), actor)
        return ids

    def set_status(
        self,
        match_id: str,
        status: str,
        *,
        actor: str,
        at: dt.datetime | None = None,
        note: str = "",
    ) -> Match:
        """Change a match's state, recording who changed it and when.

        Raises
        ------
        StateError
            If the match is unknown, the state unknown, the change not allowed
            by :data:`TRANSITIONS`, or ``at`` earlier than the last change.
        """
        actor = _check_actor(actor)
        if status not in MATCH_STATES:
            raise StateError(
                f"unknown state {status!r}; states: {', '.join(MATCH_STATES)}"
            )
        match = self[match_id]
        pair = (match.household_id, match.project_id)
        if status not in TRANSITIONS[match.status]:
            allowed = ", ".join(sorted(TRANSITIONS[match.status])) or "none (final)"
            raise StateError(
                f"match {match_id} is {match.status}: it cannot become {status} "
                f"(allowed: {allowed})"
            )
        if status in OPEN_STATES and self._open.get(pair, match_id) != match_id:
            raise StateError(
                f"match {match_id}: {pair[0]} -> {pair[1]} already has match "
                f"{self._open[pair]} under way; it cannot become {status}"
            )
        at = _now(at)
        if at < match.history[-1].at:
            raise StateError(
                f"match {match_id}: a change at {at.isoformat()} is earlier than the "
                f"last one ({match.history[-1].at.isoformat()})"
            )
        match.history.append(
            Transition(match_id, match.status, status, actor, at, note)
        )
        match.status = status
        if status in OPEN_STATES:
            self._open[pair] = match_id
        else:
            self._open.pop(pair, None)
        return match

    def accept(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "accepted", ...)``."""
        return self.set_status(match_id, "accepted", actor=actor, at=at, note=note)

    def fund(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "funded", ...)``."""
        return self.set_status(match_id, "funded", actor=actor, at=at, note=note)

    def deliver(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "delivered", ...)``."""
        return self.set_status(match_id, "delivered", actor=actor, at=at, note=note)

    def decline(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "declined", ...)``."""
        return self.set_status(match_id, "declined", actor=actor, at=at, note=note)

    def expire(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "expired", ...)``."""
        return self.set_status(match_id, "expired", actor=actor, at=at, note=note)

    def withdraw(self, match_id: str, *, actor: str, at=None, note: str = "") -> Match:
        """``set_status(match_id, "withdrawn", ...)``: a run no longer proposes it."""
        return self.set_status(match_id, "withdrawn", actor=actor, at=at, note=note)

    def expire_proposed(
        self, older_than: dt.datetime, *, actor: str, at: dt.datetime | None = None
    ) -> list[str]:
        """Expire every match still ``proposed`` that was proposed before a time.

        Returns
        -------
        list of str
            The ids expired.
        """
        older_than = _now(older_than)
        out = [
            m.match_id
            for m in self
            if m.status == "proposed" and m.history[0].at < older_than
        ]
        for mid in out:
            self.expire(mid, actor=actor, at=at, note="not accepted in time")
        return out

    def held(self) -> pd.DataFrame:
        """The matches a new solve keeps as they are (accepted, funded, delivered).

        Returns
        -------
        DataFrame
            Columns of :meth:`to_frame`.
        """
        frame = self.to_frame()
        return frame[frame["status"].isin(HELD_STATES)].reset_index(drop=True)

    def room(self, projects: pd.DataFrame) -> pd.DataFrame:
        """Places and money each project has left once its held matches count.

        Parameters
        ----------
        projects : DataFrame
            Canonical projects table (``project_id``, ``capacity``,
            ``budget``).

        Returns
        -------
        DataFrame
            Indexed by ``project_id`` in the order of ``projects``: ``held``
            (number of held matches), ``capacity_left`` and ``budget_left``,
            never below 0.
        """
        ids = projects["project_id"].astype("str")
        held = self.held() if len(self) else self.to_frame().iloc[:0]
        used = held.groupby("project_id").agg(
            n=("household_id", "size"), amount=("amount", "sum")
        )
        used = used.reindex(ids, fill_value=0)
        capacity = projects["capacity"].to_numpy(dtype=float)
        budget = projects["budget"].to_numpy(dtype=float)
        return pd.DataFrame(
            {
                "held": used["n"].to_numpy(dtype=np.int64),
                "capacity_left": np.maximum(capacity - used["n"].to_numpy(), 0),
                "budget_left": np.maximum(
                    budget - used["amount"].to_numpy(dtype=float), 0.0
                ),
            },
            index=pd.Index(ids, name="project_id"),
        )

    def open_tables(
        self, households: pd.DataFrame, projects: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What a new single-mode run may still assign.

        Parameters
        ----------
        households, projects : DataFrame
            Canonical tables.

        Returns
        -------
        households : DataFrame
            The households that hold no accepted, funded or delivered match,
            in their order, RangeIndex.
        projects : DataFrame
            Every project, ``capacity`` and ``budget`` lowered by its held
            matches (see :meth:`room`); the declined pairs are
            :meth:`declined_pairs`, to pass as ``exclude`` to
            :func:`zfb.match_single`.
        """
        held = set(self.held()["household_id"]) if len(self) else set()
        keep = ~households["household_id"].astype("str").isin(held).to_numpy()
        room = self.room(projects)
        projects = projects.assign(
            capacity=room["capacity_left"].to_numpy().astype(np.int64),
            budget=room["budget_left"].to_numpy(),
        )
        return households[keep].reset_index(drop=True), projects

    def declined_pairs(self) -> set[tuple[str, str]]:
        """(household_id, project_id) of declined matches, not to propose again."""
        return {(m.household_id, m.project_id) for m in self if m.status == "declined"}

    def to_frame(self) -> pd.DataFrame:
        """One row per match, in id order.

        Returns
        -------
        DataFrame
            Columns ``match_id``, ``household_id``, ``project_id``, ``mode``,
            ``amount``, ``score``, ``explanation``, ``status``, ``created_at``,
            ``updated_at``, ``updated_by``.
        """
        rows = [
            (
                m.match_id,
                m.household_id,
                m.project_id,
                m.mode,
                m.amount,
                m.score,
                m.explanation,
                m.status,
                m.history[0].at,
                m.history[-1].at,
                m.history[-1].actor,
            )
            for m in self
        ]
        frame = pd.DataFrame(rows, columns=MATCH_COLUMNS)
        for col in (
            "match_id",
            "household_id",
            "project_id",
            "mode",
            "explanation",
            "status",
            "updated_by",
        ):
            frame[col] = frame[col].astype("str")
        for col in ("amount", "score"):
            frame[col] = frame[col].astype(float)
        return frame

    def history_frame(self) -> pd.DataFrame:
        """Every change of every match, oldest first within each match.

        Returns
        -------
        DataFrame
            Columns ``match_id``, ``status_from`` (NA for the proposal),
            ``status_to``, ``actor``, ``at``, ``note``.
        """
        rows = [
            (t.match_id, t.status_from, t.status_to, t.actor, t.at, t.note)
            for m in self
            for t in m.history
        ]
        frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
        for col in ("match_id", "status_from", "status_to", "actor", "note"):
            frame[col] = frame[col].astype("str")
        return frame

    @classmethod
    def from_frames(cls, matches: pd.DataFrame, history: pd.DataFrame) -> MatchBook:
        """Rebuild a book from :meth:`to_frame` and :meth:`history_frame` tables.

        Raises
        ------
        StateError
            If a history does not start with a proposal, breaks a rule, or
            does not end in the match's status.
        """
        book = cls()
        hist = history.copy()
        hist["at"] = pd.to_datetime(hist["at"], utc=True)
        by_id = {mid: g for mid, g in hist.groupby("match_id", sort=False)}
        for row in matches.itertuples(index=False):
            mid = str(row.match_id)
            steps = by_id.get(mid)
            if steps is None or pd.notna(steps["status_from"].iloc[0]):
                raise StateError(
                    f"match {mid}: its history must start with the proposal"
                )
            trail = []
            state = None
            for s in steps.itertuples(index=False):
                frm = None if pd.isna(s.status_from) else str(s.status_from)
                if frm != state or (
                    state is not None and s.status_to not in TRANSITIONS[state]
                ):
                    raise StateError(
                        f"match {mid}: {frm} -> {s.status_to} breaks the rules"
                    )
                state = str(s.status_to)
                note = "" if pd.isna(s.note) else str(s.note)
                trail.append(
                    Transition(
                        mid, frm, state, str(s.actor), s.at.to_pydatetime(), note
                    )
                )
            if state != str(row.status):
                raise StateError(
                    f"match {mid}: status {row.status} but its history ends in {state}"
                )
            m = Match(
                mid,
                str(row.household_id),
                str(row.project_id),
                str(row.mode),
                float(row.amount),
                float(row.score),
                "" if pd.isna(row.explanation) else str(row.explanation),
                state,
                trail,
            )
            book._matches[mid] = m
            if state in OPEN_STATES:
                book._open[(m.household_id, m.project_id)] = mid
            if mid[1:].isdigit():
                book._next = max(book._next, int(mid[1:]) + 1)
        return book
