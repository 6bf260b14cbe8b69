"""Tests of zfb.mpi: the Alkire-Foster measures and the household indicators."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zfb.errors import ConfigError, ValidationError
from zfb.mpi import (
    INDICATORS,
    deprivations_from_households,
    mpi,
    plot_mpi_by_group,
    plot_mpi_contributions,
)


# the worked example of Alkire and Foster (2011), section 2
@pytest.fixture
def af_example() -> pd.DataFrame:
    """Deprivation matrix of the paper's four persons and four dimensions.

    Achievements y (income, years of schooling, self-reported health, health
    insurance) and cut-offs z = (13, 12, 3, 1); a person is deprived where
    y < z.
    """
    y = pd.DataFrame(
        [[13.1, 14, 4, 1], [15.2, 7, 5, 0], [12.5, 10, 1, 0], [20, 11, 3, 1]],
        columns=["income", "schooling", "health", "insurance"],
    )
    z = pd.Series([13, 12, 3, 1], index=y.columns)
    return y.lt(z).astype(int)


def test_af_example_deprivations(af_example):
    # by hand: person 1 none, 2 schooling and insurance, 3 all four, 4 schooling
    assert af_example.sum(axis=1).tolist() == [0, 2, 4, 1]


def test_af_example_dual_cutoff_k2(af_example):
    r = mpi(af_example, k=2 / 4)
    # poor: persons 2 (2 of 4) and 3 (4 of 4); person 4 (1 of 4) is censored
    assert r.poor.tolist() == [False, True, True, False]
    assert r.H == pytest.approx(2 / 4)
    assert r.A == pytest.approx((2 / 4 + 4 / 4) / 2)  # 3/4
    assert r.M0 == pytest.approx(6 / 16)
    assert r.scores.tolist() == pytest.approx([0, 0.5, 1.0, 0.25])
    ind = r.indicators
    assert ind["weight"].tolist() == pytest.approx([0.25] * 4)
    # uncensored: income {3}, schooling {2,3,4}, health {3}, insurance {2,3}
    assert ind["uncensored_headcount"].tolist() == pytest.approx(
        [1 / 4, 3 / 4, 1 / 4, 2 / 4]
    )
    # censored: person 4's schooling deprivation no longer counts
    assert ind["censored_headcount"].tolist() == pytest.approx(
        [1 / 4, 2 / 4, 1 / 4, 2 / 4]
    )
    # contribution = w_j h_j / M0: 0.25 * (1/4, 1/2, 1/4, 1/2) / (3/8)
    assert ind["contribution"].tolist() == pytest.approx(
        [100 / 6, 100 / 3, 100 / 6, 100 / 3]
    )


@pytest.mark.parametrize(
    ("k", "H", "A", "M0"),
    [
        (1 / 4, 3 / 4, 7 / 12, 7 / 16),  # union: persons 2, 3, 4 (2 + 4 + 1 of 12)
        (2 / 4, 1 / 2, 3 / 4, 6 / 16),  # the paper's k = 2
        (3 / 4, 1 / 4, 1.0, 1 / 4),  # only person 3
        (1.0, 1 / 4, 1.0, 1 / 4),  # intersection: only person 3
    ],
)
def test_af_example_every_cutoff(af_example, k, H, A, M0):
    r = mpi(af_example, k=k)
    assert (r.H, r.A, r.M0) == pytest.approx((H, A, M0))


def test_af_example_decomposition_by_group(af_example):
    # groups {1, 2} and {3, 4}: a has person 2 poor with score 1/2, b person 3
    # with score 1
    r = mpi(af_example.assign(town=["a", "a", "b", "b"]), k=0.5, by="town")
    g = r.groups
    assert g.index.tolist() == ["a", "b"]
    assert g.index.name == "town"
    assert g["n"].tolist() == [2, 2]
    assert g["population_share"].tolist() == pytest.approx([0.5, 0.5])
    assert g["H"].tolist() == pytest.approx([0.5, 0.5])
    assert g["A"].tolist() == pytest.approx([0.5, 1.0])
    assert g["M0"].tolist() == pytest.approx([0.25, 0.5])
    # 0.5 * 0.25 / 0.375 and 0.5 * 0.5 / 0.375
    assert g["contribution"].tolist() == pytest.approx([100 / 3, 200 / 3])
    # censored headcounts within a: only person 2's schooling and insurance
    assert r.group_headcounts.loc["a"].tolist() == pytest.approx([0, 0.5, 0, 0.5])
    assert r.group_headcounts.loc["b"].tolist() == pytest.approx([0.5] * 4)
    # the group column is not an indicator
    assert list(r.indicators.index) == ["income", "schooling", "health", "insurance"]


def test_weights_by_name_are_normalised():
    # weights 2:1:1 are 1/2, 1/4, 1/4; k = 1/2
    g = pd.DataFrame({"a": [1, 0, 0, 0], "b": [0, 1, 1, 0], "c": [0, 1, 0, 0]})
    r = mpi(g, weights={"a": 2, "b": 1, "c": 1}, k=0.5)
    # scores 1/2, 1/2, 1/4, 0: the first two are poor
    assert r.scores.tolist() == pytest.approx([0.5, 0.5, 0.25, 0.0])
    assert (r.H, r.A, r.M0) == pytest.approx((0.5, 0.5, 0.25))
    assert r.indicators["weight"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    same = mpi(g, weights=[0.5, 0.25, 0.25], k=0.5)
    assert same.M0 == r.M0


def test_thirds_reach_the_cutoff():
    # three indicators of weight 1/3 each: a household deprived in one is at
    # k = 1/3 exactly, whatever the rounding of 1/3
    g = pd.DataFrame({"a": [1, 0], "b": [0, 0], "c": [0, 0]})
    r = mpi(g, k=1 / 3)
    assert r.poor.tolist() == [True, False]


def test_sample_weight_equals_repeated_rows(af_example):
    weights = [1, 3, 2, 4]
    weighted = mpi(af_example, k=0.5, sample_weight=weights)
    repeated = mpi(af_example.loc[np.repeat(af_example.index, weights)], k=0.5)
    assert (weighted.H, weighted.A, weighted.M0) == pytest.approx(
        (repeated.H, repeated.A, repeated.M0)
    )
    # by hand: poor weight 3 + 2 of 10; M0 = (3 * 0.5 + 2 * 1) / 10
    assert weighted.H == pytest.approx(0.5)
    assert weighted.M0 == pytest.approx(0.35)


def test_group_by_series_and_missing_group(af_example):
    town = pd.Series(["a", None, "b", "b"], name="township")
    r = mpi(af_example, k=0.5, by=town)
    assert r.groups.index.name == "township"
    assert r.groups["n"].sum() == 4
    assert len(r.groups) == 3


def test_nobody_poor():
    r = mpi(pd.DataFrame({"a": [0, 0], "b": [0, 1]}), k=1.0)
    assert (r.H, r.A, r.M0) == (0.0, 0.0, 0.0)
    assert r.indicators["contribution"].isna().all()


def test_missing_values_raise_or_drop(af_example):
    g = af_example.astype("Int64")
    g.loc[0, "income"] = pd.NA
    with pytest.raises(ValidationError, match="missing='drop'"):
        mpi(g, k=0.5)
    r = mpi(g, k=0.5, missing="drop")
    assert r.n == 3
    # persons 2, 3 poor out of 3
    assert r.H == pytest.approx(2 / 3)
    assert r.scores.index.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 0}, ConfigError, "in \\(0, 1\\]"),  # no cut-off at all
        ({"k": 2}, ConfigError, "c / d"),  # a count instead of a share
        ({"weights": {"income": 1}}, ConfigError, "no weight"),
        ({"weights": {"income": 0, "schooling": 1, "health": 1, "insurance": 1}},
         ConfigError, "positive"),
        ({"weights": [1, 1]}, ConfigError, "one value per indicator"),
        ({"by": "nowhere"}, ValidationError, "group column"),
        ({"by": ["a"]}, ConfigError, "values for 4 rows"),
        ({"missing": "ignore"}, ConfigError, "missing must be"),
    ],
)  # fmt: skip
def test_bad_arguments(af_example, kwargs, error, match):
    with pytest.raises(error, match=match):
        mpi(af_example, **kwargs)


def test_values_other_than_zero_one_are_rejected(af_example):
    g = af_example.copy()
    g.loc[1, "health"] = 2
    with pytest.raises(ValidationError, match="0/1"):
        mpi(g)


# properties
@st.composite
def instances(draw):
    n = draw(st.integers(1, 30))
    d = draw(st.integers(1, 6))
    g = draw(hnp.arrays(np.int8, (n, d), elements=st.integers(0, 1)))
    w = draw(hnp.arrays(float, (d,), elements=st.floats(0.05, 5, allow_nan=False)))
    groups = draw(hnp.arrays(np.int8, (n,), elements=st.integers(0, 3)))
    k = draw(st.floats(0.01, 1.0))
    frame = pd.DataFrame(g, columns=[f"i{j}" for j in range(d)])
    return frame, w, k, groups


@settings(max_examples=150, deadline=None)
@given(instances())
def test_m0_is_h_times_a_and_sum_of_censored_headcounts(inst):
    g, w, k, _ = inst
    r = mpi(g, weights=w, k=k)
    assert r.M0 == pytest.approx(r.H * r.A)
    ind = r.indicators
    assert r.M0 == pytest.approx((ind["weight"] * ind["censored_headcount"]).sum())
    assert (ind["censored_headcount"] <= ind["uncensored_headcount"] + 1e-12).all()
    if r.M0 > 0:
        assert ind["contribution"].sum() == pytest.approx(100)
        assert k - 1e-9 <= r.A <= 1 + 1e-12


@settings(max_examples=150, deadline=None)
@given(instances(), st.floats(0.01, 1.0))
def test_monotone_in_k(inst, other):
    g, w, k, _ = inst
    lo, hi = sorted((k, other))
    a, b = mpi(g, weights=w, k=lo), mpi(g, weights=w, k=hi)
    assert b.H <= a.H + 1e-12
    assert b.M0 <= a.M0 + 1e-12
    assert not (b.poor & ~a.poor).any()  # poor at a higher k is poor at a lower


@settings(max_examples=150, deadline=None)
@given(instances())
def test_decomposable_by_group(inst):
    g, w, k, groups = inst
    r = mpi(g, weights=w, k=k, by=groups)
    t = r.groups
    assert t["population_share"].sum() == pytest.approx(1)
    assert (t["population_share"] * t["M0"]).sum() == pytest.approx(r.M0)
    assert (t["population_share"] * t["H"]).sum() == pytest.approx(r.H)
    heads = r.group_headcounts.mul(t["population_share"], axis=0).sum()
    assert heads.to_numpy() == pytest.approx(
        r.indicators["censored_headcount"].to_numpy()
    )
    # each group's numbers are those of the group measured on its own
    for value, row in t.iterrows():
        alone = mpi(g[groups == value], weights=w, k=k)
        assert (row["H"], row["M0"]) == pytest.approx((alone.H, alone.M0))


@settings(max_examples=100, deadline=None)
@given(instances(), st.data())
def test_dimensional_monotonicity(inst, data):
    # one more deprivation of a poor household raises M0 (Alkire and Foster's
    # dimensional monotonicity)
    g, w, k, _ = inst
    r = mpi(g, weights=w, k=k)
    cells = np.argwhere((g.to_numpy() == 0) & r.poor.to_numpy()[:, None])
    if not len(cells):
        return
    i, j = cells[data.draw(st.integers(0, len(cells) - 1))]
    more = g.copy()
    more.iloc[i, j] = 1
    assert mpi(more, weights=w, k=k).M0 > r.M0


# indicators from households
@pytest.fixture
def households() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["h1", "h2", "h3", "h4"],
            "township": ["A", "A", "B", "B"],
            "size": [4, 2, 1, 5],
            "income_per_capita": [2500.0, 3500.0, np.nan, 3000.0],
            "causes": [
                "ILL.CANCER;LAB.ILLITERATE",
                "RES.UNSAFE_WATER;EDU.DROPOUT_RISK",
                "LAB.NO_ADULT",
                "CAP.DEBT_HOUSING;RES.NO_LAND",
            ],
            "members_ill": pd.array([1, 0, pd.NA, 0], dtype="Int64"),
            "members_disabled": pd.array([0, 1, 0, 0], dtype="Int64"),
            "unsafe_housing": [False, True, False, False],
            "arable_land_mu": [4.0, 1.0, 0.0, 10.0],
            "labour_count": pd.array([2, 1, 0, 2], dtype="Int64"),
            "debt_amount": [5000.0, 8000.0, 0.0, 0.0],
        }
    )


def test_deprivations_by_hand(households):
    d = deprivations_from_households(households)
    assert list(d.columns) == list(INDICATORS)
    assert (d.dtypes == "boolean").all()
    expected = {
        # 2500 < 3000; 3500 no; unknown; 3000 is not below 3000
        "income": [True, False, pd.NA, False],
        "schooling": [True, False, False, False],
        "school_attendance": [False, True, False, False],
        # h1 ill; h3 members_ill unknown and no ILL cause
        "health": [True, False, False, False],
        "disability": [False, True, False, False],
        "housing": [False, True, False, False],
        "water": [False, True, False, False],
        # land per person 1.0, 0.5 (< 0.8), 0 (< 0.8), 2.0 but RES.NO_LAND
        "land": [False, True, True, True],
        "labour": [False, False, True, False],
        # debt over a year's income: 5000 < 10000; 8000 > 7000; 0; CAP.DEBT_
        "debt": [False, True, False, True],
    }
    for name, values in expected.items():
        got = [None if v is pd.NA else bool(v) for v in d[name]]
        want = [None if v is pd.NA else v for v in values]
        assert got == want, name


def test_deprivations_from_causes_alone(households):
    # without the trait columns each indicator falls back on the causes
    bare = households[["household_id", "size", "income_per_capita", "causes"]]
    d = deprivations_from_households(bare, ["health", "housing", "land", "labour"])
    assert d["health"].tolist() == [True, False, False, False]
    assert d["housing"].tolist() == [False, False, False, False]
    assert d["land"].tolist() == [False, False, False, True]
    assert d["labour"].tolist() == [False, False, True, False]


def test_deprivation_cutoffs_are_parameters(households):
    d = deprivations_from_households(
        households, ["income", "land"], income_line=4000, land_per_person=0.4
    )
    assert d["income"].tolist()[:2] == [True, True]
    # 0.5 mu per person is no longer below the cut-off
    assert d["land"].tolist() == [False, False, True, True]


def test_primary_match_is_exact():
    # "ILLX" is not ILL, and DIS.SEVERE counts as DIS
    hh = pd.DataFrame(
        {
            "size": [1, 1],
            "income_per_capita": [1.0, 1.0],
            "causes": ["ILLX", "DIS.SEVERE"],
        }
    )
    d = deprivations_from_households(hh, ["health", "disability"])
    assert d["health"].tolist() == [False, False]
    assert d["disability"].tolist() == [False, True]


def test_deprivation_errors(households):
    with pytest.raises(ConfigError, match="unknown indicator"):
        deprivations_from_households(households, ["wealth"])
    with pytest.raises(ValidationError, match="causes"):
        deprivations_from_households(households.drop(columns="causes"))
    with pytest.raises(ConfigError, match="income_line"):
        deprivations_from_households(households, income_line=-1)


def test_deprivations_feed_mpi(households):
    d = deprivations_from_households(households)
    r = mpi(d.assign(township=households["township"]), k=0.3, by="township",
            missing="drop")  # fmt: skip
    # h3's income is unknown: three households remain
    assert r.n == 3
    # h1: income, schooling, health = 3 of 10; h2: school attendance,
    # disability, housing, water, land, debt = 6; h4: land, debt = 2
    assert r.scores.tolist() == pytest.approx([0.3, 0.6, 0.2])
    assert r.H == pytest.approx(2 / 3)


def test_synthetic_county_health_share_matches_calibration():
    synth = pytest.importorskip("zfb.synth")
    n = 20000
    hh = synth.generate_county(n, seed=11).households
    d = deprivations_from_households(
        hh[["size", "income_per_capita", "causes"]], ["health"]
    )
    target = float(synth.load_calibration().options.loc["因病", "share"])
    share = float(d["health"].mean())
    assert abs(share - target) < 4 * np.sqrt(target * (1 - target) / n)


# charts
def test_plot_contributions(af_example):
    r = mpi(af_example, k=0.5)
    fig, ax = plt.subplots()
    out = plot_mpi_contributions(r, ax=ax, lang="en")
    assert out is ax
    widths = sorted(p.get_width() for p in ax.containers[0])
    assert widths == pytest.approx(sorted(r.indicators["contribution"]))
    plt.close(fig)


def test_plot_by_group(af_example):
    r = mpi(af_example.assign(town=["a", "a", "b", "b"]), k=0.5, by="town")
    fig, ax = plt.subplots()
    out = plot_mpi_by_group(r, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert [p.get_width() for p in out.containers[0]] == pytest.approx([0.5, 0.25])
    plt.close(fig)
    with pytest.raises(ConfigError, match="by="):
        plot_mpi_by_group(mpi(af_example, k=0.5))
