"""Pre-approval assessments: appended, one per submission of an application, never changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.pre_approvals import PreApproval
from leasekit.store.repository import SqlRepository, Stored, repository
from leasekit.store.schema import ID_LENGTH, Base, id_column, reference

__all__ = ["PreApprovalRepository", "PreApprovalRow"]


class PreApprovalRow(Base):
    __tablename__ = "pre_approvals"

    id: Mapped[str] = id_column()
    application_id: Mapped[str] = reference("applications", index=False)
    partner_id: Mapped[str] = reference("partners", index=False)
    outcome: Mapped[str]
    score: Mapped[int]
    reasons: Mapped[list[Any]]
    facts: Mapped[dict[str, Any]]
    findings: Mapped[list[Any]]
    bureau_report: Mapped[dict[str, Any] | None]
    unavailable: Mapped[list[Any]]
    rule_set_version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    assessed_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "application_id", "id"), Index(None, "partner_id", "id"))


@repository("pre_approvals")
class PreApprovalRepository(SqlRepository[PreApproval]):
    stored = Stored.of("pre-approval", PreApprovalRow, PreApproval)

    def latest_for(self, application_id: str) -> PreApproval | None:
        return self._latest(self.stored.table.c.application_id == application_id)
