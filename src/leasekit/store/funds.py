"""Collections: allocations, debit mandates, debit runs and their items, the bank's result
files as imported, and statement entries waiting to be (or placed) on contracts.

The database keeps the promises collections make: one active mandate per contract and one
mandate reference in all; one run per creditor account and business date (a second request
for it finds the first); one trace id among the debits in flight of an account (so a result
finds one debit); one import per file (by its SHA-256). Allocations are append-only: an
undone allocation is a second row with the negative amount.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.debit_runs import DebitItemState, DebitOrderItem, DebitRun, ResultImport
from leasekit.domain.funds import PostedAllocation
from leasekit.domain.mandates import Mandate, MandateState
from leasekit.domain.statement_entries import StatementEntry, StatementImport
from leasekit.services.storage import Page, Record
from leasekit.store.repository import Rule, SqlRepository, Stored, in_lists, repository
from leasekit.store.schema import Base, EntityRow, currency_column, reference, unique_where

__all__ = [
    "AllocationRepository",
    "DebitItemRepository",
    "DebitRunRepository",
    "MandateRepository",
    "ResultImportRepository",
    "StatementEntryRepository",
    "StatementImportRepository",
]

_ACTIVE_SQL: Final = f"state = '{MandateState.ACTIVE}'"
_IN_FLIGHT_SQL: Final = f"state = '{DebitItemState.IN_FLIGHT}'"


class AllocationRow(EntityRow):
    __tablename__ = "allocations"

    payment_id: Mapped[str] = reference("payments")
    contract_id: Mapped[str] = reference("contracts")
    receivable_id: Mapped[str] = reference("receivables")
    sequence: Mapped[int]
    part: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    allocated_on: Mapped[dt.date]
    created_at: Mapped[dt.datetime]
    reverses: Mapped[str | None] = mapped_column(String(32), unique=True)
    """Each allocation is undone at most once."""


@repository("allocations")
class AllocationRepository(SqlRepository[PostedAllocation]):
    stored = Stored.of(
        "allocation",
        AllocationRow,
        PostedAllocation,
        rules=[Rule("uq_allocations_reverses", ("reverses",), "payment_id", "is undone already")],
    )

    def of_payment(self, payment_id: str) -> list[PostedAllocation]:
        """Every allocation of the payment, reversals included, in the order posted."""
        return self._find(self.stored.table.c.payment_id == payment_id)

    def of_contract(self, contract_id: str) -> list[PostedAllocation]:
        """Every allocation of the contract's payments, reversals included, in the order
        posted: what a replay of its history reads."""
        return self._find(self.stored.table.c.contract_id == contract_id)

    def of_payments(self, payment_ids: Collection[str]) -> list[Record]:
        table = self.stored.table
        return [
            self.stored.mapper.record(row)
            for chunk in in_lists(payment_ids)
            for row in self._rows(
                sa.select(*self.stored.read_columns)
                .where(table.c.payment_id.in_(chunk))
                .order_by(table.c.id)
            )
        ]


class MandateRow(EntityRow):
    __tablename__ = "mandates"

    contract_id: Mapped[str] = reference("contracts", index=False)
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    scheme: Mapped[str]
    debtor_name: Mapped[str]
    account: Mapped[str]
    agent: Mapped[str]
    account_type: Mapped[str]
    signed_on: Mapped[dt.date]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str]

    __table_args__ = (
        unique_where("uq_mandates_active_contract_id", "contract_id", where=_ACTIVE_SQL),
        Index(None, "contract_id", "id"),
        Index(None, "scheme", "state", "contract_id"),
    )


@repository("mandates")
class MandateRepository(SqlRepository[Mandate]):
    stored = Stored.of(
        "mandate",
        MandateRow,
        Mandate,
        rules=[
            Rule("uq_mandates_reference", ("reference",), "reference", "is taken already"),
            Rule("uq_mandates_active_contract_id", ("contract_id",), "contract_id",
                 "has an active mandate already; revoke it first"),
            Rule("fk_mandates_contract_id_contracts", ("contract_id",), "contract_id",
                 "no such contract"),
        ],
    )  # fmt: skip

    def active_for(self, contract_ids: Collection[str]) -> dict[str, Mandate]:
        """The active mandate of each of *contract_ids* that has one, in one query."""
        table = self.stored.table
        found = self._find_in(
            table.c.contract_id,
            contract_ids,
            table.c.state == sa.literal_column(f"'{MandateState.ACTIVE}'"),
        )
        return {mandate.contract_id: mandate for mandate in found}

    def latest_for(self, contract_ids: Collection[str]) -> dict[str, Mandate]:
        """Each contract's newest mandate, whatever its state (why a run left it out)."""
        found = self._find_in(self.stored.table.c.contract_id, contract_ids)
        return {mandate.contract_id: mandate for mandate in found}


class DebitRunRow(EntityRow):
    """One run per creditor account and business date."""

    __tablename__ = "debit_runs"

    account_id: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str]
    business_date: Mapped[dt.date]
    collection_date: Mapped[dt.date]
    item_count: Mapped[int]
    currency: Mapped[str] = currency_column()
    total: Mapped[Decimal]
    excluded: Mapped[list[Any]]
    file: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str]

    __table_args__ = (
        sa.UniqueConstraint("account_id", "business_date"),
        Index(None, "business_date", "id"),
    )


@repository("debit_runs")
class DebitRunRepository(SqlRepository[DebitRun]):
    stored = Stored.of(
        "debit run",
        DebitRunRow,
        DebitRun,
        rules=[Rule("uq_debit_runs_account_id_business_date", ("account_id", "business_date"),
                    "business_date", "the account has a run for this date already")],
    )  # fmt: skip

    def find(self, account_id: str, business_date: dt.date) -> DebitRun | None:
        table = self.stored.table
        return self._latest(
            table.c.account_id == account_id, table.c.business_date == business_date
        )


class DebitItemRow(EntityRow):
    """A debit; its trace id is unique among the account's debits in flight."""

    __tablename__ = "debit_items"

    run_id: Mapped[str] = reference("debit_runs", index=False)
    account_id: Mapped[str] = mapped_column(String(64))
    trace: Mapped[str] = mapped_column(String(35))
    contract_id: Mapped[str] = reference("contracts", index=False)
    mandate_id: Mapped[str] = reference("mandates")
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    receivable_ids: Mapped[list[Any]]
    collection_date: Mapped[dt.date]
    state: Mapped[str]
    payment_id: Mapped[str | None] = reference("payments", index=False)
    return_code: Mapped[str | None]
    return_reason: Mapped[str | None]
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        unique_where("uq_debit_items_in_flight_trace", "account_id", "trace",
                     where=_IN_FLIGHT_SQL),
        Index(None, "run_id", "id"),
        Index(None, "contract_id", "id"),
        Index(None, "trace", "id"),
    )  # fmt: skip


class TraceSequenceRow(Base):
    """The last trace sequence an account gave; taken like contract numbers (row-locked
    until the run commits)."""

    __tablename__ = "trace_sequences"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last: Mapped[int]


_SEQUENCES: Final = cast(sa.Table, TraceSequenceRow.__table__)


@repository("debit_items")
class DebitItemRepository(SqlRepository[DebitOrderItem]):
    stored = Stored.of(
        "debit item",
        DebitItemRow,
        DebitOrderItem,
        rules=[Rule("uq_debit_items_in_flight_trace", ("account_id", "trace"), "trace",
                    "is in flight already")],
    )  # fmt: skip

    def of_run(self, run_id: str, *, after: str | None, limit: int) -> Page[Record]:
        table = self.stored.table
        return self._keyset_page([table.c.run_id == run_id], table.c.id, after, limit)

    def all_of_run(self, run_id: str) -> list[DebitOrderItem]:
        return self._find(self.stored.table.c.run_id == run_id)

    def by_trace(self, traces: Collection[str]) -> dict[str, DebitOrderItem]:
        """The newest debit of each trace id (traces wrap, so an old debit may share one)."""
        found = self._find_in(self.stored.table.c.trace, traces)
        return {item.trace: item for item in found}

    def for_contracts(self, contract_ids: Collection[str]) -> list[DebitOrderItem]:
        """Every debit of the contracts, oldest first: what is in flight, what came back."""
        return self._find_in(self.stored.table.c.contract_id, contract_ids)

    def take_sequences(self, account_id: str, count: int) -> int:
        """Reserve *count* trace sequences of the account; returns the first."""
        taken = self._session.execute(
            sa.update(_SEQUENCES)
            .where(_SEQUENCES.c.account_id == account_id)
            .values(last=_SEQUENCES.c.last + count)
            .returning(_SEQUENCES.c.last)
        ).scalar_one_or_none()
        if taken is not None:
            return int(taken) - count + 1
        try:
            with self._session.begin_nested():
                self._session.execute(
                    sa.insert(_SEQUENCES).values(account_id=account_id, last=count)
                )
        except IntegrityError:
            return self.take_sequences(account_id, count)  # another run opened it first
        return 1


class ResultImportRow(EntityRow):
    __tablename__ = "debit_result_imports"

    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str]
    imported_at: Mapped[dt.datetime]
    imported_by: Mapped[str]
    lines: Mapped[list[Any]]


@repository("result_imports")
class ResultImportRepository(SqlRepository[ResultImport]):
    stored = Stored.of(
        "result import",
        ResultImportRow,
        ResultImport,
        rules=[Rule("uq_debit_result_imports_sha256", ("sha256",), "file",
                    "was imported already")],
    )  # fmt: skip

    def by_hash(self, sha256: str) -> ResultImport | None:
        return self._latest(self.stored.table.c.sha256 == sha256)


class StatementEntryRow(EntityRow):
    """Money in waiting to be placed, or placed; a booking is imported once per account."""

    __tablename__ = "statement_entries"

    account: Mapped[str] = mapped_column(String(64))
    line_id: Mapped[str] = mapped_column(String(140))
    source: Mapped[str]
    booked_on: Mapped[dt.date]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    payer_name: Mapped[str]
    payer_account: Mapped[str]
    reference: Mapped[str]
    state: Mapped[str]
    rule: Mapped[str | None]
    why: Mapped[str | None]
    candidates: Mapped[list[Any]]
    payments: Mapped[list[Any]]
    import_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        sa.UniqueConstraint("account", "line_id"),
        Index(None, "state", "id"),
    )


@repository("statement_entries")
class StatementEntryRepository(SqlRepository[StatementEntry]):
    stored = Stored.of(
        "statement entry",
        StatementEntryRow,
        StatementEntry,
        rules=[Rule("uq_statement_entries_account_line_id", ("account", "line_id"), "line_id",
                    "was imported already")],
    )  # fmt: skip

    def known(self, account: str, line_ids: Collection[str]) -> set[str]:
        """Which of *line_ids* the account's earlier imports brought already."""
        table = self.stored.table
        return {
            str(row.line_id)
            for chunk in in_lists(line_ids)
            for row in self._rows(
                sa.select(table.c.line_id).where(
                    table.c.account == account, table.c.line_id.in_(chunk)
                )
            )
        }


class StatementImportRow(EntityRow):
    __tablename__ = "statement_imports"

    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str]
    account: Mapped[str] = mapped_column(String(64))
    source: Mapped[str]
    imported_at: Mapped[dt.datetime]
    imported_by: Mapped[str]
    credits: Mapped[int]
    matched: Mapped[int]
    queued: Mapped[int]
    known: Mapped[int]


@repository("statement_imports")
class StatementImportRepository(SqlRepository[StatementImport]):
    stored = Stored.of(
        "statement import",
        StatementImportRow,
        StatementImport,
        rules=[Rule("uq_statement_imports_sha256", ("sha256",), "file", "was imported already")],
    )

    def by_hash(self, sha256: str) -> StatementImport | None:
        return self._latest(self.stored.table.c.sha256 == sha256)
