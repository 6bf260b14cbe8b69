"""Opening a store: database URLs, engines and schema upgrades.

A store is a SQLAlchemy database, a SQLite file by default and PostgreSQL
when a county runs a server. Its URL comes from the ``--db`` option of a
command, else the ``ZFB_DATABASE_URL`` environment variable, else the file
``zfb.sqlite`` in the current folder. :func:`open_store` upgrades the schema
to the newest migration, so a store made by an older zfb opens in a newer one.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from .errors import ConflictError, StoreError
from .names import ENV_URL

__all__ = [
    "DEFAULT_FILE",
    "ENV_URL",
    "Store",
    "make_engine",
    "open_store",
    "resolve_url",
    "upgrade",
]

logger = logging.getLogger(__name__)

#: File of the default SQLite store, in the current folder.
DEFAULT_FILE = "zfb.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Seconds a SQLite writer waits for another writer before giving up.
SQLITE_TIMEOUT = 60.0
# key of the PostgreSQL advisory lock taken while the schema is upgraded
_UPGRADE_LOCK = 0x7A6662


def resolve_url(url: str | os.PathLike | None = None) -> URL:
    """Return the URL of the store to open.

    Parameters
    ----------
    url : str or path-like, optional
        A database URL (``sqlite:///path``, ``postgresql://user@host/db``)
        or the path of a SQLite file. Default: ``ZFB_DATABASE_URL``, else
        ``zfb.sqlite`` in the current folder.

    Returns
    -------
    sqlalchemy.engine.URL
        SQLite URLs carry an absolute path; ``postgresql://`` and
        ``postgres://`` use the psycopg (version 3) driver.

    Raises
    ------
    StoreError
        If the URL cannot be parsed, names a database other than SQLite or
        PostgreSQL, or is an in-memory SQLite database (each connection would
        see a different one).
    """
    if url is None:
        url = os.environ.get(ENV_URL) or DEFAULT_FILE
    text = os.fspath(url)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    if text.startswith("postgres://"):
        text = "postgresql://" + text.removeprefix("postgres://")
    try:
        parsed = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreError(
            "cannot parse the database URL; write it as sqlite:///FILE or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError(
                "an in-memory SQLite database cannot be a store (each connection "
                "would see another one); give a file: sqlite:///zfb.sqlite"
            )
        path = Path(parsed.database).expanduser().resolve()
        return parsed.set(drivername="sqlite", database=str(path))
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    raise StoreError(
        f"databases of type {backend!r} are not supported; use a SQLite file "
        "(sqlite:///FILE) or PostgreSQL (postgresql://...)"
    )


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # zfb opens transactions itself (BEGIN below), so that a writer can
        # take the write lock first and SQLite's busy timeout applies to it
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_TIMEOUT * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        write = conn.get_execution_options().get("zfb_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str | os.PathLike | URL | None = None) -> Engine:
    """Create the SQLAlchemy engine of a store, without touching its schema.

    SQLite connections use WAL mode (readers never wait for a writer),
    foreign keys and a busy timeout of 60 s; write transactions take the
    write lock when they begin (``BEGIN IMMEDIATE``), so two writers queue
    instead of failing halfway.
    """
    parsed = url if isinstance(url, URL) else resolve_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed, connect_args={"timeout": SQLITE_TIMEOUT, "check_same_thread": False}
        )
        _sqlite_events(engine)
    else:
        # no server-side prepared statements: they break behind a pooler
        # such as PgBouncer, and cost little to do without
        engine = sa.create_engine(
            parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None}
        )
    return engine


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(_alembic_config()).get_heads())


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision of a store (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema of a store to ``revision`` (default the newest).

    The upgrade runs in one transaction (SQLite and PostgreSQL both roll
    back DDL), under the write lock on SQLite and an advisory lock on
    PostgreSQL, so two processes opening a new store at once do not both
    create it.
    """
    from alembic import command

    config = _alembic_config()
    with engine.connect().execution_options(zfb_write=True) as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(conn, on=False)
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": _UPGRADE_LOCK},
                    )
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if sqlite:
                _foreign_keys(conn, on=True)


def _foreign_keys(conn: Connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys on or off, outside any transaction.

    A migration that changes a constraint on SQLite copies the table, drops
    the old one and renames the copy (Alembic's batch mode). With foreign
    keys on, dropping ``matches`` would first delete every row that refers
    to it with ``ON DELETE CASCADE``: its whole ``match_history``. The
    setting cannot change inside a transaction, hence the raw connection.
    """
    conn.connection.dbapi_connection.execute(
        f"PRAGMA foreign_keys={'ON' if on else 'OFF'}"
    )


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise StoreError(
            f"the schema upgrade left {len(broken)} row(s) whose reference is gone "
            f"(first: {table} row {rowid} -> {parent}); nothing was changed: "
            "report it with the store's schema revision"
        )


class Store:
    """An open store: an engine and the transactions that use it.

    Use :func:`open_store` to get one. Every read and write of zfb goes
    through :meth:`read` and :meth:`write`.

    Attributes
    ----------
    engine : sqlalchemy.engine.Engine
    url : str
        The URL with its password hidden, safe to print.
    dialect : {"sqlite", "postgresql"}
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.dialect = engine.dialect.name
        self._salt: bytes | None = None

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (one consistent snapshot)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise self._operational(exc) from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction: all of it commits, or none.

        Raises
        ------
        ConflictError
            When another writer won a race the database itself detected (the
            same new key inserted twice, a PostgreSQL serialisation failure
            or deadlock).
        StoreError
            When the database cannot be reached or stays locked.
        """
        try:
            with self.engine.connect().execution_options(zfb_write=True) as conn:
                with conn.begin():
                    yield conn
        except sa.exc.IntegrityError as exc:
            raise ConflictError(
                "",
                "",
                "another writer stored a record with the same key at the same "
                f"time, or a record it refers to is gone ({_reason(exc)}); read "
                "the records again and retry",
            ) from None
        except sa.exc.OperationalError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code in ("40001", "40P01"):
                raise ConflictError(
                    "",
                    "",
                    "the write collided with another writer's and was rolled "
                    "back; retry it",
                ) from None
            raise self._operational(exc) from None

    def _operational(self, exc: sa.exc.OperationalError) -> StoreError:
        text = _reason(exc)
        if "locked" in text:
            return StoreError(
                f"{self.url}: the database stayed locked by another writer for "
                f"{SQLITE_TIMEOUT:.0f} s; try again when it has finished"
            )
        return StoreError(f"{self.url}: the database failed: {text}")

    @property
    def salt(self) -> bytes:
        """Key of this store's analyst pseudonyms (made when the store is)."""
        if self._salt is None:
            from .models import settings

            with self.read() as conn:
                value = conn.execute(
                    sa.select(settings.c.value).where(
                        settings.c.key == "pseudonym_salt"
                    )
                ).scalar_one()
            self._salt = bytes.fromhex(value)
        return self._salt


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def new_salt() -> str:
    """A fresh random key for a store's pseudonyms, as hexadecimal."""
    return secrets.token_hex(32)


def open_store(url: str | os.PathLike | None = None, *, migrate: bool = True) -> Store:
    """Open a store, creating it or upgrading its schema when needed.

    Parameters
    ----------
    url : str or path-like, optional
        See :func:`resolve_url`; default ``ZFB_DATABASE_URL`` or
        ``zfb.sqlite`` in the current folder.
    migrate : bool, default True
        Upgrade the schema to the newest migration. With ``False`` a store
        whose schema is not the newest raises :class:`StoreError`.

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        If the database cannot be reached, or was made by a newer zfb (its
        schema revision is unknown to this one).
    """
    engine = make_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store {shown}: {_reason(exc)}") from None
    except sa.exc.DatabaseError as exc:
        engine.dispose()
        raise StoreError(
            f"{shown} is not a database zfb can use: {_reason(exc)}"
        ) from None
    heads = _heads()
    if current not in heads:
        from alembic.script import ScriptDirectory

        known = {
            rev.revision
            for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
        }
        if current is not None and current not in known:
            engine.dispose()
            raise StoreError(
                f"the store {shown} has schema revision {current!r}, made by a newer "
                "zfb; upgrade zfb to open it"
            )
        if not migrate:
            engine.dispose()
            raise StoreError(
                f"the store {shown} has schema revision {current!r}, not the "
                f"newest {heads[0]!r}; open it with migrate=True to upgrade it"
            )
        logger.info("upgrading the store %s from %s to %s", shown, current, heads[0])
        upgrade(engine)
    return Store(engine)
