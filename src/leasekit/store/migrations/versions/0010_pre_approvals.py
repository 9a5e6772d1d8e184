"""Pre-approval assessments of submitted applications.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "pre_approvals",
        sa.Column("id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("unavailable", sa.Text(), nullable=False),
        sa.Column("rule_set_version_id", ID, nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_pre_approvals_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_pre_approvals_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pre_approvals")),
    )
    for columns in (["application_id", "id"], ["partner_id", "id"]):
        op.create_index(op.f(f"ix_pre_approvals_{'_'.join(columns)}"), "pre_approvals", columns)


def downgrade() -> None:
    op.drop_table("pre_approvals")
