"""Partners' credit limits: the account per partner, the movements that use it, and the
requests that change it.

The account row is the one every take, release and approved change of one partner locks and
updates by compare-and-set, so the database serializes them per partner and a limit is never
exceeded however many processes take at once. Movements are append-only and found by their
reference.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.credit_limits import CreditLimit, LimitMovement, LimitRequest
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import ID_LENGTH, Base, EntityRow, currency_column, id_column, reference

__all__ = [
    "CreditLimitRepository",
    "CreditLimitRow",
    "LimitMovementRepository",
    "LimitMovementRow",
    "LimitRequestRepository",
    "LimitRequestRow",
]


class CreditLimitRow(EntityRow):
    """One per partner: its id is the partner's."""

    __tablename__ = "credit_limits"

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("partners.id"), primary_key=True, sort_order=-1
    )
    currency: Mapped[str] = currency_column()
    total: Mapped[Decimal]
    temporary: Mapped[Decimal]
    temporary_until: Mapped[dt.date | None]
    used: Mapped[Decimal]
    frozen: Mapped[Decimal]
    updated_at: Mapped[dt.datetime]


@repository("credit_limits")
class CreditLimitRepository(SqlRepository[CreditLimit]):
    stored = Stored.of(
        "credit limit",
        CreditLimitRow,
        CreditLimit,
        rules=[Rule("pk_credit_limits", ("id",), "partner_id", "has a credit limit already")],
    )

    def get_for_update(self, partner_id: str) -> CreditLimit:
        """The account, locked until the transaction ends (``FOR UPDATE`` on PostgreSQL, the
        write lock on SQLite): takes of one partner queue here instead of failing their
        compare-and-set one after another under a burst."""
        return self._get(partner_id, for_update=True)

    def temporary_ended_by(self, on: dt.date) -> list[str]:
        """The partners whose temporary addition is no longer in force on *on*."""
        table = self.stored.table
        statement = (
            sa.select(table.c.id)
            .where(table.c.temporary_until.is_not(None), table.c.temporary_until < on)
            .order_by(table.c.id)
        )
        return list(self._session.execute(statement).scalars())


class LimitMovementRow(Base):
    """A movement, never updated; a reference's movements are read together."""

    __tablename__ = "limit_movements"

    id: Mapped[str] = id_column()
    partner_id: Mapped[str] = reference("partners", index=False)
    kind: Mapped[str]
    reference: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    used_change: Mapped[Decimal]
    frozen_change: Mapped[Decimal]
    used_after: Mapped[Decimal]
    frozen_after: Mapped[Decimal]
    reason: Mapped[str | None]
    actor_id: Mapped[str]
    created_at: Mapped[dt.datetime]
    business_date: Mapped[dt.date]

    __table_args__ = (
        Index(None, "partner_id", "reference"),
        Index(None, "partner_id", "id"),
    )


@repository("limit_movements")
class LimitMovementRepository(SqlRepository[LimitMovement]):
    stored = Stored.of("limit movement", LimitMovementRow, LimitMovement)

    def for_reference(self, partner_id: str, reference: str) -> list[LimitMovement]:
        """The movements under one reference of one partner, oldest first."""
        table = self.stored.table
        return self._find(table.c.partner_id == partner_id, table.c.reference == reference)


class LimitRequestRow(EntityRow):
    __tablename__ = "limit_requests"

    partner_id: Mapped[str] = reference("partners", index=False)
    kind: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    until: Mapped[dt.date | None]
    increase: Mapped[Decimal]
    reason: Mapped[str]
    requested_by: Mapped[str]
    decided_by: Mapped[str | None]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


@repository("limit_requests")
class LimitRequestRepository(SqlRepository[LimitRequest]):
    stored = Stored.of(
        "limit request",
        LimitRequestRow,
        LimitRequest,
        rules=[Rule("fk_limit_requests_partner_id_partners", ("partner_id",), "partner_id",
                    "no such partner")],
    )  # fmt: skip
