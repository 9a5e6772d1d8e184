"""Partners name the company's branch that serves them, the branch dimension of their
contracts' vouchers; partners onboarded before have none.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partners") as table:
        table.add_column(sa.Column("branch", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("partners") as table:
        table.drop_column("branch")
