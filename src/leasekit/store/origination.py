"""Applications, their documents and their approval tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.applications import Application
from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.documents import Document
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import ID_LENGTH, EntityRow, currency_column, reference

__all__ = [
    "ApplicationRepository",
    "ApplicationRow",
    "ApprovalTaskRepository",
    "ApprovalTaskRow",
    "DocumentRepository",
    "DocumentRow",
]


def _missing(table: str, column: str, target: str) -> Rule:
    kind = target.removesuffix("s")
    return Rule(f"fk_{table}_{column}_{target}", (column,), column, f"no such {kind}")


class ApplicationRow(EntityRow):
    """The requested terms are one currency (the domain checks it), held once in ``currency``."""

    __tablename__ = "applications"

    partner_id: Mapped[str] = reference("partners", index=False)
    customer_id: Mapped[str] = reference("customers")
    vehicle_id: Mapped[str] = reference("vehicles")
    business_type: Mapped[str]
    currency: Mapped[str] = currency_column()
    vehicle_price: Mapped[Decimal]
    down_payment: Mapped[Decimal]
    residual_value: Mapped[Decimal | None]
    term_months: Mapped[int]
    annual_rate: Mapped[Decimal]
    state: Mapped[str]
    created_by: Mapped[str]
    """A user id, or a system actor's name, so not a foreign key."""
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "partner_id", "id"), Index(None, "state", "id"))


@repository("applications")
class ApplicationRepository(SqlRepository[Application]):
    stored = Stored.of(
        "application",
        ApplicationRow,
        Application,
        rules=[
            _missing("applications", "partner_id", "partners"),
            _missing("applications", "customer_id", "customers"),
            _missing("applications", "vehicle_id", "vehicles"),
        ],
    )

    def list_for_partner(self, partner_id: str, states: Iterable[str]) -> list[Application]:
        """A partner's applications in any of *states*, oldest first."""
        table = self.stored.table
        return self._find(table.c.partner_id == partner_id, table.c.state.in_(list(states)))

    def count_for_identity(self, country: str, id_number: str, besides: str) -> int:
        """Applications other than *besides*, at any partner, whose customer has this id
        number: the same person applying twice, or under several dealers (drafts aside)."""
        table = self.stored.table
        customers = sa.table("customers", sa.column("id"), sa.column("country"),
                             sa.column("id_number"))  # fmt: skip
        statement = (
            sa.select(sa.func.count())
            .select_from(table.join(customers, customers.c.id == table.c.customer_id))
            .where(
                customers.c.country == country,
                customers.c.id_number == id_number,
                table.c.id != besides,
                table.c.state != "draft",
            )
        )
        return int(self._session.connection().scalar(statement) or 0)


class DocumentRow(EntityRow):
    """``owner_id`` points into the table ``owner_kind`` names, so it has no foreign key."""

    __tablename__ = "documents"

    owner_kind: Mapped[str]
    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str]
    filename: Mapped[str]
    content_type: Mapped[str]
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(unique=True)
    partner_id: Mapped[str | None] = reference("partners")
    uploaded_by: Mapped[str]
    uploaded_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "owner_kind", "owner_id", "id"),)


@repository("documents")
class DocumentRepository(SqlRepository[Document]):
    """Document records are added, never edited: the bytes they describe cannot change."""

    stored = Stored.of("document", DocumentRow, Document)

    def latest_of(self, owner_kind: str, owner_id: str, kind: str) -> Document | None:
        """The owner's newest document of *kind*, read through the owner's index."""
        table = self._table
        return self._latest(
            table.c.owner_kind == owner_kind, table.c.owner_id == owner_id, table.c.kind == kind
        )


class ApprovalTaskRow(EntityRow):
    __tablename__ = "approval_tasks"

    application_id: Mapped[str] = reference("applications")
    tier: Mapped[str]
    state: Mapped[str]
    assignee: Mapped[str | None]
    locked_by: Mapped[str | None]
    locked_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None]
    tags: Mapped[list[Any]]
    created_at: Mapped[dt.datetime]

    __table_args__ = (Index(None, "state", "tier"),)


@repository("approval_tasks")
class ApprovalTaskRepository(SqlRepository[ApprovalTask]):
    stored = Stored.of(
        "approval task",
        ApprovalTaskRow,
        ApprovalTask,
        rules=[_missing("approval_tasks", "application_id", "applications")],
    )

    def list_for_application(self, application_id: str) -> list[ApprovalTask]:
        return self._find(self.stored.table.c.application_id == application_id)
