"""The custom selection, intake and profiles dashboards, without a browser."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfb import generate_county
from zfb.dashboards import CountyData, load_county
from zfb.dashboards.custom import EXPORT_COLUMNS, CustomApp, selection_xlsx
from zfb.dashboards.intake import IntakeApp, next_household_id
from zfb.dashboards.profiles import ProfilesApp
from zfb.dashboards.render import esc
from zfb.errors import ZfbError
from zfb.store import Role, import_households, import_projects, open_store, view
from zfb.taxonomy import load_taxonomy

TAX = load_taxonomy()
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def county() -> CountyData:
    made = generate_county(300, 8, seed=31)
    hh = made.households.copy()
    first = hh["township"].iloc[0]
    hh["township"] = hh["township"].where(hh["township"] != first, HOSTILE)
    empty = hh.iloc[:0][["household_id"]].assign(project_id="", amount=0.0)
    return CountyData(hh, made.projects, empty, "test", taxonomy=TAX)


@pytest.fixture
def store(county, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with open_store(url) as s:
        import_households(s, county.households, actor="test")
        import_projects(s, county.projects, actor="test")
    return url


# custom selection
def test_selection_keeps_to_the_criteria_and_the_budget(county):
    app = CustomApp(county)
    assert app.selection is None and "press" in app.message.value
    town = county.households["township"].iloc[-1]
    app.causes.value = ("ILL", "DIS")
    app.townships.value = (town,)
    app.budget.value = 20000.0
    app.households.value = 5
    app.run.click()
    table = app.selection.table
    assert 0 < len(table) <= 5
    assert table["amount"].sum() <= 20000.0
    hh = county.households.set_index("household_id").loc[table["household_id"]]
    assert (hh["township"] == town).all()
    primaries = (
        hh["causes"].str.split(";").map(lambda cs: {c.split(".")[0] for c in cs})
    )
    assert primaries.map(lambda p: bool(p & {"ILL", "DIS"})).all()
    for hid in table["household_id"]:
        assert hid in app.result.value
    assert "custom-selection.xlsx" in app.download.value


def test_the_excel_file_has_no_personal_data(county):
    app = CustomApp(county)
    app.budget.value = 30000.0
    app.run.click()
    sheet = pd.read_excel(io.BytesIO(selection_xlsx(app.selection.table)))
    assert list(sheet.columns) == EXPORT_COLUMNS
    assert len(sheet) == len(app.selection.table)
    assert not {"name", "phone", "id_number", "village"} & set(sheet.columns)


def test_criteria_that_leave_nobody_say_which_one(county):
    app = CustomApp(county)
    app.income.value = 1.0  # 1 CNY per person per year: nobody is that poor
    app.run.click()
    assert app.selection is None
    assert "income_ceiling" in app.message.value
    app.budget.value = -5.0
    app.run.click()
    assert "budget must be 0" in app.message.value


# intake
def fill(app, **values):
    for name, value in values.items():
        app.inputs[name].value = value


def valid(app, township: str):
    fill(
        app,
        township=township,
        size="4",
        income_per_capita="2100",
        primary="ILL",
        secondary="ILL.UREMIA",
    )


def test_secondary_causes_follow_the_primary(county):
    app = IntakeApp(county)
    app.inputs["primary"].value = "EDU"
    codes = [v for _, v in app.inputs["secondary"].options]
    assert codes == ["EDU", *TAX.children("EDU")]
    app.inputs["primary"].value = "DST"
    assert [v for _, v in app.inputs["secondary"].options][1:] == TAX.children("DST")


def test_problems_are_written_under_their_fields(county):
    app = IntakeApp(county)
    for field in ("township", "size", "income_per_capita", "causes"):
        assert app.errors[field].value, field
    assert app.save.disabled
    fill(app, size="abc")
    assert "must be a number" in app.errors["size"].value
    fill(app, size="0")
    assert app.errors["size"].value and "abc" not in app.errors["size"].value
    valid(app, county.households["township"].iloc[-1])
    assert not any(box.value for box in app.errors.values())
    assert not app.save.disabled
    fill(app, need_amount="-3")
    assert app.errors["need_amount"].value


def test_villages_are_those_of_the_township(county):
    app = IntakeApp(county)
    town = county.households["township"].iloc[-1]
    app.inputs["township"].value = town
    hh = county.households
    assert set(app.inputs["village"].options) == set(
        hh.loc[hh["township"] == town, "village"]
    )


def test_without_a_store_the_form_does_not_save(county):
    app = IntakeApp(county)
    valid(app, county.households["township"].iloc[-1])
    with pytest.raises(ZfbError, match="no store"):
        app.save_record()


def test_a_new_household_is_saved_and_its_name_only_shown_masked(county, store):
    app = IntakeApp(load_county(db=store))
    hid = app.inputs["household_id"].value
    assert hid not in set(county.households["household_id"])
    valid(app, HOSTILE)
    fill(app, name="张三丰", village="X村")
    app.save.click()
    assert "张**" in app.message.value and "三丰" not in app.message.value
    assert app.inputs["name"].value == ""
    everything = " ".join(str(getattr(w, "value", "")) for w in app.widget.children)
    assert "三丰" not in everything
    assert app.inputs["household_id"].value != hid  # ready for the next one
    stored = load_county(db=store).households
    row = stored[stored["household_id"] == hid]
    assert row[["township", "size"]].values.tolist() == [[HOSTILE, 4]]
    assert "name" not in stored.columns  # the dashboards' tables never hold it
    with open_store(store) as s:
        full = view(s, "households", Role.administrator())
    assert full.loc[full["household_id"] == hid, "name"].tolist() == ["张三丰"]


def test_a_stored_household_is_loaded_and_corrected(county, store):
    app = IntakeApp(load_county(db=store))
    hid = county.households["household_id"].iloc[5]
    before = county.households.iloc[5]
    app.inputs["household_id"].value = hid
    app.load.click()
    assert "loaded" in app.message.value
    assert app.raw()["causes"] == before["causes"]
    assert app.inputs["size"].value == str(before["size"])
    fill(app, size=str(int(before["size"]) + 1))
    app.save.click()
    assert "updated" in app.message.value
    stored = load_county(db=store).households.set_index("household_id")
    assert stored.at[hid, "size"] == before["size"] + 1
    assert stored.at[hid, "causes"] == before["causes"]


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_next_household_id_is_new(numbers):
    ids = pd.Series([f"ZX{n:06d}" for n in numbers])
    new = next_household_id(ids)
    assert new not in set(ids)
    assert new == f"ZX{max(numbers) + 1:06d}"


# profiles
@pytest.fixture(scope="module")
def profiles(county):
    return ProfilesApp(county, n_clusters=4)


def test_every_cluster_is_listed_in_words(profiles):
    assert len(profiles.profiles) == profiles.model.n_clusters_ <= 4
    for text in profiles.profiles["description_zh"]:
        assert esc(text) in profiles.clusters.value
    assert profiles.profiles["households"].sum() == len(profiles.features)


def test_township_filter_counts_its_households(profiles, county):
    hh = county.households
    profiles.township.value = HOSTILE
    n = int((hh["township"] == HOSTILE).sum())
    assert f"({n:,} households)" in profiles.clusters.value
    assert "<img" not in profiles.clusters.value


def test_picking_a_cluster_shows_its_members_traits(profiles):
    last = profiles.cluster.options[-1]
    profiles.cluster.value = last[1]
    row = profiles.profiles[profiles.profiles["cluster"] == last[1]].iloc[0]
    assert esc(row["description_en"]) in profiles.members.value
    assert f"{row['size']:.2f}" in profiles.members.value


def test_changing_the_number_of_clusters_refits(profiles):
    profiles.k.value = 2
    assert profiles.model.n_clusters_ == 2
    assert len(profiles.cluster.options) == 2
