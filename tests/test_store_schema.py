"""The store's schema: URLs, migrations from the first schema, SQLite settings."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests import test_store_support as support
from zfb.errors import ZfbError
from zfb.store import StoreError, open_store, resolve_url, view
from zfb.store.engine import ENV_URL, current_revision, make_engine, upgrade
from zfb.store.roles import Role

# fixtures
store_url = support.store_url
store = support.store

HEAD = "0002"


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
