"""Custom selection: criteria, optimum, reasons, and errors that name the criterion."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zfb
from zfb.errors import ConfigError, InfeasibleError
from zfb.matching.custom import TRAITS, Criteria, select_custom
from zfb.matching.modes import run_mode

CAUSES = ["ILL.UREMIA", "ILL.CANCER", "EDU.COLLEGE", "EDU", "DIS.VISUAL"]
FIELDS = dict(suppress_health_check=[HealthCheck.too_slow], deadline=None)


@st.composite
def tables(draw, max_n=9):
    n = draw(st.integers(1, max_n))
    return pd.DataFrame(
        {
            "household_id": [f"H{i}" for i in range(n)],
            "township": [draw(st.sampled_from(["泼机镇", "黑树镇"])) for _ in range(n)],
            "village": [None] * n,
            "size": [draw(st.integers(1, 5)) for _ in range(n)],
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
            "need_amount": [float(draw(st.integers(1, 40)) * 100) for _ in range(n)],
            "children_in_school": pd.array(
                [draw(st.integers(0, 2)) for _ in range(n)], dtype="Int64"
            ),
            "elderly_count": pd.array(
                [draw(st.integers(0, 2)) for _ in range(n)], dtype="Int64"
            ),
        }
    )


@settings(max_examples=50, **FIELDS)
@given(tables(), st.integers(1, 4), st.integers(3, 60), st.booleans())
def test_selection_is_the_best_that_fits_and_brute_force_agrees(
    hh, count, budget100, traits
):
    crit = Criteria(
        causes=("ILL", "EDU.COLLEGE"),
        traits=("child_in_school",) if traits else (),
        households=count,
        budget=budget100 * 100.0,
    )
    try:
        sel = select_custom(hh, crit)
    except InfeasibleError:
        # then no household fits the criteria and the budget on its own
        fits = hh["causes"].str.contains("ILL|EDU.COLLEGE", regex=True)
        if traits:
            fits &= hh["children_in_school"] >= 1
        assert not (fits & (hh["need_amount"] <= crit.budget)).any()
        return
    t = sel.table
    assert len(t) <= count and t["amount"].sum() <= crit.budget + 1e-9
    assert (t["rank"] == np.arange(1, len(t) + 1)).all()
    assert t["score"].is_monotonic_decreasing
    chosen = hh.set_index("household_id").loc[t["household_id"]]
    assert chosen["causes"].str.contains("ILL|EDU.COLLEGE", regex=True).all()
    if traits:
        assert (chosen["children_in_school"] >= 1).all()
        assert t["reason"].str.startswith("fits: has a child in school").all()
    # brute force over the households that fit
    edges = zfb.eligible_edges(
        hh,
        pd.DataFrame(
            {
                "project_id": ["x"],
                "funder": ["x"],
                "tags": ["ILL;EDU.COLLEGE"],
                "budget": [1.0],
                "capacity": [1],
            }
        ),
    )
    if traits:
        ok = set(hh.loc[hh["children_in_school"] >= 1, "household_id"])
        edges = edges[edges["household_id"].isin(ok)]
    best = 0.0
    rows = list(edges[["score", "amount"]].itertuples(index=False))
    for r in range(0, min(count, len(rows)) + 1):
        for pick in itertools.combinations(rows, r):
            if sum(a for _, a in pick) <= crit.budget:
                best = max(best, sum(s for s, _ in pick))
    assert sel.total_score == pytest.approx(best, abs=1e-9)
    assert sel.status == "optimal"


def test_infeasible_criteria_name_the_criterion_that_emptied_the_set():
    county = zfb.generate_county(n_households=400, n_projects=10, seed=5)
    hh = county.households
    with pytest.raises(InfeasibleError, match="income_ceiling"):
        select_custom(hh, {"causes": ["ILL"], "income_ceiling": 0.5})
    with pytest.raises(InfeasibleError, match="budget .*cheapest"):
        select_custom(hh, {"causes": ["ILL"], "budget": 1.0})
    with pytest.raises(InfeasibleError, match="townships"):
        select_custom(hh, {"causes": ["ILL"], "townships": ["nowhere"]})
    with pytest.raises(ConfigError, match="unknown trait"):
        Criteria(traits=("rich",))
    with pytest.raises(ConfigError, match="unknown cause"):
        select_custom(hh, {"causes": ["no such cause"]})
    with pytest.raises(ConfigError, match="unknown criteria key"):
        Criteria.from_dict({"cuases": ["ILL"]})


def test_traits_select_what_they_say():
    county = zfb.generate_county(n_households=500, n_projects=10, seed=4)
    hh = county.households
    sel = select_custom(hh, {"traits": ["elderly_alone"]})
    chosen = hh.set_index("household_id").loc[sel.table["household_id"]]
    assert (chosen["elderly_count"] >= chosen["size"]).all()
    n_fit = int(
        ((hh["elderly_count"] >= 1) & (hh["elderly_count"] >= hh["size"])).sum()
    )
    assert sel.funnel["left"].iloc[-2] == n_fit
    assert set(TRAITS) >= {"child_in_school", "elderly_alone"}


def test_criteria_from_toml_through_the_dispatcher(tmp_path):
    county = zfb.generate_county(n_households=400, n_projects=10, seed=6)
    path = tmp_path / "criteria.toml"
    path.write_text(
        'title = "助学"\ncauses = ["EDU"]\ntraits = ["child_in_school"]\n'
        "households = 10\nbudget = 40000\n",
        encoding="utf-8",
    )
    out = run_mode(
        "custom",
        county.households,
        county.projects,
        options={"criteria_file": str(path)},
    )
    sel = out.tables["selection.csv"]
    assert len(sel) <= 10 and sel["amount"].sum() <= 40000
    assert out.lines[0].startswith("助学")
    assert list(out.tables) == ["selection.csv", "criteria.csv"]
