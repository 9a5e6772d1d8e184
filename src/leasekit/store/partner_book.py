"""Counting a partner's book for its figures: a handful of aggregate queries, each answered by
the database over the partner's indexed rows, never by loading records into Python."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leasekit.domain.applications import ApplicationState
from leasekit.domain.blacklist import ON_LIST, BlacklistKind
from leasekit.domain.contracts import ContractState
from leasekit.domain.credit_limits import zero_in
from leasekit.domain.partner_figures import BookCounts
from leasekit.money import Currency, Money
from leasekit.store.blacklist import BlacklistEntryRow
from leasekit.store.contracts import ContractRow, ReceivableRow
from leasekit.store.document_defects import DocumentDefectRepository
from leasekit.store.origination import ApplicationRow, DocumentRow
from leasekit.store.parties import CustomerRow
from leasekit.store.repository import day_start, repository
from leasekit.store.review_flags import ReviewFlagRow

__all__ = ["APPROVED_STATES", "ON_BOOK_STATES", "REFUSED_STATES", "PartnerBook"]

_AS = ApplicationState
APPROVED_STATES: Final = frozenset(
    {_AS.APPROVED, _AS.CONTRACTED, _AS.SIGNED, _AS.DISBURSEMENT_REQUESTED, _AS.DISBURSED,
     _AS.ACTIVE, _AS.SETTLED, _AS.CLOSED}
)  # fmt: skip
"""Applications the company said yes to, whatever followed."""
REFUSED_STATES: Final = frozenset({_AS.DECLINED, _AS.REJECTED})
ON_BOOK_STATES: Final = frozenset({ContractState.DISBURSED, ContractState.ACTIVE})
"""Contracts paid out and not yet ended: the ones that can fall overdue."""


def _in(column: sa.ColumnElement[str], states: frozenset[str]) -> sa.ColumnElement[bool]:
    return column.in_(sorted(map(str, states)))


@repository("partner_book")
class PartnerBook:
    """What a partner's records add up to (see :class:`~leasekit.domain.partner_figures.
    BookCounts`), counted in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def counts(
        self, partner_id: str, since: dt.date, as_of: dt.date, currency: Currency
    ) -> BookCounts:
        """The counts over records made from *since* through *as_of*, the volume in
        *currency* (the company's)."""
        start, end = day_start(since), day_start(as_of + dt.timedelta(days=1))
        applications, decided, approved, volume = self._applications(partner_id, start, end)
        contracts, overdue = self._contracts(partner_id, as_of)
        return BookCounts(
            applications=applications,
            decided=decided,
            approved=approved,
            volume=zero_in(Money(volume, currency)) + Money(volume, currency),
            contracts=contracts,
            overdue_contracts=overdue,
            fraud_hits=self._fraud_hits(partner_id, start, end),
            documents=self._documents(partner_id, start, end),
            document_defects=DocumentDefectRepository(self._session).count_for_partner(
                partner_id, start
            ),
        )

    def _scalar(self, statement: sa.Select[Any]) -> int:
        return int(self._session.connection().scalar(statement) or 0)

    def _applications(
        self, partner_id: str, start: dt.datetime, end: dt.datetime
    ) -> tuple[int, int, int, Decimal]:
        table = ApplicationRow.__table__
        approved = _in(table.c.state, APPROVED_STATES)
        decided = sa.or_(approved, _in(table.c.state, REFUSED_STATES))
        in_window = (
            table.c.partner_id == partner_id,
            table.c.state != str(_AS.DRAFT),
            table.c.created_at >= start,
            table.c.created_at < end,
        )
        counted = sa.select(
            sa.func.count(), sa.func.count().filter(decided), sa.func.count().filter(approved)
        ).where(*in_window)
        row = self._session.connection().execute(counted).one()
        return int(row[0]), int(row[1]), int(row[2]), self._financed(approved, in_window)

    def _financed(
        self, approved: sa.ColumnElement[bool], in_window: tuple[sa.ColumnElement[bool], ...]
    ) -> Decimal:
        """The amount financed of the approved applications, added up here: SQLite keeps
        amounts as text and would add them as binary floats."""
        table = ApplicationRow.__table__
        terms = sa.select(table.c.vehicle_price, table.c.down_payment).where(approved, *in_window)
        return sum(
            (price - down for price, down in self._session.connection().execute(terms)),
            Decimal(0),
        )

    def _contracts(self, partner_id: str, as_of: dt.date) -> tuple[int, int]:
        contracts, receivables = ContractRow.__table__, ReceivableRow.__table__
        r = receivables.c
        past_due = (
            sa.select(1)
            .where(
                r.contract_id == contracts.c.id,
                r.due_date < as_of,
                r.paid_principal + r.paid_interest + r.paid_fee < r.principal + r.interest + r.fee,
            )
            .exists()
        )
        statement = sa.select(sa.func.count(), sa.func.count().filter(past_due)).where(
            contracts.c.partner_id == partner_id, _in(contracts.c.state, ON_BOOK_STATES)
        )
        row = self._session.connection().execute(statement).one()
        return int(row[0]), int(row[1])

    def _fraud_hits(self, partner_id: str, start: dt.datetime, end: dt.datetime) -> int:
        """Review flags raised on its applications in the window, and its customers whose id
        numbers are on the blacklist now."""
        flags = ReviewFlagRow.__table__
        customers, entries = CustomerRow.__table__, BlacklistEntryRow.__table__
        flagged = self._scalar(
            sa.select(sa.func.count()).where(
                flags.c.partner_id == partner_id,
                flags.c.raised_at >= start,
                flags.c.raised_at < end,
            )
        )
        listed = self._scalar(
            sa.select(sa.func.count())
            .select_from(
                customers.join(
                    entries,
                    sa.and_(
                        entries.c.country == customers.c.country,
                        entries.c.id_number == customers.c.id_number,
                    ),
                )
            )
            .where(
                customers.c.partner_id == partner_id,
                entries.c.kind == str(BlacklistKind.ID_NUMBER),
                _in(entries.c.state, ON_LIST),
            )
        )
        return flagged + listed

    def _documents(self, partner_id: str, start: dt.datetime, end: dt.datetime) -> int:
        documents = DocumentRow.__table__
        return self._scalar(
            sa.select(sa.func.count()).where(
                documents.c.partner_id == partner_id,
                documents.c.uploaded_at >= start,
                documents.c.uploaded_at < end,
            )
        )
