"""Crowdfunding, matching funds and the transportation solver."""

from __future__ import annotations

import datetime as dt
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

import zfb
from zfb.errors import ConfigError, ValidationError
from zfb.matching.crowdfunding import crowdfund, solve_transport
from zfb.matching.funds import MatchingFund, read_funds
from zfb.matching.modes import mode_eligibility

from .conftest import SHARED_REAL

CAUSES = ["ILL.UREMIA", "ILL.CANCER", "ILL", "EDU.COLLEGE", "DIS.VISUAL"]
TAGS = ["ILL", "ILL.UREMIA", "EDU", "medical_costs", "tuition", "DIS"]
TOWNS = ["泼机镇", "黑树镇", "母享镇"]
FIELDS = dict(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@st.composite
def instances(draw, max_households=8, max_projects=4):
    """A small consistent needs table, projects that crowdfund, and pledges."""
    n_h = draw(st.integers(1, max_households))
    n_p = draw(st.integers(1, max_projects))
    rows = []
    for i in range(n_h):
        causes = draw(
            st.lists(st.sampled_from(CAUSES), min_size=1, max_size=2, unique=True)
        )
        rows.append(
            {
                "household_id": f"H{i:03d}",
                "township": draw(st.sampled_from(TOWNS)),
                "village": None,
                "size": draw(st.integers(1, 6)),
                "income_per_capita": float(draw(st.integers(0, 6000))),
                "causes": ";".join(causes),
                "need_kind": None,
                "need_amount": float(draw(st.integers(1, 60)) * 100),
            }
        )
    households = pd.DataFrame(rows)
    projects = pd.DataFrame(
        [
            {
                "project_id": f"P{j}",
                "funder": "f",
                "tags": ";".join(
                    draw(
                        st.lists(
                            st.sampled_from(TAGS), min_size=1, max_size=2, unique=True
                        )
                    )
                ),
                "budget": float(draw(st.integers(1, 150)) * 100),
                "capacity": draw(st.integers(1, 6)),
                "townships": draw(
                    st.sampled_from(["*", TOWNS[0], f"{TOWNS[1]};{TOWNS[2]}"])
                ),
                "per_household_cap": draw(st.sampled_from([np.nan, 500.0, 2500.0])),
                "modes": draw(st.sampled_from(["crowdfunding", "single;crowdfunding"])),
            }
            for j in range(n_p)
        ]
    )
    n_pl = draw(st.integers(0, 10))
    pledges = pd.DataFrame(
        {
            "pledge_id": [f"L{k}" for k in range(n_pl)],
            "donor": [
                draw(st.sampled_from(["d1", "d2", "d3", "fund-owner"]))
                for _ in range(n_pl)
            ],
            "household_id": [
                f"H{draw(st.integers(0, n_h - 1)):03d}" for _ in range(n_pl)
            ],
            "amount": [float(draw(st.integers(1, 40)) * 50) for _ in range(n_pl)],
            "pledged_on": [
                dt.date(2016, 5, 1) + dt.timedelta(days=draw(st.integers(0, 60)))
                for _ in range(n_pl)
            ],
        }
    )
    return households, projects, pledges


def check_ledger(result, households, projects, pledges):
    """No budget, capacity, cap or need exceeded; every pledge accounted for."""
    m = result.matches
    pr = result.progress.set_index("household_id")
    tol = 1e-6
    # projects
    proj = projects.set_index("project_id")
    spent = m.groupby("project_id")["amount"].sum()
    assert (spent <= proj.loc[spent.index, "budget"] + tol).all()
    equiv = m.groupby("project_id")["share"].sum()
    assert (equiv <= proj.loc[equiv.index, "capacity"] + 1e-6).all()
    caps = proj.loc[m["project_id"], "per_household_cap"].to_numpy()
    assert (np.isnan(caps) | (m["amount"].to_numpy() <= caps + tol)).all()
    assert (m["amount"] > 0).all()
    assert np.allclose(m["amount"], np.round(m["amount"]))  # whole yuan
    # needs
    assert (pr["funded"] <= pr["need"] + tol).all()
    assert np.allclose(pr["funded"], pr["pledged"] + pr["matched"] + pr["allocated"])
    alloc = m.groupby("household_id")["amount"].sum().reindex(pr.index, fill_value=0)
    assert np.allclose(alloc, pr["allocated"])
    assert (pr.loc[pr["state"] == "expired", "allocated"] == 0).all()
    # pledges: every one, every yuan
    pl = result.pledges
    assert len(pl) == len(pledges)
    assert set(pl["pledge_id"]) == set(pledges["pledge_id"].astype(str))
    assert np.allclose(pl["applied"] + pl["returned"], pl["amount"])
    assert (pl["applied"] >= -tol).all() and (pl["returned"] >= -tol).all()
    by_need = (
        pl.groupby("household_id")["applied"].sum().reindex(pr.index, fill_value=0)
    )
    assert np.allclose(by_need, pr["pledged"])
    matched = (
        pl.groupby("household_id")["matched"].sum().reindex(pr.index, fill_value=0)
    )
    assert np.allclose(matched, pr["matched"])
    assert (pr["pledges"].sum()) == len(pledges)
    assert set(pl["status"]) <= {"pledged", "paid", "cancelled"}


@settings(max_examples=40, **FIELDS)
@given(instances())
def test_no_budget_capacity_or_need_is_exceeded_and_pledges_add_up(inst):
    households, projects, pledges = inst
    result = crowdfund(households, projects, pledges, as_of="2016-06-01")
    check_ledger(result, households, projects, pledges)
    assert result.total_score <= result.bound + 1e-9


@settings(max_examples=30, **FIELDS)
@given(instances(), st.sampled_from(["refund", "keep"]))
def test_expired_needs_release_their_pledges_by_the_rule(inst, rule):
    households, projects, pledges = inst
    result = crowdfund(
        households,
        projects,
        pledges,
        deadline="2016-06-01",
        as_of="2016-06-02",
        on_expiry=rule,
    )
    check_ledger(result, households, projects, pledges)
    pr = result.progress
    total = pledges.groupby("household_id")["amount"].sum()
    expired = pr[pr["state"] == "expired"]
    # after the deadline nothing is allocated; a need is funded by pledges or released
    assert result.matches.empty
    assert set(pr["state"]) <= {"funded", "expired"}
    pl = result.pledges.set_index("household_id")
    for hid in expired["household_id"]:
        if hid not in pl.index:
            continue
        rows = pl.loc[[hid]]
        if rule == "refund":
            assert (rows["status"] == "cancelled").all()
            assert np.isclose(rows["returned"].sum(), total[hid])
        else:
            assert np.isclose(
                rows["applied"].sum(),
                expired.set_index("household_id").at[hid, "pledged"],
            )


def _lp_optimum(h, p, value, upper, demand, supply, coef, capacity):
    """The same program written out densely and solved by HiGHS directly."""
    n_e = len(h)
    rows, b = [], []
    for i in range(len(demand)):
        rows.append((h == i).astype(float))
        b.append(demand[i])
    for j in range(len(supply)):
        rows.append((p == j).astype(float))
        b.append(supply[j])
        rows.append((p == j) * coef)
        b.append(capacity[j])
    res = linprog(
        -value,
        A_ub=np.array(rows),
        b_ub=np.array(b),
        bounds=list(zip(np.zeros(n_e), upper, strict=True)),
    )
    assert res.status == 0
    return -res.fun


def _milp_optimum(h, p, value, upper, demand, supply, coef, capacity):
    """The whole-yuan optimum (integer amounts) by HiGHS branch and bound."""
    rows, b = [], []
    for i in range(len(demand)):
        rows.append((h == i).astype(float))
        b.append(demand[i])
    for j in range(len(supply)):
        rows.append((p == j).astype(float))
        b.append(supply[j])
        rows.append((p == j) * coef)
        b.append(capacity[j])
    res = milp(
        -value,
        integrality=np.ones(len(h)),
        bounds=Bounds(np.zeros(len(h)), upper),
        constraints=LinearConstraint(np.array(rows), -np.inf, np.array(b)),
    )
    return -res.fun


@st.composite
def transport(draw, bind_capacity):
    n_h = draw(st.integers(1, 6))
    n_p = draw(st.integers(1, 3))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_h - 1), st.integers(0, n_p - 1)),
            min_size=1,
            max_size=n_h * n_p,
            unique=True,
        )
    )
    h = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    need = np.array([draw(st.integers(1, 30)) * 10.0 for _ in range(n_h)])
    value = np.array([draw(st.integers(1, 100)) / 100 for _ in pairs]) / need[h]
    upper = np.minimum(
        need[h], [draw(st.sampled_from([50.0, 120.0, 1e9])) for _ in pairs]
    )
    supply = np.array([draw(st.integers(0, 60)) * 10.0 for _ in range(n_p)])
    coef = 1.0 / need[h]
    if bind_capacity:
        capacity = np.array(
            [
                draw(st.integers(0, 3)) + draw(st.sampled_from([0.0, 0.5]))
                for _ in range(n_p)
            ]
        )
    else:
        capacity = np.full(n_p, 1e6)
    return h, p, value, upper, need, supply, coef, capacity


@settings(max_examples=60, **FIELDS)
@given(transport(bind_capacity=False))
def test_min_cost_flow_equals_networkx_and_highs(inst):
    h, p, value, upper, demand, supply, coef, capacity = inst
    sol = solve_transport(h, p, value, upper, demand, supply, coef, capacity)
    assert sol.solver == "min_cost_flow" and sol.status == "optimal"
    # networkx network simplex on the same network, integer costs
    scale = 10**7
    g = nx.DiGraph()
    for j in range(len(supply)):
        g.add_edge("s", ("p", j), capacity=int(supply[j]), weight=0)
    for e in range(len(h)):
        g.add_edge(
            ("p", p[e]),
            ("h", h[e]),
            capacity=int(upper[e]),
            weight=-round(value[e] * scale),
        )
    for i in range(len(demand)):
        g.add_edge(("h", i), "t", capacity=int(demand[i]), weight=0)
    g.add_edge("s", "t", capacity=int(supply.sum()), weight=0)
    g.nodes["s"]["demand"] = -int(supply.sum())
    g.nodes["t"]["demand"] = int(supply.sum())
    flow = nx.min_cost_flow(g)
    nx_value = sum(flow[("p", p[e])][("h", h[e])] * value[e] for e in range(len(h)))
    assert sol.objective == pytest.approx(nx_value, rel=1e-6, abs=1e-9)
    assert sol.objective == pytest.approx(
        _lp_optimum(h, p, value, upper, demand, supply, coef, capacity),
        rel=1e-6,
        abs=1e-9,
    )
    assert np.allclose(sol.x, np.round(sol.x))


@settings(max_examples=60, **FIELDS)
@given(transport(bind_capacity=True))
def test_program_with_capacities_is_bounded_by_highs_and_near_the_integer_optimum(inst):
    h, p, value, upper, demand, supply, coef, capacity = inst
    sol = solve_transport(h, p, value, upper, demand, supply, coef, capacity)
    lp = _lp_optimum(h, p, value, upper, demand, supply, coef, capacity)
    best = _milp_optimum(h, p, value, upper, demand, supply, coef, capacity)
    assert sol.bound == pytest.approx(max(lp, sol.objective), rel=1e-6, abs=1e-9)
    assert sol.objective <= best + 1e-7  # no allocation beats the integer optimum
    assert best <= sol.bound + 1e-7
    # the rounding loses at most one yuan per edge, at the best value per yuan
    assert sol.bound - sol.objective <= len(h) * value.max() + 1e-9
    # feasibility of the rounded allocation
    x = sol.x
    assert (x <= upper + 1e-9).all() and (x >= 0).all()
    assert (np.bincount(h, x, len(demand)) <= demand + 1e-9).all()
    assert (np.bincount(p, x, len(supply)) <= supply + 1e-9).all()
    assert (np.bincount(p, x * coef, len(supply)) <= capacity + 1e-9).all()


@settings(max_examples=40, **FIELDS)
@given(transport(bind_capacity=True))
def test_greedy_never_beats_the_bound(inst):
    h, p, value, upper, demand, supply, coef, capacity = inst
    exact = solve_transport(h, p, value, upper, demand, supply, coef, capacity)
    greedy = solve_transport(
        h, p, value, upper, demand, supply, coef, capacity, solver="greedy"
    )
    assert greedy.objective <= exact.bound + 1e-9
    assert np.isnan(greedy.bound)


def test_crowdfunding_is_never_worse_than_single_mode_without_caps():
    # a need split among projects may only help: single mode's assignment is
    # one feasible allocation of the crowdfunding program
    county = zfb.generate_county(n_households=300, n_projects=30, seed=3)
    projects = county.projects.assign(
        modes="single;crowdfunding", per_household_cap=np.nan
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", zfb.ZfbWarning)
        single = zfb.match_single(county.households, projects)
    crowd = crowdfund(county.households, projects)
    assert crowd.bound >= single.total_score - 1e-6


def test_matching_fund_ratio_cap_donor_and_need_are_respected():
    households = pd.DataFrame(
        {
            "household_id": ["A", "B"],
            "township": ["泼机镇", "黑树镇"],
            "village": [None, None],
            "size": [3, 4],
            "income_per_capita": [1000.0, 2000.0],
            "causes": ["ILL.UREMIA", "EDU.COLLEGE"],
            "need_kind": [None, None],
            "need_amount": [1000.0, 5000.0],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P"],
            "funder": ["x"],
            "tags": ["DIS"],
            "budget": [100.0],
            "capacity": [1],
            "modes": ["crowdfunding"],
        }
    )
    pledges = pd.DataFrame(
        {
            "pledge_id": ["1", "2", "3", "4"],
            "donor": ["d1", "owner", "d2", "d3"],
            "household_id": ["A", "A", "A", "B"],
            "amount": [300.0, 100.0, 500.0, 2000.0],
            "pledged_on": ["2016-05-02", "2016-05-03", "2016-05-04", "2016-05-05"],
        }
    )
    fund = MatchingFund("F", "owner", ratio=0.5, cap=600.0, per_pledge_cap=400.0)
    r = crowdfund(households, projects, pledges, funds=[fund], as_of="2016-06-01")
    pl = r.pledges.set_index("pledge_id")
    # pledge 1: 300 + 150 matched; pledge 2 by the fund's own funder: not matched
    assert pl.at["1", "matched"] == 150.0
    assert pl.at["2", "matched"] == 0.0
    # pledge 3: 450 left of A's need -> 450 applied, 50 returned, nothing left to match
    assert pl.at["3", "applied"] == 450.0 and pl.at["3", "returned"] == 50.0
    assert pl.at["3", "matched"] == 0.0
    # pledge 4: half of 2000 is 1000, but per pledge 400 and the cap leaves 450
    assert pl.at["4", "matched"] == 400.0
    pr = r.progress.set_index("household_id")
    assert pr.at["A", "state"] == "funded" and pr.at["A", "funded"] == 1000.0
    assert pr.at["A", "pledged"] == 850.0 and pr.at["A", "matched"] == 150.0
    assert r.funds.set_index("fund_id").at["F", "matched"] == 550.0
    assert r.funds.set_index("fund_id").at["F", "cap_left"] == 50.0


def test_refund_returns_matched_money_to_the_fund():
    households = pd.DataFrame(
        {
            "household_id": ["A"],
            "township": ["泼机镇"],
            "size": [3],
            "income_per_capita": [1000.0],
            "causes": ["ILL.UREMIA"],
            "need_kind": [None],
            "need_amount": [1000.0],
            "deadline": ["2016-05-10"],
        }
    )
    projects = pd.DataFrame(
        {
            "project_id": ["P"],
            "funder": ["x"],
            "tags": ["ILL"],
            "budget": [10_000.0],
            "capacity": [5],
            "modes": ["crowdfunding"],
        }
    )
    pledges = pd.DataFrame(
        {
            "pledge_id": ["1"],
            "donor": ["d"],
            "household_id": ["A"],
            "amount": [200.0],
            "pledged_on": ["2016-05-01"],
        }
    )
    fund = MatchingFund("F", "owner", ratio=1.0, cap=1000.0)
    before = crowdfund(households, projects, pledges, funds=[fund], as_of="2016-05-05")
    assert before.progress.at[0, "state"] == "funded"  # the project fills the rest
    assert before.progress.at[0, "allocated"] == 600.0
    after = crowdfund(households, projects, pledges, funds=[fund], as_of="2016-05-11")
    assert after.progress.at[0, "state"] == "expired"
    assert after.progress.at[0, "released"] == 400.0
    assert (
        after.funds.at[0, "matched"] == 0.0 and after.funds.at[0, "released"] == 200.0
    )
    assert after.pledges.at[0, "status"] == "cancelled"


def test_pledges_to_unknown_needs_are_reported_with_their_rows():
    county = zfb.generate_county(n_households=50, n_projects=10, seed=1)
    pledges = pd.DataFrame(
        {
            "pledge_id": ["1", "1"],
            "donor": ["d", "d"],
            "household_id": ["nobody", county.households.household_id[0]],
            "amount": [10.0, -5.0],
        }
    )
    with pytest.raises(ValidationError) as err:
        crowdfund(county.households, county.projects, pledges)
    rules = err.value.to_frame()
    assert set(rules["column"]) == {"household_id", "pledge_id", "amount"}
    assert set(rules["row"]) == {2, 3}


def test_funds_file_is_read_and_checked(tmp_path):
    path = tmp_path / "funds.toml"
    path.write_text(
        '[[fund]]\nfund_id = "F1"\nfunder = "星芽"\nratio = 1\ncap = 5000\n'
        'start = "2016-05-01"\n',
        encoding="utf-8",
    )
    [fund] = read_funds(path)
    assert fund.ratio == 1.0 and fund.start == dt.date(2016, 5, 1)
    path.write_text(
        '[[fund]]\nfund_id = "F1"\nfunder = "x"\nratio = -1\ncap = 5\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="ratio"):
        read_funds(path)


# real data: Kiva
LOANS = SHARED_REAL / "kiva" / "kiva_loans_sample_1000.csv"


@pytest.mark.real
def test_kiva_fixed_budget_compared_with_what_the_crowd_funded():
    if not LOANS.is_file():
        pytest.skip(f"real public data not found: {LOANS} (../shared is absent)")
    loans = zfb.read_households(LOANS, mapping="kiva_loans")
    raw = pd.read_csv(LOANS)
    crowd = pd.to_numeric(loans["funded_amount"]).to_numpy(float)
    lenders = pd.to_numeric(loans["lender_count"]).to_numpy(float)
    need = loans["need_amount"].to_numpy(float)
    assert np.allclose(crowd, raw["funded_amount"].to_numpy(float) * 6.44, atol=1)
    # one fund with exactly the crowd's total, serving every need
    budget = float(np.floor(crowd.sum()))
    every = ";".join(zfb.load_taxonomy().primaries)
    projects = pd.DataFrame(
        {
            "project_id": ["ZFB"],
            "funder": ["all"],
            "tags": [every],
            "budget": [budget],
            "capacity": [len(loans)],
            "per_household_cap": [np.nan],
            "modes": ["crowdfunding"],
        }
    )
    result = crowdfund(loans, projects, as_of="2016-01-01")
    pr = result.progress
    check_ledger(result, loans, projects, pd.DataFrame({"pledge_id": []}))
    assert result.status == "optimal"
    # the same money, all of it placed, no need over-filled
    assert pr["allocated"].sum() == pytest.approx(
        min(budget, np.floor(need).sum()), abs=len(loans)
    )
    # what the crowd did is one feasible allocation of the same money: the
    # optimum is worth at least as much by the same score
    elig = mode_eligibility(loans, projects, "crowdfunding")
    score = np.zeros(len(loans))
    score[elig.edges["h"].to_numpy()] = elig.edges["score"].to_numpy()
    crowd_value = float((score * np.minimum(crowd, need) / need).sum())
    assert result.total_score >= crowd_value - 1e-6
    # one source and no caps: an optimal vertex leaves at most one need split
    allocated = pr["allocated"].to_numpy()
    assert int(((allocated > 0) & (allocated < need - 0.5)).sum()) <= 1
    by_sector = (
        pd.DataFrame(
            {
                "sector": loans["sector"],
                "crowd": crowd,
                "zfb": pr["allocated"].to_numpy(),
                "need": need,
            }
        )
        .groupby("sector")[["need", "crowd", "zfb"]]
        .sum()
    )
    assert by_sector["crowd"].sum() == pytest.approx(crowd.sum())
    assert (lenders >= 0).all()
