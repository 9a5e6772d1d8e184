"""Reports read from the journal: what each account moved in a period, an account's lines in
order, a contract's lines. Read-only; the journal itself is :mod:`leasekit.store.ledger`.

Totals are exact on both databases: PostgreSQL sums ``NUMERIC`` in SQL; SQLite keeps amounts
as text (:mod:`leasekit.store.types`), so there the rows are streamed a few thousand at a time
and summed in Python with ``Decimal``. Either way a report over a million lines never holds
them all in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leasekit.services.storage import AccountMovement, LedgerKey, LedgerLine
from leasekit.store.ledger import VoucherLineRow, VoucherRow
from leasekit.store.repository import repository

__all__ = ["LedgerReportRepository"]

_STREAMED_ROWS: Final = 2_000
_LINE: Final = VoucherLineRow.__table__.c
_VOUCHER: Final = VoucherRow.__table__.c
_JOURNAL: Final = VoucherLineRow.__table__.join(
    VoucherRow.__table__, _VOUCHER.id == _LINE.voucher_id
)
_ORDER: Final = (_VOUCHER.business_date, _LINE.voucher_id, _LINE.line_no)
"""The order of a ledger: by business date, then as posted (voucher ids grow with time)."""
_LINE_COLUMNS: Final = (
    _VOUCHER.business_date, _LINE.voucher_id, _LINE.line_no, _VOUCHER.event_type,
    _VOUCHER.description, _LINE.account, _LINE.side, _LINE.currency, _LINE.amount, _LINE.memo,
    _LINE.contract_id,
)  # fmt: skip

Totals = dict[tuple[Any, ...], Decimal]
"""Debits and credits by group: the group's values, then the side."""


def _place(key: LedgerKey) -> sa.Tuple:
    """*key* as a row value, to compare with a line's place in the ledger (:data:`_ORDER`)."""
    return sa.tuple_(
        sa.literal(key.business_date, sa.Date()), sa.literal(key.voucher_id),
        sa.literal(key.line_no),
    )  # fmt: skip


def _before(key: LedgerKey) -> sa.ColumnElement[bool]:
    return sa.tuple_(*_ORDER) < _place(key)


def _line(row: sa.Row[Any]) -> LedgerLine:
    return LedgerLine._make(row)


@repository("ledger_reports")
class LedgerReportRepository:
    """Totals and lines of the journal for reports; nothing here writes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def movements(self, currency: str, start: dt.date, end: dt.date) -> list[AccountMovement]:
        """Each account with lines in *currency* up to *end*: debits less credits before
        *start*, and the debits and the credits from *start* to *end*, by account code."""
        before = (_VOUCHER.business_date < start).label("before")
        totals = self._totals(
            (_LINE.account, before), _LINE.currency == currency, _VOUCHER.business_date <= end
        )
        zero = Decimal(0)
        found: dict[str, AccountMovement] = {}
        for (account, earlier, side), amount in totals.items():
            moved = found.get(account, AccountMovement(account, zero, zero, zero))
            if earlier:
                signed = amount if side == "debit" else -amount
                moved = moved._replace(opening=moved.opening + signed)
            elif side == "debit":
                moved = moved._replace(debits=moved.debits + amount)
            else:
                moved = moved._replace(credits=moved.credits + amount)
            found[account] = moved
        return [found[account] for account in sorted(found)]

    def balances_before(
        self, account: str, currency: str, keys: Sequence[LedgerKey]
    ) -> list[Decimal]:
        """Debits less credits of *account* in *currency* over the lines before each of
        *keys*, in one pass over the lines before the last of them."""
        if not keys:
            return []
        flags = [_before(key).label(f"before_{n}") for n, key in enumerate(keys)]
        totals = self._totals(
            flags, _LINE.account == account, _LINE.currency == currency, _before(max(keys))
        )
        balances = [Decimal(0)] * len(keys)
        for (*before, side), amount in totals.items():
            signed = amount if side == "debit" else -amount
            for n, counted in enumerate(before):
                if counted:
                    balances[n] += signed
        return balances

    def lines(
        self,
        account: str,
        currency: str,
        start: dt.date,
        end: dt.date,
        *,
        after: LedgerKey | None = None,
        limit: int | None = None,
    ) -> Iterator[LedgerLine]:
        """The lines of *account* in *currency* from *start* to *end* in ledger order, after
        *after*; up to *limit* of them, or all of them streamed: read them before the
        transaction ends."""
        criteria = [
            _LINE.account == account,
            _LINE.currency == currency,
            _VOUCHER.business_date.between(start, end),
        ]
        if after is not None:
            criteria.append(sa.tuple_(*_ORDER) > _place(after))
        statement = sa.select(*_LINE_COLUMNS).select_from(_JOURNAL).where(*criteria)
        statement = statement.order_by(*_ORDER)
        if limit is not None:
            statement = statement.limit(limit)
        return self._stream(statement)

    def for_contract(self, contract_id: str) -> Iterator[LedgerLine]:
        """Every line carrying *contract_id*'s dimension, by currency, account and ledger
        order, streamed."""
        statement = (
            sa.select(*_LINE_COLUMNS)
            .select_from(_JOURNAL)
            .where(_LINE.contract_id == contract_id)
            .order_by(_LINE.currency, _LINE.account, *_ORDER)
        )
        return self._stream(statement)

    def _stream(self, statement: sa.Select[Any]) -> Iterator[LedgerLine]:
        rows = self._session.connection().execute(
            statement.execution_options(yield_per=_STREAMED_ROWS)
        )
        return (_line(row) for row in rows)

    def _totals(
        self, groups: Sequence[sa.ColumnElement[Any]], *criteria: sa.ColumnElement[bool]
    ) -> Totals:
        """The amounts of the lines *criteria* select, summed by *groups* and side: in SQL on
        PostgreSQL, in Python over streamed rows on SQLite (whose amounts are text)."""
        connection = self._session.connection()
        keys = (*groups, _LINE.side)
        if connection.dialect.name == "postgresql":
            summed = sa.select(*keys, sa.func.sum(_LINE.amount)).select_from(_JOURNAL)
            rows = connection.execute(summed.where(*criteria).group_by(*keys))
            return {tuple(row[:-1]): row[-1] for row in rows}
        streamed = sa.select(*keys, _LINE.amount).select_from(_JOURNAL).where(*criteria)
        totals: Totals = {}
        for row in connection.execute(streamed.execution_options(yield_per=_STREAMED_ROWS)):
            group = tuple(row[:-1])
            totals[group] = totals.get(group, Decimal(0)) + row[-1]
        return totals
