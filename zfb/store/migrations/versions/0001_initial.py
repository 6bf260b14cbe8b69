"""The first schema: households, causes, needs, supply, matches, pledges, audit.

Revision ID: 0001
Revises:
Create Date: 2016-05-04
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Key = sa.String(64)
_Time = sa.DateTime(timezone=True)


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
    ]


def upgrade() -> None:
    settings = op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.bulk_insert(
        settings, [{"key": "pseudonym_salt", "value": secrets.token_hex(32)}]
    )
    op.create_table(
        "causes",
        sa.Column("taxonomy_version", sa.String(128), nullable=False),
        sa.Column("code", _Key, nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("parent", _Key),
        sa.Column("name_zh", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("taxonomy_version", "code", name="pk_causes"),
    )
    op.create_table(
        "households",
        sa.Column("household_id", _Key, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("province", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("county", sa.Text),
        sa.Column("township", sa.Text, nullable=False),
        sa.Column("village", sa.Text),
        sa.Column("group", sa.Text),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("income_per_capita", sa.Double, nullable=False),
        sa.Column("identification_standard", sa.Text),
        sa.Column("status", sa.String(16)),
        sa.Column("returned_to_poverty", sa.Boolean),
        sa.Column("arable_land_mu", sa.Double),
        sa.Column("forest_land_mu", sa.Double),
        sa.Column("living_space_m2", sa.Double),
        sa.Column("unsafe_housing", sa.Boolean),
        sa.Column("has_debt", sa.Boolean),
        sa.Column("debt_amount", sa.Double),
        sa.Column("subsidy_income", sa.Double),
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
        sa.PrimaryKeyConstraint("household_id", name="pk_households"),
    )
    op.create_index(
        "ix_households_township_village", "households", ["township", "village"]
    )
    op.create_table(
        "household_causes",
        sa.Column("household_id", _Key, nullable=False),
        sa.Column("rank", sa.SmallInteger, nullable=False),
        sa.Column("taxonomy_version", sa.String(128), nullable=False),
        sa.Column("code", _Key, nullable=False),
        sa.PrimaryKeyConstraint("household_id", "rank", name="pk_household_causes"),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name="fk_household_causes_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxonomy_version", "code"],
            ["causes.taxonomy_version", "causes.code"],
            name="fk_household_causes_code_causes",
        ),
    )
    op.create_index("ix_household_causes_code", "household_causes", ["code"])
    op.create_table(
        "needs",
        sa.Column("need_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("household_id", _Key, nullable=False),
        sa.Column("kind", _Key),
        sa.Column("amount", sa.Double),
        sa.Column("cause", _Key),
        *_stamps(),
        sa.PrimaryKeyConstraint("need_id", name="pk_needs"),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name="fk_needs_household_id_households",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_needs_household_id", "needs", ["household_id"])
    op.create_table(
        "funders",
        sa.Column("funder_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("funder_id", name="pk_funders"),
        sa.UniqueConstraint("name", name="uq_funders_name"),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", _Key, nullable=False),
        sa.Column("funder_id", sa.Integer, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("budget", sa.Double, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("townships", sa.Text, nullable=False),
        sa.Column("per_household_cap", sa.Double),
        sa.Column("modes", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("extra", sa.Text),
        *_stamps(),
        sa.PrimaryKeyConstraint("project_id", name="pk_projects"),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.funder_id"], name="fk_projects_funder_id_funders"
        ),
    )
    op.create_table(
        "matches",
        sa.Column("match_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("household_id", _Key, nullable=False),
        sa.Column("project_id", _Key, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("score", sa.Double),
        sa.Column("relevance", sa.Double),
        sa.Column("priority", sa.Double),
        sa.Column("explanation", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("match_id", name="pk_matches"),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name="fk_matches_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name="fk_matches_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("household_id", "project_id", name="uq_matches_pair"),
        sa.CheckConstraint(
            "status IN ('proposed', 'accepted', 'funded', 'closed')",
            name="ck_matches_status",
        ),
    )
    op.create_index("ix_matches_project_id", "matches", ["project_id"])
    op.create_table(
        "match_history",
        sa.Column("history_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("match_id", sa.Integer, nullable=False),
        sa.Column("status_from", sa.String(16)),
        sa.Column("status_to", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("history_id", name="pk_match_history"),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["matches.match_id"],
            name="fk_match_history_match_id_matches",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_match_history_match_id", "match_history", ["match_id"])
    op.create_table(
        "pledges",
        sa.Column("pledge_id", _Key, nullable=False),
        sa.Column("funder_id", sa.Integer, nullable=False),
        sa.Column("household_id", _Key),
        sa.Column("project_id", _Key),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("pledged_on", sa.Date),
        sa.Column("status", sa.String(16), nullable=False, server_default="pledged"),
        *_stamps(),
        sa.PrimaryKeyConstraint("pledge_id", name="pk_pledges"),
        sa.ForeignKeyConstraint(
            ["funder_id"], ["funders.funder_id"], name="fk_pledges_funder_id_funders"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name="fk_pledges_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name="fk_pledges_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "household_id IS NOT NULL OR project_id IS NOT NULL",
            name="ck_pledges_target",
        ),
        sa.CheckConstraint("amount > 0", name="ck_pledges_amount"),
    )
    op.create_index("ix_pledges_household_id", "pledges", ["household_id"])
    op.create_index("ix_pledges_project_id", "pledges", ["project_id"])
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("at", _Time, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("record_key", _Key),
        sa.Column("fields", sa.Text),
        sa.Column("detail", sa.Text),
        sa.PrimaryKeyConstraint("audit_id", name="pk_audit_log"),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "pledges",
        "match_history",
        "matches",
        "projects",
        "funders",
        "needs",
        "household_causes",
        "households",
        "causes",
        "settings",
    ):
        op.drop_table(table)
