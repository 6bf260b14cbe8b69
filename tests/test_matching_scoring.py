"""Score terms, amounts and explanations against hand-worked numbers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import zfb
from zfb.matching import ScoreWeights, eligible_edges, match_single, poverty_gap

from .test_matching_eligibility import _households, _projects


def _edge(households, projects, **kw):
    edges = eligible_edges(households, projects, **kw)
    assert len(edges) == 1
    return edges.iloc[0]


def test_exact_match_score_by_hand():
    # income 1,850 of a 4,000 line: gap 1 - 1850/4000 = 0.5375
    # uremia has severity 3: severity term (3 - 1) / 2 = 1
    # priority 0.2 + 0.5 * 0.5375 + 0.3 * 1 = 0.76875; exact relevance 1.0
    hh = _households(causes=["ILL.UREMIA"], income_per_capita=[1850.0])
    e = _edge(hh, _projects(tags=["ILL.UREMIA"]))
    assert e["poverty_gap"] == pytest.approx(0.5375)
    assert e["severity"] == 3
    assert e["priority"] == pytest.approx(0.76875)
    assert e["relevance"] == 1.0
    assert e["score"] == pytest.approx(0.76875)


def test_primary_and_need_kind_scores_by_hand():
    # hypertension: severity 1, income 3,000: gap 0.25
    # priority 0.2 + 0.5 * 0.25 + 0 = 0.325
    hh = _households(causes=["ILL.HYPERTENSION"], income_per_capita=[3000.0])
    e = _edge(hh, _projects(tags=["ILL"]))
    assert (e["match"], e["relevance"]) == ("primary", 0.5)
    assert e["score"] == pytest.approx(0.5 * 0.325)
    # the need kind is implied by the main cause: medical costs
    e = _edge(hh, _projects(tags=["medical_costs"]))
    assert (e["match"], e["relevance"]) == ("need_kind", 0.8)
    assert e["score"] == pytest.approx(0.8 * 0.325)


def test_need_kind_severity_is_the_most_severe_cause_it_answers():
    # tuition answers EDU.PRIMARY (severity 1) and EDU.COLLEGE (severity 3),
    # not ILL.HYPERTENSION; income 4,000: gap 0, priority 0.2 + 0.3 * 1
    hh = _households(
        causes=["ILL.HYPERTENSION;EDU.PRIMARY;EDU.COLLEGE"],
        need_kind=pd.array(["tuition"], dtype="str"),
        income_per_capita=[4000.0],
    )
    e = _edge(hh, _projects(tags=["tuition"]))
    assert e["severity"] == 3
    assert e["score"] == pytest.approx(0.8 * 0.5)


def test_custom_weights():
    w = ScoreWeights(exact=2.0, poverty_line=2000.0, base=0.0, depth=1.0, severity=0.0)
    hh = _households(causes=["ILL.UREMIA"], income_per_capita=[500.0])
    e = _edge(hh, _projects(tags=["ILL.UREMIA"]), weights=w)
    # gap 1 - 500 / 2000 = 0.75, priority 0.75, relevance 2
    assert e["score"] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("income", "gap"),
    [(0.0, 1.0), (1000.0, 0.75), (4000.0, 0.0), (9000.0, 0.0)],
)
def test_poverty_gap(income, gap):
    assert poverty_gap(np.array([income]), 4000.0)[0] == pytest.approx(gap)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"exact": -1.0},
        {"poverty_line": 0.0},
        {"depth": float("nan")},
        {"base": 0.0, "depth": 0.0, "severity": 0.0},
    ],
)
def test_bad_weights_are_config_errors(kwargs):
    with pytest.raises(zfb.ConfigError):
        ScoreWeights(**kwargs)


def test_amounts():
    hh = _households(
        causes=["ILL.UREMIA", "ILL.UREMIA", "EDU.COLLEGE", "ILL.UREMIA"],
        need_kind=pd.array(
            ["rehabilitation", "rehabilitation", pd.NA, pd.NA], dtype="str"
        ),
        need_amount=[12000.0, np.nan, np.nan, 500.0],
    )
    pj = _projects(tags=["ILL", "EDU"], per_household_cap=[np.nan, 3000.0])
    edges = eligible_edges(hh, pj).astype({"household_id": str, "project_id": str})
    amount = edges.set_index(["household_id", "project_id"])["amount"]
    capped = edges.set_index(["household_id", "project_id"])["capped"]
    assert amount["H0", "P0"] == 12000.0  # need_amount
    assert amount["H1", "P0"] == 3000.0  # typical amount of rehabilitation
    assert amount["H2", "P1"] == 3000.0  # tuition typical 4,000, capped at 3,000
    assert capped["H2", "P1"] and not capped["H0", "P0"]
    assert amount["H3", "P0"] == 500.0


def test_explanations_and_reasons():
    hh = _households(
        causes=[
            "ILL.UREMIA",
            "EDU.PRIMARY",
            "DIS.PHYSICAL",
            "ILL.CANCER",
            "FAM.ORPHAN",
        ],
        income_per_capita=[1850.0, 5000.0, 0.0, 1000.0, 1000.0],
        township=["泼机镇", "泼机镇", "泼机镇", "泼机镇", "黑树镇"],
        need_amount=[np.nan, np.nan, np.nan, 9000.0, np.nan],
    )
    pj = _projects(
        tags=["ILL.UREMIA", "EDU", "rehabilitation", "ILL"],
        capacity=[1, 1, 1, 1],
        per_household_cap=[np.nan, 2500.0, np.nan, np.nan],
        budget=[1e6, 1e6, 1e6, 1000.0],
    )
    result = match_single(hh, pj)
    text = result.matches.set_index("household_id")["explanation"]
    assert text["H0"] == (
        "serves 尿毒症 kidney failure (exact cause); income 1,850 CNY/person, "
        "46% of the poverty line; severity 3"
    )
    assert text["H1"] == (
        "serves 就学负担 schooling costs (category of its cause 小学就学负担); "
        "income 5,000 CNY/person, 125% of the poverty line; severity 1; amount "
        "capped at 2,500 CNY by the project"
    )
    assert text["H2"].startswith(
        "serves 康复与辅具 rehabilitation and assistive devices (need kind of its "
        "main cause); income 0 CNY/person, 0% of the poverty line; severity 2"
    )
    reason = result.unmatched.set_index("household_id")["reason"]
    # H3's 9,000 CNY exceed the 1,000 CNY budget of the only project serving it
    assert reason["H3"] == "eligible projects were full or out of budget (1 eligible)"
    assert reason["H4"] == (
        "no eligible project (no project serves its causes or need kind in 黑树镇)"
    )


def test_amount_unknown_is_a_reason():
    # a taxonomy whose need kinds have no typical amount (a county extension
    # may leave it empty)
    tax = zfb.load_taxonomy()
    tax = dataclasses.replace(
        tax, need_kinds=tax.need_kinds.assign(typical_amount=np.nan)
    )
    hh = _households(causes=["ILL.UREMIA", "ILL.UREMIA"], need_amount=[np.nan, 800.0])
    result = match_single(hh, _projects(tags=["ILL"]), tax)
    assert result.matches["household_id"].tolist() == ["H1"]
    assert result.unmatched["reason"].iloc[0] == (
        "amount unknown: need_amount is missing and its need kind has no typical amount"
    )
