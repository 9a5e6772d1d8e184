"""Exception requests: one row each, its chain, approvals and execution figures as JSON (read
and written with the request, never queried alone)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.exception_requests import ExceptionRequest, ExceptionRequestState
from leasekit.services.storage import ExceptionRequestQuery, Page, Record
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import ID_LENGTH, EntityRow, currency_column, reference

__all__ = ["ExceptionRequestRepository"]


class ExceptionRequestRow(EntityRow):
    __tablename__ = "exception_requests"

    kind: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[str] = reference("contracts", index=False)
    reason_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str]
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    payment_id: Mapped[str | None] = reference("payments", index=False)
    reapply_to_contract_id: Mapped[str | None] = reference("contracts", index=False)
    receivable_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    part: Mapped[str | None] = mapped_column(String(16))
    account: Mapped[dict[str, Any] | None]
    requested_by: Mapped[str]
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime]
    chain: Mapped[list[Any]]
    approvals: Mapped[list[Any]]
    submitted_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    executed_by: Mapped[str | None]
    executed_at: Mapped[dt.datetime | None]
    impacts: Mapped[list[Any]]

    __table_args__ = (
        Index(None, "contract_id", "id"),
        Index(None, "reapply_to_contract_id", "id"),
        Index(None, "payment_id", "id"),
        Index(None, "state", "id"),
    )


@repository("exception_requests")
class ExceptionRequestRepository(SqlRepository[ExceptionRequest]):
    stored = Stored.of(
        "exception request",
        ExceptionRequestRow,
        ExceptionRequest,
        rules=[
            Rule("fk_exception_requests_contract_id_contracts", ("contract_id",), "contract_id",
                 "no such contract"),
            Rule("fk_exception_requests_payment_id_payments", ("payment_id",), "payment_id",
                 "no such payment"),
            Rule("fk_exception_requests_reapply_to_contract_id_contracts",
                 ("reapply_to_contract_id",), "reapply_to_contract_id", "no such contract"),
        ],
    )  # fmt: skip

    def page(  # type: ignore[override]
        self,
        query: ExceptionRequestQuery | None = None,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[Record]:
        """A page of requests matching *query*, oldest first."""
        table = self.stored.table
        query = query or ExceptionRequestQuery()
        criteria: list[sa.ColumnElement[bool]] = []
        if query.state is not None:
            criteria.append(table.c.state == str(query.state))
        if query.kind is not None:
            criteria.append(table.c.kind == str(query.kind))
        if query.contract_id is not None:
            criteria.append(
                sa.or_(
                    table.c.contract_id == query.contract_id,
                    table.c.reapply_to_contract_id == query.contract_id,
                )
            )
        if query.payment_id is not None:
            criteria.append(table.c.payment_id == query.payment_id)
        return self._keyset_page(criteria, table.c.id, after, limit)

    def expired_by(self, at: dt.datetime) -> list[str]:
        table = self.stored.table
        waiting = [str(ExceptionRequestState.SUBMITTED), str(ExceptionRequestState.APPROVED)]
        statement = (
            sa.select(table.c.id)
            .where(table.c.state.in_(waiting), table.c.expires_at < at)
            .order_by(table.c.id)
        )
        return list(self._session.execute(statement).scalars())
