"""Settlement quotes: one open quote per contract and one quote number in all, both kept by
the database (a partial unique index on the open quotes, a unique number)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.settlement_quotes import QuoteState, SettlementQuote
from leasekit.services.storage import Page, Record
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, currency_column, reference, unique_where

__all__ = ["SettlementQuoteRepository"]

_OPEN_SQL: Final = f"state = '{QuoteState.OPEN}'"


class SettlementQuoteRow(EntityRow):
    __tablename__ = "settlement_quotes"

    number: Mapped[str] = mapped_column(String(80), unique=True)
    contract_id: Mapped[str] = reference("contracts", index=False)
    partner_id: Mapped[str] = reference("partners")
    kind: Mapped[str]
    quoted_on: Mapped[dt.date]
    valid_until: Mapped[dt.date]
    currency: Mapped[str] = currency_column()
    overdue: Mapped[Decimal]
    outstanding_principal: Mapped[Decimal]
    accrued_interest: Mapped[Decimal]
    fee: Mapped[Decimal]
    total: Mapped[Decimal]
    state: Mapped[str]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str]
    payment_id: Mapped[str | None] = reference("payments", index=False)

    __table_args__ = (
        unique_where("uq_settlement_quotes_open_contract_id", "contract_id", where=_OPEN_SQL),
        Index(None, "contract_id", "id"),
        Index(None, "currency", "state"),
    )


@repository("settlement_quotes")
class SettlementQuoteRepository(SqlRepository[SettlementQuote]):
    stored = Stored.of(
        "settlement_quote",
        SettlementQuoteRow,
        SettlementQuote,
        rules=[
            Rule("uq_settlement_quotes_number", ("number",), "contract_id",
                 "has a quote of that number already; ask again"),
            Rule("uq_settlement_quotes_open_contract_id", ("contract_id",), "contract_id",
                 "has an open settlement quote already; cancel it first"),
            Rule("fk_settlement_quotes_contract_id_contracts", ("contract_id",), "contract_id",
                 "no such contract"),
        ],
    )  # fmt: skip

    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's quotes, oldest first."""
        table = self.stored.table
        return self._keyset_page([table.c.contract_id == contract_id], table.c.id, after, limit)

    def count_for(self, contract_id: str) -> int:
        table = self.stored.table
        statement = sa.select(sa.func.count()).where(table.c.contract_id == contract_id)
        return int(self._session.connection().scalar(statement) or 0)

    def open_for(self, contract_id: str) -> SettlementQuote | None:
        table = self.stored.table
        found = self._find(table.c.contract_id == contract_id, self._open(table))
        return found[0] if found else None

    def open_in(self, currency: str) -> list[SettlementQuote]:
        table = self.stored.table
        return self._find(table.c.currency == currency, self._open(table))

    @staticmethod
    def _open(table: sa.Table) -> sa.ColumnElement[bool]:
        return table.c.state == sa.literal_column(f"'{QuoteState.OPEN}'")
