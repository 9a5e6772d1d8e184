"""Pre-approval keeps the findings behind its facts and the credit bureau's report, and finds
customers by id number at any partner through an index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pre_approvals") as batch:
        batch.add_column(sa.Column("findings", sa.Text(), nullable=True))
        batch.add_column(sa.Column("bureau_report", sa.Text(), nullable=True))
    # Earlier assessments found nothing beyond their facts, and kept no report.
    op.execute(sa.text("UPDATE pre_approvals SET findings = '[]'"))
    with op.batch_alter_table("pre_approvals") as batch:
        batch.alter_column("findings", existing_type=sa.Text(), nullable=False)
    op.create_index(op.f("ix_customers_country_id_number"), "customers", ["country", "id_number"])


def downgrade() -> None:
    op.drop_index(op.f("ix_customers_country_id_number"), table_name="customers")
    with op.batch_alter_table("pre_approvals") as batch:
        batch.drop_column("bureau_report")
        batch.drop_column("findings")
