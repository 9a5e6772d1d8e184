"""Refunds of customers' credit, each with the payments whose credit it took (a JSON list:
read and written with the refund, never queried alone)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from leasekit.domain.refunds import Refund
from leasekit.services.storage import Page, Record
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, currency_column, reference

__all__ = ["RefundRepository"]


class RefundRow(EntityRow):
    __tablename__ = "refunds"

    contract_id: Mapped[str] = reference("contracts", index=False)
    partner_id: Mapped[str] = reference("partners")
    currency: Mapped[str] = currency_column()
    amount: Mapped[Decimal]
    iban: Mapped[str]
    holder: Mapped[str]
    reference: Mapped[str]
    exception_request_id: Mapped[str | None]
    taken: Mapped[list[Any]]
    state: Mapped[str]
    requested_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    paid_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    bank_reference: Mapped[str | None]
    reason: Mapped[str | None]

    __table_args__ = (
        Index(None, "contract_id", "id"),
        Index(None, "state", "id"),
        Index(None, "exception_request_id"),
    )


@repository("refunds")
class RefundRepository(SqlRepository[Refund]):
    stored = Stored.of(
        "refund",
        RefundRow,
        Refund,
        rules=[
            Rule("fk_refunds_contract_id_contracts", ("contract_id",), "contract_id",
                 "no such contract"),
        ],
    )  # fmt: skip

    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's refunds, oldest first."""
        table = self.stored.table
        return self._keyset_page([table.c.contract_id == contract_id], table.c.id, after, limit)
