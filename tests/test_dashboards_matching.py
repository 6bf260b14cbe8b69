"""The matching dashboard, without a browser: recommendations and accepting."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from zfb import generate_county
from zfb.dashboards import CountyData, load_county
from zfb.dashboards.matching import ACTOR, MatchingApp
from zfb.errors import ZfbError
from zfb.matching import MatchGapWarning, eligible_edges, match_single
from zfb.store import (
    Role,
    import_households,
    import_projects,
    open_store,
    set_match_status,
    view,
)
from zfb.store.records import save_matches
from zfb.taxonomy import load_taxonomy

TAX = load_taxonomy()
HOSTILE_TITLE = '<b onmouseover="alert(2)">!</b>'


@pytest.fixture(scope="module")
def made():
    county = generate_county(400, 16, seed=21)
    projects = county.projects.copy()
    projects["title"] = projects["title"] + HOSTILE_TITLE
    return county.households, projects


@pytest.fixture
def app(made):
    hh, pr = made
    empty = hh.iloc[:0][["household_id"]].assign(project_id="", amount=0.0)
    return MatchingApp(CountyData(hh, pr, empty, "test", taxonomy=TAX), k=6)


def project_with_recommendations(app) -> str:
    """Pick the first project that has recommended households."""
    for _, pid in app.project.options:
        app.project.value = pid
        if app.pick.options:
            return pid
    raise AssertionError("no project of the test county has a recommendation")


def accepts(modes, mode: str) -> bool:
    return mode in str(modes).split(";")


def test_projects_offered_are_those_that_accept_the_mode(app, made):
    _, pr = made
    for mode in ("single", "bundle", "crowdfunding"):
        app.mode.value = mode
        offered = [v for _, v in app.project.options]
        keep = [accepts(m, mode) for m in pr["modes"]]
        expected = pr.loc[keep, "project_id"]
        assert offered == expected.tolist()


def test_recommended_households_are_eligible_and_ranked(app, made):
    hh, pr = made
    for pid in [v for _, v in app.project.options]:
        app.project.value = pid
        rows = app.recommender("single").for_project([pid])
        assert len(rows) <= 6
        edges = eligible_edges(hh, pr[pr["project_id"] == pid], TAX)
        assert set(rows["household_id"]) <= set(edges["household_id"])
        assert rows["score"].is_monotonic_decreasing
        for hid in rows["household_id"]:
            assert hid in app.listing.value
        assert [v for _, v in app.pick.options] == rows["household_id"].tolist()


def test_accepting_holds_the_household_and_the_lists_move_on(app):
    pid = project_with_recommendations(app)
    hid = app.pick.options[0][1]
    app.pick.value = hid
    app.accept.click()
    assert "accepted" in app.message.value
    held = app.book.held()
    assert held[["household_id", "project_id"]].values.tolist() == [[hid, pid]]
    assert hid not in [v for _, v in app.pick.options]
    assert hid in app.accepted.value
    # a held household is recommended to no other project
    others = app.recommender("single").for_project()
    assert hid not in set(others["household_id"])


def test_accepting_a_household_that_is_not_listed_is_refused(app):
    with pytest.raises(ZfbError, match="not among the recommended"):
        app.accept_household("NOBODY")


def test_project_titles_are_escaped(app):
    assert "onmouseover" not in app.info.value.replace("onmouseover=&quot;", "")
    assert "&lt;b onmouseover" in app.info.value


def test_bundle_and_crowdfunding_modes_show_their_lists(app):
    app.mode.value = "bundle"
    assert "Recommended bundles" in app.listing.value
    assert app.accept.disabled
    if app.pick.options:
        assert "household" in app.detail.value
    app.mode.value = "crowdfunding"
    assert "Allocations of this project" in app.listing.value
    assert "Progress of every need" in app.detail.value


@pytest.fixture
def stored(made, tmp_path):
    """URL of a store holding the county and a match run's proposals."""
    hh, pr = made
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        proposals = match_single(hh, pr, time_limit=5).matches
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with open_store(url) as store:
        import_households(store, hh, actor="test")
        import_projects(store, pr, actor="test")
        save_matches(store, proposals, actor="test")
    return url


def test_accepting_in_a_store_changes_that_match_only(stored):
    with open_store(stored) as store:
        before = view(store, "matches", Role.administrator())
    app = MatchingApp(load_county(db=stored), k=6)
    pid = project_with_recommendations(app)
    hid = app.pick.options[0][1]
    app.accept_household(hid)
    with open_store(stored) as store:
        after = view(store, "matches", Role.administrator())
        history = view(store, "match_history", Role.administrator())
    mine = after[(after["household_id"] == hid) & (after["project_id"] == pid)]
    assert mine["status"].tolist() == ["accepted"]
    # every other match is as it was: status, terms and version
    others = after.drop(mine.index).reset_index(drop=True)
    unchanged = before[~before["match_id"].isin(mine["match_id"])]
    pd.testing.assert_frame_equal(others, unchanged.reset_index(drop=True))
    steps = history[history["match_id"] == mine["match_id"].iloc[0]]
    assert steps["status_to"].iloc[-1] == "accepted"
    assert steps["actor"].iloc[-1] == ACTOR
    # a new page of the same store starts with the match held
    again = MatchingApp(load_county(db=stored), k=6)
    assert hid in set(again.book.held()["household_id"])


def test_a_page_on_a_store_knows_its_held_and_declined_matches(stored):
    # the pair a page recommends first, as a run's proposal
    first = MatchingApp(load_county(db=stored), k=6)
    pid = project_with_recommendations(first)
    top = first._rows.iloc[[0]]
    with open_store(stored) as store:
        table = view(store, "matches", Role.administrator())
        pair = (top["household_id"].iloc[0], pid)
        keyed = table.set_index(["household_id", "project_id"])
        if pair not in keyed.index:
            save_matches(store, pd.concat([table, top]), actor="test")
            keyed = view(store, "matches", Role.administrator())
            keyed = keyed.set_index(["household_id", "project_id"])
        declined = int(keyed.at[pair, "match_id"])
        funded = int(keyed.loc[keyed["match_id"] != declined, "match_id"].iloc[0])
        v = set_match_status(store, funded, "accepted", version=1, actor="f:1")
        set_match_status(store, funded, "funded", version=v, actor="f:1")
        version = int(keyed.at[pair, "version"])
        set_match_status(store, declined, "declined", version=version, actor="c:1")
    app = MatchingApp(load_county(db=stored), k=6)
    book = app.book.to_frame().set_index("match_id")["status"]
    assert book.to_dict() == {str(funded): "funded", str(declined): "declined"}
    # the history is the store's, with its actors
    trail = app.book[str(funded)].history
    assert [(t.status_to, t.actor) for t in trail] == [
        ("proposed", "test"),
        ("accepted", "f:1"),
        ("funded", "f:1"),
    ]
    # the declined pair is recommended no more
    listed = app.recommender("single").for_project([pid])
    assert top["household_id"].iloc[0] not in set(listed["household_id"])
