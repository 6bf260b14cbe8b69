"""Members of households, for inputs that list them.

Revision ID: 0002
Revises: 0001
Create Date: 2016-07-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("member_id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("relation", sa.Text),
        sa.Column("age", sa.Integer),
        sa.Column("education", sa.Text),
        sa.Column("health", sa.Text),
        sa.Column("work_ability", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_members"),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name="fk_members_household_id_households",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_members_household_id", "members", ["household_id"])


def downgrade() -> None:
    op.drop_index("ix_members_household_id", table_name="members")
    op.drop_table("members")
