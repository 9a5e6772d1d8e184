"""Settlement quotes: what paying a contract off costs until a date, one open quote per
contract (a partial unique index) and one quote number in all.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_quotes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("quoted_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("overdue", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column(
            "outstanding_principal", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False
        ),
        sa.Column(
            "accrued_interest", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False
        ),
        sa.Column("fee", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("total", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_settlement_quotes_contract_id_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_settlement_quotes_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_settlement_quotes_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_quotes")),
        sa.UniqueConstraint("number", name=op.f("uq_settlement_quotes_number")),
    )
    with op.batch_alter_table("settlement_quotes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_quotes_contract_id_id"), ["contract_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_quotes_currency_state"), ["currency", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_quotes_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            "uq_settlement_quotes_open_contract_id",
            ["contract_id"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_quotes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_settlement_quotes_open_contract_id",
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_settlement_quotes_partner_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_quotes_currency_state"))
        batch_op.drop_index(batch_op.f("ix_settlement_quotes_contract_id_id"))

    op.drop_table("settlement_quotes")
