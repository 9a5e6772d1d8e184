"""Contracts drawn up from approved applications, and their payouts.

A contract gets a unique number from a gap-free counter per company and year, the product
version, the vehicle price and down payment, the approved plan's totals, the signers, the
document's language, the documents and envelope of the signing round, and a sale-leaseback
seller's account; one contract per application. A payout (``disbursements``) records what is
paid to whom, the checks, the reviewer's claim and every attempt at the bank; a contract has
at most one payout that is not rejected.

Nothing before this revision drew up contracts, so the upgrade refuses to run while any
contract row exists: it could not give that row a number or a plan.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
ID = sa.String(length=32)
_NEW_COLUMNS = (
    "seller_account", "signed_document", "envelope_id", "document", "language", "signers", "plan",
    "down_payment", "vehicle_price", "product_version_id", "number",
)  # fmt: skip


def _refuse_while_contracts_exist(step: str) -> None:
    held = op.get_bind().scalar(sa.text("SELECT count(*) FROM contracts"))
    if held:
        raise RuntimeError(f"{held} contracts are held; the {step} would lose what they hold")


def upgrade() -> None:
    _refuse_while_contracts_exist("upgrade")
    with op.batch_alter_table("contracts") as batch:
        batch.add_column(sa.Column("number", sa.String(), nullable=False))
        batch.add_column(sa.Column("product_version_id", ID, nullable=True))
        batch.add_column(sa.Column("vehicle_price", AMOUNT, nullable=False))
        batch.add_column(sa.Column("down_payment", AMOUNT, nullable=False))
        batch.add_column(sa.Column("plan", sa.Text(), nullable=False))
        batch.add_column(sa.Column("signers", sa.Text(), nullable=False))
        batch.add_column(sa.Column("language", sa.String(), nullable=False))
        batch.add_column(sa.Column("document", sa.Text(), nullable=True))
        batch.add_column(sa.Column("envelope_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("signed_document", sa.Text(), nullable=True))
        batch.add_column(sa.Column("seller_account", sa.Text(), nullable=True))
        batch.create_unique_constraint(op.f("uq_contracts_number"), ["number"])
        batch.create_unique_constraint(op.f("uq_contracts_envelope_id"), ["envelope_id"])
        batch.drop_index("ix_contracts_application_id")
        batch.create_unique_constraint(op.f("uq_contracts_application_id"), ["application_id"])
        batch.create_foreign_key(
            op.f("fk_contracts_product_version_id_product_versions"),
            "product_versions",
            ["product_version_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_contracts_product_version_id"), ["product_version_id"])
    op.create_table(
        "contract_numbers",
        sa.Column("company", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("company", "year", name=op.f("pk_contract_numbers")),
    )
    _create_disbursements()


def _create_disbursements() -> None:
    op.create_table(
        "disbursements",
        sa.Column("id", ID, nullable=False),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("contract_number", sa.String(), nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("payee", sa.Text(), nullable=True),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("locked_by", sa.String(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("reported_person", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *(sa.ForeignKeyConstraint([f"{name}_id"], [f"{name}s.id"],
                                  name=op.f(f"fk_disbursements_{name}_id_{name}s"))
          for name in ("contract", "application", "partner")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disbursements")),
    )  # fmt: skip
    op.create_index(op.f("ix_disbursements_application_id"), "disbursements", ["application_id"])
    for columns in (("contract_id", "id"), ("partner_id", "id"), ("state", "id"),
                    ("locked_by", "id")):  # fmt: skip
        op.create_index(op.f(f"ix_disbursements_{'_'.join(columns)}"), "disbursements", columns)
    unpaid = sa.text("state <> 'rejected'")
    op.create_index(
        "uq_disbursements_contract_id", "disbursements", ["contract_id"], unique=True,
        sqlite_where=unpaid, postgresql_where=unpaid,
    )  # fmt: skip


def downgrade() -> None:
    """Back to 0016; refused while any contract exists."""
    _refuse_while_contracts_exist("downgrade")
    op.drop_table("disbursements")
    op.drop_table("contract_numbers")
    with op.batch_alter_table("contracts") as batch:
        batch.drop_index(op.f("ix_contracts_product_version_id"))
        batch.drop_constraint(
            op.f("fk_contracts_product_version_id_product_versions"), type_="foreignkey"
        )
        batch.drop_constraint(op.f("uq_contracts_application_id"), type_="unique")
        batch.create_index("ix_contracts_application_id", ["application_id"])
        batch.drop_constraint(op.f("uq_contracts_envelope_id"), type_="unique")
        batch.drop_constraint(op.f("uq_contracts_number"), type_="unique")
        for name in _NEW_COLUMNS:
            batch.drop_column(name)
