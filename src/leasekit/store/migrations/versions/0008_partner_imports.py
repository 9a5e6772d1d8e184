"""Applied imports of changes to partners, one per file (its SHA-256 is unique).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_partner_imports_sha256")),
    )


def downgrade() -> None:
    """Back to 0005: the record of which files were applied goes (the changes they made stay,
    each in its partner's history and the audit log)."""
    op.drop_table("partner_imports")
