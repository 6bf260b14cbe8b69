"""Random matching instances and independent oracles for the matching tests.

The builders make small canonical ``households`` and ``projects`` tables
(docs/data-model.md) from a seed; the oracles compute eligibility and the
optimum without the code under test: a double loop over every pair, a
networkx min-cost flow, a brute-force enumeration and a scipy MIP built here.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import zfb

TAX = zfb.load_taxonomy()
CAUSES = [
    "ILL",
    "ILL.UREMIA",
    "ILL.CANCER",
    "ILL.HYPERTENSION",
    "EDU",
    "EDU.COLLEGE",
    "EDU.PRIMARY",
    "DIS.PHYSICAL",
    "LAB.FARM_SKILL",
    "RES.UNSAFE_HOUSE",
]
NEEDS = ["medical_costs", "tuition", "rehabilitation", "skills_training"]
TOWNS = ["泼机镇", "黑树镇", "母享镇"]
MODES = ["single", "single;crowdfunding", "bundle", "crowdfunding;single"]


def random_households(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A canonical households table of ``n`` rows drawn from ``rng``."""
    causes = []
    for _ in range(n):
        k = int(rng.integers(1, 4))
        causes.append(";".join(rng.choice(CAUSES, size=k, replace=False)))
    need = pd.array(rng.choice(NEEDS, size=n), dtype="str")
    need[rng.random(n) < 0.3] = pd.NA
    amount = rng.integers(5, 60, size=n) * 100.0
    amount[rng.random(n) < 0.3] = np.nan
    return pd.DataFrame(
        {
            "household_id": [f"H{i:04d}" for i in range(n)],
            "township": pd.array(rng.choice(TOWNS, size=n), dtype="str"),
            "village": pd.array([pd.NA] * n, dtype="str"),
            "size": rng.integers(1, 8, size=n).astype(np.int64),
            "income_per_capita": rng.integers(0, 6000, size=n).astype(float),
            "causes": pd.array(causes, dtype="str"),
            "need_kind": need,
            "need_amount": amount,
        }
    )


def random_projects(
    rng: np.random.Generator, n: int, *, binding: bool, cap_share: float = 0.3
) -> pd.DataFrame:
    """A canonical projects table; ``binding`` makes budgets small."""
    pool = CAUSES + NEEDS
    tags, towns = [], []
    for _ in range(n):
        tags.append(
            ";".join(rng.choice(pool, size=int(rng.integers(1, 3)), replace=False))
        )
        if rng.random() < 0.3:
            towns.append("*")
        else:
            k = int(rng.integers(1, 3))
            towns.append(";".join(rng.choice(TOWNS, size=k, replace=False)))
    capacity = rng.integers(1, 5, size=n).astype(np.int64)
    if binding:
        budget = rng.integers(1, 12, size=n) * 1000.0
    else:
        budget = np.full(n, 1e8)
    cap = np.where(
        rng.random(n) < cap_share, rng.integers(10, 40, size=n) * 100.0, np.nan
    )
    return pd.DataFrame(
        {
            "project_id": [f"P{i:03d}" for i in range(n)],
            "funder": pd.array(["示例基金会"] * n, dtype="str"),
            "tags": pd.array(tags, dtype="str"),
            "budget": budget,
            "capacity": capacity,
            "townships": pd.array(towns, dtype="str"),
            "per_household_cap": cap,
            "modes": pd.array(
                rng.choice(MODES, size=n, p=[0.6, 0.2, 0.1, 0.1]), dtype="str"
            ),
        }
    )


def instance(seed: int, n_h: int, n_p: int, *, binding: bool):
    rng = np.random.default_rng(seed)
    return random_households(rng, n_h), random_projects(rng, n_p, binding=binding)


# independent oracles
def naive_edges(households, projects, weights=None) -> pd.DataFrame:
    """Eligible pairs by a double loop over every household and project."""
    w = weights or zfb.ScoreWeights()
    rows = []
    for hrow in households.itertuples(index=False):
        causes = hrow.causes.split(";")
        need = hrow.need_kind
        implied = pd.isna(need)
        if implied:
            need = TAX.causes.at[causes[0], "need_kinds"][0]
        base = hrow.need_amount
        if pd.isna(base):
            base = float(TAX.need_kinds.at[need, "typical_amount"])
        gap = min(max(1 - hrow.income_per_capita / w.poverty_line, 0.0), 1.0)
        for prow in projects.itertuples(index=False):
            if "single" not in prow.modes.split(";"):
                continue
            towns = prow.townships.split(";")
            if towns != ["*"] and hrow.township not in towns:
                continue
            found = []  # (relevance, severity, -position, kind, on, tag)
            for tag in prow.tags.split(";"):
                for pos, cause in enumerate(causes):
                    if "." in tag and cause == tag:
                        found.append(
                            (w.exact, TAX.severity(cause), -pos, "exact", cause, tag)
                        )
                    elif "." not in tag and cause.split(".")[0] == tag:
                        found.append(
                            (
                                w.primary,
                                TAX.severity(cause),
                                -pos,
                                "primary",
                                cause,
                                tag,
                            )
                        )
                if tag == need:
                    answers = [
                        TAX.severity(c)
                        for c in causes
                        if need in TAX.causes.at[c, "need_kinds"]
                    ]
                    sev = max(answers) if answers else TAX.severity(causes[0])
                    found.append((w.need_kind, sev, 0, "need_kind", need, tag))
            if not found:
                continue
            rel, sev, _, kind, on, tag = max(found, key=lambda f: f[:3])
            cap = prow.per_household_cap
            amount = base if pd.isna(cap) else min(base, cap)
            prio = w.base + w.depth * gap + w.severity * (sev - 1) / 2
            rows.append(
                {
                    "household_id": hrow.household_id,
                    "project_id": prow.project_id,
                    "amount": amount,
                    "relevance": rel,
                    "priority": prio,
                    "score": rel * prio,
                    "match": kind,
                    "matched_on": on,
                    "severity": sev,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "household_id",
            "project_id",
            "amount",
            "relevance",
            "priority",
            "score",
            "match",
            "matched_on",
            "severity",
        ],
    )


def _arrays(edges, projects):
    pid = {v: i for i, v in enumerate(projects["project_id"])}
    hid = {v: i for i, v in enumerate(pd.unique(edges["household_id"].astype(str)))}
    h = np.array([hid[v] for v in edges["household_id"].astype(str)], dtype=int)
    p = np.array([pid[v] for v in edges["project_id"].astype(str)], dtype=int)
    return h, p, edges["score"].to_numpy(float), edges["amount"].to_numpy(float)


def networkx_optimum(edges, projects, scale: int = 10**6) -> float:
    """Best total score with capacities only, by networkx min-cost flow."""
    h, p, score, _ = _arrays(edges, projects)
    g = nx.DiGraph()
    for i in np.unique(h):
        g.add_edge("s", ("h", i), capacity=1, weight=0)
        g.add_edge(("h", i), "t", capacity=1, weight=0)
    for j, c in enumerate(projects["capacity"]):
        g.add_edge(("p", j), "t", capacity=int(c), weight=0)
    for i, j, s in zip(h, p, score, strict=True):
        g.add_edge(("h", i), ("p", j), capacity=1, weight=-round(s * scale))
    if len(h) == 0:
        return 0.0
    flow = nx.max_flow_min_cost(g, "s", "t")
    return -nx.cost_of_flow(g, flow) / scale


def brute_optimum(edges, projects) -> float:
    """Best total score under capacities and budgets, by enumeration."""
    h, p, score, amount = _arrays(edges, projects)
    cap = projects["capacity"].to_numpy()
    budget = projects["budget"].to_numpy()
    options = [[None, *np.flatnonzero(h == i)] for i in np.unique(h)]
    best = 0.0
    for pick in itertools.product(*options):
        chosen = [e for e in pick if e is not None]
        if not chosen:
            continue
        used = np.bincount(p[chosen], minlength=len(cap))
        spent = np.bincount(p[chosen], weights=amount[chosen], minlength=len(cap))
        if (used <= cap).all() and (spent <= budget + 1e-9).all():
            best = max(best, float(score[chosen].sum()))
    return best


def milp_optimum(edges, projects) -> float:
    """Best total score under capacities and budgets, by a scipy MIP."""
    h, p, score, amount = _arrays(edges, projects)
    if len(h) == 0:
        return 0.0
    n_e, n_h, n_p = len(h), int(h.max()) + 1, len(projects)
    a = np.zeros((n_h + 2 * n_p, n_e))
    a[h, np.arange(n_e)] = 1
    a[n_h + p, np.arange(n_e)] = 1
    a[n_h + n_p + p, np.arange(n_e)] = amount
    upper = np.concatenate(
        [np.ones(n_h), projects["capacity"].to_numpy(float), projects["budget"]]
    )
    res = milp(
        -score,
        integrality=np.ones(n_e),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(a, -np.inf, upper),
        options={"mip_rel_gap": 0},
    )
    assert res.success, res.message
    return -res.fun


def check_feasible(result, households, projects) -> None:
    """Capacities, budgets, one project per household, matches are edges."""
    m = result.matches
    assert m["household_id"].is_unique
    assert set(m["household_id"]) <= set(households["household_id"])
    pairs = set(
        zip(
            result.edges["household_id"].astype(str),
            result.edges["project_id"].astype(str),
            strict=True,
        )
    )
    assert all(
        pair in pairs for pair in zip(m["household_id"], m["project_id"], strict=True)
    )
    used = m.groupby("project_id").size()
    spent = m.groupby("project_id")["amount"].sum()
    cap = projects.set_index("project_id")["capacity"]
    budget = projects.set_index("project_id")["budget"]
    assert (used <= cap.reindex(used.index)).all()
    assert (spent <= budget.reindex(spent.index) + 1e-6).all()
    assert len(m) + len(result.unmatched) == len(households)
    assert set(m["household_id"]).isdisjoint(result.unmatched["household_id"])
    assert result.total_score == pytest.approx(m["score"].sum())


# the builders follow the data model
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=20, deadline=None)
def test_random_tables_follow_the_data_model(seed):
    hh, pj = instance(seed, 12, 5, binding=True)
    assert hh["household_id"].is_unique and pj["project_id"].is_unique
    for causes in hh["causes"]:
        codes = causes.split(";")
        assert len(codes) == len(set(codes))
        assert all(c in TAX.causes.index for c in codes)
    assert hh["need_kind"].dropna().isin(TAX.need_kinds.index).all()
    assert (hh["need_amount"].dropna() >= 0).all()
    assert (pj["budget"] > 0).all() and (pj["capacity"] >= 1).all()


def test_oracles_agree_with_each_other_on_a_tiny_case():
    # two households, one project of capacity 1 and budget for one of them
    edges = pd.DataFrame(
        {
            "household_id": ["A", "B"],
            "project_id": ["P", "P"],
            "score": [0.5, 0.7],
            "amount": [100.0, 300.0],
        }
    )
    projects = pd.DataFrame({"project_id": ["P"], "capacity": [1], "budget": [200.0]})
    assert brute_optimum(edges, projects) == pytest.approx(0.5)
    assert milp_optimum(edges, projects) == pytest.approx(0.5)
    assert networkx_optimum(edges, projects) == pytest.approx(0.7)
