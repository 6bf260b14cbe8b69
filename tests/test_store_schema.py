"""The store's schema: URLs, migrations from the first schema, SQLite settings."""

from __future__ import annotations

import datetime as dt
import socket

import pandas as pd
import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from zfb.errors import ZfbError
from zfb.matching.states import MATCH_STATES
from zfb.store import (
    ConflictError,
    StoreError,
    match_book,
    open_store,
    resolve_url,
    view,
)
from zfb.store.engine import ENV_URL, current_revision, make_engine, upgrade
from zfb.store.roles import Role

# fixtures
store_url = support.store_url
store = support.store

HEAD = "0003"


# URLs
def test_a_path_is_a_sqlite_file(tmp_path):
    url = resolve_url(tmp_path / "a" / "county.sqlite")
    assert url.get_backend_name() == "sqlite"
    assert url.database == str((tmp_path / "a" / "county.sqlite").resolve())


def test_default_is_zfb_sqlite_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_url().database == str(tmp_path.resolve() / "zfb.sqlite")
    with open_store() as s:
        assert s.dialect == "sqlite"
    assert (tmp_path / "zfb.sqlite").is_file()


def test_environment_variable_names_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert resolve_url().database.endswith("env.sqlite")


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@127.0.0.1:5/db",  # the short scheme Heroku-style URLs use
        "postgresql://u:p@127.0.0.1:5/db",
        "postgresql+psycopg2://u:p@127.0.0.1:5/db",  # driver not installed
    ],
)
def test_postgresql_urls_use_psycopg(url):
    assert resolve_url(url).drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "url, words",
    [
        ("mysql://u@h/db", "not supported"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("postgresql://u@h:notaport/db", "cannot parse"),
    ],
)
def test_bad_urls_say_what_to_write(url, words):
    with pytest.raises(StoreError, match=words):
        resolve_url(url)


def test_not_a_database_file(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the pages of a database\n" * 200)
    with pytest.raises(StoreError, match="not a database"):
        open_store(path)


def test_unreachable_server_is_a_clear_error_without_the_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nothing listens on the port once the socket is closed
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql://zfb:s3cret-pw@127.0.0.1:{port}/zfb")
    assert "s3cret-pw" not in str(info.value)
    assert isinstance(info.value, ZfbError)


# SQLite settings
def test_sqlite_uses_wal_and_foreign_keys(tmp_path):
    with open_store(tmp_path / "s.sqlite") as s, s.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql(
                "INSERT INTO needs (household_id, version, created_at, updated_at) "
                "VALUES ('nobody', 1, '2016-05-04', '2016-05-04')"
            )


# migrations
def test_a_new_store_is_at_the_newest_revision(store):
    assert current_revision(store.engine) == HEAD
    assert len(store.salt) == 32


def test_models_agree_with_the_migrations(store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from zfb.store.models import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def _first_schema_with_a_household(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO causes (taxonomy_version, code, level, name_zh, name_en) "
                "VALUES ('old', 'ILL', 1, '因病', 'illness')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO households (household_id, township, village, size, "
                "income_per_capita, taxonomy_version, version, created_at, "
                "updated_at) VALUES ('H1', '泼机镇', '泼机镇第1村', 4, 1800.5, 'old', "
                "3, :t, :t)"
            ),
            {"t": "2016-05-04 00:00:00"},
        )
        conn.execute(
            sa.text("INSERT INTO household_causes VALUES ('H1', 0, 'old', 'ILL')")
        )
    with pytest.raises(sa.exc.NoSuchTableError):
        sa.Table("members", sa.MetaData(), autoload_with=engine)
    engine.dispose()


def test_a_store_of_the_first_schema_opens_and_upgrades(store_url):
    _first_schema_with_a_household(store_url)
    with open_store(store_url) as s:
        assert current_revision(s.engine) == HEAD
        h = view(s, "households", Role.administrator())
        assert h["household_id"].tolist() == ["H1"]
        assert h.loc[0, "causes"] == "ILL"
        assert h.loc[0, "income_per_capita"] == 1800.5
        assert h.loc[0, "version"] == 3
        assert view(s, "members", Role.administrator()).empty


def test_migrate_false_refuses_an_old_store(store_url):
    _first_schema_with_a_household(store_url)
    with pytest.raises(StoreError, match="0001"):
        open_store(store_url, migrate=False)
    with open_store(store_url, migrate=True) as s:
        assert current_revision(s.engine) == HEAD


def test_a_store_of_a_newer_zfb_is_refused(store):
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9001'"))
    with pytest.raises(StoreError, match="newer zfb"):
        open_store(store.engine.url)


# 0002 -> 0003: the match states of zfb.matching.states
_T = sa.DateTime(timezone=True)
_OLD_MATCHES = sa.table(
    "matches",
    *[sa.column(c) for c in ("match_id", "household_id", "project_id", "amount")],
    sa.column("status"),
    sa.column("version"),
    sa.column("created_at", _T),
    sa.column("updated_at", _T),
)
_OLD_HISTORY = sa.table(
    "match_history",
    *[sa.column(c) for c in ("match_id", "status_from", "status_to", "actor")],
    sa.column("at", _T),
)
_OLD_AUDIT = sa.table(
    "audit_log",
    *[sa.column(c) for c in ("actor", "action", "table_name", "record_key")],
    sa.column("detail"),
    sa.column("at", _T),
)
# match id: (the path of its history, who closed it, its status), as zfb
# before schema 0003 wrote them; the expected state after the upgrade
_CLOSED = {
    1: (["proposed", "closed"], "match run", "withdrawn"),
    2: (["proposed", "closed"], "cadre:3", "declined"),
    3: (["proposed", "accepted", "closed"], "cadre:3", "declined"),
    4: (["proposed", "accepted", "funded", "closed"], "funder:7", "delivered"),
    5: (["proposed"], "match run", "expired"),  # closed without a history row
    6: (["proposed", "accepted"], "funder:7", "accepted"),
    7: (["proposed"], "match run", "proposed"),
}


def _at(day: int) -> dt.datetime:
    return dt.datetime(2016, 5, day, 9, 30, tzinfo=dt.UTC)


def _schema_0002_with_closed_matches(url: str) -> None:
    _first_schema_with_a_household(url)
    engine = make_engine(url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO funders (name, version, created_at, updated_at) "
                "VALUES ('星芽基金会(示例)', 1, :t, :t)"
            ),
            {"t": _at(1)},
        )
        for mid in _CLOSED:
            conn.execute(
                sa.text(
                    "INSERT INTO projects (project_id, funder_id, tags, budget, "
                    "capacity, townships, modes, version, created_at, updated_at) "
                    "VALUES (:p, 1, 'ILL', 1000, 10, '泼机镇', 'single', 1, :t, :t)"
                ),
                {"p": f"P{mid}", "t": _at(1)},
            )
        for mid, (path, who, _) in _CLOSED.items():
            status = "closed" if mid == 5 else path[-1]
            conn.execute(
                sa.insert(_OLD_MATCHES),
                {
                    "match_id": mid,
                    "household_id": "H1",
                    "project_id": f"P{mid}",
                    "amount": 100.0 * mid,
                    "status": status,
                    "version": len(path),
                    "created_at": _at(2),
                    "updated_at": _at(1 + len(path)),
                },
            )
            steps = [None, *path]
            for k in range(len(path)):
                actor = "match run" if k == 0 else who
                conn.execute(
                    sa.insert(_OLD_HISTORY),
                    {
                        "match_id": mid,
                        "status_from": steps[k],
                        "status_to": steps[k + 1],
                        "actor": actor,
                        "at": _at(2 + k),
                    },
                )
                if k and actor != "match run":  # set_match_status logged it
                    conn.execute(
                        sa.insert(_OLD_AUDIT),
                        {
                            "actor": actor,
                            "action": "status",
                            "table_name": "matches",
                            "record_key": str(mid),
                            "detail": f"{steps[k]} -> {steps[k + 1]}",
                            "at": _at(2 + k),
                        },
                    )
    engine.dispose()


def test_a_store_of_schema_0002_keeps_its_matches_and_their_history(store_url):
    _schema_0002_with_closed_matches(store_url)
    with open_store(store_url) as s:
        assert current_revision(s.engine) == HEAD
        admin = Role.administrator()
        found = view(s, "matches", admin).set_index("match_id")
        history = view(s, "match_history", admin)
        log = view(s, "audit_log", admin)

        # each closed match says how it was closed; the others are as they were
        assert found["status"].to_dict() == {m: c[2] for m, c in _CLOSED.items()}
        assert found["version"].to_dict() == {m: len(c[0]) for m, c in _CLOSED.items()}
        assert found["amount"].to_dict() == {m: 100.0 * m for m in _CLOSED}
        with s.read() as conn:
            times = dict(
                conn.execute(sa.text("SELECT match_id, updated_at FROM matches")).all()
            )
        assert {m: pd.to_datetime(t, utc=True) for m, t in times.items()} == {
            m: pd.Timestamp(_at(1 + len(c[0]))) for m, c in _CLOSED.items()
        }

        # the history keeps every row, with who and when; the closings are
        # renamed and say so
        assert len(history) == sum(len(c[0]) for c in _CLOSED.values())
        assert set(history["status_to"]) <= set(MATCH_STATES)
        for mid, (path, who, state) in _CLOSED.items():
            mine = history[history["match_id"] == mid]
            expected = [state if s == "closed" else s for s in path]
            assert mine["status_to"].tolist() == expected
            assert mine["actor"].tolist()[1:] == [who] * (len(path) - 1)
            assert mine["at"].tolist() == [
                pd.Timestamp(_at(2 + k)) for k in range(len(path))
            ]
        renamed = history[history["note"].notna()]
        assert sorted(renamed["match_id"]) == [1, 2, 3, 4]
        assert set(renamed["note"]) == {"recorded as closed before schema 0003"}

        # the upgrade is in the audit log, match by match
        mine = log[log["actor"] == "zfb schema 0003"]
        assert dict(zip(mine["record_key"], mine["detail"], strict=True)) == {
            str(m): f"closed -> {c[2]}" for m, c in _CLOSED.items() if m <= 5
        }

        # the library reads the histories back, rule by rule
        book = match_book(s, [st for st in MATCH_STATES if st != "expired"])
        assert {m.match_id: m.status for m in book} == {
            str(m): c[2] for m, c in _CLOSED.items() if m != 5
        }
        # and the old word is refused from now on
        with pytest.raises(ConflictError), s.write() as conn:
            conn.execute(
                sa.text("UPDATE matches SET status = 'closed' WHERE match_id = 7")
            )
