"""The county cube gives, for every filter, what zfb.analysis gives on the
filtered rows."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zfb import analysis, illness
from zfb.dashboards.cube import CountyCube
from zfb.errors import ZfbWarning
from zfb.synth import generate_county
from zfb.taxonomy import load_taxonomy

TAX = load_taxonomy()


def listed_primaries(causes: pd.Series) -> pd.Series:
    """The set of primary categories of each household, by splitting codes."""
    return causes.str.split(";").map(lambda cs: {c.strip().split(".")[0] for c in cs})


def filtered(households: pd.DataFrame, township, cause) -> pd.DataFrame:
    keep = pd.Series(True, index=households.index)
    if township is not None:
        keep &= households["township"] == township
    if cause is not None:
        keep &= listed_primaries(households["causes"]).map(lambda s: cause in s)
    return households[keep]


def same_numbers(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


@st.composite
def counties(draw):
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**31 - 1))
    county = generate_county(n, draw(st.integers(1, 6)), seed=seed)
    hh = county.households
    rng = np.random.default_rng(seed)
    with_matches = draw(st.booleans())
    matches = None
    if with_matches:
        k = draw(st.integers(0, n))
        ids = rng.choice(hh["household_id"].to_numpy(), size=k, replace=True)
        matches = pd.DataFrame(
            {
                "household_id": ids,
                "project_id": [f"P{i % 3}" for i in range(k)],
                "amount": rng.integers(0, 5000, size=k).astype(float),
            }
        )
        if draw(st.booleans()):  # a row naming nobody of the county
            nobody = {"household_id": ["NOBODY"], "project_id": ["P0"], "amount": [1.0]}
            matches = pd.concat([matches, pd.DataFrame(nobody)], ignore_index=True)
    towns = hh["township"].unique().tolist()
    township = draw(st.sampled_from([None, "no such township", *towns]))
    cause = draw(st.sampled_from([None, *TAX.primaries]))
    return hh, matches, township, cause


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(counties())
def test_cube_agrees_with_analysis_on_the_filtered_rows(case):
    hh, matches, township, cause = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZfbWarning)
        cube = CountyCube.build(hh, matches, taxonomy=TAX)
        sub = filtered(hh, township, cause)
        want = analysis.summary(sub, matches=matches)
    same_numbers(cube.summary(township, cause), want)
    assert cube.households(township, cause) == len(sub)
    assert cube.mask(township, cause).sum() == len(sub)

    for level in ("primary", "secondary", "registry"):
        got = cube.cause_shares(township, cause, level=level)
        expect = analysis.cause_shares(sub, level=level, taxonomy=TAX)
        pd.testing.assert_frame_equal(got, expect, check_dtype=False)

    got = cube.illness(township, cause)
    expect = illness.illness_breakdown(sub, by=None, taxonomy=TAX)
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)
    got = cube.training(township, cause)
    expect = illness.training_needs(sub, by=None, taxonomy=TAX)
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)

    got = cube.matches_by_township(township, cause)
    if len(sub) == 0:
        assert got.empty
        assert list(got.columns)[:2] == ["township", "households"]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZfbWarning)
            none = pd.DataFrame(
                {
                    "household_id": pd.Series([], dtype=object),
                    "project_id": pd.Series([], dtype=object),
                    "amount": pd.Series([], dtype=float),
                }
            )
            expect = analysis.matches_by_township(
                sub, matches if matches is not None else none
            )
        pd.testing.assert_frame_equal(got, expect, check_dtype=False)


def test_cube_notes_matches_that_name_unknown_households():
    hh = generate_county(30, 2, seed=3).households
    matches = pd.DataFrame(
        {"household_id": ["NOBODY"], "project_id": ["P1"], "amount": [10.0]}
    )
    cube = CountyCube.build(hh, matches, taxonomy=TAX)
    assert any("not in the households table" in n for n in cube.notes)
    assert cube.summary()["matches"] == 0


def test_cube_rejects_a_cause_that_is_not_primary():
    cube = CountyCube.build(generate_county(20, 1, seed=1).households, taxonomy=TAX)
    with pytest.raises(ValueError, match="primary category"):
        cube.summary(cause="ILL.CANCER")


def test_cube_without_matches_has_no_match_figures():
    cube = CountyCube.build(generate_county(20, 1, seed=2).households, taxonomy=TAX)
    assert "matched_households" not in cube.summary()
    assert (cube.matches_by_township()["matched"] == 0).all()


def test_cube_levels_not_prepared_are_refused():
    hh = generate_county(20, 1, seed=4).households
    cube = CountyCube.build(hh, taxonomy=TAX, levels=("primary",))
    with pytest.raises(ValueError, match="not prepared"):
        cube.cause_shares(level="secondary")
