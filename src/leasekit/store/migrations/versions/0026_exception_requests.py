"""Exception requests of three kinds (reversal, refund, waiver) with an approval chain fixed
at submission, each level's approval, an expiry and the figures execution changed. The draft
table of 0001 was never written by any service, so it is replaced, not altered.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    _refuse_if_written("revision 0026 replaces the table")
    _drop_draft_table()
    op.create_table(
        "exception_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=True),
        sa.Column("reapply_to_contract_id", sa.String(length=32), nullable=True),
        sa.Column("receivable_id", sa.String(length=32), nullable=True),
        sa.Column("part", sa.String(length=16), nullable=True),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("approvals", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_by", sa.String(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("impacts", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_exception_requests_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_exception_requests_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["reapply_to_contract_id"],
            ["contracts.id"],
            name=op.f("fk_exception_requests_reapply_to_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_requests")),
    )
    for columns in (("contract_id", "id"), ("reapply_to_contract_id", "id"),
                    ("payment_id", "id"), ("state", "id")):  # fmt: skip
        op.create_index(
            op.f(f"ix_exception_requests_{'_'.join(columns)}"), "exception_requests", list(columns)
        )


def _refuse_if_written(why: str) -> None:
    written = op.get_bind().scalar(sa.text("SELECT count(*) FROM exception_requests")) or 0
    if written:
        raise RuntimeError(f"{written} exception requests are stored; {why} and would lose them")


def _drop_draft_table() -> None:
    for name in ("state", "payment_id", "contract_id"):
        op.drop_index(op.f(f"ix_exception_requests_{name}"), table_name="exception_requests")
    op.drop_table("exception_requests")


def downgrade() -> None:
    """Back to 0025's draft table. Refused while a request is stored: that table cannot hold
    a waiver, a refund or an approval chain."""
    _refuse_if_written("revision 0025 cannot hold them")
    for columns in ("contract_id_id", "reapply_to_contract_id_id", "payment_id_id", "state_id"):
        op.drop_index(op.f(f"ix_exception_requests_{columns}"), table_name="exception_requests")
    op.drop_table("exception_requests")
    op.create_table(
        "exception_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", _AMOUNT, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("level1_approved_by", sa.String(), nullable=True),
        sa.Column("approved_by", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_exception_requests_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_exception_requests_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_requests")),
    )
    for name in ("contract_id", "payment_id", "state"):
        op.create_index(
            op.f(f"ix_exception_requests_{name}"), "exception_requests", [name], unique=False
        )
