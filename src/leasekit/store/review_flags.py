"""Review flags on applications; one open flag per application and cause, by a partial
unique index, so a repeated piece of news never flags an application twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from leasekit.domain.review_flags import ReviewCause, ReviewFlag, ReviewFlagState
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, reference, unique_where

__all__ = ["ReviewFlagRepository", "ReviewFlagRow"]


class ReviewFlagRow(EntityRow):
    __tablename__ = "review_flags"

    application_id: Mapped[str] = reference("applications", index=False)
    partner_id: Mapped[str] = reference("partners", index=False)
    cause: Mapped[str]
    reason: Mapped[str]
    raised_at: Mapped[dt.datetime]
    state: Mapped[str]

    __table_args__ = (
        unique_where(
            "uq_review_flags_application_id_cause",
            "application_id",
            "cause",
            where=f"state = '{ReviewFlagState.OPEN}'",
        ),
        Index(None, "application_id", "id"),
        Index(None, "partner_id", "id"),
        Index(None, "state", "id"),
    )


@repository("review_flags")
class ReviewFlagRepository(SqlRepository[ReviewFlag]):
    stored = Stored.of(
        "review flag",
        ReviewFlagRow,
        ReviewFlag,
        rules=[
            Rule(
                "uq_review_flags_application_id_cause",
                ("application_id", "cause"),
                "application_id",
                "has an open review flag for this cause already",
            )
        ],
    )

    def open_for_partner(self, partner_id: str, cause: ReviewCause) -> list[ReviewFlag]:
        """The open flags of one cause on a partner's applications."""
        table = self.stored.table
        return self._find(
            table.c.partner_id == partner_id,
            table.c.cause == str(cause),
            table.c.state == str(ReviewFlagState.OPEN),
        )

    def for_application(self, application_id: str) -> list[ReviewFlag]:
        """Every flag ever raised on an application, open or cleared."""
        return self._find(self.stored.table.c.application_id == application_id)
