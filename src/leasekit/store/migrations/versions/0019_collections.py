"""Collections: allocations of payments to receivables, debit mandates, debit runs and their
items, the bank result files imported, and statement entries with their imports. Receivables
gain penalty interest and a write-off date; payments their source and what of them is still
unallocated (credit).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debit_result_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debit_result_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_debit_result_imports_sha256")),
    )
    op.create_table(
        "debit_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("excluded", sa.Text(), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debit_runs")),
        sa.UniqueConstraint(
            "account_id", "business_date", name=op.f("uq_debit_runs_account_id_business_date")
        ),
    )
    with op.batch_alter_table("debit_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_debit_runs_business_date_id"), ["business_date", "id"], unique=False
        )

    op.create_table(
        "statement_entries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=140), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("payer_name", sa.String(), nullable=False),
        sa.Column("payer_account", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=True),
        sa.Column("why", sa.String(), nullable=True),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("payments", sa.Text(), nullable=False),
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_entries")),
        sa.UniqueConstraint(
            "account", "line_id", name=op.f("uq_statement_entries_account_line_id")
        ),
    )
    with op.batch_alter_table("statement_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_entries_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_statement_entries_state_id"), ["state", "id"], unique=False
        )

    op.create_table(
        "statement_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("known", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_statement_imports_sha256")),
    )
    op.create_table(
        "trace_sequences",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_trace_sequences")),
    )
    op.create_table(
        "mandates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("scheme", sa.String(), nullable=False),
        sa.Column("debtor_name", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("account_type", sa.String(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_mandates_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
        sa.UniqueConstraint("reference", name=op.f("uq_mandates_reference")),
    )
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mandates_contract_id_id"), ["contract_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mandates_scheme_state_contract_id"),
            ["scheme", "state", "contract_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_mandates_active_contract_id",
            ["contract_id"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("receivable_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reverses", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_allocations_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_allocations_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_allocations_receivable_id_receivables"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint("reverses", name=op.f("uq_allocations_reverses")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocations_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_allocations_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_allocations_receivable_id"), ["receivable_id"], unique=False
        )

    op.create_table(
        "debit_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("trace", sa.String(length=35), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("mandate_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("receivable_ids", sa.Text(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=True),
        sa.Column("return_code", sa.String(), nullable=True),
        sa.Column("return_reason", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_debit_items_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["mandate_id"], ["mandates.id"], name=op.f("fk_debit_items_mandate_id_mandates")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_debit_items_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["debit_runs.id"], name=op.f("fk_debit_items_run_id_debit_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debit_items")),
    )
    with op.batch_alter_table("debit_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_debit_items_contract_id_id"), ["contract_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_debit_items_mandate_id"), ["mandate_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_debit_items_run_id_id"), ["run_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_debit_items_trace_id"), ["trace", "id"], unique=False)
        batch_op.create_index(
            "uq_debit_items_in_flight_trace",
            ["account_id", "trace"],
            unique=True,
            sqlite_where=sa.text("state = 'in_flight'"),
            postgresql_where=sa.text("state = 'in_flight'"),
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(), nullable=False, server_default="other")
        )
        batch_op.add_column(sa.Column("source_ref", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("recorded_by", sa.String(), nullable=False, server_default="system")
        )
        batch_op.add_column(
            sa.Column(
                "unallocated",
                sa.Numeric().with_variant(sa.Text(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.drop_index(batch_op.f("ix_payments_contract_id"))
        batch_op.create_index(
            batch_op.f("ix_payments_contract_id_id"), ["contract_id", "id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_payments_source_source_ref"), ["source", "source_ref"]
        )

    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "penalty",
                sa.Numeric().with_variant(sa.Text(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(
            sa.Column(
                "paid_penalty",
                sa.Numeric().with_variant(sa.Text(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(sa.Column("written_off_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_column("written_off_on")
        batch_op.drop_column("paid_penalty")
        batch_op.drop_column("penalty")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_payments_source_source_ref"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_payments_contract_id_id"))
        batch_op.create_index(batch_op.f("ix_payments_contract_id"), ["contract_id"], unique=False)
        batch_op.drop_column("unallocated")
        batch_op.drop_column("recorded_by")
        batch_op.drop_column("source_ref")
        batch_op.drop_column("source")

    with op.batch_alter_table("debit_items", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_debit_items_in_flight_trace",
            sqlite_where=sa.text("state = 'in_flight'"),
            postgresql_where=sa.text("state = 'in_flight'"),
        )
        batch_op.drop_index(batch_op.f("ix_debit_items_trace_id"))
        batch_op.drop_index(batch_op.f("ix_debit_items_run_id_id"))
        batch_op.drop_index(batch_op.f("ix_debit_items_mandate_id"))
        batch_op.drop_index(batch_op.f("ix_debit_items_contract_id_id"))

    op.drop_table("debit_items")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_receivable_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_payment_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_contract_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mandates_active_contract_id",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_mandates_scheme_state_contract_id"))
        batch_op.drop_index(batch_op.f("ix_mandates_contract_id_id"))

    op.drop_table("mandates")
    op.drop_table("trace_sequences")
    op.drop_table("statement_imports")
    with op.batch_alter_table("statement_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_entries_state_id"))
        batch_op.drop_index(batch_op.f("ix_statement_entries_import_id"))

    op.drop_table("statement_entries")
    with op.batch_alter_table("debit_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debit_runs_business_date_id"))

    op.drop_table("debit_runs")
    op.drop_table("debit_result_imports")
