"""The close of business: closes by business date, their step partitions, each overdue
contract's aging, and on receivables the exact penalty accrual and the interest booked as
earned.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "eod_closes",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", name=op.f("pk_eod_closes")),
    )
    op.create_table(
        "eod_partitions",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("low", sa.String(), nullable=False),
        sa.Column("high", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("business_date", "step", "low", name=op.f("pk_eod_partitions")),
    )
    op.create_table(
        "contract_aging",
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(), nullable=False),
        sa.Column("overdue", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"],
                                name=op.f("fk_contract_aging_contract_id_contracts")),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_contract_aging")),
    )  # fmt: skip
    op.create_index(op.f("ix_contract_aging_bucket"), "contract_aging", ["bucket"])
    with op.batch_alter_table("receivables") as batch:
        batch.add_column(sa.Column("penalty_exact", AMOUNT, nullable=True))
        batch.add_column(sa.Column("penalty_through", sa.Date(), nullable=True))
        batch.add_column(sa.Column("interest_accrued", AMOUNT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receivables") as batch:
        batch.drop_column("interest_accrued")
        batch.drop_column("penalty_through")
        batch.drop_column("penalty_exact")
    op.drop_index(op.f("ix_contract_aging_bucket"), table_name="contract_aging")
    op.drop_table("contract_aging")
    op.drop_table("eod_partitions")
    op.drop_table("eod_closes")
