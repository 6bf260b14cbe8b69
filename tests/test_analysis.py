"""Tests of the county analyses (zfb.analysis)."""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zfb import ValidationError, ZfbWarning, load_taxonomy
from zfb import analysis as an
from zfb.taxonomy import REGISTRY_OPTIONS

ROOT = Path(__file__).resolve().parents[1]
TAX = load_taxonomy()
CODES = sorted(TAX.causes.index)


@pytest.fixture
def households() -> pd.DataFrame:
    """Six households whose counts below were worked out by hand."""
    return pd.DataFrame(
        {
            "household_id": ["H1", "H2", "H3", "H4", "H5", "H6"],
            "township": ["甲镇", "甲镇", "甲镇", "乙乡", "乙乡", "乙乡"],
            "village": ["v1", "v1", "v2", "v3", None, "v3"],
            "size": [4, 2, 5, 3, 1, 6],
            "income_per_capita": [2600.0, 1800.0, 3100.0, 2200.0, 900.0, 4000.0],
            "causes": [
                "ILL.CANCER;ILL.HEART;LAB.NO_ADULT",
                "EDU.COLLEGE",
                "LAB.FARM_SKILL;RES.NO_ROAD;LAB.AGEING",
                "ILL.STROKE;FAM.WEDDING",
                "RES.WATER_FAR;RES.UNSAFE_WATER;FAM.LOW_DRIVE",
                "LAB",
            ],
            "need_kind": [
                "medical_costs",
                "tuition",
                "skills_training",
                None,
                "drinking_water",
                "job_placement",
            ],
            "need_amount": [8000.0, 5000.0, 1500.0, np.nan, 2000.0, 0.0],
        }
    )


@pytest.fixture
def projects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": ["P1", "P2", "P3"],
            "funder": ["F1", "F2", "F1"],
            "tags": ["ILL;RES", "LAB;RES", "EDU"],
            "budget": [10000.0, 3000.0, 5000.0],
            "capacity": [2, 2, 3],
            "townships": ["*", "*", "*"],
            "per_household_cap": [np.nan, np.nan, np.nan],
            "modes": ["single", "single;crowdfunding", "single"],
            "title": ["医疗救助", "技能培训", "助学"],
        }
    )


@pytest.fixture
def matches() -> pd.DataFrame:
    """H5's need is crowdfunded by two projects: two rows, one household."""
    return pd.DataFrame(
        {
            "household_id": ["H1", "H3", "H5", "H5"],
            "project_id": ["P1", "P2", "P1", "P2"],
            "amount": [6000.0, 1500.0, 1000.0, 500.0],
            "score": [0.9, 0.5, 0.4, 0.4],
            "explanation": ["", "", "", ""],
        }
    )


def as_counts(shares: pd.DataFrame, by: list[str] | None = None) -> dict:
    keys = [*(by or []), "cause"]
    return {
        tuple(r[k] for k in keys): (r["households"], r["total"])
        for r in shares.to_dict("records")
    }


# cause shares on the hand-made table
def test_primary_any_counts_each_household_once_per_category(households):
    out = an.cause_shares(households)
    # H1 lists ILL.CANCER and ILL.HEART: one household under ILL
    assert as_counts(out) == {
        ("ILL",): (2, 6),
        ("LAB",): (3, 6),
        ("EDU",): (1, 6),
        ("RES",): (2, 6),
        ("FAM",): (2, 6),
    }
    assert out["share"].tolist() == pytest.approx(out["households"] / 6)
    assert out["share"].sum() > 1  # several causes per household
    assert out.loc[out["cause"] == "ILL", "name_zh"].item() == "疾病"
    assert out.loc[out["cause"] == "ILL", "name_en"].item() == "illness"


def test_primary_main_counts_the_first_cause_only(households):
    out = an.cause_shares(households, count="main")
    assert as_counts(out) == {
        ("ILL",): (2, 6),
        ("EDU",): (1, 6),
        ("LAB",): (2, 6),
        ("RES",): (1, 6),
    }
    assert out["share"].sum() == pytest.approx(1.0)


def test_rows_are_sorted_by_households_then_taxonomy_order(households):
    out = an.cause_shares(households)
    assert out["cause"].tolist() == ["LAB", "ILL", "RES", "FAM", "EDU"]


def test_secondary_level_keeps_a_primary_only_code(households):
    out = an.cause_shares(households, level="secondary")
    counts = as_counts(out)
    assert counts[("LAB",)] == (1, 6)  # H6 lists only the category
    assert counts[("RES.WATER_FAR",)] == (1, 6)
    assert counts[("ILL.CANCER",)] == (1, 6)
    assert sum(h for h, _ in counts.values()) == 3 + 1 + 3 + 2 + 3 + 1
    assert out.loc[out["cause"] == "LAB", "name_zh"].item() == "劳动力与技能"


def test_registry_level_reads_the_option_from_the_secondary_cause(households):
    out = an.cause_shares(households, level="registry")
    assert as_counts(out) == {
        ("因病",): (2, 6),  # H1, H4
        ("缺劳力",): (2, 6),  # H1 LAB.NO_ADULT, H3 LAB.AGEING
        ("缺技术",): (2, 6),  # H3 LAB.FARM_SKILL, H6 LAB alone
        ("因学",): (1, 6),
        ("交通条件落后",): (1, 6),  # H3 RES.NO_ROAD
        ("因婚",): (1, 6),  # H4 FAM.WEDDING
        ("缺水",): (1, 6),  # H5: two water codes, counted once
        ("自身发展动力不足",): (1, 6),  # H5 FAM.LOW_DRIVE
    }
    assert set(out["name_zh"]) == set(out["cause"])
    assert out.loc[out["cause"] == "缺水", "name_en"].item() == "lack of water"


def test_registry_main(households):
    out = an.cause_shares(households, level="registry", count="main")
    assert as_counts(out) == {
        ("因病",): (2, 6),
        ("因学",): (1, 6),
        ("缺技术",): (2, 6),
        ("缺水",): (1, 6),
    }


def test_by_township(households):
    out = an.cause_shares(households, by="township")
    assert list(out.columns) == [
        "township",
        "cause",
        "name_zh",
        "name_en",
        "households",
        "total",
        "share",
    ]
    assert as_counts(out, ["township"]) == {
        ("甲镇", "ILL"): (1, 3),
        ("甲镇", "LAB"): (2, 3),
        ("甲镇", "EDU"): (1, 3),
        ("甲镇", "RES"): (1, 3),
        ("乙乡", "ILL"): (1, 3),
        ("乙乡", "FAM"): (2, 3),
        ("乙乡", "RES"): (1, 3),
        ("乙乡", "LAB"): (1, 3),
    }


def test_missing_group_values_form_their_own_group(households):
    out = an.cause_shares(households, by="village", count="main")
    totals = out.drop_duplicates("village").set_index("village")["total"]
    assert totals.sum() == len(households)
    assert out["village"].isna().sum() == 1  # H5, the only household without one
    assert out.loc[out["village"].isna(), "cause"].item() == "RES"


def test_by_several_columns(households):
    out = an.cause_shares(households, by=["township", "village"], count="main")
    sums = out.groupby(["township", "village"], dropna=False)["share"].sum()
    assert sums.to_numpy() == pytest.approx(np.ones(len(sums)))


def test_index_of_the_input_does_not_matter(households):
    shifted = households.set_axis(np.arange(100, 106)[::-1])
    pd.testing.assert_frame_equal(
        an.cause_shares(shifted, by="township"),
        an.cause_shares(households, by="township"),
    )


def test_empty_table_gives_an_empty_result(households):
    out = an.cause_shares(households.head(0), by="township")
    assert out.empty
    assert "share" in out.columns


def test_white_space_around_codes_is_ignored(households):
    spaced = households.assign(causes=households["causes"].str.replace(";", " ; "))
    pd.testing.assert_frame_equal(
        an.cause_shares(spaced, level="secondary"),
        an.cause_shares(households, level="secondary"),
    )


# cause shares against an independent count, on random tables
def _option_file() -> dict[str, str]:
    path = resources.files("zfb") / "data" / "registry_options.csv"
    with path.open(encoding="utf-8") as f:
        return {r["code"]: r["registry"] for r in csv.DictReader(f)}


OPTION = _option_file()


def reference_counts(rows, level, count, by):
    """Counts by a plain loop over households, from the data-model rules."""
    counts, totals = Counter(), Counter()
    for row in rows:
        group = row[by] if by else None
        totals[group] += 1
        codes = row["causes"].split(";")
        if count == "main":
            codes = codes[:1]
        if level == "primary":
            keys = {c.split(".")[0] for c in codes}
        elif level == "registry":
            keys = {OPTION[c] for c in codes}
        else:
            keys = set(codes)
        for key in keys:
            counts[group, key] += 1
    return {k: (v, totals[k[0]]) for k, v in counts.items()}


household_rows = st.lists(
    st.fixed_dictionaries(
        {
            "township": st.sampled_from(["甲镇", "乙乡", "丙街道"]),
            "causes": st.lists(
                st.sampled_from(CODES), min_size=1, max_size=4, unique=True
            ).map(";".join),
        }
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=household_rows,
    level=st.sampled_from(["primary", "secondary", "registry"]),
    count=st.sampled_from(["any", "main"]),
    by=st.sampled_from([None, "township"]),
)
def test_cause_shares_equal_an_independent_count(rows, level, count, by):
    table = pd.DataFrame(rows)
    out = an.cause_shares(table, level=level, count=count, by=by)
    got = {
        (r[by] if by else None, r["cause"]): (r["households"], r["total"])
        for r in out.to_dict("records")
    }
    assert got == reference_counts(rows, level, count, by)
    assert np.allclose(out["share"], out["households"] / out["total"])
    assert ((out["share"] > 0) & (out["share"] <= 1)).all()
    sums = out.groupby(by)["share"].sum() if by else pd.Series([out["share"].sum()])
    if count == "main":
        assert np.allclose(sums, 1.0)
    else:
        assert (sums >= 1 - 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(rows=household_rows)
def test_a_coarser_level_never_counts_more_than_a_finer_one(rows):
    table = pd.DataFrame(rows)
    sec = an.cause_shares(table, level="secondary")
    prim = an.cause_shares(table, level="primary")
    by_parent = sec.groupby(sec["cause"].str.split(".").str[0])["households"].sum()
    for r in prim.itertuples():
        assert r.households <= by_parent[r.cause]
        assert r.households <= len(table)


# the registry mapping
def test_registry_options_cover_the_taxonomy_consistently():
    options = an.registry_options()
    assert set(options.index) == set(TAX.causes.index)
    assert set(options) <= set(REGISTRY_OPTIONS)
    to_primary = TAX.registry_map()
    for code, option in options.items():
        # the option belongs to the cause's category, or is the catch-all
        assert option == "其他" or to_primary[option] == TAX.primary(code), code
    assert set(an.REGISTRY_NAMES_EN) == set(REGISTRY_OPTIONS)


def test_the_shipped_file_lists_every_shipped_cause_once():
    path = resources.files("zfb") / "data" / "registry_options.csv"
    with path.open(encoding="utf-8") as f:
        codes = [r["code"] for r in csv.DictReader(f)]
    assert sorted(codes) == sorted(TAX.causes.index)
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    ("code", "option"),
    [
        ("ILL.UREMIA", "因病"),
        ("DIS.VISUAL", "因残"),
        ("EDU.COLLEGE", "因学"),
        ("DST.LANDSLIDE", "因灾"),
        ("CAP.NO_CREDIT", "缺资金"),
        ("LAB.NO_ADULT", "缺劳力"),  # labour, not skills
        ("LAB.CARE_BURDEN", "缺劳力"),
        ("LAB.TRADE_SKILL", "缺技术"),
        ("LAB", "缺技术"),  # the category alone
        ("RES.NO_LAND", "缺土地"),
        ("RES.UNSAFE_WATER", "缺水"),
        ("RES.REMOTE", "交通条件落后"),
        ("RES.UNSAFE_HOUSE", "其他"),  # housing has no option of its own
        ("RES", "其他"),
        ("FAM.BRIDE_PRICE", "因婚"),
        ("FAM.LOW_DRIVE", "自身发展动力不足"),
        ("FAM.ORPHAN", "其他"),
    ],
)
def test_registry_option_of(code, option):
    assert an.registry_options()[code] == option


def test_a_county_cause_takes_the_option_of_its_category(tmp_path):
    extra = tmp_path / "county.csv"
    extra.write_text(
        "code,level,parent,name_zh,name_en\n"
        "LAB.BAMBOO,2,LAB,缺竹编技术,lacks bamboo-weaving skills\n"
        "ILL.LOCAL,2,ILL,本地常见病,a local illness\n",
        encoding="utf-8",
    )
    tax = load_taxonomy(extra)
    options = an.registry_options(tax)
    assert options["LAB.BAMBOO"] == "缺技术"
    assert options["ILL.LOCAL"] == "因病"
    table = pd.DataFrame({"causes": ["LAB.BAMBOO;ILL.LOCAL", "ILL.LOCAL"]})
    out = an.cause_shares(table, level="registry", taxonomy=tax)
    assert as_counts(out) == {("因病",): (2, 2), ("缺技术",): (1, 2)}
    sec = an.cause_shares(table, level="secondary", taxonomy=tax)
    assert sec.loc[sec["cause"] == "LAB.BAMBOO", "name_zh"].item() == "缺竹编技术"
    with pytest.raises(ValidationError, match="LAB.BAMBOO"):
        an.cause_shares(table)  # the shipped taxonomy does not know it


# main cause
@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("primary", ["ILL", "EDU", "LAB", "ILL", "RES", "LAB"]),
        (
            "secondary",
            ["ILL.CANCER", "EDU.COLLEGE", "LAB.FARM_SKILL", "ILL.STROKE"]
            + ["RES.WATER_FAR", "LAB"],
        ),
        ("registry", ["因病", "因学", "缺技术", "因病", "缺水", "缺技术"]),
    ],
)
def test_main_cause(households, level, expected):
    shifted = households.set_axis(range(10, 16))
    out = an.main_cause(shifted, level=level)
    assert out.tolist() == expected
    assert out.index.tolist() == list(range(10, 16))


# errors
def test_unknown_code_names_row_and_value(households):
    bad = households.assign(causes=["ILL", "ILL.NOPE;EDU", "EDU", "ILL", "ILL", "X"])
    with pytest.raises(ValidationError) as info:
        an.cause_shares(bad)
    problems = info.value.problems
    assert [(p.row, p.value) for p in problems] == [(3, "ILL.NOPE"), (7, "X")]
    assert all(p.column == "causes" for p in problems)


@pytest.mark.parametrize("value", [None, "", " ", ";", " ; "])
def test_empty_causes_are_refused(households, value):
    bad = households.astype({"causes": object})
    bad.loc[2, "causes"] = value
    with pytest.raises(ValidationError) as info:
        an.cause_shares(bad)
    assert [p.row for p in info.value.problems] == [4]


def test_missing_column(households):
    with pytest.raises(ValidationError, match="causes"):
        an.cause_shares(households.drop(columns="causes"))
    with pytest.raises(ValidationError, match="district"):
        an.cause_shares(households, by="district")


@pytest.mark.parametrize(
    "kwargs",
    [{"level": "tertiary"}, {"count": "all"}, {"by": "cause"}, {"by": ["share"]}],
)
def test_bad_arguments(households, kwargs):
    with pytest.raises(ValueError):
        an.cause_shares(households, **kwargs)


# summary
def test_summary_of_households_alone(households):
    numbers = an.summary(households)
    assert numbers == {
        "households": 6,
        "people": 21,
        "townships": 2,
        "villages": 3,
        "median_income_per_capita": 2400.0,  # (2200 + 2600) / 2
        "households_with_need": 5,  # H4 states none; H6 states 0
        "total_need": 16500.0,
    }
    assert all(type(v) in (int, float) for v in numbers.values())


def test_summary_with_projects_and_matches(households, projects, matches):
    numbers = an.summary(households, projects, matches)
    expected = {
        "projects": 3,
        "funders": 2,
        "total_budget": 18000.0,
        "total_capacity": 7,
        "matches": 4,
        "matched_households": 3,  # H5 has two rows
        "unmatched_households": 3,
        "share_matched": 0.5,
        "amount_matched": 9000.0,
        "unmet_need": 7500.0,  # H1 2000 + H2 5000 + H5 500
        "budget_used": 0.5,
    }
    assert {k: numbers[k] for k in expected} == pytest.approx(expected)


def test_matches_of_unknown_households_are_left_out_with_a_warning(households, matches):
    extra = pd.concat(
        [
            matches,
            pd.DataFrame(
                {"household_id": ["H9"], "project_id": ["P1"], "amount": [100.0]}
            ),
        ],
        ignore_index=True,
    )
    with pytest.warns(ZfbWarning, match="1 row"):
        numbers = an.summary(households, matches=extra)
    assert numbers["amount_matched"] == 9000.0
    assert numbers["matched_households"] == 3


def test_no_warning_when_all_matches_are_known(households, projects, matches):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        an.summary(households, projects, matches)
        an.matches_by_project(matches, projects)


def test_summary_of_an_empty_table(households):
    none = pd.DataFrame({"household_id": [], "project_id": [], "amount": []})
    numbers = an.summary(households.head(0), matches=none)
    assert numbers["households"] == 0
    assert np.isnan(numbers["median_income_per_capita"])
    assert np.isnan(numbers["share_matched"])


# matched, unmet need
def test_is_matched_and_unmet_need(households, matches):
    assert an.is_matched(households, matches).tolist() == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    need = an.unmet_need(households, matches)
    assert need.tolist()[:3] == [2000.0, 5000.0, 0.0]
    assert np.isnan(need.iloc[3])  # no need amount stated
    assert need.tolist()[4:] == [500.0, 0.0]
    over = matches.assign(amount=[9000.0, 1500.0, 0.0, 0.0])
    assert an.unmet_need(households, over).iloc[0] == 0.0  # never below 0


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(st.floats(0, 10000, allow_nan=False), min_size=6, max_size=6),
    paid=st.lists(st.floats(0, 10000, allow_nan=False), min_size=6, max_size=6),
    take=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_unmet_need_property(amounts, paid, take):
    table = pd.DataFrame(
        {"household_id": [f"H{i}" for i in range(6)], "need_amount": amounts}
    )
    rows = pd.DataFrame(
        {
            "household_id": [f"H{i}" for i in range(6) if take[i]],
            "project_id": "P",
            "amount": [paid[i] for i in range(6) if take[i]],
        }
    )
    left = an.unmet_need(table, rows)
    for i in range(6):
        got = paid[i] if take[i] else 0.0
        assert left.iloc[i] == pytest.approx(max(amounts[i] - got, 0.0))


# by township, by project, unmatched by cause
def test_matches_by_township(households, matches):
    out = an.matches_by_township(households, matches)
    assert out["township"].tolist() == ["乙乡", "甲镇"]  # same size: by name
    rows = out.set_index("township")
    assert rows.loc["甲镇"].to_dict() == pytest.approx(
        {
            "households": 3,
            "matched": 2,
            "unmatched": 1,
            "share_matched": 2 / 3,
            "amount": 7500.0,
            "need": 14500.0,
            "unmet_need": 7000.0,
        }
    )
    assert rows.loc["乙乡"].to_dict() == pytest.approx(
        {
            "households": 3,
            "matched": 1,
            "unmatched": 2,
            "share_matched": 1 / 3,
            "amount": 1500.0,
            "need": 2000.0,
            "unmet_need": 500.0,
        }
    )


def test_a_township_without_matches_has_a_row(households, matches):
    more = pd.concat(
        [households, households.iloc[[0]].assign(household_id="H7", township="丙乡")],
        ignore_index=True,
    )
    out = an.matches_by_township(more, matches).set_index("township")
    assert out.loc["丙乡", "matched"] == 0
    assert out.loc["丙乡", "amount"] == 0.0
    assert out["households"].sum() == 7


def test_matches_by_project(matches, projects):
    out = an.matches_by_project(matches, projects)
    assert out["project_id"].tolist() == ["P1", "P2", "P3"]
    rows = out.set_index("project_id")
    assert rows.loc[
        "P1", ["households", "amount", "capacity_used", "budget_used"]
    ].tolist() == pytest.approx([2, 7000.0, 1.0, 0.7])
    assert rows.loc[
        "P2", ["households", "amount", "capacity_used", "budget_used"]
    ].tolist() == pytest.approx([2, 2000.0, 1.0, 2000 / 3000])
    assert rows.loc["P3", ["households", "amount", "capacity_used"]].tolist() == [
        0,
        0.0,
        0.0,
    ]
    assert rows.loc["P1", "title"] == "医疗救助"
    alone = an.matches_by_project(matches)
    assert alone.columns.tolist() == ["project_id", "households", "amount"]
    assert alone["households"].tolist() == [2, 2]


def test_matches_by_project_warns_about_unknown_projects(matches, projects):
    with pytest.warns(ZfbWarning, match="project_id"):
        an.matches_by_project(matches, projects[projects["project_id"] != "P2"])


def test_unmatched_by_cause(households, matches):
    out = an.unmatched_by_cause(households, matches)
    # unmatched: H2 (EDU, 5000), H4 (ILL, no amount), H6 (LAB, 0)
    got = {r.cause: (r.households, r.total, r.need) for r in out.itertuples()}
    assert got == {"EDU": (1, 3, 5000.0), "ILL": (1, 3, 0.0), "LAB": (1, 3, 0.0)}
    assert out["share"].sum() == pytest.approx(1.0)
    reg = an.unmatched_by_cause(households, matches, level="registry")
    assert set(reg["cause"]) == {"因学", "因病", "缺技术"}


# the example of the documentation runs
def test_the_examples_of_docs_analyses_run(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "analyses.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/analyses.md", "exec"), namespace)
    assert (tmp_path / "report.html").is_file()
    assert (tmp_path / "county.html").is_file()


def test_no_matches_at_all(households):
    none = pd.DataFrame(
        {
            "household_id": pd.Series([], dtype=str),
            "project_id": pd.Series([], dtype=str),
            "amount": pd.Series([], dtype=float),
        }
    )
    numbers = an.summary(households, matches=none)
    assert numbers["matched_households"] == 0
    assert numbers["unmet_need"] == 16500.0  # every stated need is open
    town = an.matches_by_township(households, none)
    assert town["matched"].tolist() == [0, 0]
    assert town["unmet_need"].sum() == 16500.0
    assert an.unmatched_by_cause(households, none)["households"].sum() == 6
    assert an.matches_by_project(none).empty
