"""The life cycle of a match in the store: the states and rules of
``zfb.matching.states``, match runs, accepting one match, and the history."""

from __future__ import annotations

import functools
import warnings
from collections import deque

import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from zfb.dashboards.data import accept_in_store
from zfb.matching import MatchGapWarning, match_single
from zfb.matching.states import FINAL_STATES, MATCH_STATES, TRANSITIONS
from zfb.store import (
    ConflictError,
    Role,
    StoreError,
    accept_match,
    import_households,
    import_projects,
    match_book,
    save_matches,
    set_match_status,
    view,
)
from zfb.store.models import match_history, matches
from zfb.store.records import NOTE_PROPOSED_AGAIN, NOTE_WITHDRAWN
from zfb.synth import generate_county

# fixtures
store_url = support.store_url
store = support.store

ADMIN = Role.administrator()


@functools.cache
def _county():
    county = generate_county(300, 12, seed=61)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        run = match_single(county.households, county.projects, time_limit=5)
    assert len(run.matches) >= len(MATCH_STATES) ** 2
    return county.households, county.projects, run.matches


@pytest.fixture
def county(store):
    """The store with a county's households and projects; the county's
    tables and a match run's matches (``relevance`` and ``priority`` too)."""
    hh, pr, proposals = _county()
    import_households(store, hh, actor="test")
    import_projects(store, pr, actor="test")
    return hh, pr, proposals.copy()


def _matches(store) -> pd.DataFrame:
    return view(store, "matches", ADMIN).set_index("match_id")


def _history(store) -> pd.DataFrame:
    return view(store, "match_history", ADMIN)


def _ids(store, pairs: pd.DataFrame) -> list[int]:
    table = view(store, "matches", ADMIN)
    key = table.set_index(["household_id", "project_id"])["match_id"]
    return [int(key[(h, p)]) for h, p in pairs[["household_id", "project_id"]].values]


def _path_to(state: str) -> list[str]:
    """The shortest list of changes that takes a proposal to ``state``."""
    paths = {"proposed": []}
    todo = deque(["proposed"])
    while todo:
        here = todo.popleft()
        for there in sorted(TRANSITIONS[here]):
            if there not in paths:
                paths[there] = [*paths[here], there]
                todo.append(there)
    return paths[state]


# one vocabulary
def test_the_store_accepts_exactly_the_states_of_the_library(county, store):
    hh, pr, _ = county
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    row = {
        "household_id": hh["household_id"].iloc[0],
        "amount": 1.0,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    for i, state in enumerate(MATCH_STATES):
        with store.write() as conn:
            conn.execute(
                sa.insert(matches),
                row | {"project_id": pr["project_id"].iloc[i], "status": state},
            )
    assert set(_matches(store)["status"]) == set(MATCH_STATES)
    # the old word, and any other, is refused by the database itself
    for word in ("closed", "Accepted", ""):
        with pytest.raises(ConflictError), store.write() as conn:
            conn.execute(
                sa.insert(matches),
                row | {"project_id": pr["project_id"].iloc[-1], "status": word},
            )
        with pytest.raises(ConflictError), store.write() as conn:
            conn.execute(
                sa.insert(match_history),
                {"match_id": 1, "status_to": word, "actor": "t", "at": now},
            )


def test_set_match_status_follows_the_rules_of_the_library(county, store):
    _, _, proposals = county
    save_matches(store, proposals, actor="match run")
    ids = iter(_ids(store, proposals))
    for start in MATCH_STATES:
        for target in MATCH_STATES:
            mid = next(ids)
            version = 1
            for step in _path_to(start):
                version = set_match_status(
                    store, mid, step, version=version, actor="cadre:1"
                )
            if target in TRANSITIONS[start]:
                set_match_status(store, mid, target, version=version, actor="cadre:2")
                assert _matches(store).at[mid, "status"] == target
            else:
                with pytest.raises(StoreError, match=f"is {start}"):
                    set_match_status(
                        store, mid, target, version=version, actor="cadre:2"
                    )
                assert _matches(store).at[mid, "status"] == start
    # the store's history is one the library reads back, rule by rule
    book = match_book(store)
    assert len(book) == len(proposals)
    stored = _matches(store)["status"]
    assert {m.match_id: m.status for m in book} == {
        str(k): v for k, v in stored.items()
    }


def test_an_unknown_status_names_the_states(county, store):
    _, _, proposals = county
    save_matches(store, proposals, actor="match run")
    with pytest.raises(StoreError, match="withdrawn, got 'closed'"):
        set_match_status(store, 1, "closed", version=1, actor="cadre:1")


# match runs
def test_a_run_withdraws_what_it_no_longer_proposes_and_keeps_decisions(county, store):
    """Regression: a run closed the proposals it no longer made, in the word
    that also meant a person's decision."""
    _, _, proposals = county
    save_matches(store, proposals, actor="run 1")
    a, b, c, d, e = _ids(store, proposals.iloc[:5])
    set_match_status(store, a, "accepted", version=1, actor="funder:7")
    v = set_match_status(store, b, "accepted", version=1, actor="funder:7")
    set_match_status(store, b, "funded", version=v, actor="funder:7")
    set_match_status(store, c, "declined", version=1, actor="cadre:3", note="moved")
    before = _matches(store)

    # run 2 makes none of the first five
    second = proposals.iloc[5:]
    counts = save_matches(store, second, actor="run 2")
    assert counts["withdrawn"] == 2 and counts["kept"] == 0
    after = _matches(store)
    assert after.loc[[a, b, c], "status"].tolist() == ["accepted", "funded", "declined"]
    pd.testing.assert_frame_equal(after.loc[[a, b, c]], before.loc[[a, b, c]])
    assert after.loc[[d, e], "status"].tolist() == ["withdrawn", "withdrawn"]
    history = _history(store)
    out = history[history["status_to"] == "withdrawn"]
    assert sorted(out["match_id"]) == [d, e]
    assert set(out["actor"]) == {"run 2"} and set(out["note"]) == {NOTE_WITHDRAWN}
    assert set(out["status_from"]) == {"proposed"}
    declined = history[history["status_to"] == "declined"].iloc[0]
    assert (declined["actor"], declined["note"]) == ("cadre:3", "moved")

    # run 3 makes all of them again: the withdrawn ones come back, with the
    # run's terms; what people decided stays as it is
    third = proposals.assign(amount=proposals["amount"] + 1)
    counts = save_matches(store, third, actor="run 3")
    assert counts["proposed_again"] == 2
    assert counts["kept"] == 3 and counts["proposed"] == 0
    again = _matches(store)
    assert again.loc[[d, e], "status"].tolist() == ["proposed", "proposed"]
    assert (again.loc[[d, e], "version"] == before.loc[[d, e], "version"] + 2).all()
    assert (again.loc[[d, e], "amount"] == third["amount"].iloc[3:5].values).all()
    pd.testing.assert_frame_equal(again.loc[[a, b, c]], before.loc[[a, b, c]])
    history = _history(store)
    back = history[history["status_from"] == "withdrawn"]
    assert sorted(back["match_id"]) == [d, e]
    assert set(back["note"]) == {NOTE_PROPOSED_AGAIN}
    # and the library reads the whole story back
    book = match_book(store)
    trail = [t.status_to for t in book[str(d)].history]
    assert trail == ["proposed", "withdrawn", "proposed"]


# accepting one match
def test_accepting_one_match_changes_that_match_only(county, store, store_url):
    """Regression: accepting a match from the matching dashboard saved every
    proposal again as a new run, which cleared their relevance and priority,
    moved their versions on and logged an import by the funder."""
    hh, _, proposals = county
    save_matches(store, proposals, actor="match run")
    before, history_before = _matches(store), _history(store)
    audit_before = view(store, "audit_log", ADMIN)
    assert before["relevance"].notna().all()

    # a pair the store does not hold, accepted as the dashboard does
    spare = hh.loc[~hh["household_id"].isin(proposals["household_id"]), "household_id"]
    new = proposals.iloc[[0]].assign(household_id=spare.iloc[0])
    row = new[["household_id", "project_id", "amount", "score", "explanation"]]
    assert accept_in_store(store_url, row, actor="funder:dashboard") == "accepted"
    # a stored proposal, accepted through the library
    [mid] = _ids(store, proposals.iloc[[1]])
    assert accept_match(
        store,
        proposals["household_id"].iloc[1],
        proposals["project_id"].iloc[1],
        actor="funder:9",
    ) == (mid, "accepted")

    after = _matches(store)
    [added] = sorted(set(after.index) - set(before.index))
    pd.testing.assert_frame_equal(
        after.drop(index=[added, mid]), before.drop(index=mid)
    )
    assert after.at[added, "status"] == "accepted"
    assert after.at[added, "amount"] == new["amount"].iloc[0]
    assert after.at[mid, "status"] == "accepted" and after.at[mid, "version"] == 2
    assert after.at[mid, "relevance"] == before.at[mid, "relevance"]

    history = _history(store)
    pd.testing.assert_frame_equal(history.iloc[: len(history_before)], history_before)
    steps = history.iloc[len(history_before) :]
    cols = ["match_id", "status_from", "status_to", "actor"]
    assert [
        tuple(None if pd.isna(v) else v for v in r) for r in steps[cols].values
    ] == [
        (added, None, "proposed", "funder:dashboard"),
        (added, "proposed", "accepted", "funder:dashboard"),
        (mid, "proposed", "accepted", "funder:9"),
    ]
    assert steps["at"].notna().all()
    audit = view(store, "audit_log", ADMIN).iloc[len(audit_before) :]
    assert "import" not in set(audit["action"])
    assert sorted(audit["record_key"]) == sorted([str(added), str(mid)])


def test_accepting_follows_the_state_of_the_match(county, store):
    _, _, proposals = county
    save_matches(store, proposals, actor="match run")
    pairs = proposals[["household_id", "project_id"]].values.tolist()
    a, b, c, d = _ids(store, proposals.iloc[:4])
    set_match_status(store, a, "declined", version=1, actor="cadre:3")
    set_match_status(store, b, "expired", version=1, actor="system")
    save_matches(store, proposals.iloc[3:], actor="match run")  # c withdrawn
    v = set_match_status(store, d, "accepted", version=1, actor="funder:1")
    set_match_status(store, d, "funded", version=v, actor="funder:1")

    for (hid, pid), state in zip(pairs[:2], ("declined", "expired"), strict=True):
        with pytest.raises(StoreError, match=f"was {state}.*final"):
            accept_match(store, hid, pid, actor="funder:2")
    # a withdrawn proposal is proposed again, then accepted
    assert accept_match(store, *pairs[2], actor="funder:2") == (c, "accepted")
    trail = [t.status_to for t in match_book(store)[str(c)].history]
    assert trail == ["proposed", "withdrawn", "proposed", "accepted"]
    # a match that went further is left as it is
    assert accept_match(store, *pairs[3], actor="funder:2") == (d, "funded")
    assert _matches(store).at[d, "version"] == 3


def test_accepting_a_new_pair_checks_it(county, store):
    hh, pr, _ = county
    hid, pid = hh["household_id"].iloc[0], pr["project_id"].iloc[0]
    with pytest.raises(StoreError, match="no household NOBODY"):
        accept_match(store, "NOBODY", pid, actor="f", values={"amount": 1.0})
    with pytest.raises(StoreError, match="no project NOTHING"):
        accept_match(store, hid, "NOTHING", actor="f", values={"amount": 1.0})
    with pytest.raises(StoreError, match="needs an amount"):
        accept_match(store, hid, pid, actor="f")
    assert _matches(store).empty


def test_match_book_reads_the_states_asked_for(county, store):
    _, _, proposals = county
    save_matches(store, proposals, actor="match run")
    a, b = _ids(store, proposals.iloc[:2])
    set_match_status(store, a, "accepted", version=1, actor="funder:1")
    set_match_status(store, b, "declined", version=1, actor="cadre:1", note="no")
    book = match_book(store, ("accepted", "declined"))
    assert sorted(m.match_id for m in book) == sorted([str(a), str(b)])
    pair = tuple(proposals.iloc[1][["household_id", "project_id"]])
    assert book.declined_pairs() == {pair}
    assert book[str(b)].history[-1].note == "no"
    assert book.held()["match_id"].tolist() == [str(a)]
    assert len(match_book(store, FINAL_STATES)) == 1
