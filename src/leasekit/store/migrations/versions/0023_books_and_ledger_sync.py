"""Accounting periods and ledger synchronisation: the books' closing watermark (one row),
the month a late voucher corrects, and each voucher's synchronisation with the ledger.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    books = op.create_table(
        "accounting_books",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("closed_through", sa.String(length=7), nullable=True),
        sa.Column("closed_by", sa.String(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_books")),
    )
    op.bulk_insert(books, [{"id": 1, "version": 0}])
    op.create_table(
        "voucher_syncs",
        sa.Column("voucher_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ledger_reference", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_voucher_syncs_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("voucher_id", name=op.f("pk_voucher_syncs")),
    )
    op.create_index(op.f("ix_voucher_syncs_status"), "voucher_syncs", ["status"])
    with op.batch_alter_table("vouchers") as batch:
        batch.add_column(sa.Column("corrects_period", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vouchers") as batch:
        batch.drop_column("corrects_period")
    op.drop_index(op.f("ix_voucher_syncs_status"), table_name="voucher_syncs")
    op.drop_table("voucher_syncs")
    op.drop_table("accounting_books")
