"""Where the dashboards take their county from."""

from __future__ import annotations

import pandas as pd
import pytest

from zfb import generate_county, write_county
from zfb.dashboards.data import (
    ENV_DATA,
    ENV_DB,
    ENV_REGISTRY,
    load_county,
    read_matches,
    sample_dir,
)
from zfb.errors import ConfigError, ValidationError


@pytest.fixture
def folder(tmp_path):
    county = generate_county(60, 4, seed=8)
    write_county(county, tmp_path)
    return tmp_path, county


def test_a_folder_gives_its_tables_and_optional_files(folder, monkeypatch):
    path, county = folder
    monkeypatch.delenv(ENV_DB, raising=False)
    got = load_county(path)
    assert (
        got.households["household_id"].tolist()
        == county.households["household_id"].tolist()
    )
    assert len(got.projects) == 4 and got.matches.empty and got.registry is None
    assert got.db is None and got.source == str(path)
    pd.DataFrame(
        {"household_id": ["ZX000001"], "project_id": ["P0001"], "amount": ["500"]}
    ).to_csv(path / "matches.csv", index=False)
    counts = county.households["township"].value_counts()
    pd.DataFrame({"township": counts.index, "households": counts * 3}).to_csv(
        path / "registry.csv", index=False
    )
    got = load_county(path)
    assert got.matches["amount"].tolist() == [500.0]
    assert got.matches["explanation"].tolist() == [""]
    assert (got.registry == counts * 3).all()


def test_the_environment_names_the_folder(folder, monkeypatch):
    path, county = folder
    monkeypatch.delenv(ENV_DB, raising=False)
    monkeypatch.setenv(ENV_DATA, str(path))
    assert len(load_county().households) == len(county.households)


def test_without_anything_the_sample_county_is_read(monkeypatch):
    for name in (ENV_DATA, ENV_DB, ENV_REGISTRY):
        monkeypatch.delenv(name, raising=False)
    assert load_county().source == str(sample_dir())


def test_a_folder_without_its_files_says_what_it_needs(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DB, raising=False)
    with pytest.raises(ConfigError, match="households.csv"):
        load_county(tmp_path)


def test_a_bad_matches_file_is_refused(tmp_path):
    (tmp_path / "m.csv").write_text("household_id,amount\nA,1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="project_id"):
        read_matches(tmp_path / "m.csv")


def test_a_matches_file_of_other_households_is_refused(tmp_path):
    # the dashboards check a matches file as zfb report does
    (tmp_path / "m.csv").write_text(
        "household_id,project_id,amount\nNOBODY,P0001,100\nNOBODY,P0002,1e999\n",
        encoding="utf-8",
    )
    county = load_county()
    with pytest.raises(ValidationError) as info:
        read_matches(tmp_path / "m.csv", county.households, county.projects)
    rules = [p.rule for p in info.value.problems]
    assert any("not in the households table" in r for r in rules)
    assert any("finite" in r for r in rules)
    assert any("one match" in r for r in rules)
