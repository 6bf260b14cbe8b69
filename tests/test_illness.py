"""Tests of zfb.illness: hand-counted tables and the synthetic county."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from zfb.errors import ConfigError, ValidationError
from zfb.illness import SKILL_CAUSES, illness_breakdown, plot_breakdown, training_needs


@pytest.fixture
def households() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "township": ["A", "A", "A", "B", "B"],
            "causes": [
                "ILL.UREMIA;ILL.HEART",  # two illnesses: counted under both
                "ILL.UREMIA;LAB.FARM_SKILL",
                "EDU.SENIOR",
                "ILL;LAB.DRIVING;LAB.FARM_SKILL",
                "LAB.NO_ADULT;LAB.FARM_SKILL",
            ],
            "need_kind": ["medical_costs", "skills_training", None, "skills_training",
                          "basic_living"],
        },
        index=[5, 6, 7, 8, 9],
    )  # fmt: skip


def test_illness_by_township_by_hand(households):
    t = illness_breakdown(households)
    rows = {(r.township, r.cause): r for r in t.itertuples()}
    assert list(rows) == [("A", "ILL.UREMIA"), ("A", "ILL.HEART"), ("B", "ILL")]
    uremia = rows[("A", "ILL.UREMIA")]
    # two of A's three households, both of its ill households
    assert (uremia.households, uremia.ill_households, uremia.total) == (2, 2, 3)
    assert uremia.share == pytest.approx(2 / 3)
    assert uremia.share_of_ill == pytest.approx(1.0)
    assert rows[("A", "ILL.HEART")].share_of_ill == pytest.approx(0.5)
    assert rows[("A", "ILL.UREMIA")].name_en == "kidney failure"
    b = rows[("B", "ILL")]
    assert (b.households, b.total, b.name_zh) == (1, 2, "疾病")


def test_illness_for_the_county(households):
    t = illness_breakdown(households, by=None)
    assert "township" not in t.columns
    assert t.set_index("cause")["households"].to_dict() == {
        "ILL.UREMIA": 2,
        "ILL.HEART": 1,
        "ILL": 1,
    }
    assert (t["total"] == 5).all()
    assert (t["ill_households"] == 3).all()


def test_training_needs_by_hand(households):
    t = training_needs(households)
    rows = {(r.township, r.cause): r for r in t.itertuples()}
    # LAB.NO_ADULT is a lack of labour, not of skill
    assert ("B", "LAB.NO_ADULT") not in rows
    farm_b = rows[("B", "LAB.FARM_SKILL")]
    assert (farm_b.households, farm_b.skill_households, farm_b.total) == (2, 2, 2)
    # of the two, one asks for skills training (the other for basic living)
    assert farm_b.asks_training == 1
    assert rows[("B", "LAB.DRIVING")].share_of_skill == pytest.approx(0.5)
    farm_a = rows[("A", "LAB.FARM_SKILL")]
    assert (farm_a.households, farm_a.total, farm_a.asks_training) == (1, 3, 1)
    # within B, the most frequent skill first
    b = t[t["township"] == "B"]["cause"].tolist()
    assert b == ["LAB.FARM_SKILL", "LAB.DRIVING"]


def test_training_needs_without_need_kind(households):
    t = training_needs(households.drop(columns="need_kind"), by=None)
    assert (t["asks_training"] == 0).all()
    assert t.set_index("cause")["households"].to_dict() == {
        "LAB.FARM_SKILL": 3,
        "LAB.DRIVING": 1,
    }


def test_errors(households):
    with pytest.raises(ValidationError, match="village"):
        illness_breakdown(households, by="village")
    with pytest.raises(ValidationError, match="causes"):
        training_needs(households.drop(columns="causes"))
    with pytest.raises(ConfigError, match="not cause codes"):
        training_needs(households, skills=["LAB.JUGGLING"])


def test_synthetic_county_matches_its_calibration():
    synth = pytest.importorskip("zfb.synth")
    n = 20000
    hh = synth.generate_county(n, seed=4).households
    cal = synth.load_calibration()
    t = illness_breakdown(hh, by=None)
    # households listing any illness: the calibrated share of 因病
    p = float(cal.options.loc["因病", "share"])
    ill = int(t["ill_households"].iloc[0])
    assert abs(ill / n - p) < 4 * np.sqrt(p * (1 - p) / n)
    # each ill household draws one illness with the calibration's weights
    weights = cal.secondaries[cal.secondaries["option"] == "因病"]
    weights = weights.set_index("code")["weight"]
    expected = weights / weights.sum()
    got = t.set_index("cause")["share_of_ill"].reindex(expected.index, fill_value=0)
    sd = np.sqrt(expected * (1 - expected) / ill)
    assert ((got - expected).abs() < 4 * sd + 1e-9).all()
    # every township has ill households, and their counts add up
    by = illness_breakdown(hh)
    assert by["township"].nunique() == 30
    per = by.drop_duplicates("township")["ill_households"].sum()
    assert per == ill
    skills = training_needs(hh)
    assert set(skills["cause"]) <= set(SKILL_CAUSES)


def test_plot_breakdown(households):
    t = illness_breakdown(households)
    fig, ax = plt.subplots()
    assert plot_breakdown(t, ax=ax, value="households") is ax
    grid = ax.images[0].get_array()
    # rows A, B; columns by households: ILL.UREMIA (2), then ILL.HEART, ILL
    assert np.asarray(grid).tolist() == [[2, 1, 0], [0, 0, 1]]
    plt.close(fig)
