"""A product version's fee for a returned direct debit; versions written before have none
(the company's fee for the currency applies to them).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product_versions") as batch:
        batch.add_column(
            sa.Column("return_fee", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("product_versions") as batch:
        batch.drop_column("return_fee")
