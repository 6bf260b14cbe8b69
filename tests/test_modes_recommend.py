"""Recommendations: top-k lists, and updates that touch only what changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import zfb
from zfb.matching.bundles import make_bundles
from zfb.matching.recommend import Recommender
from zfb.matching.states import MatchBook

COUNTY = zfb.generate_county(n_households=400, n_projects=30, seed=11)


def _same(a: Recommender, b: Recommender) -> None:
    cols = ["household_id", "rank", "project_id", "score"]
    x = a.for_household()[cols].sort_values(cols[:2]).reset_index(drop=True)
    y = b.for_household()[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y)
    cols = ["project_id", "rank", "household_id", "score"]
    x = a.for_project()[cols].sort_values(cols[:2]).reset_index(drop=True)
    y = b.for_project()[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y)


def test_lists_rank_the_eligible_pairs_by_score():
    rec = Recommender(COUNTY.households, COUNTY.projects, k=3)
    edges = zfb.eligible_edges(COUNTY.households, COUNTY.projects)
    lists = rec.for_household()
    assert (lists.groupby("household_id").size() <= 3).all()
    best = edges.groupby("household_id")["score"].max()
    top = lists[lists["rank"] == 1].set_index("household_id")["score"]
    # the first project is the best pair unless the project has no room for it
    assert (top <= best.loc[top.index] + 1e-12).all()
    assert lists["explanation"].str.startswith("serves ").all()


# each example builds two recommenders (about a second): no shrinking
@settings(
    max_examples=8,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.integers(0, 399), st.integers(0, 29), st.floats(0, 8000), st.floats(0.2, 3.0))
def test_an_update_gives_the_lists_of_a_full_rebuild(h, p, income, factor):
    rec = Recommender(COUNTY.households, COUNTY.projects, k=4)
    one = COUNTY.households.iloc[[h]].assign(income_per_capita=income)
    stats = rec.update_households(one)
    assert stats.household_lists == 1 and stats.project_lists <= len(COUNTY.projects)
    pj = COUNTY.projects.iloc[[p]].assign(
        budget=COUNTY.projects["budget"].iloc[p] * factor
    )
    rec.update_projects(pj)
    hh = pd.concat([COUNTY.households.drop(index=h), one]).sort_index()
    projects = pd.concat([COUNTY.projects.drop(index=p), pj]).sort_index()
    _same(rec, Recommender(hh, projects, k=4))


def test_accepted_matches_stay_and_the_lists_follow_the_book():
    book = MatchBook()
    rec = Recommender(COUNTY.households, COUNTY.projects, k=4, book=book)
    first = rec.for_project().groupby("project_id").head(1).head(5)
    ids = book.propose(first, actor="solver")
    for mid in ids:
        book.accept(mid, actor="funder:1")
    stats = rec.sync()
    assert stats.household_lists < len(COUNTY.households)
    held = set(first["household_id"])
    assert not held & set(rec.for_project()["household_id"])
    assert not held & set(rec.for_household()["household_id"])
    _same(rec, Recommender(COUNTY.households, COUNTY.projects, k=4, book=book))
    # changing a household with a held match leaves the match as it is
    rec.update_households(
        COUNTY.households[COUNTY.households["household_id"].isin(held)].assign(
            income_per_capita=1.0
        )
    )
    assert set(book.held()["household_id"]) == held


def test_bundles_for_a_project_serve_every_household():
    projects = COUNTY.projects.assign(modes="single;bundle")
    rec = Recommender(COUNTY.households, projects, k=3)
    bundles = make_bundles(COUNTY.households, 2)
    out = rec.bundles_for_project(bundles)
    assert (out.groupby("project_id").size() <= 3).all()
    edges = zfb.eligible_edges(COUNTY.households, projects)
    pairs = set(zip(edges["household_id"], edges["project_id"], strict=True))
    members = bundles.members.groupby("bundle_id")["household_id"].apply(list)
    for row in out.itertuples():
        assert all((h, row.project_id) in pairs for h in members[row.bundle_id])
    assert np.isfinite(out["score"]).all()


def test_an_update_touches_far_less_than_a_rebuild():
    rec = Recommender(COUNTY.households, COUNTY.projects, k=5)
    full = rec.stats.edges
    stats = rec.update_households(COUNTY.households.iloc[[0]])
    assert stats.edges * 20 < full
    assert (
        stats.household_lists + stats.project_lists
        < (len(COUNTY.households) + len(COUNTY.projects)) / 20
    )
    with pytest.raises(zfb.ConfigError):
        Recommender(COUNTY.households, COUNTY.projects, k=0)
