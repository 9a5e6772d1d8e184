"""Refunds of customers' credit, and a row per payment whose credit each took
(``refund_credits``), so that the refunds that touched a payment are found by an index."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.refunds import CreditTaken, Refund
from leasekit.services.storage import Page, Record
from leasekit.store.repository import Rule, SqlRepository, Stored, repository, write
from leasekit.store.schema import ID_LENGTH, Base, EntityRow, currency_column, reference

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


class RefundCreditRow(Base):
    """What one refund took of one payment's credit, in the refund's currency; written with
    the refund and never changed (a failed refund gives it back, the row stays)."""

    __tablename__ = "refund_credits"

    refund_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("refunds.id"), primary_key=True
    )
    payment_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("payments.id"), primary_key=True, index=True
    )
    position: Mapped[int]
    """The payment's place in the order the credit was taken (oldest first)."""
    amount: Mapped[Decimal]


_CREDITS: Final = cast(sa.Table, RefundCreditRow.__table__)
_CREDIT_RULES: Final = (
    Rule("fk_refund_credits_payment_id_payments", ("payment_id",), "taken", "no such payment"),
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
        besides=["taken"],
    )  # fmt: skip

    def add_many(self, entities: Iterable[Refund]) -> None:
        added = list(entities)
        super().add_many(added)
        rows = [
            {"refund_id": refund.id, "payment_id": part.payment_id, "position": position,
             "amount": part.amount}
            for refund in added
            for position, part in enumerate(refund.taken)
        ]  # fmt: skip
        if rows:
            write(self._session, "refund", sa.insert(_CREDITS), rows, _CREDIT_RULES)

    def _taken(self, refund_ids: Iterable[str]) -> dict[str, list[CreditTaken]]:
        """What each refund took of which payment, oldest payment first: one query."""
        found: dict[str, list[CreditTaken]] = {key: [] for key in refund_ids}
        if not found:
            return found
        statement = (
            sa.select(_CREDITS.c.refund_id, _CREDITS.c.payment_id, _CREDITS.c.amount)
            .where(_CREDITS.c.refund_id.in_(list(found)))
            .order_by(_CREDITS.c.refund_id, _CREDITS.c.position)
        )
        for row in self._rows(statement):
            found[row["refund_id"]].append(CreditTaken(row["payment_id"], row["amount"]))
        return found

    def _loaded(self, entities: list[Refund]) -> list[Refund]:
        taken = self._taken(entity.id for entity in entities)
        for entity in entities:
            entity.taken = tuple(taken[entity.id])
        return entities

    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's refunds, oldest first, each with what it took."""
        table = self.stored.table
        found = self._keyset_page([table.c.contract_id == contract_id], table.c.id, after, limit)
        taken = self._taken(record["id"] for record in found.items)
        for record in found.items:
            record["taken"] = [
                {"payment_id": part.payment_id, "amount": part.amount}
                for part in taken[record["id"]]
            ]
        return found

    def of_payment(self, payment_id: str) -> list[Refund]:
        """The refunds that took credit from the payment, oldest first."""
        table = self.stored.table
        taking = sa.select(_CREDITS.c.refund_id).where(_CREDITS.c.payment_id == payment_id)
        return self._find(table.c.id.in_(taking))
