"""The audit log: who did what to which record, and when.

An entry names the actor, the action (``insert``, ``update``, ``delete``,
``import``, ``export``, ``status``), the table, the record's key and the
*names* of the fields that changed. It never holds a field's value: a change
of a household head's name is logged as ``fields="name"``, not as the old and
the new name. Keys are ``household_id`` pseudonyms, project and match ids,
never national ID numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Connection

from .models import audit_log

__all__ = ["ACTIONS", "now", "record", "record_many"]

logger = logging.getLogger(__name__)

#: Actions an audit entry may name.
ACTIONS: tuple[str, ...] = (
    "insert",
    "update",
    "delete",
    "import",
    "export",
    "status",
)


def now() -> dt.datetime:
    """The current time in UTC, as stored in every timestamp column."""
    return dt.datetime.now(dt.UTC)


def _check(actor: str, action: str) -> None:
    if not isinstance(actor, str) or not actor.strip():
        raise ValueError("actor must name who acts (a user name or a program)")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    table: str,
    key: str | None = None,
    fields: Sequence[str] = (),
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Add one entry to the audit log, inside the caller's transaction.

    Parameters
    ----------
    conn : Connection
        A connection in a write transaction: the entry commits with the
        change it describes, or not at all.
    actor, action, table, key
        Who, what, on which table and record.
    fields : sequence of str
        Names of the fields changed (stored sorted, comma-separated).
    detail : str, optional
        A short note without personal values (a file name and counts, a
        status change such as ``"proposed -> accepted"``).
    """
    record_many(
        conn,
        actor=actor,
        action=action,
        table=table,
        entries=[(key, fields)],
        detail=detail,
        at=at,
    )


def record_many(
    conn: Connection,
    *,
    actor: str,
    action: str,
    table: str,
    entries: Iterable[tuple[str | None, Sequence[str]]],
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Add one audit entry per ``(key, fields)`` pair; return how many."""
    _check(actor, action)
    at = at or now()
    rows = [
        {
            "at": at,
            "actor": actor,
            "action": action,
            "table_name": table,
            "record_key": key,
            "fields": ",".join(sorted(fields)) or None,
            "detail": detail,
        }
        for key, fields in entries
    ]
    if rows:
        from .records import bulk_insert

        bulk_insert(conn, audit_log, rows)
    logger.debug("audit: %s of %d %s record(s)", action, len(rows), table)
    return len(rows)
