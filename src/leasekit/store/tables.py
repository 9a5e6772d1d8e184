"""The schema: one typed row class per table, all on one ``MetaData`` with a naming convention.

Row classes are storage shapes, not the domain model: the domain's attrs classes cannot be
ORM-mapped, so each repository converts explicitly (``repositories.py``), writing with
``INSERT``/``UPDATE`` statements and reading rows back with ``populate_existing``, never
trusting the identity map. Amounts use :class:`~leasekit.store.types.ExactDecimal`; money is
an amount column plus the row's ``currency`` column (the domain keeps all the amounts of one
application, contract, schedule line or payment in one currency). Instants use
:class:`~leasekit.store.types.UtcDateTime`.

Constraint names come from the naming convention, so migrations can refer to them and
errors can be traced to a column.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leasekit.store.types import CanonicalJson, ExactDecimal, UtcDateTime

__all__ = [
    "COUNTER",
    "ID_LENGTH",
    "NAMING_CONVENTION",
    "ApiTokenRow",
    "ApplicationRow",
    "ApprovalTaskRow",
    "AuditChainHeadRow",
    "AuditEntryRow",
    "Base",
    "ContractRow",
    "CustomerRow",
    "DocumentRow",
    "EntityRow",
    "ExceptionRequestRow",
    "IdempotencyKeyRow",
    "OutboxRow",
    "PartnerRow",
    "PaymentRow",
    "ReceivableRow",
    "UserRow",
    "VehicleRow",
    "VoucherLineRow",
    "VoucherRow",
    "metadata",
]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH: Final = 32
"""Entity ids are uuid4 hex (:func:`leasekit.domain.identity.new_id`)."""

COUNTER = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit counter; SQLite only auto-increments a column declared exactly ``INTEGER``."""


class Base(DeclarativeBase):
    """Shared metadata and the Python-type → column-type map every table uses."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - read once by SQLAlchemy at class creation
        Decimal: ExactDecimal(),
        dt.datetime: UtcDateTime(),
        dt.date: Date(),
        dict[str, Any]: CanonicalJson(),
        list[Any]: CanonicalJson(),
    }


metadata: Final = Base.metadata


def id_column() -> Mapped[str]:
    return mapped_column(String(ID_LENGTH), primary_key=True, sort_order=-1)


def reference(target: str, *, index: bool = True) -> Mapped[Any]:
    """A foreign key to ``<target>.id``, indexed because every reference is also looked up."""
    return mapped_column(String(ID_LENGTH), ForeignKey(f"{target}.id"), index=index)


def currency_column() -> Mapped[str]:
    return mapped_column(String(3))


class EntityRow(Base):
    """Columns every entity table has: the id and the compare-and-set ``version``."""

    __abstract__ = True

    id: Mapped[str] = id_column()
    version: Mapped[int]


# --- identity ----------------------------------------------------------------------------


class UserRow(EntityRow):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    role: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners")
    active: Mapped[bool]
    created_at: Mapped[dt.datetime]


class ApiTokenRow(Base):
    """A login token, kept only as the SHA-256 of its text: a leaked table opens nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = reference("users")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class IdempotencyKeyRow(Base):
    """A command a client may retry, remembered by the key the client sent with it: a retry
    with the same key gets the object the first attempt made instead of a second one."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str]
    subject_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime]


# --- parties and assets ------------------------------------------------------------------


class CustomerRow(EntityRow):
    """Official numbers are not unique here: each partner may register the same person."""

    __tablename__ = "customers"

    kind: Mapped[str]
    name: Mapped[str]
    country: Mapped[str] = mapped_column(String(2))
    id_number: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners")
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "country", "id_number"),)


class VehicleRow(EntityRow):
    __tablename__ = "vehicles"

    vin: Mapped[str] = mapped_column(String(17), index=True)
    make: Mapped[str]
    model: Mapped[str]
    year: Mapped[int]
    condition: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners")
    created_at: Mapped[dt.datetime]


class PartnerRow(EntityRow):
    """One partner per company code in a country: the service checks first, the unique
    constraint catches two onboardings racing each other."""

    __tablename__ = "partners"

    name: Mapped[str]
    country: Mapped[str] = mapped_column(String(2))
    registration_number: Mapped[str]
    currency: Mapped[str] = currency_column()
    credit_limit: Mapped[Decimal]
    rating: Mapped[str | None] = mapped_column(String(1))
    state: Mapped[str] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]

    __table_args__ = (UniqueConstraint("country", "registration_number"),)


# --- origination ------------------------------------------------------------------------


class ApplicationRow(EntityRow):
    """The requested terms are one currency (the domain checks it), held once in ``currency``."""

    __tablename__ = "applications"

    partner_id: Mapped[str] = reference("partners")
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    currency: Mapped[str] = currency_column()
    vehicle_price: Mapped[Decimal]
    down_payment: Mapped[Decimal]
    residual_value: Mapped[Decimal | None]
    term_months: Mapped[int]
    annual_rate: Mapped[Decimal]
    state: Mapped[str] = mapped_column(index=True)
    created_by: Mapped[str]
    """A user id, or a system actor's name, so not a foreign key."""
    created_at: Mapped[dt.datetime]


class DocumentRow(EntityRow):
    """``owner_id`` points into the table ``owner_kind`` names, so it has no foreign key."""

    __tablename__ = "documents"

    owner_kind: Mapped[str]
    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str]
    filename: Mapped[str]
    content_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(unique=True)
    partner_id: Mapped[str | None] = reference("partners")
    uploaded_by: Mapped[str]
    uploaded_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "owner_kind", "owner_id"),)


class ApprovalTaskRow(EntityRow):
    __tablename__ = "approval_tasks"

    application_id: Mapped[str] = reference("applications")
    tier: Mapped[str]
    state: Mapped[str]
    assignee: Mapped[str | None]
    locked_by: Mapped[str | None]
    locked_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None]
    tags: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "state", "tier"),)


# --- contracts and money in -------------------------------------------------------------


class ContractRow(EntityRow):
    __tablename__ = "contracts"

    application_id: Mapped[str] = reference("applications")
    partner_id: Mapped[str] = reference("partners")
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    currency: Mapped[str] = currency_column()
    principal: Mapped[Decimal]
    annual_rate: Mapped[Decimal]
    term_months: Mapped[int]
    residual_value: Mapped[Decimal | None]
    start_date: Mapped[dt.date | None]
    state: Mapped[str] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]


class ReceivableRow(EntityRow):
    """A schedule line; one per (contract, sequence)."""

    __tablename__ = "receivables"

    contract_id: Mapped[str] = reference("contracts", index=False)
    sequence: Mapped[int]
    due_date: Mapped[dt.date] = mapped_column(index=True)
    currency: Mapped[str] = currency_column()
    principal: Mapped[Decimal]
    interest: Mapped[Decimal]
    fee: Mapped[Decimal]
    paid_principal: Mapped[Decimal]
    paid_interest: Mapped[Decimal]
    paid_fee: Mapped[Decimal]

    __table_args__ = (UniqueConstraint("contract_id", "sequence"),)


class PaymentRow(EntityRow):
    __tablename__ = "payments"

    contract_id: Mapped[str] = reference("contracts")
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    received_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(index=True)
    state: Mapped[str]
    created_at: Mapped[dt.datetime]


class ExceptionRequestRow(EntityRow):
    __tablename__ = "exception_requests"

    kind: Mapped[str]
    contract_id: Mapped[str] = reference("contracts")
    payment_id: Mapped[str] = reference("payments")
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    reason: Mapped[str]
    requested_by: Mapped[str]
    level1_approved_by: Mapped[str | None]
    approved_by: Mapped[str | None]
    state: Mapped[str] = mapped_column(index=True)
    created_at: Mapped[dt.datetime]


# --- the ledger (append-only) ------------------------------------------------------------


class VoucherRow(Base):
    """A posted voucher. No version: vouchers are never updated, only reversed.

    ``source_key`` is unique so that replaying the event that produced a voucher cannot post
    it twice; ``reverses`` is unique so that a voucher cannot be reversed twice.
    """

    __tablename__ = "vouchers"

    id: Mapped[str] = id_column()
    business_date: Mapped[dt.date] = mapped_column(index=True)
    description: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    source_key: Mapped[str | None] = mapped_column(unique=True)
    reverses: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("vouchers.id"), unique=True
    )


class VoucherLineRow(Base):
    """One journal line; ``line_no`` keeps the order the voucher was written in."""

    __tablename__ = "voucher_lines"

    voucher_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("vouchers.id"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(index=True)
    side: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    memo: Mapped[str]


# --- events and audit -----------------------------------------------------------------


class OutboxRow(Base):
    """An event waiting for (or done with) delivery to plugins, written with its change.

    ``id`` gives the delivery order. A relay claims a row by setting ``claim_token`` and
    ``claimed_until`` with compare-and-set; an expired claim may be taken over, which is
    what makes delivery at-least-once rather than at-most-once.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    event_type: Mapped[str]
    name: Mapped[str]
    subject: Mapped[str]
    subject_id: Mapped[str]
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[dt.datetime]
    business_date: Mapped[dt.date]
    actor_id: Mapped[str | None]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    claim_token: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    claimed_until: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None] = mapped_column(index=True)


class AuditEntryRow(Base):
    """One link of the hash chain; never updated or deleted."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    actor_id: Mapped[str | None]
    action: Mapped[str]
    subject: Mapped[str]
    subject_id: Mapped[str]
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index(None, "subject", "subject_id", "seq"),)


class AuditChainHeadRow(Base):
    """The single row naming the newest audit entry.

    Appending first increments ``seq`` here, which takes the row's write lock (PostgreSQL) or
    the database's (SQLite), so appends are serialised and the chain cannot fork; it also
    lets :func:`leasekit.store.audit.verify` notice entries deleted from the end.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(COUNTER)
    hash: Mapped[str] = mapped_column(String(64))
