"""Contracts, their schedule lines (receivables) and payments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.contracts import Contract, Payment, PaymentState, Receivable
from leasekit.domain.disbursements import Disbursement, DisbursementState
from leasekit.money import Money
from leasekit.services.storage import ContractFacts, OpenAmount, Page, PayerFacts, Record
from leasekit.store.parties import CustomerRow, PartnerRow
from leasekit.store.products import ProductRow, ProductVersionRow
from leasekit.store.repository import (
    ClaimableRepository,
    Rule,
    SqlRepository,
    Stored,
    in_lists,
    repository,
)
from leasekit.store.schema import (
    ID_LENGTH,
    Base,
    EntityRow,
    currency_column,
    reference,
    unique_where,
)
from leasekit.store.types import as_number

__all__ = [
    "ContractNumberRow",
    "ContractRepository",
    "ContractRow",
    "DisbursementRepository",
    "DisbursementRow",
    "PaymentRepository",
    "PaymentRow",
    "ReceivableRepository",
    "ReceivableRow",
    "holds_credit",
]


class ContractRow(EntityRow):
    """A contract; an application is drawn up once, and numbers never repeat."""

    __tablename__ = "contracts"

    number: Mapped[str] = mapped_column(unique=True)
    application_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("applications.id"), unique=True
    )
    partner_id: Mapped[str] = reference("partners", index=False)
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    product_version_id: Mapped[str | None] = reference("product_versions")
    currency: Mapped[str] = currency_column()
    vehicle_price: Mapped[Decimal]
    down_payment: Mapped[Decimal]
    principal: Mapped[Decimal]
    annual_rate: Mapped[Decimal]
    term_months: Mapped[int]
    residual_value: Mapped[Decimal | None]
    plan: Mapped[dict[str, Any]]
    """The approved plan's totals, decimals as their exact text."""
    signers: Mapped[list[Any]]
    language: Mapped[str]
    start_date: Mapped[dt.date | None]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]
    document: Mapped[dict[str, Any] | None]
    envelope_id: Mapped[str | None] = mapped_column(unique=True)
    signed_document: Mapped[dict[str, Any] | None]
    seller_account: Mapped[dict[str, Any] | None]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


class ContractNumberRow(Base):
    """The last number given in a company's year. Taking the next one updates this row in the
    drawing-up transaction, so concurrent drawings queue on it and a rolled-back one gives
    its number back: numbers have no gaps."""

    __tablename__ = "contract_numbers"

    company: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int]


_NUMBERS: Final = cast(sa.Table, ContractNumberRow.__table__)
_STREAMED_ROWS: Final = 2_000
"""Rows fetched at a time by the queries that stream a whole book."""


@repository("contracts")
class ContractRepository(SqlRepository[Contract]):
    stored = Stored.of("contract", ContractRow, Contract)

    def list_for_application(self, application_id: str) -> list[Contract]:
        return self._find(self.stored.table.c.application_id == application_id)

    def payer_facts(self, contract_ids: Collection[str]) -> dict[str, PayerFacts]:
        c = self.stored.table.c
        customers, partners = CustomerRow.__table__, PartnerRow.__table__
        found = {}
        for chunk in in_lists(contract_ids):
            statement = (
                sa.select(c.id, c.number, customers.c.name.label("customer"),
                          partners.c.name.label("partner"))
                .join(customers, customers.c.id == c.customer_id)
                .join(partners, partners.c.id == c.partner_id)
                .where(c.id.in_(chunk))
            )  # fmt: skip
            for row in self._rows(statement):
                found[row["id"]] = PayerFacts(row["number"], row["customer"], row["partner"])
        return found

    def booking_facts(self, contract_ids: Collection[str]) -> dict[str, ContractFacts]:
        """What templates read of each contract (business type, partner, product code,
        partner's branch), in one query per IN list joining the product through its version."""
        c = self.stored.table.c
        versions, products = ProductVersionRow.__table__, ProductRow.__table__
        partners = PartnerRow.__table__
        found = {}
        for chunk in in_lists(contract_ids):
            statement = (
                sa.select(c.id, c.business_type, c.partner_id, products.c.code, partners.c.branch)
                .join(partners, partners.c.id == c.partner_id)
                .outerjoin(versions, versions.c.id == c.product_version_id)
                .outerjoin(products, products.c.id == versions.c.product_id)
                .where(c.id.in_(chunk))
            )
            for row in self._rows(statement):
                found[row["id"]] = ContractFacts(
                    row["id"], row["business_type"], row["partner_id"], row["code"], row["branch"]
                )
        return found

    def next_sequence(self, company: str, year: int) -> int:
        """The next contract number's sequence in *company*'s *year*, from 1; held (and on
        PostgreSQL row-locked) until this transaction ends."""
        taken = self._session.execute(
            sa.update(_NUMBERS)
            .where(_NUMBERS.c.company == company, _NUMBERS.c.year == year)
            .values(last=_NUMBERS.c.last + 1)
            .returning(_NUMBERS.c.last)
        ).scalar_one_or_none()
        if taken is not None:
            return int(taken)
        try:
            with self._session.begin_nested():
                self._session.execute(
                    sa.insert(_NUMBERS).values(company=company, year=year, last=1)
                )
        except IntegrityError:
            return self.next_sequence(company, year)  # another drawing opened the year first
        return 1


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
    penalty: Mapped[Decimal]
    paid_penalty: Mapped[Decimal]
    written_off_on: Mapped[dt.date | None]
    penalty_exact: Mapped[Decimal | None]
    """The penalty the close of business has accrued, unrounded
    (:mod:`leasekit.store.end_of_day`); not part of the line as services see it."""
    penalty_through: Mapped[dt.date | None]
    """The business date that accrual runs through."""
    interest_accrued: Mapped[Decimal | None]
    """Interest earned and not yet paid, as the close last booked it."""

    __table_args__ = (UniqueConstraint("contract_id", "sequence"),)


@repository("receivables")
class ReceivableRepository(SqlRepository[Receivable]):
    """Schedule lines; a whole schedule is inserted in one executemany statement."""

    stored = Stored.of("receivable", ReceivableRow, Receivable)

    def list_for_contract(self, contract_id: str) -> list[Receivable]:
        """In schedule order."""
        found = self._find(self.stored.table.c.contract_id == contract_id)
        return sorted(found, key=lambda line: line.sequence)

    def schedule(self, contract_id: str, *, after: int | None, limit: int) -> Page[Receivable]:
        """Up to *limit* lines of one contract after line *after*, in schedule order, as
        lines (their status is computed from them), and the next page's cursor."""
        table = self.stored.table
        criteria = [table.c.contract_id == contract_id]
        if after is not None:
            criteria.append(table.c.sequence > after)
        statement = (
            sa.select(*self.stored.read_columns)
            .where(*criteria)
            .order_by(table.c.sequence)
            .limit(limit + 1)
        )
        rows = self._rows(statement)
        lines = [self.stored.mapper.load(row) for row in rows[:limit]]
        return Page(lines, str(lines[-1].sequence) if len(rows) > limit else None)

    def _unpaid_due(
        self,
        columns: Sequence[sa.ColumnElement[Any]],
        on_or_before: dt.date,
        currency: str,
        contract_states: Collection[str],
    ) -> Iterator[sa.RowMapping]:
        """*columns* of the lines :meth:`unpaid_due` reads, streamed a few thousand rows at a
        time, so a pass over a million lines holds only those it is working on."""
        r, c = self.stored.table.c, ContractRow.__table__.c
        owed = (r.paid_principal + r.paid_interest + r.paid_fee + r.paid_penalty
                < r.principal + r.interest + r.fee + r.penalty)  # fmt: skip
        statement = (
            sa.select(*columns)
            .join(ContractRow.__table__, c.id == r.contract_id)
            .where(
                r.due_date <= on_or_before,
                r.written_off_on.is_(None),
                owed,
                r.currency == currency,
                c.state.in_(sorted(contract_states)),
            )
            .order_by(r.contract_id, r.sequence)
            .execution_options(yield_per=_STREAMED_ROWS)
        )
        return iter(self._session.connection().execute(statement).mappings())

    def unpaid_due(
        self, on_or_before: dt.date, currency: str, contract_states: Collection[str]
    ) -> Iterator[Receivable]:
        """Lines of contracts in *contract_states* and *currency* due by a date and not paid
        in full (nor written off), by contract and then in schedule order: what a debit run
        collects. Streamed (see :meth:`_unpaid_due`)."""
        rows = self._unpaid_due(self.stored.read_columns, on_or_before, currency, contract_states)
        return (self.stored.mapper.load(row) for row in rows)

    def open_amounts(
        self, on_or_before: dt.date, currency: str, contract_states: Collection[str]
    ) -> Iterator[OpenAmount]:
        """What each of those lines still owes, computed exactly from its parts (SQLite keeps
        amounts as text), without building the lines."""
        r = self.stored.table.c
        parts = (r.principal, r.interest, r.fee, r.penalty)
        paid = (r.paid_principal, r.paid_interest, r.paid_fee, r.paid_penalty)
        columns = (r.contract_id, r.due_date, *parts, *paid)
        for row in self._unpaid_due(columns, on_or_before, currency, contract_states):
            owed = sum((row[c.name] for c in parts), Decimal(0))
            owed -= sum((row[c.name] for c in paid), Decimal(0))
            yield OpenAmount(row["contract_id"], row["due_date"], owed)

    def open_principal(
        self, currency: str, contract_states: Collection[str]
    ) -> Iterator[tuple[str, Decimal]]:
        """(contract id, principal still owed) of each line of contracts in
        *contract_states* and *currency* not paid in full nor written off, streamed in
        contract order: a book's outstanding principal without building its lines."""
        r = self.stored.table.c
        columns = (r.contract_id, r.principal, r.paid_principal)
        for row in self._unpaid_due(columns, dt.date.max, currency, contract_states):
            yield row["contract_id"], row["principal"] - row["paid_principal"]

    def list_due(self, on_or_before: dt.date) -> list[Receivable]:
        """Lines falling due up to a business date (paid ones included; the caller filters),
        by contract and then in schedule order."""
        found = self._find(self.stored.table.c.due_date <= on_or_before)
        return sorted(found, key=lambda line: (line.contract_id, line.sequence))


class PaymentRow(EntityRow):
    """Money received; one payment per source item (a debit, a statement line), which the
    database enforces, so a result or statement read twice cannot pay twice."""

    __tablename__ = "payments"

    contract_id: Mapped[str] = reference("contracts", index=False)
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    received_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(index=True)
    source: Mapped[str]
    source_ref: Mapped[str | None]
    recorded_by: Mapped[str]
    unallocated: Mapped[Decimal]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        UniqueConstraint("source", "source_ref"),
        Index(None, "contract_id", "id"),
    )


@repository("payments")
class PaymentRepository(SqlRepository[Payment]):
    stored = Stored.of(
        "payment",
        PaymentRow,
        Payment,
        rules=[Rule("uq_payments_source_source_ref", ("source", "source_ref"), "source_ref",
                    "is paid already")],
    )  # fmt: skip

    def list_for_contract(self, contract_id: str) -> list[Payment]:
        return self._find(self.stored.table.c.contract_id == contract_id)

    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's payments, oldest first."""
        table = self.stored.table
        return self._keyset_page([table.c.contract_id == contract_id], table.c.id, after, limit)

    def credit_of(self, contract_ids: Collection[str]) -> dict[str, Money]:
        """Each contract's credit (the unallocated money of its payments), where it has any,
        read in one query."""
        credit: dict[str, Money] = {}
        for payment in self._holding_credit(contract_ids):
            held = credit.get(payment.contract_id)
            credit[payment.contract_id] = (
                payment.unallocated if held is None else held + payment.unallocated
            )
        return credit

    def with_credit(self, contract_id: str) -> list[Payment]:
        """The contract's payments that still hold credit (unallocated money), oldest first."""
        return self._holding_credit([contract_id])

    def _holding_credit(self, contract_ids: Collection[str]) -> list[Payment]:
        """The payments of *contract_ids* not reversed with money still unallocated, in id
        (time) order; the amount is compared as a number (SQLite keeps it as text)."""
        table = self.stored.table
        return self._find_in(table.c.contract_id, contract_ids, holds_credit(table))

    def find_by_reference(self, reference: str) -> list[Payment]:
        return self._find(self.stored.table.c.reference == reference)


def holds_credit(payments: sa.Table) -> sa.ColumnElement[bool]:
    """A payment not reversed whose money is not all allocated: the customer's credit."""
    return sa.and_(
        payments.c.state != str(PaymentState.REVERSED), as_number(payments.c.unallocated) > 0
    )


_OPEN_PAYOUT_SQL: Final = f"state <> '{DisbursementState.REJECTED}'"
"""The payouts that hold their contract: one at a time, and a paid one for good."""


class DisbursementRow(EntityRow):
    """A contract's payout; a contract has at most one that is not rejected."""

    __tablename__ = "disbursements"

    contract_id: Mapped[str] = reference("contracts", index=False)
    contract_number: Mapped[str]
    application_id: Mapped[str] = reference("applications")
    partner_id: Mapped[str] = reference("partners", index=False)
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    payee: Mapped[dict[str, Any] | None]
    checks: Mapped[list[Any]]
    state: Mapped[str]
    locked_by: Mapped[str | None]
    locked_at: Mapped[dt.datetime | None]
    lock_expires_at: Mapped[dt.datetime | None]
    attempts: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]
    checked_at: Mapped[dt.datetime]
    reason: Mapped[str | None]
    reported_person: Mapped[str | None]

    __table_args__ = (
        unique_where("uq_disbursements_contract_id", "contract_id", where=_OPEN_PAYOUT_SQL),
        Index(None, "contract_id", "id"),
        Index(None, "partner_id", "id"),
        Index(None, "state", "id"),
        Index(None, "locked_by", "id"),
    )


@repository("disbursements")
class DisbursementRepository(ClaimableRepository[Disbursement]):
    stored = Stored.of(
        "disbursement",
        DisbursementRow,
        Disbursement,
        rules=[
            Rule(
                "uq_disbursements_contract_id",
                ("contract_id",),
                "contract_id",
                "has a payout in the queue or paid already",
            )
        ],
    )

    def for_contract(self, contract_id: str) -> list[Disbursement]:
        """Every payout of a contract, the rejected ones included, oldest first."""
        found = self._find(self.stored.table.c.contract_id == contract_id)
        return sorted(found, key=lambda item: item.created_at)

    def contract_numbers(self, item_ids: Collection[str]) -> dict[str, str]:
        """The contract number of each of the payouts *item_ids* that exist, in one query."""
        table = self.stored.table
        return {
            row.id: row.contract_number
            for chunk in in_lists(item_ids)
            for row in self._rows(
                sa.select(table.c.id, table.c.contract_number).where(table.c.id.in_(chunk))
            )
        }
