"""Match states of zfb.matching.states; a note on each change of status.

The store's statuses were proposed, accepted, funded and closed; they become
those of :mod:`zfb.matching.states`: proposed, accepted, funded, delivered,
declined, expired and withdrawn. A ``closed`` match is given the state that
says how it was closed, read from its history and the audit log:

- from ``funded``: ``delivered`` (the only end of a funded match);
- from ``accepted``: ``declined`` (only a person could close it);
- from ``proposed`` by a person (``set_match_status``, which logged the
  change as ``status`` ``proposed -> closed`` in the audit log):
  ``declined``;
- from ``proposed`` by a match run (``save_matches``, which logged no such
  entry): ``withdrawn``;
- with no history row to ``closed`` (zfb never wrote one): ``expired``,
  ended without a recorded decision.

The history row of the closing keeps its actor and time; its ``status_to``
becomes the new state and its note says it was recorded as ``closed``. The
match keeps its version and times; each one changed gets an audit entry by
``zfb schema 0003``.

Revision ID: 0003
Revises: 0002
Create Date: 2016-07-15
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# the states as this revision knows them (zfb.matching.states may grow later)
STATES = (
    "proposed",
    "accepted",
    "funded",
    "delivered",
    "declined",
    "expired",
    "withdrawn",
)
ACTOR = "zfb schema 0003"
NOTE = "recorded as closed before schema 0003"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _new_state(status_from: str | None, by_person: bool) -> str:
    if status_from == "funded":
        return "delivered"
    if status_from == "accepted" or (status_from == "proposed" and by_person):
        return "declined"
    if status_from == "proposed":
        return "withdrawn"
    return "expired"


def _map_closed(conn: sa.Connection) -> None:
    matches = sa.table("matches", sa.column("match_id"), sa.column("status"))
    history = sa.table(
        "match_history",
        sa.column("history_id"),
        sa.column("match_id"),
        sa.column("status_from"),
        sa.column("status_to"),
        sa.column("note"),
    )
    audit = sa.table(
        "audit_log",
        sa.column("at"),
        sa.column("actor"),
        sa.column("action"),
        sa.column("table_name"),
        sa.column("record_key"),
        sa.column("fields"),
        sa.column("detail"),
    )
    closed = sorted(
        conn.execute(
            sa.select(matches.c.match_id).where(matches.c.status == "closed")
        ).scalars()
    )
    if not closed:
        return
    closings = {
        mid: (hid, frm)
        for hid, mid, frm in conn.execute(
            sa.select(
                history.c.history_id, history.c.match_id, history.c.status_from
            ).where(history.c.status_to == "closed")
        )
    }
    by_person = set(
        conn.execute(
            sa.select(audit.c.record_key).where(
                audit.c.action == "status",
                audit.c.table_name == "matches",
                audit.c.detail == "proposed -> closed",
            )
        ).scalars()
    )
    new = {}
    for mid in closed:
        _, frm = closings.get(mid, (None, None))
        new[mid] = _new_state(frm, str(mid) in by_person)
    conn.execute(
        matches.update()
        .where(matches.c.match_id == sa.bindparam("b_id"))
        .values(status=sa.bindparam("b_status")),
        [{"b_id": mid, "b_status": state} for mid, state in new.items()],
    )
    steps = [
        {"b_id": closings[mid][0], "b_status": state}
        for mid, state in new.items()
        if mid in closings
    ]
    if steps:
        conn.execute(
            history.update()
            .where(history.c.history_id == sa.bindparam("b_id"))
            .values(status_to=sa.bindparam("b_status"), note=NOTE),
            steps,
        )
    at = dt.datetime.now(dt.UTC)
    conn.execute(
        sa.insert(audit),
        [
            {
                "at": at,
                "actor": ACTOR,
                "action": "status",
                "table_name": "matches",
                "record_key": str(mid),
                "fields": "status",
                "detail": f"closed -> {state}",
            }
            for mid, state in new.items()
        ],
    )


def upgrade() -> None:
    # 0001 named the old check twice over (the naming convention added its
    # prefix to a name that had it already); op.f() takes names as they are
    with op.batch_alter_table("matches") as batch:
        batch.drop_constraint(op.f("ck_matches_ck_matches_status"), type_="check")
    op.add_column("match_history", sa.Column("note", sa.Text))
    _map_closed(op.get_bind())
    with op.batch_alter_table("matches") as batch:
        batch.create_check_constraint(
            op.f("ck_matches_status"), _one_of("status", STATES)
        )
    with op.batch_alter_table("match_history") as batch:
        batch.create_check_constraint(
            op.f("ck_match_history_status"),
            f"{_one_of('status_to', STATES)} AND (status_from IS NULL OR "
            f"{_one_of('status_from', STATES)})",
        )


def downgrade() -> None:
    raise NotImplementedError(
        "schema 0003 cannot be undone without losing which matches were "
        "declined by a person and which withdrawn by a match run; restore the "
        "backup taken before the upgrade instead"
    )
