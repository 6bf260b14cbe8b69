"""Tests of zfb.verification: each rule on planted records, and a clean county."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zfb.errors import ConfigError, ValidationError, ZfbWarning
from zfb.verification import FLAGS, verification_flags


def _clean(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Households with no conflict, income following land and space."""
    rng = np.random.default_rng(seed)
    size = rng.integers(2, 7, n)
    land = np.round(size * rng.uniform(0.5, 2.0, n), 1)
    space = np.round(size * rng.uniform(15, 30, n))
    # log income linear in the logs of land and space per person, with
    # bounded noise: no household is an outlier
    log_income = 7.0 + 0.3 * np.log1p(land / size) + 0.2 * np.log1p(space / size)
    income = np.round(np.expm1(log_income + rng.uniform(-0.1, 0.1, n)))
    return pd.DataFrame(
        {
            "household_id": [f"h{i:03d}" for i in range(n)],
            "township": "T",
            "village": [f"v{i % 4}" for i in range(n)],
            "size": size,
            "income_per_capita": income,
            "causes": "LAB.FARM_SKILL",
            "need_kind": "skills_training",
            "need_amount": 1500.0,
            "arable_land_mu": land,
            "living_space_m2": space,
            "unsafe_housing": False,
            "has_debt": False,
            "debt_amount": 0.0,
            "labour_count": pd.array(np.minimum(size, 2), dtype="Int64"),
            "members_ill": pd.array([0] * n, dtype="Int64"),
            "members_disabled": pd.array([0] * n, dtype="Int64"),
            "children_in_school": pd.array([0] * n, dtype="Int64"),
            "elderly_count": pd.array([0] * n, dtype="Int64"),
        }
    )


def test_clean_table_has_no_flag():
    out = verification_flags(_clean())
    assert list(out.columns) == ["household_id", "flag", "reason"]
    assert out.empty


# each planted cause follows LAB.FARM_SKILL, which keeps the record's need
# kind (skills training) one of its causes calls for
FARM = "LAB.FARM_SKILL;"
CONFLICT = "cause_vs_traits"


@pytest.mark.parametrize(
    ("change", "flag", "words"),
    [
        ({"causes": FARM + "EDU.SENIOR"}, CONFLICT, "no child is in school"),
        ({"causes": FARM + "EDU.MULTI_CHILD", "children_in_school": 1}, CONFLICT,
         "only one child"),
        ({"causes": FARM + "LAB.NO_ADULT"}, CONFLICT, "able to work"),
        ({"causes": FARM + "RES.UNSAFE_HOUSE"}, CONFLICT, "not recorded as unsafe"),
        ({"causes": FARM + "ILL.CANCER"}, CONFLICT, "recorded as ill"),
        ({"causes": FARM + "DIS.VISUAL"}, CONFLICT, "recorded as disabled"),
        ({"causes": FARM + "RES.NO_LAND"}, CONFLICT, "mu of arable land"),
        ({"causes": FARM + "CAP.DEBT_MEDICAL"}, CONFLICT, "no debt"),
        ({"causes": FARM + "FAM.ELDERLY_ALONE"}, CONFLICT, "members"),
        # 40 times the typical 1,500 CNY of skills training
        ({"need_amount": 60000.0}, "need_amount", "40 times the typical 1,500 CNY"),
        ({"need_kind": None}, "need_amount", "does not say for what"),
        ({"need_kind": "relocation", "need_amount": 20000.0}, "need_kind_vs_causes",
         "none of its causes"),
        ({"income_per_capita": 40000.0}, "income_vs_assets", "times what households"),
        ({"income_per_capita": 0.0}, "income_vs_assets", "no income is recorded"),
    ],
)  # fmt: skip
def test_each_rule_flags_its_planted_record(change, flag, words):
    hh = _clean()
    for col, value in change.items():
        hh[col] = hh[col].astype("object")
        hh.at[7, col] = value
    out = verification_flags(hh)
    assert out["household_id"].tolist() == ["h007"]
    assert out["flag"].tolist() == [flag]
    assert words in out["reason"].iloc[0]


def test_reason_names_the_cause_and_the_value():
    hh = _clean()
    hh["causes"] = hh["causes"].astype("object")
    hh.at[3, "causes"] = "LAB.FARM_SKILL;LAB.NO_ADULT"
    hh.at[3, "labour_count"] = 2
    reason = verification_flags(hh)["reason"].iloc[0]
    assert reason == (
        "lists LAB.NO_ADULT (no working-age adult) but 2 member(s) are able to work "
        "(labour_count)"
    )


def test_need_amount_is_per_child_for_tuition():
    hh = _clean()
    hh["causes"] = "EDU.SENIOR"
    hh["need_kind"] = "tuition"
    hh["children_in_school"] = pd.array([3] * len(hh), dtype="Int64")
    # 4,000 CNY typical per child: 3 children and 5 times -> 60,000 is fine
    hh["need_amount"] = 12000.0
    hh.loc[1, "need_amount"] = 60000.0
    hh.loc[2, "need_amount"] = 60001.0
    out = verification_flags(hh)
    assert out["household_id"].tolist() == ["h002"]
    assert "for 3 children in school" in out["reason"].iloc[0]


def test_duplicates_across_and_within_villages():
    hh = _clean()
    twin = hh.loc[[5]].assign(household_id="x1", village="v3")  # h005 is in v1
    same = hh.loc[[9]].assign(household_id="x2")  # h009 and x2 in v1
    # different cause order is the same set of causes
    hh = pd.concat([hh, twin, same], ignore_index=True)
    out = verification_flags(hh)
    across = out[out["flag"] == "duplicate_across_villages"]
    within = out[out["flag"] == "duplicate_in_village"]
    assert sorted(across["household_id"]) == ["h005", "x1"]
    assert sorted(within["household_id"]) == ["h009", "x2"]
    assert "as x1 in 2 villages" in across.iloc[0]["reason"]
    assert "same village (v1)" in within.iloc[0]["reason"]


def test_duplicates_compare_the_set_of_causes():
    hh = _clean()
    hh["causes"] = "LAB.FARM_SKILL;RES.POOR_LAND"
    twin = hh.loc[[4]].assign(household_id="x", causes="RES.POOR_LAND;LAB.FARM_SKILL")
    out = verification_flags(pd.concat([hh, twin], ignore_index=True))
    assert set(out["household_id"]) == {"h004", "x"}


def test_duplicate_check_needs_enough_columns():
    hh = _clean()[["household_id", "size", "income_per_capita", "causes"]]
    hh = pd.concat([hh, hh.loc[[0]].assign(household_id="x")], ignore_index=True)
    with pytest.warns(ZfbWarning, match="duplicate_columns"):
        out = verification_flags(hh)
    assert out.empty
    out = verification_flags(hh, duplicate_columns=["size", "income_per_capita"])
    assert {"h000", "x"} <= set(out["household_id"])


def test_several_flags_order_and_checks_argument():
    hh = _clean()
    hh["causes"] = hh["causes"].astype("object")
    hh.at[2, "causes"] = "ILL.CANCER"  # also need kind unrelated to illness
    hh.at[1, "need_amount"] = 1e6
    out = verification_flags(hh)
    assert out["household_id"].tolist() == ["h001", "h002", "h002"]
    assert out["flag"].tolist() == [
        "need_amount",
        "need_kind_vs_causes",
        "cause_vs_traits",
    ]
    only = verification_flags(hh, checks=["cause_vs_traits"])
    assert only["flag"].tolist() == ["cause_vs_traits"]


def test_missing_trait_is_not_a_conflict():
    hh = _clean()
    hh["causes"] = "ILL.CANCER"
    hh["need_kind"] = "medical_costs"
    hh["need_amount"] = 8000.0
    hh["members_ill"] = pd.array([pd.NA] * len(hh), dtype="Int64")
    assert verification_flags(hh).empty


def test_errors():
    with pytest.raises(ValidationError, match="household_id"):
        verification_flags(pd.DataFrame({"causes": ["ILL"]}))
    with pytest.raises(ConfigError, match="unknown check"):
        verification_flags(_clean(), checks=["spelling"])
    with pytest.raises(ConfigError, match="need_factor"):
        verification_flags(_clean(), need_factor=0)
    with pytest.raises(ValidationError, match="duplicate column"):
        verification_flags(_clean(), duplicate_columns=["nowhere"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_county(seed):
    synth = pytest.importorskip("zfb.synth")
    hh = synth.generate_county(5000, seed=seed).households
    out = verification_flags(hh)
    assert set(out["flag"]) <= set(FLAGS)
    # the generator draws traits from causes: no cause contradicts a trait
    assert not (out["flag"] == "cause_vs_traits").any()
    # lognormal incomes with sigma 0.5: |modified z| > 3.5 is about 0.05 %
    assert (out["flag"] == "income_vs_assets").mean() < 0.01 * len(hh)
    # a household copied into another village is found again
    copy = hh.loc[[10]].assign(household_id="COPY", village="elsewhere")
    again = verification_flags(pd.concat([hh, copy], ignore_index=True))
    dup = again[again["flag"] == "duplicate_across_villages"]
    assert set(dup["household_id"]) == {hh.at[10, "household_id"], "COPY"}
