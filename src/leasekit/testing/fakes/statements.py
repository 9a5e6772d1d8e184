"""A statement parser that reads the JSON statements it renders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from leasekit.money import Money
from leasekit.ports import AdapterContext, BankStatement, StatementLine, StatementTotals
from leasekit.testing.fakes._common import Outages
from leasekit.testing.fakes._files import dump_json, money, money_json, read_json

__all__ = ["FakeStatementParser"]


def _optional_money(value: Money | None) -> dict[str, str] | None:
    return money_json(value) if value is not None else None


def _totals_json(totals: StatementTotals | None) -> dict[str, object] | None:
    if totals is None:
        return None
    return {
        "entries": totals.entries,
        "credits": _optional_money(totals.credits),
        "debits": _optional_money(totals.debits),
        "credit_entries": totals.credit_entries,
        "debit_entries": totals.debit_entries,
    }


def _statement_json(statement: BankStatement) -> dict[str, object]:
    return {
        "account": statement.account,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "opening_balance": money_json(statement.opening_balance),
        "closing_balance": money_json(statement.closing_balance),
        "lines": [
            {
                "line_id": line.line_id,
                "booked_on": line.booked_on.isoformat(),
                "amount": money_json(line.amount),
                "counterparty_name": line.counterparty_name,
                "counterparty_account": line.counterparty_account,
                "reference": line.reference,
                "description": line.description,
                "balance": _optional_money(line.balance),
            }
            for line in statement.lines
        ],
        "stated_totals": _totals_json(statement.stated_totals),
    }


def _read_optional_money(data: Mapping[str, str] | None) -> Money | None:
    return money(data) if data is not None else None


def _totals(data: Mapping[str, Any] | None) -> StatementTotals | None:
    if data is None:
        return None
    return StatementTotals(
        entries=data.get("entries"),
        credits=_read_optional_money(data.get("credits")),
        debits=_read_optional_money(data.get("debits")),
        credit_entries=data.get("credit_entries"),
        debit_entries=data.get("debit_entries"),
    )


def _statement(data: Mapping[str, Any]) -> BankStatement:
    lines = [
        StatementLine(
            line_id=line["line_id"],
            booked_on=date.fromisoformat(line["booked_on"]),
            amount=money(line["amount"]),
            counterparty_name=line["counterparty_name"],
            counterparty_account=line["counterparty_account"],
            reference=line.get("reference", ""),
            description=line.get("description", ""),
            balance=_read_optional_money(line.get("balance")),
        )
        for line in data["lines"]
    ]
    return BankStatement(
        account=data["account"],
        period_start=date.fromisoformat(data["period_start"]),
        period_end=date.fromisoformat(data["period_end"]),
        opening_balance=money(data["opening_balance"]),
        closing_balance=money(data["closing_balance"]),
        lines=lines,
        stated_totals=_totals(data.get("stated_totals")),
    )


def parse_statement(content: bytes) -> BankStatement:
    statement: BankStatement = read_json(content, "statement", _statement)
    return statement


class FakeStatementParser(Outages):
    """Reads the JSON that :meth:`render` writes, so a test uploads the statement it wants,
    printed balances and stated totals included (a doctored one too)."""

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeStatementParser:
        return cls()

    @staticmethod
    def render(statement: BankStatement) -> bytes:
        return dump_json(_statement_json(statement))

    def parse(self, content: bytes) -> BankStatement:
        self._call("parse")
        return parse_statement(content)
