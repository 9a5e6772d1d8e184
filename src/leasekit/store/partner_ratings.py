"""Partners' ratings and rating overrides.

A computed rating is one append-only row holding its figures as columns (so the book behind
any grade can be queried, not only read back) and its factors as JSON. One scheduled rating
per partner and business date, by a partial unique index: a scheduled refresh run twice, or
by two servers at once, rates each partner once a day.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.partner_ratings import (
    RatingOverride,
    RatingOverrideState,
    RatingRecord,
    RatingTrigger,
)
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import (
    Base,
    EntityRow,
    currency_column,
    id_column,
    reference,
    unique_where,
)

__all__ = [
    "RatingOverrideRepository",
    "RatingOverrideRow",
    "RatingRecordRepository",
    "RatingRecordRow",
]


class RatingRecordRow(Base):
    __tablename__ = "partner_ratings"

    id: Mapped[str] = id_column()
    grade: Mapped[str] = mapped_column(String(1))
    score: Mapped[Decimal]
    model_version: Mapped[str]
    factors: Mapped[list[Any]]
    trigger: Mapped[str]
    computed_by: Mapped[str]
    computed_at: Mapped[dt.datetime]
    # The figures the grade was computed from (PartnerFigures, flattened).
    partner_id: Mapped[str] = reference("partners", index=False)
    as_of: Mapped[dt.date]
    since: Mapped[dt.date]
    applications: Mapped[int]
    decided: Mapped[int]
    approved: Mapped[int]
    approval_rate: Mapped[Decimal | None]
    currency: Mapped[str] = currency_column()
    volume: Mapped[Decimal]
    contracts: Mapped[int]
    overdue_contracts: Mapped[int]
    overdue_rate: Mapped[Decimal | None]
    fraud_hits: Mapped[int]
    documents: Mapped[int]
    document_defects: Mapped[int]
    defect_rate: Mapped[Decimal | None]
    months_in_business: Mapped[int]
    limit: Mapped[Decimal]
    exposure: Mapped[Decimal]
    utilisation: Mapped[Decimal | None]

    __table_args__ = (
        Index(None, "partner_id", "id"),
        unique_where(
            "uq_partner_ratings_partner_id_as_of",
            "partner_id",
            "as_of",
            where=f"\"trigger\" = '{RatingTrigger.SCHEDULED}'",
        ),
    )


@repository("partner_ratings")
class RatingRecordRepository(SqlRepository[RatingRecord]):
    stored = Stored.of(
        "partner rating",
        RatingRecordRow,
        RatingRecord,
        rules=[
            Rule(
                "uq_partner_ratings_partner_id_as_of",
                ("partner_id", "as_of"),
                "partner_id",
                "was rated by the scheduled refresh on this business date already",
            )
        ],
    )

    def latest(self, partner_id: str) -> RatingRecord | None:
        """The partner's most recent rating."""
        return self._latest(self._table.c.partner_id == partner_id)

    def scheduled_on(self, partner_id: str, as_of: dt.date) -> RatingRecord | None:
        """The scheduled rating of the partner on *as_of*, if the refresh has made it."""
        table = self._table
        return self._latest(
            table.c.partner_id == partner_id,
            table.c.as_of == as_of,
            table.c.trigger == str(RatingTrigger.SCHEDULED),
        )


class RatingOverrideRow(EntityRow):
    __tablename__ = "rating_overrides"

    partner_id: Mapped[str] = reference("partners", index=False)
    grade: Mapped[str] = mapped_column(String(1))
    computed_grade: Mapped[str | None] = mapped_column(String(1))
    until: Mapped[dt.date]
    reason: Mapped[str]
    requested_by: Mapped[str]
    requester_role: Mapped[str]
    decided_by: Mapped[str | None]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


@repository("rating_overrides")
class RatingOverrideRepository(SqlRepository[RatingOverride]):
    stored = Stored.of(
        "rating override",
        RatingOverrideRow,
        RatingOverride,
        rules=[Rule("fk_rating_overrides_partner_id_partners", ("partner_id",), "partner_id",
                    "no such partner")],
    )  # fmt: skip

    def in_force(self, partner_id: str, on: dt.date) -> RatingOverride | None:
        """The partner's latest approved override still in force on *on*."""
        table = self._table
        return self._latest(
            table.c.partner_id == partner_id,
            table.c.state == str(RatingOverrideState.APPROVED),
            table.c.until >= on,
        )
