"""Initial schema: every table of the first release, and the audit chain's genesis head.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 23:16:11.139666
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
"""The chain head before the first audit entry (``leasekit.store.audit.GENESIS_HASH``; copied,
not imported, so that this revision never changes with the code)."""


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    chain_head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
    )
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])
    op.create_index(
        op.f("ix_audit_log_subject_subject_id_seq"),
        "audit_log",
        ["subject", "subject_id", "seq"],
        unique=False,
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_delivered_at"), "outbox", ["delivered_at"], unique=False)
    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("registration_number", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_limit", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("rating", sa.String(length=1), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint(
            "country",
            "registration_number",
            name=op.f("uq_partners_country_registration_number"),
        ),
    )
    op.create_index(op.f("ix_partners_state"), "partners", ["state"], unique=False)
    op.create_table(
        "vouchers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_key", sa.String(), nullable=True),
        sa.Column("reverses", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["reverses"], ["vouchers.id"], name=op.f("fk_vouchers_reverses_vouchers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("reverses", name=op.f("uq_vouchers_reverses")),
        sa.UniqueConstraint("source_key", name=op.f("uq_vouchers_source_key")),
    )
    op.create_index(op.f("ix_vouchers_business_date"), "vouchers", ["business_date"], unique=False)
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("id_number", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_customers_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_index(
        op.f("ix_customers_country_id_number"), "customers", ["country", "id_number"], unique=False
    )
    op.create_index(op.f("ix_customers_partner_id"), "customers", ["partner_id"], unique=False)
    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_kind", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=True),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_documents_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_documents_storage_key")),
    )
    op.create_index(
        op.f("ix_documents_owner_kind_owner_id"),
        "documents",
        ["owner_kind", "owner_id"],
        unique=False,
    )
    op.create_index(op.f("ix_documents_partner_id"), "documents", ["partner_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_users_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_partner_id"), "users", ["partner_id"], unique=False)
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.Column("make", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_vehicles_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
    )
    op.create_index(op.f("ix_vehicles_partner_id"), "vehicles", ["partner_id"], unique=False)
    op.create_index(op.f("ix_vehicles_vin"), "vehicles", ["vin"], unique=False)
    op.create_table(
        "voucher_lines",
        sa.Column("voucher_id", sa.String(length=32), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("memo", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["vouchers.id"], name=op.f("fk_voucher_lines_voucher_id_vouchers")
        ),
        sa.PrimaryKeyConstraint("voucher_id", "line_no", name=op.f("pk_voucher_lines")),
    )
    op.create_index(op.f("ix_voucher_lines_account"), "voucher_lines", ["account"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("vehicle_id", sa.String(length=32), nullable=False),
        sa.Column("business_type", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("vehicle_price", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("down_payment", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("residual_value", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("annual_rate", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_applications_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_applications_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_applications_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(
        op.f("ix_applications_customer_id"), "applications", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_applications_partner_id"), "applications", ["partner_id"], unique=False
    )
    op.create_index(op.f("ix_applications_state"), "applications", ["state"], unique=False)
    op.create_index(
        op.f("ix_applications_vehicle_id"), "applications", ["vehicle_id"], unique=False
    )
    op.create_table(
        "approval_tasks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("assignee", sa.String(), nullable=True),
        sa.Column("locked_by", sa.String(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_approval_tasks_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_tasks")),
    )
    op.create_index(
        op.f("ix_approval_tasks_application_id"), "approval_tasks", ["application_id"], unique=False
    )
    op.create_index(
        op.f("ix_approval_tasks_state_tier"), "approval_tasks", ["state", "tier"], unique=False
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("vehicle_id", sa.String(length=32), nullable=False),
        sa.Column("business_type", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("annual_rate", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("residual_value", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_contracts_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_contracts_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_contracts_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
    )
    op.create_index(
        op.f("ix_contracts_application_id"), "contracts", ["application_id"], unique=False
    )
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"], unique=False)
    op.create_index(op.f("ix_contracts_partner_id"), "contracts", ["partner_id"], unique=False)
    op.create_index(op.f("ix_contracts_state"), "contracts", ["state"], unique=False)
    op.create_index(op.f("ix_contracts_vehicle_id"), "contracts", ["vehicle_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_payments_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_contract_id"), "payments", ["contract_id"], unique=False)
    op.create_index(op.f("ix_payments_reference"), "payments", ["reference"], unique=False)
    op.create_table(
        "receivables",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("principal", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("interest", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("fee", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("paid_principal", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("paid_interest", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("paid_fee", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_receivables_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
        sa.UniqueConstraint(
            "contract_id", "sequence", name=op.f("uq_receivables_contract_id_sequence")
        ),
    )
    op.create_index(op.f("ix_receivables_due_date"), "receivables", ["due_date"], unique=False)
    op.create_table(
        "exception_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("contract_id", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric().with_variant(sa.Text(), "sqlite"), nullable=False),
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
    op.create_index(
        op.f("ix_exception_requests_contract_id"),
        "exception_requests",
        ["contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_exception_requests_payment_id"), "exception_requests", ["payment_id"], unique=False
    )
    op.create_index(
        op.f("ix_exception_requests_state"), "exception_requests", ["state"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exception_requests_state"), table_name="exception_requests")
    op.drop_index(op.f("ix_exception_requests_payment_id"), table_name="exception_requests")
    op.drop_index(op.f("ix_exception_requests_contract_id"), table_name="exception_requests")
    op.drop_table("exception_requests")
    op.drop_index(op.f("ix_receivables_due_date"), table_name="receivables")
    op.drop_table("receivables")
    op.drop_index(op.f("ix_payments_reference"), table_name="payments")
    op.drop_index(op.f("ix_payments_contract_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_contracts_vehicle_id"), table_name="contracts")
    op.drop_index(op.f("ix_contracts_state"), table_name="contracts")
    op.drop_index(op.f("ix_contracts_partner_id"), table_name="contracts")
    op.drop_index(op.f("ix_contracts_customer_id"), table_name="contracts")
    op.drop_index(op.f("ix_contracts_application_id"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_index(op.f("ix_approval_tasks_state_tier"), table_name="approval_tasks")
    op.drop_index(op.f("ix_approval_tasks_application_id"), table_name="approval_tasks")
    op.drop_table("approval_tasks")
    op.drop_index(op.f("ix_applications_vehicle_id"), table_name="applications")
    op.drop_index(op.f("ix_applications_state"), table_name="applications")
    op.drop_index(op.f("ix_applications_partner_id"), table_name="applications")
    op.drop_index(op.f("ix_applications_customer_id"), table_name="applications")
    op.drop_table("applications")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_voucher_lines_account"), table_name="voucher_lines")
    op.drop_table("voucher_lines")
    op.drop_index(op.f("ix_vehicles_vin"), table_name="vehicles")
    op.drop_index(op.f("ix_vehicles_partner_id"), table_name="vehicles")
    op.drop_table("vehicles")
    op.drop_index(op.f("ix_users_partner_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_documents_partner_id"), table_name="documents")
    op.drop_index(op.f("ix_documents_owner_kind_owner_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_customers_partner_id"), table_name="customers")
    op.drop_index(op.f("ix_customers_country_id_number"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_vouchers_business_date"), table_name="vouchers")
    op.drop_table("vouchers")
    op.drop_index(op.f("ix_partners_state"), table_name="partners")
    op.drop_table("partners")
    op.drop_index(op.f("ix_outbox_delivered_at"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_audit_log_subject_subject_id_seq"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("audit_chain_head")
