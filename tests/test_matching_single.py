"""Single-mode matching: feasibility, and the optimum against independent
solvers (networkx min-cost flow, brute force, a scipy MIP built in the tests).
"""

from __future__ import annotations

import time
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zfb
from zfb.matching import MatchGapWarning, eligible_edges, match_single
from zfb.matching.solvers import (
    COLGEN_MIN_EDGES,
    _compress,
    _improve,
    budget_can_bind,
    components,
    solve_greedy,
    solve_mip,
)

from .test_matching_cases import (
    brute_optimum,
    check_feasible,
    instance,
    milp_optimum,
    networkx_optimum,
)

SEEDS = st.integers(0, 2**32 - 1)


@given(seed=SEEDS, n_h=st.integers(1, 40), n_p=st.integers(1, 8))
@settings(max_examples=40, deadline=None)
def test_capacity_only_optimum_equals_networkx(seed, n_h, n_p):
    households, projects = instance(seed, n_h, n_p, binding=False)
    result = match_single(households, projects)
    check_feasible(result, households, projects)
    assert result.solver in ("min_cost_flow", "highs_mip", "min_cost_flow+highs_mip")
    want = networkx_optimum(result.edges, projects)
    # both optimise scores rounded to 1e-6
    assert result.total_score == pytest.approx(want, abs=1e-6 * (n_h + 1))
    assert result.status == "optimal"
    assert result.gap == pytest.approx(0.0, abs=1e-7)


@given(seed=SEEDS, n_h=st.integers(1, 7), n_p=st.integers(1, 3))
@settings(max_examples=40, deadline=None)
def test_budget_optimum_equals_brute_force(seed, n_h, n_p):
    households, projects = instance(seed, n_h, n_p, binding=True)
    result = match_single(households, projects, mip_gap=0)
    check_feasible(result, households, projects)
    want = brute_optimum(result.edges, projects)
    assert result.total_score == pytest.approx(want, rel=1e-7, abs=1e-9)
    assert result.status == "optimal"


@given(seed=SEEDS, n_h=st.integers(20, 120), n_p=st.integers(2, 12))
@settings(max_examples=25, deadline=None)
def test_budget_optimum_equals_a_separate_mip(seed, n_h, n_p):
    households, projects = instance(seed, n_h, n_p, binding=True)
    result = match_single(households, projects, time_limit=30, mip_gap=0)
    check_feasible(result, households, projects)
    want = milp_optimum(result.edges, projects)
    assert result.total_score <= want + 1e-5
    assert result.bound >= want - 1e-5
    if result.status == "optimal":
        assert result.total_score == pytest.approx(want, rel=1e-6)
    # the default stops within its relative gap of the optimum, and says so
    default = match_single(households, projects, time_limit=30)
    check_feasible(default, households, projects)
    assert default.bound >= want - 1e-5
    assert default.total_score <= want + 1e-5
    if default.status == "optimal":
        assert default.total_score >= want * (1 - 1e-4) - 1e-9
        assert default.gap <= 1e-4


def _arrays(households, projects):
    edges = eligible_edges(households, projects)
    h = pd.Index(households["household_id"]).get_indexer(edges["household_id"])
    p = pd.Index(projects["project_id"]).get_indexer(edges["project_id"])
    return (
        edges,
        h,
        p,
        edges["score"].to_numpy(),
        edges["amount"].to_numpy(),
        projects["capacity"].to_numpy(),
        projects["budget"].to_numpy(),
    )


@given(seed=SEEDS, time_limit=st.sampled_from([0.05, 20.0]))
@settings(max_examples=16, deadline=None)
def test_column_generation_bound_and_solution(seed, time_limit):
    # force the large-program path (column generation, repair, core program)
    # on an instance small enough for the separate MIP to solve exactly; a
    # tiny time limit stops it after one round, whose bound must hold too
    households, projects = instance(seed, 250, 14, binding=True)
    edges, h, p, score, amount, cap, budget = _arrays(households, projects)
    bind = budget_can_bind(p, amount, cap, budget)
    sol = solve_mip(
        h, p, score, amount, cap, budget, bind, colgen_min_edges=0,
        time_limit=time_limit, mip_gap=0,
    )  # fmt: skip
    want = milp_optimum(edges, projects)
    assert sol.objective == pytest.approx(score[sol.chosen].sum())
    assert sol.objective <= want + 1e-5
    assert sol.bound >= want - 1e-5
    if sol.status == "optimal":
        assert sol.objective == pytest.approx(want, rel=1e-6)
    # feasible: one project per household, capacities, budgets
    assert np.bincount(h[sol.chosen]).max(initial=0) <= 1
    assert (np.bincount(p[sol.chosen], minlength=len(cap)) <= cap).all()
    spent = np.bincount(p[sol.chosen], weights=amount[sol.chosen], minlength=len(cap))
    assert (spent <= budget + 1e-6).all()


@given(seed=SEEDS)
@settings(max_examples=20, deadline=None)
def test_improvement_never_lowers_the_score_nor_breaks_a_limit(seed):
    # start from the greedy assignment; the search may only improve it, and
    # never past the separate MIP's optimum
    households, projects = instance(seed, 120, 10, binding=True)
    edges, h, p, score, amount, cap, budget = _arrays(households, projects)
    if len(h) == 0:
        return
    bind = budget_can_bind(p, amount, cap, budget)
    start = solve_greedy(h, p, score, amount, cap, budget).chosen
    hh, _ = _compress(h)
    chosen, stopped = _improve(
        start, hh, p, score, amount, cap, budget, bind, np.zeros(len(h)),
        delta=0.0, passes=2, deadline=time.perf_counter() + 60,
    )  # fmt: skip
    assert not stopped
    assert score[chosen].sum() >= score[start].sum() - 1e-9
    assert score[chosen].sum() <= milp_optimum(edges, projects) + 1e-6
    assert np.bincount(hh[chosen]).max(initial=0) <= 1
    assert (np.bincount(p[chosen], minlength=len(cap)) <= cap).all()
    spent = np.bincount(p[chosen], weights=amount[chosen], minlength=len(cap))
    assert (spent <= budget + 1e-6).all()


def test_improvement_stops_at_the_deadline():
    households, projects = instance(2, 120, 10, binding=True)
    edges, h, p, score, amount, cap, budget = _arrays(households, projects)
    bind = budget_can_bind(p, amount, cap, budget)
    assert bind.any()
    start = solve_greedy(h, p, score, amount, cap, budget).chosen
    chosen, stopped = _improve(
        start, _compress(h)[0], p, score, amount, cap, budget, bind,
        np.zeros(len(h)), delta=0.0, passes=1, deadline=time.perf_counter() - 1,
    )  # fmt: skip
    assert stopped
    assert (chosen == start).all()


@given(seed=SEEDS)
@settings(max_examples=10, deadline=None)
def test_the_large_program_path_does_not_depend_on_the_time_limit(seed):
    # every step ends by itself: two generous limits give the same assignment
    households, projects = instance(seed, 250, 14, binding=True)
    edges, h, p, score, amount, cap, budget = _arrays(households, projects)
    bind = budget_can_bind(p, amount, cap, budget)
    runs = [
        solve_mip(
            h,
            p,
            score,
            amount,
            cap,
            budget,
            bind,
            colgen_min_edges=0,
            time_limit=limit,
        )  # fmt: skip
        for limit in (30.0, 300.0)
    ]
    assert not runs[0].stopped and not runs[1].stopped
    assert (runs[0].chosen == runs[1].chosen).all()
    assert runs[0].bound == runs[1].bound


def test_a_time_limit_that_cuts_the_solve_is_reported():
    from zfb.synth import generate_county

    # large enough for column generation, whose first round runs whatever
    # the limit; the limit then stops every later step
    county = generate_county(n_households=8000, n_projects=100, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = match_single(county.households, county.projects, time_limit=1e-6)
    assert len(result.edges) >= COLGEN_MIN_EDGES
    check_feasible(result, county.households, county.projects)
    assert result.time_limit_reached
    assert result.status == "feasible"
    (gap,) = [w for w in caught if issubclass(w.category, MatchGapWarning)]
    assert "time limit stopped the solver" in str(gap.message)
    # the summary line of `zfb match` says so too
    from zfb.matching.modes import run_mode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        out = run_mode(
            "single",
            county.households,
            county.projects,
            options={"time_limit": 1e-6, "progress": False},
        )
    assert "stopped by the time limit" in out.lines[1]


@pytest.mark.slow
def test_a_county_of_46000_households_gives_the_same_matches_every_time():
    # the model case of docs/matching.md: the steps end by themselves long
    # before either limit, so the limit changes nothing
    from zfb.synth import generate_county

    county = generate_county(n_households=46_000, n_projects=500, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchGapWarning)
        a = match_single(county.households, county.projects, time_limit=60)
        b = match_single(county.households, county.projects, time_limit=600)
    assert not a.time_limit_reached and not b.time_limit_reached
    pd.testing.assert_frame_equal(a.matches, b.matches)
    assert a.total_score == b.total_score and a.bound == b.bound
    assert a.gap < 2e-3
    check_feasible(a, county.households, county.projects)


@given(seed=SEEDS)
@settings(max_examples=20, deadline=None)
def test_budget_can_bind_and_components(seed):
    households, projects = instance(seed, 40, 6, binding=bool(seed % 2))
    edges, h, p, score, amount, cap, budget = _arrays(households, projects)
    bind = budget_can_bind(p, amount, cap, budget)
    for j in range(len(projects)):
        top = np.sort(amount[p == j])[::-1][: cap[j]]
        assert bind[j] == (top.sum() > budget[j])
    label = components(h, p, len(households), len(projects))
    g = nx.Graph()
    g.add_edges_from(zip(h, len(households) + p, strict=True))
    for comp in nx.connected_components(g):
        hs = [n for n in comp if n < len(households)]
        assert len({label[k] for k in np.flatnonzero(np.isin(h, hs))}) == 1
    assert len(np.unique(label)) == nx.number_connected_components(g)


@given(seed=SEEDS)
@settings(max_examples=20, deadline=None)
def test_greedy_is_feasible_and_not_better(seed):
    households, projects = instance(seed, 60, 8, binding=True)
    best = match_single(households, projects)
    greedy = match_single(households, projects, solver="greedy")
    check_feasible(greedy, households, projects)
    assert greedy.total_score <= best.bound + 1e-9
    assert greedy.status == "feasible"
    assert np.isnan(greedy.bound) and np.isnan(greedy.gap)
    assert greedy.solver == "greedy"


def test_greedy_can_be_worse():
    # greedy takes A (0.9) and fills the budget; the optimum takes B and C
    households = pd.DataFrame(
        {
            "household_id": ["A", "B", "C"],
            "township": ["泼机镇"] * 3,
            "village": pd.array([pd.NA] * 3, dtype="str"),
            "size": np.array([3, 3, 3], dtype=np.int64),
            "income_per_capita": [0.0, 800.0, 800.0],
            "causes": ["ILL.UREMIA", "ILL.CANCER", "ILL.HEART"],
            "need_kind": pd.array([pd.NA] * 3, dtype="str"),
            "need_amount": [10000.0, 5000.0, 5000.0],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P"],
            "funder": ["示例基金会"],
            "tags": ["ILL"],
            "budget": [10000.0],
            "capacity": np.array([2], dtype=np.int64),
            "townships": ["*"],
            "per_household_cap": [np.nan],
            "modes": ["single"],
        }
    )
    e = solve_greedy(*_arrays(households, projects)[1:])
    best = match_single(households, projects)
    assert sorted(best.matches["household_id"]) == ["B", "C"]
    assert e.objective < best.total_score


def test_solver_options():
    households, projects = instance(3, 30, 5, binding=True)
    with pytest.raises(zfb.ConfigError, match="solver must be one of"):
        match_single(households, projects, solver="simplex")
    _, _, p, _, amount, cap, budget = _arrays(households, projects)
    if budget_can_bind(p, amount, cap, budget).any():
        with pytest.raises(zfb.ConfigError, match="cannot bind"):
            match_single(households, projects, solver="flow")
    flow_ok, projects2 = instance(3, 30, 5, binding=False)
    a = match_single(flow_ok, projects2, solver="flow")
    b = match_single(flow_ok, projects2, solver="mip")
    assert a.solver == "min_cost_flow" and b.solver == "highs_mip"
    assert a.total_score == pytest.approx(b.total_score, abs=1e-5)


def test_result_tables():
    households, projects = instance(11, 80, 8, binding=True)
    result = match_single(households, projects)
    assert list(result.matches.columns) == [
        "household_id", "project_id", "amount", "score", "relevance", "priority",
        "explanation",
    ]  # fmt: skip
    assert list(result.unmatched.columns) == ["household_id", "reason"]
    proj = result.projects
    assert list(proj.columns) == [
        "project_id", "capacity", "households", "budget", "spent", "capacity_left",
        "budget_left",
    ]  # fmt: skip
    assert proj["project_id"].tolist() == projects["project_id"].tolist()
    used = result.matches.groupby("project_id").size().reindex(proj["project_id"])
    assert (proj["households"].to_numpy() == used.fillna(0).to_numpy()).all()
    assert np.allclose(proj["capacity_left"], proj["capacity"] - proj["households"])
    assert np.allclose(proj["budget_left"], proj["budget"] - proj["spent"])
    assert result.edges["matched"].sum() == len(result.matches)
    assert set(result.timings) >= {"eligibility", "decompose", "flow", "mip", "tables"}
    # every unmatched household with an eligible project is explained by it
    n_eligible = result.edges.groupby("household_id", observed=True).size()
    for row in result.unmatched.itertuples():
        if row.household_id in n_eligible.index:
            n = n_eligible[row.household_id]
            assert row.reason == (
                f"eligible projects were full or out of budget ({n} eligible)"
            )
        else:
            assert row.reason.startswith("no eligible project")


def test_a_gap_warns_and_an_optimum_does_not():
    households, projects = instance(5, 150, 12, binding=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = match_single(households, projects)
    gaps = [w for w in caught if issubclass(w.category, MatchGapWarning)]
    assert bool(gaps) == (result.status != "optimal")
    assert issubclass(MatchGapWarning, zfb.ZfbWarning)


def test_a_synthetic_county_of_2000_households_end_to_end():
    from zfb.synth import generate_county

    county = generate_county(n_households=2000, n_projects=60, seed=7)
    start = time.perf_counter()
    result = match_single(county.households, county.projects, progress=True)
    elapsed = time.perf_counter() - start
    check_feasible(result, county.households, county.projects)
    assert len(result.matches) > 0
    assert elapsed < 30
    greedy = match_single(county.households, county.projects, solver="greedy")
    assert greedy.total_score <= result.bound + 1e-9
    assert result.matches["explanation"].str.startswith("serves ").all()


@pytest.mark.parametrize("solver", ["auto", "mip", "greedy"])
@pytest.mark.parametrize("empty", ["households", "projects", "both"])
def test_empty_tables(solver, empty):
    households, projects = instance(1, 5, 3, binding=True)
    if empty in ("households", "both"):
        households = households.iloc[:0]
    if empty in ("projects", "both"):
        projects = projects.iloc[:0]
    result = match_single(households, projects, solver=solver)
    assert len(result.matches) == 0 and len(result.edges) == 0
    assert len(result.unmatched) == len(households)
    assert len(result.projects) == len(projects)
    assert result.total_score == 0.0


def test_excluded_pairs_are_never_proposed():
    households, projects = instance(4, 60, 6, binding=False)
    first = match_single(households, projects)
    assert len(first.matches) > 3
    declined = set(
        first.matches[["household_id", "project_id"]].head(3).itertuples(index=False)
    )
    again = match_single(households, projects, exclude=declined)
    pairs = set(again.matches[["household_id", "project_id"]].itertuples(index=False))
    assert not pairs & declined
    edges = set(again.edges[["household_id", "project_id"]].itertuples(index=False))
    assert not edges & declined
    assert len(again.edges) == len(first.edges) - 3
    assert again.total_score <= first.total_score + 1e-9
    check_feasible(again, households, projects)


def test_a_project_with_no_money_left_takes_nobody():
    # a budget of 0 (all of it held elsewhere) is a row of right-hand side 0
    households, projects = instance(6, 40, 4, binding=True)
    projects = projects.assign(budget=[0.0, *projects["budget"].iloc[1:]])
    result = match_single(households, projects, solver="mip")
    check_feasible(result, households, projects)
    assert projects["project_id"].iloc[0] not in set(result.matches["project_id"])


def test_mip_gap_must_be_a_ratio():
    households, projects = instance(1, 10, 2, binding=True)
    for bad in (-0.1, 1.0, 2):
        with pytest.raises(zfb.ConfigError, match="mip_gap"):
            match_single(households, projects, mip_gap=bad)
