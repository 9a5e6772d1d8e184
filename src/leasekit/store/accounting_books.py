"""How far the books are closed (one row), and each voucher's synchronisation with the ledger.

``accounting_books`` has a single row. Every posting reads it ``FOR SHARE`` on PostgreSQL and
closing the books updates it, so a close waits for the postings in flight and a posting that
starts after a close sees it: no voucher lands in a month while that month is being closed.
(SQLite has one writer at a time, which gives the same.)

``voucher_syncs`` holds one row per voucher the ledger subscriber has tried: synced with the
ledger's reference, or failed with the attempts so far and the last error. A voucher without
a row is pending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.domain.accounting_periods import Books
from leasekit.errors import ConflictError
from leasekit.services.storage import LedgerSyncState, SyncStatus
from leasekit.store.database import begin_writing
from leasekit.store.repository import in_lists, repository, write
from leasekit.store.schema import ID_LENGTH, Base

__all__ = ["AccountingBooksRow", "BooksRepository", "VoucherSyncRepository", "VoucherSyncRow"]

BOOKS_ID: Final = 1
"""The primary key of the one row of ``accounting_books``."""
_MAX_ERROR: Final = 2000


class AccountingBooksRow(Base):
    __tablename__ = "accounting_books"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    closed_through: Mapped[str | None] = mapped_column(String(7))
    closed_by: Mapped[str | None]
    closed_at: Mapped[dt.datetime | None]
    version: Mapped[int]


class VoucherSyncRow(Base):
    __tablename__ = "voucher_syncs"

    voucher_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("vouchers.id"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    ledger_reference: Mapped[str | None]
    attempts: Mapped[int]
    last_error: Mapped[str | None]
    synced_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


_BOOKS: Final = sa.select(AccountingBooksRow.__table__).where(AccountingBooksRow.id == BOOKS_ID)


def _books(row: sa.RowMapping | None) -> Books:
    if row is None:
        return Books()
    return Books(row["closed_through"], row["closed_by"], row["closed_at"], row["version"])


@repository("books")
class BooksRepository:
    """The books' closing watermark."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self) -> Books:
        return _books(self._session.connection().execute(_BOOKS).mappings().first())

    def for_posting(self) -> Books:
        """The books, held against a concurrent close until this transaction ends."""
        connection = self._session.connection()
        query = _BOOKS
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(read=True)
        else:
            begin_writing(connection)
        return _books(connection.execute(query).mappings().first())

    def close(self, books: Books, expected_version: int) -> None:
        """Store *books* if nobody changed them since *expected_version* was read."""
        table: sa.Table = AccountingBooksRow.__table__  # type: ignore[assignment]
        done = write(
            self._session,
            "books",
            sa.update(table)
            .where(table.c.id == BOOKS_ID, table.c.version == expected_version)
            .values(
                closed_through=books.closed_through,
                closed_by=books.closed_by,
                closed_at=books.closed_at,
                version=expected_version + 1,
            ),
        )
        if done != 1:
            raise ConflictError("the books were closed by someone else meanwhile; read again")


def _state(row: sa.RowMapping) -> LedgerSyncState:
    return LedgerSyncState(
        voucher_id=row["voucher_id"],
        status=SyncStatus(row["status"]),
        ledger_reference=row["ledger_reference"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        synced_at=row["synced_at"],
    )


def _columns(outcome: LedgerSyncState, attempts: int, at: dt.datetime) -> dict[str, object]:
    error = outcome.last_error
    return {
        "status": str(outcome.status),
        "ledger_reference": outcome.ledger_reference,
        "attempts": attempts,
        "last_error": None if error is None else error[:_MAX_ERROR],
        "synced_at": outcome.synced_at,
        "updated_at": at,
    }


@repository("voucher_syncs")
class VoucherSyncRepository:
    """Each voucher's last synchronisation with the ledger."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def states(self, voucher_ids: Collection[str]) -> dict[str, LedgerSyncState]:
        """The states of those of *voucher_ids* that were tried; the others are pending."""
        found: dict[str, LedgerSyncState] = {}
        connection = self._session.connection()
        for chunk in in_lists(voucher_ids):
            rows = connection.execute(
                sa.select(VoucherSyncRow.__table__).where(VoucherSyncRow.voucher_id.in_(chunk))
            ).mappings()
            found.update((row["voucher_id"], _state(row)) for row in rows)
        return found

    def record(self, outcomes: Iterable[LedgerSyncState], at: dt.datetime) -> None:
        """Store each outcome over what was there: attempts count up across failures. First
        outcomes go in one executemany INSERT; the others (after a failure) one UPDATE each."""
        outcomes = list(outcomes)
        known = self.states([outcome.voucher_id for outcome in outcomes])
        table: sa.Table = VoucherSyncRow.__table__  # type: ignore[assignment]
        first = [
            {"voucher_id": o.voucher_id, **_columns(o, 1, at)}
            for o in outcomes
            if o.voucher_id not in known
        ]
        if first:
            write(self._session, "voucher sync", sa.insert(table), first)
        for outcome in outcomes:
            before = known.get(outcome.voucher_id)
            if before is not None:
                values = _columns(outcome, before.attempts + 1, at)
                where = table.c.voucher_id == outcome.voucher_id
                write(self._session, "voucher sync", sa.update(table).where(where).values(values))

    def synced_balances(self, currency_code: str) -> dict[tuple[str, str | None], Decimal]:
        """Debits less credits per (account, contract) over the synced vouchers' lines in
        *currency_code*, summed exactly in Python as rows stream (SQLite keeps text)."""
        lines = Base.metadata.tables["voucher_lines"]  # store.ledger's, which imports this
        syncs: sa.Table = VoucherSyncRow.__table__  # type: ignore[assignment]
        rows = (
            self._session.connection()
            .execution_options(yield_per=5000)
            .execute(
                sa.select(lines.c.account, lines.c.contract_id, lines.c.side, lines.c.amount)
                .join(syncs, syncs.c.voucher_id == lines.c.voucher_id)
                .where(syncs.c.status == str(SyncStatus.SYNCED), lines.c.currency == currency_code)
            )
        )
        totals: dict[tuple[str, str | None], Decimal] = {}
        for account, contract_id, side, amount in rows:
            key = (account, contract_id)
            totals[key] = totals.get(key, Decimal(0)) + (amount if side == "debit" else -amount)
        return totals

    def counts(self) -> dict[SyncStatus, int]:
        """How many vouchers stand where: those never tried are pending."""
        connection = self._session.connection()
        tried = dict(
            connection.execute(
                sa.select(VoucherSyncRow.status, sa.func.count()).group_by(VoucherSyncRow.status)
            ).all()
        )
        vouchers = Base.metadata.tables["vouchers"]
        total = connection.execute(sa.select(sa.func.count()).select_from(vouchers)).scalar_one()
        found = {SyncStatus(status): int(count) for status, count in tried.items()}
        found[SyncStatus.PENDING] = int(total) - sum(found.values())
        return found
