"""Contracts, their schedule lines (receivables), payments and exception requests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.contracts import Contract, Payment, Receivable
from leasekit.domain.exception_requests import ExceptionRequest
from leasekit.store.repository import SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, currency_column, reference

__all__ = [
    "ContractRepository",
    "ContractRow",
    "ExceptionRequestRepository",
    "ExceptionRequestRow",
    "PaymentRepository",
    "PaymentRow",
    "ReceivableRepository",
    "ReceivableRow",
]


class ContractRow(EntityRow):
    __tablename__ = "contracts"

    application_id: Mapped[str] = reference("applications")
    partner_id: Mapped[str] = reference("partners", index=False)
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    currency: Mapped[str] = currency_column()
    principal: Mapped[Decimal]
    annual_rate: Mapped[Decimal]
    term_months: Mapped[int]
    residual_value: Mapped[Decimal | None]
    start_date: Mapped[dt.date | None]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


@repository("contracts")
class ContractRepository(SqlRepository[Contract]):
    stored = Stored.of("contract", ContractRow, Contract)

    def list_for_application(self, application_id: str) -> list[Contract]:
        return self._find(self.stored.table.c.application_id == application_id)


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


@repository("receivables")
class ReceivableRepository(SqlRepository[Receivable]):
    """Schedule lines; a whole schedule is inserted in one executemany statement."""

    stored = Stored.of("receivable", ReceivableRow, Receivable)

    def list_for_contract(self, contract_id: str) -> list[Receivable]:
        """In schedule order."""
        found = self._find(self.stored.table.c.contract_id == contract_id)
        return sorted(found, key=lambda line: line.sequence)

    def list_due(self, on_or_before: dt.date) -> list[Receivable]:
        """Lines falling due up to a business date (paid ones included; the caller filters),
        by contract and then in schedule order."""
        found = self._find(self.stored.table.c.due_date <= on_or_before)
        return sorted(found, key=lambda line: (line.contract_id, line.sequence))


class PaymentRow(EntityRow):
    __tablename__ = "payments"

    contract_id: Mapped[str] = reference("contracts")
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    received_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(index=True)
    state: Mapped[str]
    created_at: Mapped[dt.datetime]


@repository("payments")
class PaymentRepository(SqlRepository[Payment]):
    stored = Stored.of("payment", PaymentRow, Payment)

    def list_for_contract(self, contract_id: str) -> list[Payment]:
        return self._find(self.stored.table.c.contract_id == contract_id)

    def find_by_reference(self, reference: str) -> list[Payment]:
        return self._find(self.stored.table.c.reference == reference)


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


@repository("exception_requests")
class ExceptionRequestRepository(SqlRepository[ExceptionRequest]):
    stored = Stored.of("exception request", ExceptionRequestRow, ExceptionRequest)

    def list_for_payment(self, payment_id: str) -> list[ExceptionRequest]:
        return self._find(self.stored.table.c.payment_id == payment_id)
