"""Tests of zfb.representativeness on hand-worked numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from zfb.errors import ConfigError, ValidationError
from zfb.representativeness import (
    plot_coverage,
    read_registry,
    representativeness,
    sample_counts,
)

# registry 100, 200, 300 (shares 1/6, 1/3, 1/2); sample 30, 50, 70 of 150
REGISTRY = {"A": 100, "B": 200, "C": 300}
SAMPLE = {"A": 30, "B": 50, "C": 70}


def test_hand_worked_example():
    r = representativeness(REGISTRY, SAMPLE)
    t = r.table
    assert t.index.tolist() == ["A", "B", "C"]
    assert t.index.name == "township"
    assert t["coverage"].tolist() == pytest.approx([0.3, 0.25, 70 / 300])
    # expected = 150 x (1/6, 1/3, 1/2) = 25, 50, 75
    assert t["expected"].tolist() == pytest.approx([25, 50, 75])
    # residuals (o - e) / sqrt(e): 5/5, 0, -5/sqrt(75)
    assert t["residual"].tolist() == pytest.approx([1, 0, -5 / math.sqrt(75)])
    # chi2 = 25/25 + 0 + 25/75 = 4/3 on 2 dof; p = exp(-chi2 / 2) for 2 dof
    assert r.chi2 == pytest.approx(4 / 3)
    assert r.dof == 2
    assert r.p_value == pytest.approx(math.exp(-2 / 3))
    # w = sqrt(4/3 / 150); V = sqrt(4/3 / (150 x 2)) = 1/15
    assert r.cohens_w == pytest.approx(math.sqrt(4 / 3 / 150))
    assert r.cramers_v == pytest.approx(1 / 15)
    # TVD = (|1/5 - 1/6| + 0 + |7/15 - 1/2|) / 2 = 1/30
    assert r.total_variation == pytest.approx(1 / 30)
    assert (r.registered, r.sampled) == (600, 150)
    assert r.coverage == pytest.approx(0.25)
    assert "within what chance would give" in r.verdict


def test_agrees_with_scipy_chisquare():
    reg = pd.Series([1200, 800, 450, 3000, 95], index=list("abcde"))
    smp = pd.Series([700, 520, 300, 1700, 40], index=list("abcde"))
    r = representativeness(reg, smp)
    ref = stats.chisquare(smp, reg / reg.sum() * smp.sum())
    assert r.chi2 == pytest.approx(ref.statistic)
    assert r.p_value == pytest.approx(ref.pvalue)


def test_large_sample_small_difference_is_significant_but_negligible():
    # 30 townships of 2,000 registered each; the sample covers 60 % of each
    # but 63 % of the first ten and 57 % of the last ten
    names = [f"t{i:02d}" for i in range(30)]
    reg = pd.Series(2000, index=names)
    smp = pd.Series([1260] * 10 + [1200] * 10 + [1140] * 10, index=names)
    r = representativeness(reg, smp)
    assert r.p_value < 0.001
    assert r.cohens_w < 0.1
    # 10 townships 60 too many and 10 townships 60 too few, of 36,000
    assert r.total_variation == pytest.approx(600 / 36000)
    assert "negligible" in r.verdict
    assert any("judge by the effect size" in c for c in r.caveats)


def test_unrepresentative_sample_names_the_townships():
    reg = pd.Series({"A": 1000, "B": 1000, "C": 1000})
    smp = pd.Series({"A": 900, "B": 500, "C": 100})
    r = representativeness(reg, smp)
    assert "is not spread" in r.verdict
    assert "Least covered: C (10%)" in r.verdict
    assert "Most covered: A (90%)" in r.verdict


def test_households_table_and_unsampled_township():
    households = pd.DataFrame({"township": ["A", "A", "B", None]})
    counts = sample_counts(households)
    assert counts.to_dict() == {"A": 2, "B": 1}
    r = representativeness({"A": 10, "B": 10, "C": 10}, households)
    assert r.table["sampled"].tolist() == [2, 1, 0]
    assert any("No household was sampled in C" in c for c in r.caveats)
    assert any("approximate" in c for c in r.caveats)  # expected 1 each


def test_sampled_more_than_registered_is_a_caveat():
    r = representativeness({"A": 10, "B": 100}, {"A": 12, "B": 50})
    assert any(
        "More households were sampled than are registered in A" in c for c in r.caveats
    )


@pytest.mark.parametrize(
    ("registry", "sample", "error", "match"),
    [
        ({"A": 10}, {"A": 5, "Z": 1}, ValidationError, "not in the registry"),
        ({"A": 10, "B": 0}, {"A": 5}, ValidationError, "1 or more"),
        ({"A": 10}, {"A": -1}, ValidationError, "whole count"),
        ({"A": 10}, {"A": 1.5}, ValidationError, "whole count"),
        ({"A": 10}, {"A": 0}, ValidationError, "no household"),
        ([10, 20], {"A": 1}, ConfigError, "Series or dict"),
    ],
)
def test_bad_inputs(registry, sample, error, match):
    with pytest.raises(error, match=match):
        representativeness(registry, sample)


def test_alpha_must_be_a_probability():
    with pytest.raises(ConfigError, match="alpha"):
        representativeness(REGISTRY, SAMPLE, alpha=5)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5000), st.floats(0, 1)), min_size=2, max_size=30)
)
def test_properties(rows):
    reg = pd.Series([r for r, _ in rows], index=[f"t{i}" for i in range(len(rows))])
    smp = pd.Series([int(r * f) for r, f in rows], index=reg.index)
    if smp.sum() == 0:
        return
    r = representativeness(reg, smp)
    assert 0 <= r.total_variation <= 1
    assert 0 <= r.p_value <= 1
    assert r.cohens_w == pytest.approx(math.sqrt(r.chi2 / r.sampled))
    assert r.table["sample_share"].sum() == pytest.approx(1)
    # a sample proportional to the registry fits perfectly
    same = representativeness(reg, reg * 3)
    assert same.chi2 == pytest.approx(0, abs=1e-9)
    assert same.total_variation == pytest.approx(0, abs=1e-12)


def test_model_case_county():
    # 45,972 of 73,804 registered households in 30 townships; a sample drawn
    # at random in proportion to the registry fits it
    synth = pytest.importorskip("zfb.synth")
    names = synth.load_townships()["name"].tolist()
    rng = np.random.default_rng(0)
    reg = pd.Series(rng.integers(1000, 4500, size=30), index=names)
    reg = (reg / reg.sum() * 73804).round().astype(int)
    smp = pd.Series(rng.multinomial(45972, reg / reg.sum()), index=names)
    r = representativeness(reg, smp)
    assert r.sampled == 45972
    assert r.cohens_w < 0.05
    assert r.total_variation < 0.02


def test_plot_coverage():
    r = representativeness(REGISTRY, SAMPLE)
    fig, ax = plt.subplots()
    assert plot_coverage(r, ax=ax) is ax
    assert [p.get_width() for p in ax.containers[0]] == pytest.approx(
        r.table["coverage"].tolist()
    )
    plt.close(fig)


def test_read_registry_refuses_bad_files(tmp_path):
    (tmp_path / "r.csv").write_text("township,households\nA,1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="whole number"):
        read_registry(tmp_path / "r.csv")
    (tmp_path / "s.csv").write_text("name,n\nA,1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="township column"):
        read_registry(tmp_path / "s.csv")
    (tmp_path / "z.csv").write_text("乡镇,户数\n泼机镇,12\n", encoding="utf-8")
    assert read_registry(tmp_path / "z.csv").to_dict() == {"泼机镇": 12}


def test_read_registry_gives_what_representativeness_takes(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text("township,registered\nC,300\nA,100\nB,200\n", encoding="utf-8")
    registry = read_registry(path)
    assert registry.index.tolist() == ["C", "A", "B"]  # file order
    assert registry.index.name == "township" and registry.name == "registered"
    assert registry.dtype == np.int64
    r = representativeness(registry, SAMPLE)
    assert r.table.index.tolist() == ["C", "A", "B"]
    assert r.chi2 == pytest.approx(4 / 3)
