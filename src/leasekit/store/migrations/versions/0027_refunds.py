"""Refunds: a contract's credit paid back to a bank account and what the bank made of it,
with a row per payment whose credit each took (``refund_credits``).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", ID, nullable=False),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("iban", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("exception_request_id", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bank_reference", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *(sa.ForeignKeyConstraint([f"{name}_id"], [f"{name}s.id"],
                                  name=op.f(f"fk_refunds_{name}_id_{name}s"))
          for name in ("contract", "partner")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )  # fmt: skip
    op.create_index(op.f("ix_refunds_partner_id"), "refunds", ["partner_id"])
    op.create_index(op.f("ix_refunds_exception_request_id"), "refunds", ["exception_request_id"])
    for columns in (("contract_id", "id"), ("state", "id")):
        op.create_index(op.f(f"ix_refunds_{'_'.join(columns)}"), "refunds", columns)
    op.create_table(
        "refund_credits",
        sa.Column("refund_id", ID, nullable=False),
        sa.Column("payment_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        *(sa.ForeignKeyConstraint([f"{name}_id"], [f"{name}s.id"],
                                  name=op.f(f"fk_refund_credits_{name}_id_{name}s"))
          for name in ("refund", "payment")),
        sa.PrimaryKeyConstraint("refund_id", "payment_id", name=op.f("pk_refund_credits")),
    )  # fmt: skip
    op.create_index(op.f("ix_refund_credits_payment_id"), "refund_credits", ["payment_id"])


def downgrade() -> None:
    """Back to 0026. Refused while a refund exists: the credit it took would vanish from
    every record."""
    kept = op.get_bind().scalar(sa.text("SELECT count(*) FROM refunds")) or 0
    if kept:
        raise RuntimeError(f"{kept} refunds are recorded that revision 0026 cannot hold")
    op.drop_table("refund_credits")
    op.drop_table("refunds")
