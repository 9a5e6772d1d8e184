"""Rule set versions: the company's credit and fraud rules as versioned data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLISHED = sa.text("state = 'published'")


def upgrade() -> None:
    op.create_table(
        "rule_set_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_set_versions")),
        sa.UniqueConstraint("name", "number", name=op.f("uq_rule_set_versions_name_number")),
    )
    op.create_index(
        "uq_rule_set_versions_name_published",
        "rule_set_versions",
        ["name"],
        unique=True,
        sqlite_where=PUBLISHED,
        postgresql_where=PUBLISHED,
    )
    op.create_index(op.f("ix_rule_set_versions_state_id"), "rule_set_versions", ["state", "id"])


def downgrade() -> None:
    op.drop_table("rule_set_versions")
