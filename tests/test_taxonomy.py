"""Tests of the cause taxonomy."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from zfb import UnknownCauseError, ValidationError, load_taxonomy
from zfb.taxonomy import REGISTRY_OPTIONS


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def test_shape_of_the_shipped_taxonomy(tax):
    assert len(tax.primaries) == 8
    assert len(tax.secondaries) >= 100
    for code in tax.secondaries:
        assert tax.primary(code) == code.split(".")[0]
        assert tax.primary(code) in tax.primaries
    names = tax.causes[["name_zh", "name_en"]]
    assert (names != "").all().all()
    assert tax.causes.index.is_unique


def test_every_registry_option_maps_to_a_primary(tax):
    mapping = tax.registry_map()
    assert set(mapping) == set(REGISTRY_OPTIONS)
    for option in REGISTRY_OPTIONS:
        assert tax.resolve(option) == mapping[option]
        assert tax.causes.at[mapping[option], "level"] == 1


def test_registry_options_match_the_published_list(real_data):
    path = real_data / "poverty_causes" / "official_cause_categories.csv"
    published = pd.read_csv(path)["cause_zh"].tolist()
    assert sorted(published) == sorted(REGISTRY_OPTIONS)


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("ILL.UREMIA", "ILL.UREMIA"),  # code
        ("ill.uremia", "ILL.UREMIA"),  # code, other case
        ("尿毒症", "ILL.UREMIA"),  # Chinese name
        ("kidney failure", "ILL.UREMIA"),  # English name
        ("透析", "ILL.UREMIA"),  # alias
        ("  Kidney   Failure ", "ILL.UREMIA"),  # white space
        ("ＣＡＮＣＥＲ", "ILL.CANCER"),  # full-width
        ("因学", "EDU"),  # registry option
        ("危房", "RES.UNSAFE_HOUSE"),
        ("大学生", "EDU.COLLEGE"),
    ],
)
def test_resolve_by_any_label(tax, label, code):
    assert tax.resolve(label) == code


def test_unknown_cause_suggests_the_nearest(tax):
    with pytest.raises(UnknownCauseError) as info:
        tax.resolve("糖尿")
    assert any("ILL.DIABETES" in s for s in info.value.suggestions)
    assert "did you mean" in str(info.value)
    with pytest.raises(UnknownCauseError) as info:
        tax.resolve("kidney falure")
    assert any("ILL.UREMIA" in s for s in info.value.suggestions)


def test_no_label_names_two_causes(tax):
    seen = {}
    for code, row in tax.causes.iterrows():
        labels = [code, row["name_zh"], row["name_en"], *row["aliases"]]
        for label in labels:
            key = label.casefold()
            assert seen.setdefault(key, code) == code, label


def test_need_kinds_of_causes_exist(tax):
    for kinds in tax.causes["need_kinds"]:
        assert kinds
        for k in kinds:
            assert k in tax.need_kinds.index
    assert tax.resolve_need_kind("医疗") == "medical_costs"


def test_to_frame_lists_primaries_then_their_secondaries(tax):
    df = tax.to_frame()
    assert list(df.columns) == ["code", "level", "parent", "name_zh", "name_en"]
    current = None
    for row in df.itertuples():
        if row.level == 1:
            current = row.code
        else:
            assert row.parent == current


def test_county_extension_without_editing_code(tmp_path):
    extra = tmp_path / "county_causes.csv"
    extra.write_text(
        "code,level,parent,name_zh,name_en,aliases,severity\n"
        "DST.SINKHOLE,2,DST,岩溶塌陷,karst collapse,地陷,2\n",
        encoding="utf-8",
    )
    tax = load_taxonomy(extra)
    assert tax.resolve("岩溶塌陷") == "DST.SINKHOLE"
    assert tax.primary("DST.SINKHOLE") == "DST"
    assert tax.version.endswith("+county_causes")
    assert not load_taxonomy().is_cause("岩溶塌陷")


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("ILL.UREMIA,2,ILL,x,y,,2", "already defined"),  # duplicate code
        ("XXX.A,2,XXX,x,y,,2", "parent must be a primary"),  # unknown parent
        ("ILL.NEW,3,ILL,x,y,,2", "level must be 1"),  # bad level
        ("ILL.NEW,2,ILL,新病,new illness,尿毒症,2", "already names cause"),
        ("ILL.NEW,2,ILL,新病,new illness,,9", "severity"),
    ],
)
def test_bad_county_extension_is_reported(tmp_path, row, rule):
    extra = tmp_path / "bad.csv"
    extra.write_text(
        "code,level,parent,name_zh,name_en,aliases,severity\n" + row + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        load_taxonomy(extra)
    problem = info.value.problems[0]
    assert problem.file == str(extra) and problem.row == 2
    assert rule in problem.rule


def test_causes_csv_parses_as_plain_csv():
    from importlib import resources

    text = (resources.files("zfb") / "data" / "causes.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(load_taxonomy().causes)


def test_need_kind_extension_without_typical_amount(tmp_path):
    # regression: an empty typical_amount failed to parse under pandas 3
    extra = tmp_path / "county_needs.csv"
    extra.write_text(
        "code,name_zh,name_en,aliases,typical_amount\n"
        "solar_power,光伏,solar power,光伏扶贫,\n",
        encoding="utf-8",
    )
    tax = load_taxonomy(extra)
    assert tax.resolve_need_kind("光伏") == "solar_power"
    assert pd.isna(tax.need_kinds.at["solar_power", "typical_amount"])
