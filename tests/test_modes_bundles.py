"""Bundles: grouping, pages without personal data, matching as one unit."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zfb
from zfb.matching.bundles import make_bundles, match_bundles, solve_units

CAUSES = ["ILL.UREMIA", "ILL.CANCER", "ILL", "EDU.COLLEGE", "DIS.VISUAL"]
TOWNS = ["泼机镇", "黑树镇"]
FIELDS = dict(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@st.composite
def households(draw, max_n=14):
    n = draw(st.integers(1, max_n))
    return pd.DataFrame(
        {
            "household_id": [f"H{i:03d}" for i in range(n)],
            "township": [draw(st.sampled_from(TOWNS)) for _ in range(n)],
            "village": [None] * n,
            "size": [draw(st.integers(1, 6)) for _ in range(n)],
            "income_per_capita": [float(draw(st.integers(0, 5000))) for _ in range(n)],
            "causes": [
                ";".join(
                    draw(
                        st.lists(
                            st.sampled_from(CAUSES), min_size=1, max_size=2, unique=True
                        )
                    )
                )
                for _ in range(n)
            ],
            "need_kind": [None] * n,
            "need_amount": [float(draw(st.integers(1, 50)) * 100) for _ in range(n)],
            "name": ["张三"] * n,
            "phone": ["13800000000"] * n,
        }
    )


@settings(max_examples=60, **FIELDS)
@given(
    households(), st.integers(1, 4), st.sampled_from(["main", "primary"]), st.booleans()
)
def test_bundles_never_mix_causes_unless_asked(hh, size, cause, by_town):
    b = make_bundles(hh, size, by="township" if by_town else "none", cause=cause)
    m = b.members.merge(
        hh[["household_id", "causes", "township"]],
        on="household_id",
        suffixes=("", "_in"),
    )
    main = m["causes_in"].str.split(";").str[0]
    if cause == "primary":
        main = main.str.split(".").str[0]
    assert (m.groupby("bundle_id")["township"].nunique() == 1).all() or not by_town
    assert (main.groupby(m["bundle_id"]).nunique() == 1).all()
    # every household in exactly one bundle, none larger than asked
    assert sorted(b.members["household_id"]) == sorted(hh["household_id"])
    assert (b.table["households"] <= size).all()
    assert (b.table["complete"] == (b.table["households"] == size)).all()
    # a group yields at most one incomplete bundle
    key = b.table["township"] + "|" + b.table["cause"]
    assert (b.table[~b.table["complete"]].groupby(key).size() <= 1).all()
    # the pages hold no personal data
    assert not {"name", "phone", "id_number"} & set(b.members.columns)
    assert not {"name", "phone", "id_number"} & set(b.units.columns)


@settings(max_examples=30, **FIELDS)
@given(households(), st.integers(2, 5))
def test_mixed_bundles_group_by_township_only(hh, size):
    b = make_bundles(hh, size, mix_causes=True)
    per_town = hh.groupby("township").size()
    expected = sum(-(-n // size) for n in per_town)
    assert len(b.table) == expected


def _brute(b, p, score, amount, weight, capacity, budget):
    units = sorted(set(b.tolist()))
    best = 0.0
    options = {u: [None] + [e for e in range(len(b)) if b[e] == u] for u in units}
    for pick in itertools.product(*options.values()):
        chosen = [e for e in pick if e is not None]
        w = np.bincount(p[chosen], weights=weight[chosen], minlength=len(capacity))
        a = np.bincount(p[chosen], weights=amount[chosen], minlength=len(capacity))
        if (w <= capacity + 1e-9).all() and (a <= budget + 1e-9).all():
            best = max(best, float(score[chosen].sum()))
    return best


@st.composite
def unit_problems(draw):
    n_b = draw(st.integers(1, 5))
    n_p = draw(st.integers(1, 3))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_b - 1), st.integers(0, n_p - 1)),
            min_size=1,
            max_size=n_b * n_p,
            unique=True,
        )
    )
    b = np.array([x for x, _ in pairs])
    p = np.array([y for _, y in pairs])
    size = np.array([draw(st.integers(1, 4)) for _ in range(n_b)], dtype=float)
    score = np.array([draw(st.integers(1, 40)) / 10 for _ in pairs])
    amount = np.array([draw(st.integers(1, 20)) * 100.0 for _ in pairs])
    capacity = np.array([draw(st.integers(0, 8)) for _ in range(n_p)], dtype=float)
    budget = np.array([draw(st.integers(0, 30)) * 100.0 for _ in range(n_p)])
    return b, p, score, amount, size[b], capacity, budget


@settings(max_examples=80, **FIELDS)
@given(unit_problems())
def test_bundle_assignment_equals_brute_force(problem):
    b, p, score, amount, weight, capacity, budget = problem
    sol = solve_units(b, p, score, amount, weight, capacity, budget)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(_brute(*problem), abs=1e-9)
    greedy = solve_units(b, p, score, amount, weight, capacity, budget, solver="greedy")
    assert greedy.objective <= sol.objective + 1e-9


@pytest.mark.parametrize("seed", [0, 7])
def test_matched_bundles_fit_capacity_budget_and_every_member(seed):
    county = zfb.generate_county(n_households=600, n_projects=40, seed=seed)
    projects = county.projects.assign(modes="bundle")
    bundles = make_bundles(county.households, 3)
    r = match_bundles(county.households, projects, bundles)
    proj = projects.set_index("project_id")
    used = r.matches.groupby("project_id").agg(
        n=("amount", "size"), a=("amount", "sum")
    )
    assert (used["n"] <= proj.loc[used.index, "capacity"]).all()
    assert (used["a"] <= proj.loc[used.index, "budget"] + 1e-6).all()
    # a matched bundle brings all its households, to one project
    got = r.matches.groupby("bundle_id").agg(
        n=("household_id", "size"), p=("project_id", "nunique")
    )
    size = bundles.table.set_index("bundle_id")["households"]
    assert (got["n"] == size.loc[got.index]).all() and (got["p"] == 1).all()
    # each member is eligible for its project in single-mode terms
    edges = zfb.eligible_edges(county.households, projects.assign(modes="single"))
    pairs = set(zip(edges["household_id"], edges["project_id"], strict=True))
    assert all(
        pr in pairs
        for pr in zip(r.matches["household_id"], r.matches["project_id"], strict=True)
    )
    assert r.total_score == pytest.approx(r.matches["score"].sum())
    assert r.total_score <= r.bound + 1e-9
    assert set(r.unmatched["bundle_id"]) == set(
        r.bundles.loc[r.bundles["project_id"].isna(), "bundle_id"]
    )


def test_a_bundle_is_crowdfunded_as_one_unit():
    from zfb.matching.crowdfunding import crowdfund

    county = zfb.generate_county(n_households=300, n_projects=30, seed=2)
    bundles = make_bundles(county.households, 4)
    projects = county.projects.assign(modes="bundle")
    pledges = pd.DataFrame(
        {
            "pledge_id": ["1"],
            "donor": ["d"],
            "household_id": [bundles.table["bundle_id"][0]],
            "amount": [500.0],
        }
    )
    r = crowdfund(bundles.units, projects, pledges, mode="bundle", as_of="2016-06-01")
    pr = r.progress.set_index("household_id")
    assert pr.loc[bundles.table["bundle_id"][0], "pledged"] == 500.0
    assert np.allclose(
        pr["need"].fillna(0), bundles.table.set_index("bundle_id")["need"]
    )


def test_no_projects_leaves_every_bundle_unmatched(tmp_path):
    # regression: an IndexError (exit 1, a traceback) when the projects file
    # held no project, or none that takes bundles
    from zfb.cli import main

    county = zfb.generate_county(n_households=40, n_projects=3, seed=2)
    none = county.projects.iloc[:0]
    result = match_bundles(county.households, none)
    assert result.matches.empty
    assert result.bundles["project_id"].isna().all()
    assert len(result.unmatched) == len(result.bundles)
    county.households.to_csv(tmp_path / "hh.csv", index=False)
    none.to_csv(tmp_path / "pj.csv", index=False)
    out = tmp_path / "out"
    argv = ["match", "-q", "--mode", "bundle", "--households", str(tmp_path / "hh.csv")]
    argv += ["--projects", str(tmp_path / "pj.csv"), "--out", str(out)]
    assert main(argv) == 0
    assert (out / "run.json").is_file()
