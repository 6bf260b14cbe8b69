"""Tables of the store (SQLAlchemy Core).

This module describes the newest schema; the migrations in
``zfb/store/migrations/versions`` build it step by step, and a test checks
that the two agree. Every table that people edit has a ``version`` column:
a write names the version it read and fails with
:class:`~zfb.store.errors.ConflictError` when the record has moved on
(optimistic locking).

Tables
------
households
    One row per household: the canonical columns of ``docs/data-model.md``
    except ``causes`` and the need, plus ``name`` and ``phone`` (personal,
    shown to the household's cadres only), ``extra`` (the input's other
    columns as a JSON object) and ``taxonomy_version``.
household_causes
    One row per cause of a household: ``rank`` 0 is the main cause.
causes
    The nodes of each taxonomy version households refer to.
needs
    What a household asks for: ``kind``, ``amount`` and the ``cause`` it
    answers (the main cause).
members
    Members of a household, where the input has them.
funders, projects
    The supply table; ``projects.funder_id`` refers to ``funders``.
matches, match_history
    One household to one project with an amount, a score and a status, one
    of :data:`zfb.matching.states.MATCH_STATES` (proposed, accepted, funded,
    delivered, declined, expired, withdrawn) under the rules of
    :data:`zfb.matching.states.TRANSITIONS`; every change of status is a row
    of ``match_history`` (who, when, from, to and a note), the table
    :meth:`zfb.matching.states.MatchBook.history_frame` describes.
pledges
    One funder's share of a household's need or of a project.
audit_log
    Who did what and when: the names of the fields changed, never their
    values.
settings
    The store's own keys (the pseudonym salt of analyst views).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..matching.states import MATCH_STATES

__all__ = [
    "HOUSEHOLD_COLUMNS",
    "PERSONAL_COLUMNS",
    "PLEDGE_STATUSES",
    "PROJECT_COLUMNS",
    "audit_log",
    "causes",
    "funders",
    "household_causes",
    "households",
    "match_history",
    "matches",
    "members",
    "metadata",
    "needs",
    "pledges",
    "projects",
    "settings",
]

#: The states of a pledge.
PLEDGE_STATUSES: tuple[str, ...] = ("pledged", "paid", "cancelled")
#: Columns of ``households`` that hold personal data.
PERSONAL_COLUMNS: tuple[str, ...] = ("name", "phone")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_Key = sa.String(64)
_Money = sa.Double()
_Time = sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL condition: ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    ]


settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

causes = sa.Table(
    "causes",
    metadata,
    sa.Column("taxonomy_version", sa.String(128), primary_key=True),
    sa.Column("code", _Key, primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("parent", _Key, nullable=True),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
)

households = sa.Table(
    "households",
    metadata,
    sa.Column("household_id", _Key, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("province", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("county", sa.Text),
    sa.Column("township", sa.Text, nullable=False),
    sa.Column("village", sa.Text),
    sa.Column("group", sa.Text),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("income_per_capita", _Money, nullable=False),
    sa.Column("identification_standard", sa.Text),
    sa.Column("status", sa.String(16)),
    sa.Column("returned_to_poverty", sa.Boolean),
    sa.Column("arable_land_mu", sa.Double),
    sa.Column("forest_land_mu", sa.Double),
    sa.Column("living_space_m2", sa.Double),
    sa.Column("unsafe_housing", sa.Boolean),
    sa.Column("has_debt", sa.Boolean),
    sa.Column("debt_amount", _Money),
    sa.Column("subsidy_income", _Money),
    sa.Column("labour_count", sa.Integer),
    sa.Column("members_ill", sa.Integer),
    sa.Column("members_disabled", sa.Integer),
    sa.Column("children_in_school", sa.Integer),
    sa.Column("elderly_count", sa.Integer),
    sa.Column("help_plan", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("extra", sa.Text),
    sa.Column("taxonomy_version", sa.String(128), nullable=False),
    *_stamps(),
    sa.Index("ix_households_township_village", "township", "village"),
)

household_causes = sa.Table(
    "household_causes",
    metadata,
    sa.Column(
        "household_id",
        _Key,
        sa.ForeignKey("households.household_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("rank", sa.SmallInteger, primary_key=True),
    sa.Column("taxonomy_version", sa.String(128), nullable=False),
    sa.Column("code", _Key, nullable=False),
    sa.ForeignKeyConstraint(
        ["taxonomy_version", "code"],
        ["causes.taxonomy_version", "causes.code"],
        name="fk_household_causes_code_causes",
    ),
    sa.Index("ix_household_causes_code", "code"),
)

needs = sa.Table(
    "needs",
    metadata,
    sa.Column("need_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "household_id",
        _Key,
        sa.ForeignKey("households.household_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", _Key),
    sa.Column("amount", _Money),
    sa.Column("cause", _Key),
    *_stamps(),
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("member_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "household_id",
        _Key,
        sa.ForeignKey("households.household_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("relation", sa.Text),
    sa.Column("age", sa.Integer),
    sa.Column("education", sa.Text),
    sa.Column("health", sa.Text),
    sa.Column("work_ability", sa.Text),
    *_stamps(),
)

funders = sa.Table(
    "funders",
    metadata,
    sa.Column("funder_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    *_stamps(),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", _Key, primary_key=True),
    sa.Column(
        "funder_id", sa.Integer, sa.ForeignKey("funders.funder_id"), nullable=False
    ),
    sa.Column("title", sa.Text),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("budget", _Money, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("townships", sa.Text, nullable=False),
    sa.Column("per_household_cap", _Money),
    sa.Column("modes", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("extra", sa.Text),
    *_stamps(),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("match_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "household_id",
        _Key,
        sa.ForeignKey("households.household_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "project_id",
        _Key,
        sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("amount", _Money, nullable=False),
    sa.Column("score", sa.Double),
    sa.Column("relevance", sa.Double),
    sa.Column("priority", sa.Double),
    sa.Column("explanation", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    *_stamps(),
    sa.UniqueConstraint("household_id", "project_id", name="uq_matches_pair"),
    sa.CheckConstraint(_one_of("status", MATCH_STATES), name="status"),
)

match_history = sa.Table(
    "match_history",
    metadata,
    sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "match_id",
        sa.Integer,
        sa.ForeignKey("matches.match_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("status_from", sa.String(16)),
    sa.Column("status_to", sa.String(16), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("at", _Time, nullable=False),
    sa.Column("note", sa.Text),
    sa.CheckConstraint(
        f"{_one_of('status_to', MATCH_STATES)} AND (status_from IS NULL OR "
        f"{_one_of('status_from', MATCH_STATES)})",
        name="status",
    ),
)

pledges = sa.Table(
    "pledges",
    metadata,
    sa.Column("pledge_id", _Key, primary_key=True),
    sa.Column(
        "funder_id", sa.Integer, sa.ForeignKey("funders.funder_id"), nullable=False
    ),
    sa.Column(
        "household_id",
        _Key,
        sa.ForeignKey("households.household_id", ondelete="CASCADE"),
        index=True,
    ),
    sa.Column(
        "project_id",
        _Key,
        sa.ForeignKey("projects.project_id", ondelete="CASCADE"),
        index=True,
    ),
    sa.Column("amount", _Money, nullable=False),
    sa.Column("pledged_on", sa.Date),
    sa.Column("status", sa.String(16), nullable=False, server_default="pledged"),
    *_stamps(),
    sa.CheckConstraint(
        "household_id IS NOT NULL OR project_id IS NOT NULL", name="target"
    ),
    sa.CheckConstraint("amount > 0", name="amount"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _Time, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("record_key", _Key),
    sa.Column("fields", sa.Text),
    sa.Column("detail", sa.Text),
)

#: Columns of ``households`` that hold canonical values (in table order).
HOUSEHOLD_COLUMNS: tuple[str, ...] = tuple(
    c.name
    for c in households.columns
    if c.name
    not in ("extra", "taxonomy_version", "version", "created_at", "updated_at")
)
#: Columns of ``projects`` that hold canonical values, ``funder`` instead of
#: ``funder_id``.
PROJECT_COLUMNS: tuple[str, ...] = (
    "project_id",
    "funder",
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
