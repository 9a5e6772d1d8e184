"""Voucher template versions saved through the API, each as the JSON a template is read
from; a name's version numbers are unique.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voucher_template_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_template_versions")),
        sa.UniqueConstraint(
            "name", "version", name=op.f("uq_voucher_template_versions_name_version")
        ),
    )


def downgrade() -> None:
    """Back to 0022. Refused while a version is saved: 0022 cannot hold it, and the
    templates in force would change without a word."""
    saved = op.get_bind().scalar(sa.text("SELECT count(*) FROM voucher_template_versions")) or 0
    if saved:
        raise RuntimeError(
            f"{saved} voucher template versions are saved that revision 0022 cannot hold; "
            "the downgrade would lose them"
        )
    op.drop_table("voucher_template_versions")
