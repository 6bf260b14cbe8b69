"""Importing files into the store, re-importing them, and round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from tests.test_store_support import people_table, write_county
from zfb.errors import ValidationError
from zfb.store import (
    PersonalDataWarning,
    Role,
    export_table,
    import_file,
    open_store,
    view,
)
from zfb.store.models import audit_log, households

# fixtures
store_url = support.store_url
store = support.store

ADMIN = Role.administrator()


def _admin(store_, table="households"):
    df = view(store_, table, ADMIN)
    return df.drop(columns=[c for c in ("version",) if c in df.columns])


def _count(store_, table) -> int:
    with store_.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def _audit(store_) -> pd.DataFrame:
    with store_.read() as conn:
        rows = conn.execute(sa.select(audit_log)).mappings().all()
    return pd.DataFrame(rows, columns=list(audit_log.c.keys()))


@pytest.fixture
def people(tmp_path, secret):
    table = people_table(60, seed=11)
    path = tmp_path / "people.csv"
    table.to_csv(path, index=False)
    return table, path


def test_import_then_reimport_changes_nothing(store, people):
    table, path = people
    first = import_file(store, path, actor="intake")
    assert (first.kind, first.inserted, first.updated) == ("households", 60, 0)
    before = _admin(store)
    again = import_file(store, path, actor="intake")
    assert again.changes == 0 and again.unchanged == 60
    after = view(store, "households", ADMIN)
    assert (after["version"] == 1).all()
    pd.testing.assert_frame_equal(after.drop(columns="version"), before)
    log = _audit(store)
    assert (log["action"] == "import").sum() == 2
    assert (log["action"] == "insert").sum() == 60
    assert not (log["action"] == "update").any()


def test_an_updated_file_updates_only_what_changed(store, people, tmp_path):
    table, path = people
    import_file(store, path, actor="intake")
    ids_before = view(store, "households", ADMIN)
    key_of = dict(zip(ids_before["name"], ids_before["household_id"], strict=True))

    changed = table.copy()
    rng = np.random.default_rng(5)
    rows = rng.choice(len(changed), size=6, replace=False)
    renamed, resized, recaused = rows[:2], rows[2:4], rows[4:6]
    for i in renamed:
        changed.loc[i, "户主姓名"] = "亓" + changed.loc[i, "户主姓名"][1:] + "珺"
    for i in resized:
        changed.loc[i, "家庭人口数"] = str(int(changed.loc[i, "家庭人口数"]) % 9 + 1)
    for i in recaused:
        old = changed.loc[i, "致贫原因"].split(";")[0]
        changed.loc[i, "致贫原因"] = "EDU.COLLEGE" if old != "EDU.COLLEGE" else "ILL"
    new_path = tmp_path / "people-v2.csv"
    changed.to_csv(new_path, index=False)

    summary = import_file(store, new_path, actor="intake")
    assert summary.inserted == 0 and summary.updated == 6
    assert summary.unchanged == 54
    assert summary.fields["name"] == 2 and summary.fields["size"] == 2
    assert summary.fields["causes"] == 2

    after = view(store, "households", ADMIN).set_index("household_id")
    log = _audit(store)
    updates = log[log["action"] == "update"].set_index("record_key")
    for rows_, field in ((renamed, "name"), (resized, "size"), (recaused, "causes")):
        for i in rows_:
            key = key_of[table.loc[i, "户主姓名"]]
            assert field in updates.loc[key, "fields"].split(",")
            assert after.loc[key, "version"] == 2
    assert set(updates.index) == {key_of[table.loc[i, "户主姓名"]] for i in rows}
    # the audit log names fields, never the names themselves
    text = log.astype(str).to_string()
    for name in list(table["户主姓名"]) + list(changed["户主姓名"]):
        assert name not in text
    unchanged = after.drop(index=list(updates.index))
    assert (unchanged["version"] == 1).all()


def test_a_bad_file_writes_nothing(store, people, tmp_path):
    table, path = people
    bad = table.copy()
    bad.loc[7, "家庭人口数"] = "99"
    bad.loc[30, "人均纯收入"] = "很多"
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    with pytest.raises(ValidationError) as info:
        import_file(store, bad_path, actor="intake")
    assert {p.row for p in info.value.problems} == {9, 32}
    assert _count(store, households) == 0
    assert _count(store, audit_log) == 0

    import_file(store, path, actor="intake")
    before = _admin(store)
    with pytest.raises(ValidationError):
        import_file(store, bad_path, actor="intake")
    pd.testing.assert_frame_equal(_admin(store), before)


def test_a_column_missing_from_the_file_keeps_its_values(store, people, tmp_path):
    table, path = people
    import_file(store, path, actor="intake")
    before = _admin(store)
    partial = tmp_path / "no-names.csv"
    table.drop(columns=["户主姓名", "联系电话", "备注"]).to_csv(partial, index=False)
    assert import_file(store, partial, actor="intake").changes == 0
    pd.testing.assert_frame_equal(_admin(store), before)


def test_unknown_columns_with_id_or_phone_numbers_are_refused(store, people, tmp_path):
    table, _ = people
    for column, values in (
        ("配偶证件", table["身份证号"].str[::-1].map(lambda s: s)),
        ("紧急联系人", table["联系电话"]),
    ):
        odd = table.copy()
        odd[column] = values if column != "配偶证件" else table["身份证号"]
        path = tmp_path / "odd.csv"
        odd.to_csv(path, index=False)
        with pytest.raises(ValidationError, match="look like") as info:
            import_file(store, path, actor="intake")
        assert column in str(info.value)
        assert not any(v in str(info.value) for v in odd[column])
    assert _count(store, households) == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_into_an_empty_store_loses_nothing(
    store,
    people,
    tmp_path,
    suffix,
):
    table, path = people
    county = write_county(tmp_path / "county", 40, seed=3)
    import_file(store, path, actor="intake")
    import_file(store, county[0], actor="intake")
    import_file(store, county[1], actor="intake")
    pledge_file = tmp_path / "pledges.csv"
    h = view(store, "households", ADMIN)
    pd.DataFrame(
        {
            "认捐编号": ["G1", "G2"],
            "帮扶方": ["某基金会(示例)", "个人捐赠者(示例)"],
            "户编号": [h["household_id"][0], h["household_id"][5]],
            "认捐金额": ["1200", "350.5"],
            "认捐日期": ["2016-06-01", ""],
        }
    ).to_csv(pledge_file, index=False)
    import_file(store, pledge_file, actor="intake")

    out = tmp_path / "out"
    with pytest.warns(PersonalDataWarning):
        files = {
            t: export_table(store, t, out / f"{t}{suffix}", personal=True)
            for t in ("households", "projects", "pledges")
        }
    other = tmp_path / "copy.sqlite"
    with open_store(other) as copy:
        for t in ("projects", "households", "pledges"):
            summary = import_file(copy, files[t], kind=t, actor="restore")
            assert summary.inserted == len(view(store, t, ADMIN))
        for t in ("households", "projects"):
            pd.testing.assert_frame_equal(_admin(copy, t), _admin(store, t))
        cols = ["pledge_id", "funder", "household_id", "amount", "pledged_on"]
        pd.testing.assert_frame_equal(
            view(copy, "pledges", ADMIN)[cols], view(store, "pledges", ADMIN)[cols]
        )


def test_default_export_round_trips_everything_but_personal_columns(
    store,
    people,
    tmp_path,
):
    _, path = people
    import_file(store, path, actor="intake")
    file = export_table(store, "households", tmp_path / "h.csv")
    written = pd.read_csv(file, dtype=str)
    assert not {"name", "phone", "notes"} & set(written.columns)
    with open_store(tmp_path / "copy.sqlite") as copy:
        import_file(copy, file, actor="restore")
        mine = _admin(store).drop(columns=["name", "phone", "notes"])
        pd.testing.assert_frame_equal(_admin(copy), mine)


def test_parquet_export_keeps_values_and_types(store, tmp_path):
    pytest.importorskip("pyarrow")
    county = write_county(tmp_path / "county", 50, seed=8)
    import_file(store, county[0], actor="t")
    file = export_table(store, "households", tmp_path / "h.parquet")
    back = pd.read_parquet(file)
    mine = _admin(store)
    assert list(back.columns) == list(mine.columns)
    assert back["income_per_capita"].tolist() == mine["income_per_capita"].tolist()
    assert back["causes"].tolist() == mine["causes"].tolist()
    assert back["size"].dtype == np.int64


def test_projects_update_and_kind_is_guessed(store, tmp_path):
    _, projects_csv = write_county(tmp_path / "county", 20, seed=4, n_projects=6)
    first = import_file(store, projects_csv, actor="funder desk")
    assert (first.kind, first.inserted) == ("projects", 6)
    raw = pd.read_csv(projects_csv, dtype=str, keep_default_na=False)
    raw.loc[2, "budget"] = str(float(raw.loc[2, "budget"]) + 1000)
    raw.to_csv(projects_csv, index=False)
    second = import_file(store, projects_csv, actor="funder desk")
    assert (second.updated, second.unchanged, second.fields) == (1, 5, {"budget": 1})
    stored = view(store, "projects", ADMIN).set_index("project_id")
    assert stored.loc[raw.loc[2, "project_id"], "budget"] == float(raw.loc[2, "budget"])
    assert stored.loc[raw.loc[2, "project_id"], "version"] == 2


def test_pledges_to_unknown_households_write_nothing(store, tmp_path):
    path = tmp_path / "pledges.csv"
    pd.DataFrame(
        {
            "pledge_id": ["G1"],
            "funder": ["F"],
            "household_id": ["nobody"],
            "amount": ["5"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="no such household"):
        import_file(store, path, actor="t")
    assert _count(store, audit_log) == 0
