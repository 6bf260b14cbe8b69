"""The matching dashboard, without a browser: recommendations and accepting."""

from __future__ import annotations

import warnings

import pytest

from zfb import generate_county
from zfb.dashboards import CountyData, load_county
from zfb.dashboards.matching import MatchingApp
from zfb.errors import ZfbError
from zfb.matching import MatchGapWarning, eligible_edges, match_single
from zfb.store import Role, import_households, import_projects, open_store, view
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


def test_accepting_in_a_store_keeps_the_other_proposals(made, tmp_path):
    hh, pr = made
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        proposals = match_single(hh, pr, time_limit=5).matches
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with open_store(url) as store:
        import_households(store, hh, actor="test")
        import_projects(store, pr, actor="test")
        save_matches(store, proposals, actor="test")
    app = MatchingApp(load_county(db=url), k=6)
    pid = project_with_recommendations(app)
    hid = app.pick.options[0][1]
    app.accept_household(hid)
    with open_store(url) as store:
        stored = view(store, "matches", Role.administrator())
    mine = stored[(stored["household_id"] == hid) & (stored["project_id"] == pid)]
    assert mine["status"].tolist() == ["accepted"]
    others = stored.drop(mine.index)
    assert (others["status"] == "proposed").sum() == len(
        proposals[
            ~((proposals["household_id"] == hid) & (proposals["project_id"] == pid))
        ]
    )
    # a new page of the same store starts with the match held
    again = MatchingApp(load_county(db=url), k=6)
    assert hid in set(again.book.held()["household_id"])
