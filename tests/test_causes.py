"""Tests of zfb._causes: ``;``-joined codes to a long table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zfb._causes import split_codes

from .conftest import ROOT


def _reference(cells: list) -> list[tuple[int, int, str]]:
    """(row, pos, code) of every cell, one cell at a time, in plain Python."""
    out = []
    for row, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            continue
        codes = [c.strip() for c in str(cell).split(";")]
        for pos, code in enumerate(dict.fromkeys(c for c in codes if c)):
            out.append((row, pos, code))
    return out


def _triples(long: pd.DataFrame) -> list[tuple[int, int, str]]:
    return list(zip(long["row"], long["pos"], long["code"], strict=True))


def test_hand_worked_cells():
    cells = pd.Series(
        [
            "ILL.UREMIA;LAB.FARM_SKILL",  # main cause first
            " EDU ; ILL ",  # white space around codes
            "",  # no code
            "ILL;;EDU;",  # empty codes
            "ILL;EDU;ILL",  # a code listed twice keeps its first place
            None,  # missing
        ],
        index=[10, 11, 12, 13, 14, 15],  # rows are positions, not labels
    )
    long = split_codes(cells)
    assert _triples(long) == [
        (0, 0, "ILL.UREMIA"),
        (0, 1, "LAB.FARM_SKILL"),
        (1, 0, "EDU"),
        (1, 1, "ILL"),
        (3, 0, "ILL"),
        (3, 1, "EDU"),
        (4, 0, "ILL"),
        (4, 1, "EDU"),
    ]
    assert list(long.columns) == ["row", "pos", "code"]
    assert long.index.equals(pd.RangeIndex(len(long)))


def test_column_types():
    long = split_codes(pd.Series(["ILL;EDU", "LAB"]))
    assert long["row"].dtype == np.int64
    assert long["pos"].dtype == np.int64
    assert long["code"].dtype == "str"


@pytest.mark.parametrize(
    "cells",
    [
        pd.Series([], dtype="str"),  # no household
        pd.Series([None, np.nan], dtype=object),  # only missing cells
        pd.Series(["", " ; ;"]),  # only empty codes
    ],
)
def test_no_code_gives_an_empty_table_of_the_same_columns(cells):
    long = split_codes(cells)
    assert long.empty
    assert list(long.columns) == ["row", "pos", "code"]
    assert long["row"].dtype == np.int64 and long["pos"].dtype == np.int64


def test_missing_cells_of_every_kind_hold_no_code():
    # NaN in an object column, NA of the nullable string dtype
    assert _triples(split_codes(pd.Series([np.nan, "ILL"], dtype=object))) == [
        (1, 0, "ILL")
    ]
    assert _triples(split_codes(pd.Series([pd.NA, "ILL"], dtype="string"))) == [
        (1, 0, "ILL")
    ]


def test_values_that_are_not_text_are_read_as_text():
    assert _triples(split_codes(pd.Series([7, "A;7"], dtype=object))) == [
        (0, 0, "7"),
        (1, 0, "A"),
        (1, 1, "7"),
    ]


def test_white_space_inside_a_code_is_kept():
    # township names may hold spaces; cause codes never do
    long = split_codes(pd.Series(["San José; Puerto Viejo"]))
    assert long["code"].tolist() == ["San José", "Puerto Viejo"]


code = st.sampled_from(["ILL", "ILL.UREMIA", "EDU", "LAB.FARM_SKILL", "*", "甲镇"])
piece = st.builds(
    lambda pad, c, pad2: pad + c + pad2,
    st.sampled_from(["", " ", "\t", "\u3000"]),
    st.one_of(code, st.just("")),
    st.sampled_from(["", " ", "\n"]),
)
cell = st.one_of(
    st.none(),
    st.lists(piece, min_size=0, max_size=6).map(";".join),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(cell, max_size=40))
def test_agrees_with_splitting_one_cell_at_a_time(cells):
    long = split_codes(pd.Series(cells, dtype=object))
    assert _triples(long) == _reference(cells)


def test_sample_county_round_trip():
    # canonical causes: each household's codes joined again give its cell
    households = pd.read_csv(ROOT / "data" / "sample" / "households.csv")
    long = split_codes(households["causes"])
    joined = long.groupby("row")["code"].agg(";".join)
    assert joined.index.tolist() == list(range(len(households)))
    assert joined.tolist() == households["causes"].tolist()
    assert (long.groupby("row")["pos"].min() == 0).all()
