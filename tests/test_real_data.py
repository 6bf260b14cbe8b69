"""The shipped mappings on the real public data of ../shared/data/real.

The data may not be redistributed, so nothing of it is copied here: each test
reads the files from the shared folder, and is skipped with the reason when
the folder is absent. Every expected figure is computed from the raw file
with plain pandas, independently of the mapping engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zfb.io import read_households, read_projects

from .conftest import SHARED_REAL

pytestmark = pytest.mark.real

COSTA_RICA = SHARED_REAL / "costa_rica_poverty" / "cr_train_shared.csv"
LOANS = SHARED_REAL / "kiva" / "kiva_loans_sample_1000.csv"
THEMES = SHARED_REAL / "kiva" / "loan_themes_by_region_sample_99.csv"
LIVESTOCK = ["Pigs", "Livestock", "Poultry", "Cattle", "Dairy", "Animal Sales"]


def need(path):
    if not path.is_file():
        pytest.skip(f"real public data not found: {path} (../shared is absent)")
    return path


def has(causes: pd.Series, code: str) -> pd.Series:
    return causes.str.split(";").map(lambda codes: code in codes)


@pytest.fixture(scope="module")
def costa_rica():
    path = need(COSTA_RICA)
    people = pd.read_csv(path)
    return people, read_households(path, mapping="costa_rica")


@pytest.fixture(scope="module")
def kiva():
    loans_path, themes_path = need(LOANS), need(THEMES)
    loans = pd.read_csv(loans_path, dtype=str, keep_default_na=False)
    themes = pd.read_csv(themes_path, dtype=str, keep_default_na=False)
    households = read_households(loans_path, mapping="kiva_loans")
    projects = read_projects(themes_path, mapping="kiva_themes")
    return loans, themes, households, projects


# Costa Rica
def test_every_household_with_a_head_becomes_one_household(costa_rica):
    people, households = costa_rica
    heads = people[people["parentesco1"] == 1]
    # households without a head are dropped (without_head = "drop")
    assert len(households) == heads["idhogar"].nunique() == len(heads)
    assert set(households["household_id"]) == {"CR-" + h for h in heads["idhogar"]}
    assert households["household_id"].is_unique
    by_id = heads.set_index("CR-" + heads["idhogar"])
    assert (households.set_index("household_id")["size"] == by_id["hhsize"]).all()


def test_disability_share_equals_the_share_with_a_disabled_member(costa_rica):
    people, households = costa_rica
    headed = people.groupby("idhogar")["parentesco1"].max() == 1
    disabled = people.groupby("idhogar")["dis"].max()[headed]
    expected = (disabled == 1).mean()
    assert has(households["causes"], "DIS").mean() == pytest.approx(expected)
    # DIS is the first rule, so it is the main cause wherever it applies
    first = households["causes"].str.split(";").str[0]
    assert ((first == "DIS") == has(households["causes"], "DIS")).all()
    assert (
        households["members_disabled"].sum()
        == people.loc[people["idhogar"].isin(disabled.index), "dis"].sum()
    )


def test_household_level_causes_follow_the_head_row(costa_rica):
    people, households = costa_rica
    heads = people[people["parentesco1"] == 1]
    heads = heads.set_index("CR-" + heads["idhogar"]).loc[households["household_id"]]
    causes = households["causes"].to_numpy()
    water = heads["abastaguano"].to_numpy() == 1
    assert (has(pd.Series(causes), "RES.UNSAFE_WATER").to_numpy() == water).all()
    no_adult = (heads["hogar_adul"] - heads["hogar_mayor"]).to_numpy() == 0
    assert (has(pd.Series(causes), "LAB.NO_ADULT").to_numpy() == no_adult).all()
    bad_house = (
        heads[["epared1", "etecho1", "eviv1", "pisonotiene", "pareddes"]].max(axis=1)
        == 1
    ).to_numpy()
    assert (has(pd.Series(causes), "RES.UNSAFE_HOUSE").to_numpy() == bad_house).all()


def test_region_and_zone_come_from_the_dummies(costa_rica):
    people, households = costa_rica
    heads = people[people["parentesco1"] == 1]
    regions = [
        "Central",
        "Chorotega",
        "Pacífico central",
        "Brunca",
        "Huetar Atlántica",
        "Huetar Norte",
    ]
    expected = {r: int(heads[f"lugar{i}"].sum()) for i, r in enumerate(regions, 1)}
    counts = households["township"].value_counts().to_dict()
    assert counts == {r: n for r, n in expected.items() if n}
    assert (households["village"] == "rural").sum() == heads["area2"].sum()


def test_costa_rica_causes_are_plausible(costa_rica):
    _, households = costa_rica
    assert households["income_per_capita"].nunique() == 1
    shares = households["causes"].str.split(";").explode().value_counts(normalize=False)
    shares = shares / len(households)
    # every household has a cause, and none comes from an illness question
    assert households["causes"].str.len().gt(0).all()
    primaries = households["causes"].str.split(";").explode().str.split(".").str[0]
    assert "ILL" not in set(primaries)
    # the survey's poor households (Target 1 or 2) have a named cause more
    # often than the others: a check of direction, not of the label's use
    named = households["causes"] != "FAM.OTHER"
    poor = households["poverty_level"].isin(["extreme", "moderate"])
    assert named[poor].mean() > named[~poor].mean()
    assert 0 < shares.get("DIS", 0) < 0.5


# Kiva loans and themes
def test_kiva_loans_become_households_with_needs(kiva):
    loans, _, households, _ = kiva
    assert len(households) == len(loans)
    assert (households["household_id"] == "KIVA-" + loans["id"]).all()
    assert (households["township"] == loans["country"]).all()
    borrowers = (
        loans["borrower_genders"]
        .str.split(",")
        .map(lambda items: sum(1 for g in items if g.strip()))
    )
    assert (households["size"] == borrowers.clip(1, 30)).all()
    rate = households["need_amount"] / loans["loan_amount"].astype(float)
    assert rate.nunique() == 1 and 6 < rate.iloc[0] < 7.5
    assert households["need_kind"].notna().all()
    for column in ("funded_amount", "lender_count"):
        assert column in households.columns


def test_kiva_need_kinds_follow_sector_and_activity(kiva):
    loans, _, households, _ = kiva
    livestock = (loans["sector"] == "Agriculture") & loans["activity"].isin(LIVESTOCK)
    assert ((households["need_kind"] == "livestock") == livestock).all()
    assert has(households["causes"], "CAP.NO_LIVESTOCK").eq(livestock).all()
    higher = loans["activity"] == "Higher education costs"
    assert (households.loc[higher, "need_kind"] == "tuition").all()
    assert has(households["causes"], "EDU.COLLEGE").eq(higher).all()
    retail = loans["sector"].isin(["Retail", "Food", "Services"])
    assert (households.loc[retail, "need_kind"] == "seed_capital").all()


def test_kiva_themes_become_projects(kiva):
    loans, themes, households, projects = kiva
    assert len(projects) == len(themes)
    assert projects["project_id"].is_unique
    assert (projects["funder"] == themes["Field Partner Name"]).all()
    assert (projects["townships"] == themes["country"]).all()
    assert (projects["capacity"] == themes["number"].astype(int).clip(lower=1)).all()
    budget_rate = projects["budget"] / themes["amount"].astype(float)
    need_rate = households["need_amount"] / loans["loan_amount"].astype(float)
    assert np.allclose(budget_rate, need_rate.iloc[0])
    higher = themes["Loan Theme Type"] == "Higher Education"
    assert has(projects["tags"], "tuition").eq(higher).all()


def test_matching_kiva_loans_to_themes_stays_in_the_country(kiva):
    matching = pytest.importorskip("zfb.matching", reason="zfb.matching is absent")
    _, _, households, projects = kiva
    result = matching.match_single(households, projects)
    matches = result.matches
    assert len(matches) > 0
    pairs = matches.merge(households[["household_id", "township"]]).merge(
        projects[["project_id", "townships"]]
    )
    assert len(pairs) == len(matches)
    covered = [
        t in ts.split(";") or ts == "*"
        for t, ts in zip(pairs["township"], pairs["townships"], strict=True)
    ]
    assert all(covered)
    assert matches["household_id"].is_unique
