"""Writing records: households, projects, needs, matches and pledges.

Every write runs in one transaction of :meth:`Store.write` and checks the
``version`` of each record it changes (optimistic locking): the statement is
``UPDATE ... SET ..., version = version + 1 WHERE key = :key AND version =
:version_read``, and a record that moved on since it was read makes the whole
write fail with :class:`ConflictError`, so no update is ever lost. Each change
adds entries to the audit log naming the fields changed, never their values.

A match moves through the states of :mod:`zfb.matching.states`, by its rules;
every change of its status is a row of ``match_history`` (who, when, from,
to, why) and an entry of the audit log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import math
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import Problem, ValidationError
from ..matching.states import (
    FINAL_STATES,
    HELD_STATES,
    HISTORY_COLUMNS,
    MATCH_STATES,
    RUN_STATES,
    TRANSITIONS,
    MatchBook,
)
from ..taxonomy import Taxonomy, load_taxonomy
from . import audit
from .engine import Store
from .errors import ConflictError, StoreError
from .models import (
    HOUSEHOLD_COLUMNS,
    PLEDGE_STATUSES,
    causes,
    funders,
    household_causes,
    households,
    match_history,
    matches,
    needs,
    pledges,
    projects,
)

__all__ = [
    "HOUSEHOLD_FIELDS",
    "NOTE_PROPOSED_AGAIN",
    "NOTE_WITHDRAWN",
    "PROJECT_FIELDS",
    "WriteCounts",
    "accept_match",
    "add_pledge",
    "match_book",
    "save_matches",
    "set_match_status",
    "update_household",
    "update_need",
]

logger = logging.getLogger(__name__)

_HH_SCALARS: tuple[str, ...] = tuple(
    c for c in HOUSEHOLD_COLUMNS if c != "household_id"
)
#: Fields of a household record, as an import compares them: the columns of
#: ``households``, its causes, its need, and ``extra`` (other input columns).
HOUSEHOLD_FIELDS: tuple[str, ...] = (
    *_HH_SCALARS,
    "causes",
    "need_kind",
    "need_amount",
    "extra",
)
_PROJECT_SCALARS: tuple[str, ...] = (
    "title",
    "tags",
    "budget",
    "capacity",
    "townships",
    "per_household_cap",
    "modes",
    "start_date",
    "end_date",
)
#: Fields of a project record.
PROJECT_FIELDS: tuple[str, ...] = ("funder", *_PROJECT_SCALARS, "extra")
_CHUNK = 500  # keys per IN (...) list
_SCAN_FROM = 2000  # keys from which a whole table is read instead of IN lists
_COPY_FROM = 100  # rows from which PostgreSQL inserts use COPY


@dataclass(frozen=True)
class WriteCounts:
    """What a write did.

    Attributes
    ----------
    inserted, updated, unchanged : list of str
        Keys of the records inserted, updated and left as they were.
    fields : dict of str to int
        For each field, how many updated records changed it.
    """

    inserted: list[str]
    updated: list[str]
    unchanged: list[str]
    fields: dict[str, int]


# values
def py(value: object) -> object:
    """Turn a pandas or numpy scalar into a plain Python value (NA to None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def plain(values: pd.Series) -> list[object]:
    """:func:`py` for a whole column, fast."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return [None if pd.isna(v) else v.date() for v in values]
    missing = values.isna().tolist()
    return [None if m else v for v, m in zip(values.tolist(), missing, strict=True)]


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b


def _chunks(keys: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _json(extra: Mapping[str, str]) -> str | None:
    return (
        json.dumps(dict(extra), ensure_ascii=False, sort_keys=True) if extra else None
    )


def _unjson(text: str | None) -> dict[str, str]:
    return json.loads(text) if text else {}


def bulk_insert(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows with the same keys: ``COPY`` on PostgreSQL, an
    ``executemany`` elsewhere, in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < _COPY_FROM:
        conn.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    finally:
        cursor.close()


def insert_ignore(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows, skipping those whose key another writer stored first."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).on_conflict_do_nothing(), rows)


def _check_rowcount(result, expected: int, table: str, key: str = "") -> None:
    if result.rowcount != expected:
        what = f"{table} {key}" if key else f"{expected - result.rowcount} {table}"
        raise ConflictError(
            table,
            key,
            f"{what} changed since it was read (another writer got there "
            "first); nothing was written: read again and redo the change",
        )


def _update_many(
    conn: Connection, table: sa.Table, key: str, rows: list[dict], what: str
) -> None:
    """``UPDATE table SET ... WHERE key = :b_key AND version = :b_version``."""
    if not rows:
        return
    columns = [c for c in rows[0] if not c.startswith("b_")]
    stmt = (
        table.update()
        .where(table.c[key] == sa.bindparam("b_key"))
        .where(table.c.version == sa.bindparam("b_version"))
        .values({c: sa.bindparam(c) for c in columns})
        .values(version=table.c.version + 1)
    )
    if conn.dialect.supports_sane_multi_rowcount:
        _check_rowcount(conn.execute(stmt, rows), len(rows), what)
    else:
        for row in rows:
            _check_rowcount(conn.execute(stmt, row), 1, what, str(row["b_key"]))


def audit_writes(
    conn: Connection,
    table: str,
    inserted: list[str],
    updated: list[str],
    unchanged: list[str],
    changes: Mapping[str, Sequence[str]],
    *,
    actor: str,
    at: dt.datetime,
) -> WriteCounts:
    """Log a write of many records in the audit log, and count it.

    One ``insert`` entry per key of ``inserted`` and one ``update`` entry
    per key of ``updated``, naming the fields ``changes`` lists for it
    (never their values), in ``conn``'s transaction.

    Returns
    -------
    WriteCounts
        The three lists, and for each field how many updated records
        changed it.
    """
    audit.record_many(
        conn,
        actor=actor,
        action="insert",
        table=table,
        entries=[(key, ()) for key in inserted],
        at=at,
    )
    audit.record_many(
        conn,
        actor=actor,
        action="update",
        table=table,
        entries=[(key, changes[key]) for key in updated],
        at=at,
    )
    fields = Counter(f for key in updated for f in changes[key])
    return WriteCounts(inserted, updated, unchanged, dict(fields))


# taxonomy and funders
def ensure_taxonomy(conn: Connection, taxonomy: Taxonomy) -> None:
    """Store the causes of ``taxonomy`` under its version, once."""
    table = taxonomy.causes
    rows = [
        {
            "taxonomy_version": taxonomy.version,
            "code": code,
            "level": int(table.at[code, "level"]),
            "parent": table.at[code, "parent"] or None,
            "name_zh": str(table.at[code, "name_zh"]),
            "name_en": str(table.at[code, "name_en"]),
        }
        for code in table.index
    ]
    found = conn.execute(
        sa.select(sa.func.count())
        .select_from(causes)
        .where(causes.c.taxonomy_version == taxonomy.version)
    ).scalar_one()
    if found < len(rows):
        insert_ignore(conn, causes, rows)


def funder_ids(conn: Connection, names: Iterable[str], *, at: dt.datetime) -> dict:
    """Return ``{name: funder_id}``, adding the funders not yet stored."""
    names = sorted(set(names))
    known: dict[str, int] = {}
    for chunk in _chunks(names):
        for fid, name in conn.execute(
            sa.select(funders.c.funder_id, funders.c.name).where(
                funders.c.name.in_(chunk)
            )
        ):
            known[name] = fid
    missing = [n for n in names if n not in known]
    if missing:
        insert_ignore(
            conn,
            funders,
            [
                {"name": n, "version": 1, "created_at": at, "updated_at": at}
                for n in missing
            ],
        )
        for chunk in _chunks(missing):
            for fid, name in conn.execute(
                sa.select(funders.c.funder_id, funders.c.name).where(
                    funders.c.name.in_(chunk)
                )
            ):
                known[name] = fid
    return known


# households
def household_records(
    table: pd.DataFrame,
) -> tuple[tuple[str, ...], dict[str, dict[str, object]]]:
    """Turn a canonical households table into records.

    Returns
    -------
    fields : tuple of str
        The fields the table carries (its columns; ``extra`` when it has
        columns that are not canonical).
    records : dict
        ``{household_id: {field: value}}`` with plain Python values (None
        for NA), ``causes`` as a tuple of codes and ``extra`` as a dict of
        str to str.
    """
    known = set(HOUSEHOLD_FIELDS) | {"household_id"}
    extras = [c for c in table.columns if c not in known]
    fields = tuple(f for f in HOUSEHOLD_FIELDS if f in table.columns)
    if extras:
        fields += ("extra",)
    fields_plain = [f for f in fields if f not in ("causes", "extra")]
    ids = table["household_id"].astype(str).tolist()
    columns = {f: plain(table[f]) for f in fields_plain}
    cause_lists = [
        tuple(p for p in str(c).split(";") if p) for c in table["causes"].tolist()
    ]
    extra_columns = {c: table[c].tolist() for c in extras}
    records: dict[str, dict[str, object]] = {}
    for i, hid in enumerate(ids):
        rec: dict[str, object] = {f: columns[f][i] for f in fields_plain}
        rec["causes"] = cause_lists[i]
        if extras:
            rec["extra"] = {
                c: "" if py(v[i]) is None else str(v[i])
                for c, v in extra_columns.items()
            }
        records[hid] = rec
    return fields, records


def existing_households(
    conn: Connection, ids: Sequence[str], *, lock: bool = False
) -> dict[str, dict[str, object]]:
    """Read the stored records of ``ids`` (those that exist), as compared.

    Each record has every field of :data:`HOUSEHOLD_FIELDS` plus
    ``_version``, ``_taxonomy_version``, ``_need_id``, ``_need_version``
    and ``_need_cause``. With ``lock`` the rows are locked until the
    transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
    write lock already covers them). Many keys are read with one scan of
    each table rather than lists of keys.
    """
    wanted = set(ids)
    if len(wanted) >= _SCAN_FROM:
        groups: list[Sequence[str] | None] = [None]
    else:
        groups = list(_chunks(sorted(wanted)))
    out: dict[str, dict[str, object]] = {}
    for chunk in groups:

        def where(stmt, column, chunk=chunk):
            return stmt if chunk is None else stmt.where(column.in_(chunk))

        stmt = where(sa.select(households), households.c.household_id)
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        result = conn.execute(stmt)
        keys = list(result.keys())
        for values in result:
            row = dict(zip(keys, values, strict=True))
            if row["household_id"] not in wanted:
                continue
            rec = {f: row[f] for f in _HH_SCALARS}
            rec.update(
                causes=(),
                need_kind=None,
                need_amount=None,
                extra=_unjson(row["extra"]),
                _version=row["version"],
                _taxonomy_version=row["taxonomy_version"],
                _need_id=None,
                _need_version=None,
                _need_cause=None,
            )
            out[row["household_id"]] = rec
        codes: dict[str, list[str]] = {}
        stmt = sa.select(household_causes.c.household_id, household_causes.c.code)
        stmt = where(stmt, household_causes.c.household_id).order_by(
            household_causes.c.household_id, household_causes.c.rank
        )
        for hid, code in conn.execute(stmt):
            if hid in out:
                codes.setdefault(hid, []).append(code)
        for hid, cs in codes.items():
            out[hid]["causes"] = tuple(cs)
        stmt = where(sa.select(needs), needs.c.household_id)
        for row in conn.execute(stmt.order_by(needs.c.need_id)).mappings():
            rec = out.get(row["household_id"])
            if rec is None or rec["_need_id"] is not None:
                continue  # the first need (lowest need_id) is the file's
            rec.update(
                need_kind=row["kind"],
                need_amount=row["amount"],
                _need_id=row["need_id"],
                _need_version=row["version"],
                _need_cause=row["cause"],
            )
    return out


def _merge(old: Mapping[str, object], new: Mapping[str, object], fields) -> dict:
    merged = {f: old[f] for f in HOUSEHOLD_FIELDS}
    for f in fields:
        merged[f] = {**old["extra"], **new["extra"]} if f == "extra" else new[f]
    return merged


def _changed(old: Mapping[str, object], merged: Mapping[str, object]) -> list[str]:
    return [f for f in HOUSEHOLD_FIELDS if not _same(old[f], merged[f])]


def _need_row(rec: Mapping[str, object]) -> tuple[object, object, object] | None:
    if rec["need_kind"] is None and rec["need_amount"] is None:
        return None
    main = rec["causes"][0] if rec["causes"] else None
    return rec["need_kind"], rec["need_amount"], main


def write_households(
    conn: Connection,
    records: Mapping[str, Mapping[str, object]],
    fields: Sequence[str],
    *,
    actor: str,
    taxonomy: Taxonomy,
    expected: Mapping[str, int] | None = None,
) -> WriteCounts:
    """Insert new households and update changed ones, in ``conn``'s transaction.

    Parameters
    ----------
    records, fields
        From :func:`household_records`. A field not in ``fields`` keeps its
        stored value.
    expected : mapping of str to int, optional
        Versions the caller read; a stored record at another version raises
        :class:`ConflictError`. Without it the versions read here are used,
        which still catches a writer that commits in between (PostgreSQL).
    """
    at = audit.now()
    ensure_taxonomy(conn, taxonomy)
    ids = list(records)
    old = existing_households(conn, ids)
    if expected:
        for hid, version in expected.items():
            if hid in old and old[hid]["_version"] != version:
                raise ConflictError(
                    "households",
                    hid,
                    f"household {hid} is at version {old[hid]['_version']}, not "
                    f"{version} as read; another writer changed it: read it "
                    "again and redo the change",
                )

    # sort records into inserts, updates and unchanged
    inserted, updated, unchanged = [], [], []
    changes: dict[str, list[str]] = {}
    merged_of: dict[str, dict] = {}
    for hid in ids:
        new = records[hid]
        if hid not in old:
            inserted.append(hid)
            continue
        merged = _merge(old[hid], new, fields)
        diff = _changed(old[hid], merged)
        if diff:
            updated.append(hid)
            changes[hid] = diff
            merged_of[hid] = merged
        else:
            unchanged.append(hid)

    # inserts
    logger.debug(
        "writing households: %d new, %d changed, %d unchanged",
        len(inserted),
        len(updated),
        len(unchanged),
    )
    if inserted:
        rows, cause_rows, need_rows = [], [], []
        for hid in inserted:
            rec = {f: None for f in HOUSEHOLD_FIELDS} | dict(records[hid])
            rec["extra"] = rec["extra"] or {}
            rows.append(
                {"household_id": hid}
                | {f: rec[f] for f in _HH_SCALARS}
                | {
                    "extra": _json(rec["extra"]),
                    "taxonomy_version": taxonomy.version,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            cause_rows += [
                {
                    "household_id": hid,
                    "rank": r,
                    "taxonomy_version": taxonomy.version,
                    "code": c,
                }
                for r, c in enumerate(rec["causes"])
            ]
            need = _need_row(rec)
            if need is not None:
                need_rows.append(
                    {
                        "household_id": hid,
                        "kind": need[0],
                        "amount": need[1],
                        "cause": need[2],
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
        bulk_insert(conn, households, rows)
        if cause_rows:
            bulk_insert(conn, household_causes, cause_rows)
        if need_rows:
            bulk_insert(conn, needs, need_rows)

    # updates
    if updated:
        rows = []
        recoded = []
        need_updates, need_inserts, need_deletes = [], [], []
        for hid in updated:
            merged, prev = merged_of[hid], old[hid]
            version = "causes" in changes[hid]
            rows.append(
                {f: merged[f] for f in _HH_SCALARS}
                | {
                    "extra": _json(merged["extra"]),
                    "taxonomy_version": taxonomy.version
                    if version
                    else prev["_taxonomy_version"],
                    "updated_at": at,
                    "b_key": hid,
                    "b_version": prev["_version"],
                }
            )
            if version:
                recoded.append(hid)
            need, stored = _need_row(merged), prev["_need_id"]
            was = (prev["need_kind"], prev["need_amount"], prev["_need_cause"])
            if need is None and stored is not None:
                need_deletes.append(stored)
            elif need is not None and stored is None:
                need_inserts.append(
                    {
                        "household_id": hid,
                        "kind": need[0],
                        "amount": need[1],
                        "cause": need[2],
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            elif need is not None and any(
                not _same(a, b) for a, b in zip(need, was, strict=True)
            ):
                need_updates.append(
                    {
                        "kind": need[0],
                        "amount": need[1],
                        "cause": need[2],
                        "updated_at": at,
                        "b_key": stored,
                        "b_version": prev["_need_version"],
                    }
                )
        _update_many(conn, households, "household_id", rows, "households")
        for chunk in _chunks(recoded):
            conn.execute(
                household_causes.delete().where(
                    household_causes.c.household_id.in_(chunk)
                )
            )
        cause_rows = [
            {
                "household_id": hid,
                "rank": r,
                "taxonomy_version": taxonomy.version,
                "code": c,
            }
            for hid in recoded
            for r, c in enumerate(merged_of[hid]["causes"])
        ]
        if cause_rows:
            bulk_insert(conn, household_causes, cause_rows)
        _update_many(conn, needs, "need_id", need_updates, "needs")
        if need_inserts:
            bulk_insert(conn, needs, need_inserts)
        for chunk in _chunks(need_deletes):
            conn.execute(needs.delete().where(needs.c.need_id.in_(chunk)))

    return audit_writes(
        conn, "households", inserted, updated, unchanged, changes, actor=actor, at=at
    )


# projects
def project_records(
    table: pd.DataFrame,
) -> tuple[tuple[str, ...], dict[str, dict[str, object]]]:
    """Turn a canonical projects table into records (see
    :func:`household_records`)."""
    known = set(PROJECT_FIELDS) | {"project_id"}
    extras = [c for c in table.columns if c not in known]
    fields = tuple(f for f in PROJECT_FIELDS if f in table.columns)
    if extras:
        fields += ("extra",)
    fields_plain = [f for f in fields if f != "extra"]
    ids = table["project_id"].astype(str).tolist()
    columns = {f: plain(table[f]) for f in fields_plain}
    extra_columns = {c: table[c].tolist() for c in extras}
    records = {}
    for i, pid in enumerate(ids):
        rec: dict[str, object] = {f: columns[f][i] for f in fields_plain}
        if extras:
            rec["extra"] = {
                c: "" if py(v[i]) is None else str(v[i])
                for c, v in extra_columns.items()
            }
        records[pid] = rec
    return fields, records


def existing_projects(conn: Connection, ids: Sequence[str]) -> dict[str, dict]:
    """Read the stored records of project ``ids`` (those that exist)."""
    out = {}
    for chunk in _chunks(list(ids)):
        stmt = (
            sa.select(projects, funders.c.name.label("funder_name"))
            .join(funders, funders.c.funder_id == projects.c.funder_id)
            .where(projects.c.project_id.in_(chunk))
        )
        for row in conn.execute(stmt).mappings():
            rec = {f: row[f] for f in _PROJECT_SCALARS}
            rec.update(
                funder=row["funder_name"],
                extra=_unjson(row["extra"]),
                _version=row["version"],
            )
            out[row["project_id"]] = rec
    return out


def write_projects(
    conn: Connection,
    records: Mapping[str, Mapping[str, object]],
    fields: Sequence[str],
    *,
    actor: str,
) -> WriteCounts:
    """Insert new projects and update changed ones (see
    :func:`write_households`)."""
    at = audit.now()
    ids = list(records)
    old = existing_projects(conn, ids)
    names = [rec["funder"] for rec in records.values() if rec.get("funder")]
    names += [rec["funder"] for rec in old.values()]
    fids = funder_ids(conn, names, at=at)
    inserted, updated, unchanged = [], [], []
    rows_in, rows_up, changes = [], [], {}
    for pid in ids:
        new = records[pid]
        if pid not in old:
            rec = {f: None for f in PROJECT_FIELDS} | dict(new)
            rows_in.append(
                {"project_id": pid, "funder_id": fids[rec["funder"]]}
                | {f: rec[f] for f in _PROJECT_SCALARS}
                | {
                    "extra": _json(rec["extra"] or {}),
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            inserted.append(pid)
            continue
        prev = old[pid]
        merged = {f: prev[f] for f in PROJECT_FIELDS}
        for f in fields:
            merged[f] = {**prev["extra"], **new["extra"]} if f == "extra" else new[f]
        diff = [f for f in PROJECT_FIELDS if not _same(prev[f], merged[f])]
        if not diff:
            unchanged.append(pid)
            continue
        updated.append(pid)
        changes[pid] = diff
        rows_up.append(
            {"funder_id": fids[merged["funder"]]}
            | {f: merged[f] for f in _PROJECT_SCALARS}
            | {
                "extra": _json(merged["extra"]),
                "updated_at": at,
                "b_key": pid,
                "b_version": prev["_version"],
            }
        )
    if rows_in:
        bulk_insert(conn, projects, rows_in)
    _update_many(conn, projects, "project_id", rows_up, "projects")
    return audit_writes(
        conn, "projects", inserted, updated, unchanged, changes, actor=actor, at=at
    )


# single records
def _text(value: object) -> str:
    value = py(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def update_household(
    store: Store,
    household_id: str,
    changes: Mapping[str, object],
    *,
    version: int,
    actor: str,
    taxonomy: Taxonomy | None = None,
) -> int:
    """Change fields of one household, as an intake page does.

    The household as stored, with ``changes`` applied, is checked by the
    same rules as a file (:func:`zfb.io.validate_households`).

    Parameters
    ----------
    store : Store
    household_id : str
    changes : mapping
        Field to new value: any of :data:`HOUSEHOLD_FIELDS` except
        ``extra`` (``causes`` as codes or labels, joined by ``;`` or as a
        list); ``None`` or ``""`` clears an optional field.
    version : int
        The version of the household the change was made on.
    actor : str
        Who makes the change (recorded in the audit log).
    taxonomy : Taxonomy, optional
        Default :func:`zfb.load_taxonomy`.

    Returns
    -------
    int
        The household's new version (``version`` when nothing changed).

    Raises
    ------
    ConflictError
        If the household is no longer at ``version``.
    ValidationError
        If a field is unknown or a value breaks its column's rule.
    StoreError
        If there is no such household.
    """
    from ..io import validate_households

    tax = taxonomy or load_taxonomy()
    unknown = [f for f in changes if f not in HOUSEHOLD_FIELDS or f == "extra"]
    if unknown:
        raise ValidationError(
            [
                Problem(
                    f"household {household_id}",
                    None,
                    f,
                    "",
                    "not a field of a household; use one of "
                    + ", ".join(HOUSEHOLD_FIELDS[:-1]),
                )
                for f in unknown
            ]
        )
    with store.write() as conn:
        old = existing_households(conn, [household_id], lock=True).get(household_id)
        if old is None:
            raise StoreError(f"no household {household_id} in the store")
        if old["_version"] != version:
            raise ConflictError(
                "households",
                household_id,
                f"household {household_id} is at version {old['_version']}, not "
                f"{version} as read; another writer changed it: read it again "
                "and redo the change",
            )
        raw = {"household_id": household_id}
        raw |= {f: _text(old[f]) for f in HOUSEHOLD_FIELDS if f != "extra"}
        raw |= {f: _text(v) for f, v in changes.items()}
        canon = validate_households(
            pd.DataFrame([raw]),
            source=f"household {household_id}",
            taxonomy=tax,
            keep_personal=True,
        )
        fields, records = household_records(canon)
        counts = write_households(
            conn,
            records,
            fields,
            actor=actor,
            taxonomy=tax,
            expected={household_id: version},
        )
    return version + 1 if counts.updated else version


def update_need(
    store: Store,
    need_id: int,
    *,
    version: int,
    actor: str,
    amount: float | None = None,
    kind: str | None = None,
    taxonomy: Taxonomy | None = None,
) -> int:
    """Change the amount or kind of one need; return its new version.

    Raises
    ------
    ConflictError
        If the need is no longer at ``version``.
    ValidationError
        If the amount is negative or not a number, or the kind is unknown.
    StoreError
        If there is no such need.
    """
    problems = []
    values: dict[str, object] = {}
    if amount is not None:
        try:
            number = float(amount)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            problems.append(
                Problem(
                    f"need {need_id}", None, "amount", str(amount), "must be 0 or more"
                )
            )
        values["amount"] = number
    if kind is not None:
        from ..errors import UnknownCauseError

        try:
            values["kind"] = (taxonomy or load_taxonomy()).resolve_need_kind(kind)
        except UnknownCauseError as exc:
            problems.append(Problem(f"need {need_id}", None, "kind", kind, str(exc)))
    if problems:
        raise ValidationError(problems)
    if not values:
        return version
    at = audit.now()
    with store.write() as conn:
        stmt = (
            needs.update()
            .where(needs.c.need_id == need_id, needs.c.version == version)
            .values(**values, updated_at=at, version=needs.c.version + 1)
        )
        if conn.execute(stmt).rowcount != 1:
            found = conn.execute(
                sa.select(needs.c.version).where(needs.c.need_id == need_id)
            ).scalar_one_or_none()
            if found is None:
                raise StoreError(f"no need {need_id} in the store")
            raise ConflictError(
                "needs",
                str(need_id),
                f"need {need_id} is at version {found}, not {version} as read; "
                "another writer changed it: read it again and redo the change",
            )
        audit.record(
            conn,
            actor=actor,
            action="update",
            table="needs",
            key=str(need_id),
            fields=list(values),
            at=at,
        )
    return version + 1


# matches
_MATCH_VALUES = ("amount", "score", "relevance", "priority", "explanation")
#: Note of a proposal withdrawn by a match run, in ``match_history``.
NOTE_WITHDRAWN = "the match run no longer proposes it"
#: Note of a withdrawn proposal that a match run makes again.
NOTE_PROPOSED_AGAIN = "the match run proposes it again"


@dataclass(frozen=True)
class _Move:
    """One change of a match's status, along ``path`` (two states or more)."""

    match_id: int
    version: int
    path: tuple[str, ...]
    note: str | None = None
    values: Mapping[str, object] = field(default_factory=dict)


def _history(
    conn: Connection,
    steps: Iterable[tuple[int, str | None, str, str | None]],
    *,
    actor: str,
    at: dt.datetime,
) -> None:
    """Add ``(match_id, status_from, status_to, note)`` rows to the history."""
    rows = [
        {
            "match_id": mid,
            "status_from": frm,
            "status_to": to,
            "actor": actor,
            "at": at,
            "note": note,
        }
        for mid, frm, to, note in steps
    ]
    if rows:
        conn.execute(sa.insert(match_history), rows)


def _move(
    conn: Connection, moves: Sequence[_Move], *, actor: str, at: dt.datetime
) -> None:
    """Change the status of matches still at the versions read.

    Each match's row is updated once (to the last state of its path, with
    its ``values``, ``version`` + 1); each step of each path is a row of
    ``match_history`` and each match an entry of the audit log.

    Raises
    ------
    ConflictError
        If a match is no longer at the version read.
    """
    groups: dict[tuple[str, ...], list[dict]] = {}
    for m in moves:
        row = dict(m.values) | {
            "status": m.path[-1],
            "updated_at": at,
            "b_key": m.match_id,
            "b_version": m.version,
        }
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for rows in groups.values():
        _update_many(conn, matches, "match_id", rows, "matches")
    _history(
        conn,
        (
            (m.match_id, frm, to, m.note)
            for m in moves
            for frm, to in itertools.pairwise(m.path)
        ),
        actor=actor,
        at=at,
    )
    by_path: dict[tuple[str, ...], list[int]] = {}
    for m in moves:
        by_path.setdefault(m.path, []).append(m.match_id)
    for path, ids in by_path.items():
        audit.record_many(
            conn,
            actor=actor,
            action="status",
            table="matches",
            entries=[(str(mid), ["status"]) for mid in ids],
            detail=" -> ".join(path),
            at=at,
        )


def set_match_status(
    store: Store,
    match_id: int,
    status: str,
    *,
    version: int,
    actor: str,
    note: str | None = None,
) -> int:
    """Move a match to a new status; return its new version.

    The allowed changes are those of :data:`zfb.matching.states.TRANSITIONS`
    (proposed to accepted, declined, expired or withdrawn; accepted to
    funded, declined or expired; funded to delivered; withdrawn to
    proposed); each is recorded in ``match_history`` (with ``actor``, the
    time and ``note``) and in the audit log (without the note).

    Parameters
    ----------
    store : Store
    match_id : int
    status : str
        One of :data:`zfb.matching.states.MATCH_STATES`.
    version : int
        The version of the match the change was decided on.
    actor : str
        Who changes it: an account id or a role, never a person's name.
    note : str, optional
        Why (free text, shown to cadres and administrators only).

    Raises
    ------
    ConflictError
        If the match is no longer at ``version``.
    StoreError
        If there is no such match or the change is not allowed.
    """
    if status not in MATCH_STATES:
        raise StoreError(
            f"status must be one of {', '.join(MATCH_STATES)}, got {status!r}"
        )
    at = audit.now()
    with store.write() as conn:
        row = conn.execute(
            sa.select(matches.c.status, matches.c.version).where(
                matches.c.match_id == match_id
            )
        ).one_or_none()
        if row is None:
            raise StoreError(f"no match {match_id} in the store")
        if row.version != version:
            raise ConflictError(
                "matches",
                str(match_id),
                f"match {match_id} is at version {row.version}, not {version} as "
                "read; another writer changed it: read it again",
            )
        if status not in TRANSITIONS[row.status]:
            allowed = ", ".join(sorted(TRANSITIONS[row.status])) or "nothing (final)"
            raise StoreError(
                f"match {match_id} is {row.status}: it can move to {allowed}, "
                f"not to {status}"
            )
        _move(
            conn,
            [_Move(match_id, version, (row.status, status), note)],
            actor=actor,
            at=at,
        )
    return version + 1


def _pair_row(conn: Connection, household_id: str, project_id: str):
    stmt = sa.select(matches.c.match_id, matches.c.status, matches.c.version).where(
        matches.c.household_id == household_id, matches.c.project_id == project_id
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).one_or_none()


def accept_match(
    store: Store,
    household_id: str,
    project_id: str,
    *,
    actor: str,
    values: Mapping[str, object] | None = None,
    note: str | None = None,
) -> tuple[int, str]:
    """Accept the match of one household with one project, and change nothing
    else.

    A stored proposal becomes ``accepted``; a withdrawn one is proposed again
    and accepted; a pair the store does not hold is added, proposed and
    accepted at once. Each step is a row of ``match_history`` with ``actor``
    and the time, and the audit log names the match. No other match, its
    version or its history is touched.

    Parameters
    ----------
    store : Store
    household_id, project_id : str
    actor : str
        Who accepts: an account id or a role (``"funder:dashboard"``), never
        a person's name.
    values : mapping, optional
        ``amount`` (required for a pair the store does not hold), and
        optionally ``score``, ``relevance``, ``priority``, ``explanation``:
        the terms of a pair the store does not hold. A stored match keeps
        its own.
    note : str, optional
        Why (free text, shown to cadres and administrators only).

    Returns
    -------
    match_id : int
    status : str
        ``"accepted"``, or ``"funded"`` or ``"delivered"`` when the match
        had gone that far already (it is left as it is).

    Raises
    ------
    StoreError
        If the match was declined or expired (both final), the household or
        the project is not in the store, or a new pair has no ``amount``.
    ConflictError
        If another writer changed or added the match at the same time; read
        again and retry.
    """
    values = {c: py(v) for c, v in (values or {}).items() if c in _MATCH_VALUES}
    at = audit.now()
    with store.write() as conn:
        row = _pair_row(conn, household_id, project_id)
        if row is not None and row.status in HELD_STATES:
            return row.match_id, row.status
        if row is not None and row.status in FINAL_STATES:
            raise StoreError(
                f"the match of {household_id} with {project_id} was {row.status} "
                "(see match_history); it is final and cannot be accepted: pick "
                "another household"
            )
        if row is not None:
            path = ("proposed", "accepted")
            if row.status == "withdrawn":
                path = ("withdrawn", *path)
            _move(
                conn,
                [_Move(row.match_id, row.version, path, note)],
                actor=actor,
                at=at,
            )
            return row.match_id, "accepted"
        _check_pair(conn, household_id, project_id, values)
        conn.execute(
            sa.insert(matches),
            {"household_id": household_id, "project_id": project_id}
            | {c: values.get(c) for c in _MATCH_VALUES}
            | {"status": "accepted", "version": 1, "created_at": at, "updated_at": at},
        )
        match_id = _pair_row(conn, household_id, project_id).match_id
        _history(
            conn,
            [
                (match_id, None, "proposed", note),
                (match_id, "proposed", "accepted", note),
            ],
            actor=actor,
            at=at,
        )
        audit.record(
            conn,
            actor=actor,
            action="insert",
            table="matches",
            key=str(match_id),
            fields=["status"],
            detail="proposed -> accepted",
            at=at,
        )
    return match_id, "accepted"


def _check_pair(
    conn: Connection,
    household_id: str,
    project_id: str,
    values: Mapping[str, object],
) -> None:
    """Refuse a new match whose household or project is missing, or that
    has no amount."""
    for table, key, value in (
        (households, "household_id", household_id),
        (projects, "project_id", project_id),
    ):
        found = conn.execute(
            sa.select(table.c[key]).where(table.c[key] == value)
        ).one_or_none()
        if found is None:
            raise StoreError(
                f"no {key.removesuffix('_id')} {value} in the store; import it "
                "before matching it"
            )
    amount = values.get("amount")
    if not isinstance(amount, (int, float)) or not math.isfinite(amount):
        raise StoreError(
            f"the match of {household_id} with {project_id} is new to the store "
            f"and needs an amount (a number), got {amount!r}"
        )


def save_matches(store: Store, result: pd.DataFrame, *, actor: str) -> dict[str, int]:
    """Store the matches of a match run as proposals.

    Parameters
    ----------
    store : Store
    result : DataFrame
        ``MatchResult.matches``: ``household_id``, ``project_id``,
        ``amount`` and optionally ``score``, ``relevance``, ``priority``,
        ``explanation``.
    actor : str
        The run: an account id or a program (``"match run"``).

    Returns
    -------
    dict
        ``proposed`` (new proposals), ``proposed_again`` (withdrawn
        proposals the run makes again), ``updated`` (proposals whose amount
        or score changed), ``kept`` (pairs of the run in any other state,
        left as they are) and ``withdrawn`` (proposals the run no longer
        makes).

    Notes
    -----
    A run changes only what a run made: matches in
    :data:`zfb.matching.states.RUN_STATES`. A proposal the run no longer
    makes becomes ``withdrawn`` (note :data:`NOTE_WITHDRAWN`), never
    ``declined``, which is a person's decision; a later run that makes it
    again turns it back into a proposal. Accepted, funded and delivered
    matches, and declined or expired ones, are never touched. Every change
    of status is a row of ``match_history`` with ``actor`` and the time.
    """
    at = audit.now()
    table = result.reset_index(drop=True)
    new = {}
    for row in table.to_dict("records"):
        key = (str(row["household_id"]), str(row["project_id"]))
        new[key] = {c: py(row.get(c)) for c in _MATCH_VALUES}
    counts = dict.fromkeys(
        ("proposed", "proposed_again", "updated", "kept", "withdrawn"), 0
    )
    with store.write() as conn:
        old = {
            (r.household_id, r.project_id): r
            for r in conn.execute(
                sa.select(
                    matches.c.match_id,
                    matches.c.household_id,
                    matches.c.project_id,
                    matches.c.status,
                    matches.c.version,
                    *[matches.c[c] for c in _MATCH_VALUES],
                )
            )
        }
        inserts, updates, moves = [], [], []
        for key, values in new.items():
            prev = old.get(key)
            if prev is None:
                inserts.append(
                    {"household_id": key[0], "project_id": key[1], **values}
                    | {
                        "status": "proposed",
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            elif prev.status == "withdrawn":
                path, note = ("withdrawn", "proposed"), NOTE_PROPOSED_AGAIN
                moves.append(_Move(prev.match_id, prev.version, path, note, values))
                counts["proposed_again"] += 1
            elif prev.status not in RUN_STATES:
                counts["kept"] += 1
            elif any(not _same(getattr(prev, c), values[c]) for c in _MATCH_VALUES):
                updates.append(
                    values
                    | {
                        "updated_at": at,
                        "b_key": prev.match_id,
                        "b_version": prev.version,
                    }
                )
        for key, prev in old.items():
            if key not in new and prev.status == "proposed":
                path = ("proposed", "withdrawn")
                moves.append(_Move(prev.match_id, prev.version, path, NOTE_WITHDRAWN))
                counts["withdrawn"] += 1
        if inserts:
            conn.execute(sa.insert(matches), inserts)
            pairs = {(r["household_id"], r["project_id"]) for r in inserts}
            ids = [
                r.match_id
                for r in conn.execute(
                    sa.select(
                        matches.c.match_id, matches.c.household_id, matches.c.project_id
                    )
                )
                if (r.household_id, r.project_id) in pairs
            ]
            _history(
                conn, ((mid, None, "proposed", None) for mid in ids), actor=actor, at=at
            )
        _update_many(conn, matches, "match_id", updates, "matches")
        _move(conn, moves, actor=actor, at=at)
        counts.update(proposed=len(inserts), updated=len(updates))
        audit.record(
            conn,
            actor=actor,
            action="import",
            table="matches",
            detail=", ".join(f"{k} {v}" for k, v in counts.items()),
            at=at,
        )
    logger.info("saved matches: %s", counts)
    return counts


def match_book(store: Store, states: Iterable[str] | None = None) -> MatchBook:
    """Read the store's matches and their histories as a
    :class:`~zfb.matching.states.MatchBook`.

    Parameters
    ----------
    store : Store
    states : iterable of str, optional
        Only the matches in these states (for example
        ``(*HELD_STATES, "declined")``, what a recommender needs). Default
        every match.

    Returns
    -------
    MatchBook
        Match ids are the store's ``match_id`` as text; ``mode`` is
        ``"single"`` (the store keeps single-mode matches); each history is
        the store's, with its actors, times and notes.

    Raises
    ------
    StateError
        If a stored history breaks the rules of
        :data:`zfb.matching.states.TRANSITIONS` (a store that zfb did not
        write).
    """
    cols = ["match_id", "household_id", "project_id", "status"]
    cols += ["amount", "score", "explanation"]
    with store.read() as conn:
        stmt = sa.select(*[matches.c[c] for c in cols]).order_by(matches.c.match_id)
        if states is not None:
            stmt = stmt.where(matches.c.status.in_(list(states)))
        found = pd.DataFrame(conn.execute(stmt).fetchall(), columns=cols)
        steps = []
        for chunk in _chunks(found["match_id"].tolist()):
            steps += conn.execute(
                sa.select(
                    match_history.c.match_id,
                    match_history.c.status_from,
                    match_history.c.status_to,
                    match_history.c.actor,
                    match_history.c.at,
                    match_history.c.note,
                )
                .where(match_history.c.match_id.in_(chunk))
                .order_by(match_history.c.history_id)
            ).fetchall()
    history = pd.DataFrame(steps, columns=list(HISTORY_COLUMNS))
    found["match_id"] = found["match_id"].astype(str)
    history["match_id"] = history["match_id"].astype(str)
    found["mode"] = "single"
    for col in ("amount", "score"):
        found[col] = pd.to_numeric(found[col]).astype("float64")
    return MatchBook.from_frames(found, history)


def add_pledge(
    store: Store,
    *,
    funder: str,
    amount: float,
    actor: str,
    household_id: str | None = None,
    project_id: str | None = None,
    pledged_on: dt.date | None = None,
    pledge_id: str | None = None,
    status: str = "pledged",
) -> str:
    """Record one funder's pledge to a household's need or to a project.

    Returns
    -------
    str
        The pledge's id (``pledge_id``, or a new random one).

    Raises
    ------
    ValidationError
        If the amount is not more than 0, no household or project is named,
        or the status is unknown.
    ConflictError
        If a pledge with the same id exists, or the household or project
        is not in the store.
    """
    problems = []
    source = "pledge"
    try:
        number = float(amount)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        problems.append(
            Problem(source, None, "amount", str(amount), "must be more than 0")
        )
    if household_id is None and project_id is None:
        problems.append(
            Problem(source, None, "household_id", "", "name a household or a project")
        )
    if not funder or not str(funder).strip():
        problems.append(Problem(source, None, "funder", "", "a value is required"))
    if status not in PLEDGE_STATUSES:
        problems.append(
            Problem(source, None, "status", status, f"must be one of {PLEDGE_STATUSES}")
        )
    if problems:
        raise ValidationError(problems)
    pid = pledge_id or "G" + uuid.uuid4().hex[:20]
    at = audit.now()
    with store.write() as conn:
        fid = funder_ids(conn, [str(funder).strip()], at=at)[str(funder).strip()]
        conn.execute(
            sa.insert(pledges),
            {
                "pledge_id": pid,
                "funder_id": fid,
                "household_id": household_id,
                "project_id": project_id,
                "amount": number,
                "pledged_on": pledged_on,
                "status": status,
                "version": 1,
                "created_at": at,
                "updated_at": at,
            },
        )
        audit.record(
            conn, actor=actor, action="insert", table="pledges", key=pid, at=at
        )
    return pid
