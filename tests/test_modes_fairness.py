"""Fairness floors and the share tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zfb
from zfb.matching.crowdfunding import crowdfund
from zfb.matching.fairness import (
    Floors,
    FloorWarning,
    fairness_table,
    gini,
    match_single_fair,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_gini_equals_the_mean_absolute_difference_formula(values):
    x = np.array(values)
    expected = (
        0.0
        if x.sum() == 0
        else np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    )
    assert gini(x) == pytest.approx(expected, abs=1e-9)


def _two_townships():
    # township B's households score a little less: without a floor it gets nothing
    hh = pd.DataFrame(
        {
            "household_id": [f"A{i}" for i in range(4)] + [f"B{i}" for i in range(4)],
            "township": ["甲镇"] * 4 + ["乙镇"] * 4,
            "village": [None] * 8,
            "size": [3] * 8,
            "income_per_capita": [500.0] * 4 + [900.0] * 4,
            "causes": ["ILL.UREMIA"] * 8,
            "need_kind": [None] * 8,
            "need_amount": [1000.0] * 8,
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P"],
            "funder": ["f"],
            "tags": ["ILL.UREMIA"],
            "budget": [4000.0],
            "capacity": [4],
            "townships": ["*"],
            "per_household_cap": [np.nan],
            "modes": ["single;crowdfunding"],
        }
    )
    return hh, projects


def test_a_township_floor_in_crowdfunding_lifts_the_township_left_with_nothing():
    hh, projects = _two_townships()
    plain = crowdfund(hh, projects)
    assert plain.progress.groupby("township")["allocated"].sum()["乙镇"] == 0
    fair = crowdfund(hh, projects, floors=Floors(township=1500.0))
    got = fair.progress.groupby("township")["allocated"].sum()
    assert got["乙镇"] >= 1500 - 1e-6 and got.sum() == pytest.approx(4000)
    table = fair.fairness.table.set_index("group")
    assert table.at["乙镇", "before"] == 0 and table.at["乙镇", "after"] >= 1500 - 1e-6
    g0, g1 = fair.fairness.gini["township"]
    assert g1 < g0
    # the floor costs score, never more than the bound without it allows
    assert fair.total_score <= plain.total_score + 1e-9


def test_a_township_floor_in_single_mode_and_its_report():
    hh, projects = _two_townships()
    result, report = match_single_fair(hh, projects, Floors(township=2000.0))
    got = (
        result.matches.merge(hh[["household_id", "township"]], on="household_id")
        .groupby("township")["amount"]
        .sum()
    )
    assert got.get("乙镇", 0) >= 2000 and len(result.matches) == 4
    assert result.total_score <= result.bound + 1e-9 and result.gap > 0
    assert report.table.set_index("group").at["乙镇", "before"] == 0


def test_floors_the_budget_cannot_meet_together_warn_with_the_shortfall():
    hh, projects = _two_townships()
    # 乙镇 has no eligible project: its target is 0, not the floor, and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", FloorWarning)
        fair = crowdfund(
            hh, projects.assign(townships="甲镇"), floors=Floors(township=500.0)
        )
    assert fair.fairness.table.set_index("group").at["乙镇", "target"] == 0
    # both reachable alone, not together: 2 x 3,000 CNY from a 4,000 CNY budget
    with pytest.warns(FloorWarning):
        fair = crowdfund(hh, projects, floors=Floors(township=3000.0))
    table = fair.fairness.table
    assert table["shortfall"].sum() == pytest.approx(2000)
    assert fair.progress["allocated"].sum() == pytest.approx(4000)


def test_share_table_of_any_matches():
    county = zfb.generate_county(n_households=300, n_projects=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zfb.ZfbWarning)
        result = zfb.match_single(county.households, county.projects)
    for by in ("township", "cause"):
        rep = fairness_table(county.households, result.matches, by=by)
        assert rep.table["after"].sum() == pytest.approx(result.matches["amount"].sum())
        assert rep.table["need"].sum() == pytest.approx(
            county.households["need_amount"].fillna(0).sum()
        )
