"""Match states and their history."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zfb.matching.states import (
    FINAL_STATES,
    HELD_STATES,
    MATCH_STATES,
    TRANSITIONS,
    MatchBook,
    StateError,
)

T0 = dt.datetime(2016, 5, 4, 9, 0, tzinfo=dt.UTC)


def _book():
    book = MatchBook()
    ids = book.propose(
        pd.DataFrame(
            {
                "household_id": ["H1", "H2"],
                "project_id": ["P1", "P1"],
                "amount": [100.0, 200.0],
            }
        ),
        actor="solver",
        at=T0,
    )
    return book, ids


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(MATCH_STATES), max_size=6))
def test_only_the_allowed_changes_happen_and_each_is_recorded(path):
    book, (mid, _) = _book()
    state, n = "proposed", 1
    for k, target in enumerate(path):
        at = T0 + dt.timedelta(hours=k + 1)
        if target in TRANSITIONS[state]:
            book.set_status(mid, target, actor=f"user:{k}", at=at)
            state, n = target, n + 1
        else:
            with pytest.raises(StateError):
                book.set_status(mid, target, actor=f"user:{k}", at=at)
    assert book[mid].status == state
    hist = book.history_frame()
    mine = hist[hist["match_id"] == mid]
    assert len(mine) == n and mine["status_to"].iloc[-1] == state
    # the history is a chain from the proposal
    assert mine["status_from"].isna().iloc[0]
    assert (
        mine["status_from"].iloc[1:].to_numpy()
        == mine["status_to"].iloc[:-1].to_numpy()
    ).all()


def test_history_keeps_who_and_when_and_round_trips():
    book, (a, b) = _book()
    book.accept(a, actor="funder:7", at=T0 + dt.timedelta(days=1))
    book.fund(a, actor="funder:7", at=T0 + dt.timedelta(days=2))
    book.decline(b, actor="cadre:3", at=T0 + dt.timedelta(days=1), note="moved away")
    frame, hist = book.to_frame(), book.history_frame()
    assert frame.set_index("match_id").at[a, "updated_by"] == "funder:7"
    assert list(book.held()["match_id"]) == [a]
    again = MatchBook.from_frames(frame, hist)
    pd.testing.assert_frame_equal(again.to_frame(), frame)
    pd.testing.assert_frame_equal(again.history_frame(), hist)
    # a declined pair may be proposed again, a pair under way may not
    [c] = again.propose(
        pd.DataFrame({"household_id": ["H2"], "project_id": ["P1"]}), actor="solver"
    )
    assert c not in (a, b)
    with pytest.raises(StateError, match="under way"):
        again.propose(
            pd.DataFrame({"household_id": ["H1"], "project_id": ["P1"]}), actor="solver"
        )


def test_changes_need_an_actor_and_keep_time_order():
    book, (a, _) = _book()
    with pytest.raises(StateError, match="actor"):
        book.accept(a, actor=" ")
    with pytest.raises(StateError, match="earlier"):
        book.accept(a, actor="x", at=T0 - dt.timedelta(seconds=1))
    expired = book.expire_proposed(
        T0 + dt.timedelta(days=30), actor="system", at=T0 + dt.timedelta(days=30)
    )
    assert len(expired) == 2 and set(book.to_frame()["status"]) == {"expired"}


def test_a_withdrawn_proposal_comes_back_when_proposed_again():
    book, (a, b) = _book()
    book.withdraw(a, actor="run 2", at=T0 + dt.timedelta(days=1))
    assert book[a].status == "withdrawn" and book.held().empty
    # withdrawn is no decision: the pair may be proposed again, and gets its
    # match back with the new terms
    again = pd.DataFrame(
        {"household_id": ["H1"], "project_id": ["P1"], "amount": [150.0]}
    )
    at = T0 + dt.timedelta(days=2)
    assert book.propose(again, actor="run 3", at=at) == [a]
    assert (book[a].status, book[a].amount) == ("proposed", 150.0)
    assert [t.status_to for t in book[a].history] == [
        "proposed",
        "withdrawn",
        "proposed",
    ]
    assert book[a].history[-1].actor == "run 3"
    assert MatchBook.from_frames(book.to_frame(), book.history_frame())[a].status == (
        "proposed"
    )
    # a withdrawal is not a refusal: the pair stays out of declined_pairs
    book.withdraw(b, actor="run 3", at=at)
    assert book.declined_pairs() == set()


def test_a_withdrawn_match_cannot_reopen_a_pair_under_way():
    book, (a, _) = _book()
    book.withdraw(a, actor="run 2", at=T0 + dt.timedelta(hours=1))
    with pytest.raises(StateError, match="earlier than its withdrawal"):
        book.propose(
            pd.DataFrame({"household_id": ["H1"], "project_id": ["P1"]}),
            actor="run 3",
            at=T0,
        )
    # tables (from a store, say) where the pair has a newer match under way:
    # the withdrawn one cannot come back beside it
    frame, hist = book.to_frame(), book.history_frame()
    newer = frame[frame["match_id"] == a].assign(match_id="M9", status="proposed")
    first = hist[(hist["match_id"] == a) & hist["status_from"].isna()]
    both = MatchBook.from_frames(
        pd.concat([frame, newer]), pd.concat([hist, first.assign(match_id="M9")])
    )
    with pytest.raises(StateError, match="already has match M9 under way"):
        both.set_status(a, "proposed", actor="cadre:1")


def test_final_states_are_those_without_a_way_out():
    assert set(FINAL_STATES) == {"delivered", "declined", "expired"}
    assert "withdrawn" not in FINAL_STATES and "withdrawn" not in HELD_STATES


def test_room_and_open_tables_count_what_is_held():
    book, (m1, m2) = _book()
    book.accept(m1, actor="cadre", at=T0)  # H1 holds 100 CNY of P1
    book.decline(m2, actor="funder", at=T0)  # declined: holds nothing
    projects = pd.DataFrame(
        {"project_id": ["P1", "P2"], "capacity": [3, 1], "budget": [1000.0, 50.0]}
    )
    room = book.room(projects)
    assert room.index.tolist() == ["P1", "P2"]
    assert room["held"].tolist() == [1, 0]
    assert room["capacity_left"].tolist() == [2, 1]
    assert room["budget_left"].tolist() == [900.0, 50.0]
    households = pd.DataFrame({"household_id": ["H1", "H2", "H3"]})
    left, open_projects = book.open_tables(households, projects)
    assert left["household_id"].tolist() == ["H2", "H3"]
    assert open_projects["capacity"].tolist() == [2, 1]
    assert open_projects["budget"].tolist() == [900.0, 50.0]
    assert book.declined_pairs() == {("H2", "P1")}
    # more held than the project has: nothing left, never below 0
    small = projects.assign(capacity=[0, 1], budget=[10.0, 50.0])
    assert book.room(small)["capacity_left"].tolist() == [0, 1]
    assert book.room(small)["budget_left"].tolist() == [0.0, 50.0]
