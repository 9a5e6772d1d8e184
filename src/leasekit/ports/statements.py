"""Bank statements: the statements customers upload as proof of income, and their parsers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, runtime_checkable

import attrs

from leasekit.errors import FieldError, ValidationError
from leasekit.money import Money
from leasekit.ports.common import not_blank

__all__ = ["BankStatement", "StatementLine", "StatementParser"]


@attrs.frozen
class StatementLine:
    """One booking; a positive amount is money in, a negative one money out."""

    line_id: str = attrs.field(validator=not_blank)
    """The bank's id for the booking, unique within its account; imports deduplicate on it."""
    booked_on: date
    amount: Money
    counterparty_name: str
    counterparty_account: str
    reference: str = ""
    description: str = ""


def _statement_lines(values: Iterable[StatementLine]) -> tuple[StatementLine, ...]:
    return tuple(values)


def _one_currency(statement: BankStatement) -> list[FieldError]:
    expected = statement.opening_balance.currency
    fields = [("closing_balance", statement.closing_balance)] + [
        (f"lines.{index}.amount", line.amount) for index, line in enumerate(statement.lines)
    ]
    return [
        FieldError(name, f"{money.currency.code} differs from the opening balance's {expected}")
        for name, money in fields
        if money.currency != expected
    ]


@attrs.frozen
class BankStatement:
    """An account's bookings over a period, with the balances that frame them."""

    account: str
    period_start: date
    period_end: date
    opening_balance: Money
    closing_balance: Money
    lines: tuple[StatementLine, ...] = attrs.field(converter=_statement_lines)

    def __attrs_post_init__(self) -> None:
        errors = _one_currency(self)
        if self.period_end < self.period_start:
            errors.append(FieldError("period_end", "is before period_start"))
        if errors:
            raise ValidationError(errors)

    @property
    def balances(self) -> bool:
        """True when opening balance plus the lines gives the closing balance; a parser that
        drops or doubles a line breaks this, so imports check it."""
        total = sum((line.amount for line in self.lines), self.opening_balance)
        return total == self.closing_balance


@runtime_checkable
class StatementParser(Protocol):
    def parse(self, content: bytes) -> BankStatement:
        """Read a statement file (as customers upload them); unreadable content raises
        :class:`~leasekit.errors.ValidationError` naming the line at fault."""
        ...
