"""Bank statements: the bookings of one account over a period, as customers upload them.

The values live in the pure core so that the analysis of a statement
(:mod:`leasekit.domain.statement_features`, :mod:`leasekit.domain.statement_signals`) can read
them; :mod:`leasekit.ports.statements` re-exports them beside the ``StatementParser`` port that
produces them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import attrs

from leasekit.errors import FieldError, ValidationError
from leasekit.money import Money

__all__ = ["BankStatement", "StatementLine", "StatementTotals"]


def _not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError.single(attribute.name, "must not be blank")


def _count(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise ValidationError.single(attribute.name, f"must be a count, not {value!r}")


@attrs.frozen
class StatementLine:
    """One booking; a positive amount is money in, a negative one money out."""

    line_id: str = attrs.field(validator=_not_blank)
    """The bank's id for the booking, unique within its account; imports deduplicate on it."""
    booked_on: date
    amount: Money
    counterparty_name: str
    counterparty_account: str
    reference: str = ""
    description: str = ""
    balance: Money | None = None
    """The account's balance after this booking, when the statement prints one (a running
    balance column); tampering checks verify that it follows from the previous one."""


@attrs.frozen
class StatementTotals:
    """The totals a statement states about itself (camt.053's ``TxsSummry``), to be checked
    against its lines; each is None when the statement does not state it."""

    entries: int | None = attrs.field(default=None, validator=_count)
    credits: Money | None = None
    """The sum of the money in, a positive amount."""
    debits: Money | None = None
    """The sum of the money out, a positive amount."""
    credit_entries: int | None = attrs.field(default=None, validator=_count)
    debit_entries: int | None = attrs.field(default=None, validator=_count)


def _statement_lines(values: Iterable[StatementLine]) -> tuple[StatementLine, ...]:
    return tuple(values)


def _one_currency(statement: BankStatement) -> list[FieldError]:
    expected = statement.opening_balance.currency
    fields: list[tuple[str, Money | None]] = [("closing_balance", statement.closing_balance)]
    for index, line in enumerate(statement.lines):
        fields += [(f"lines.{index}.amount", line.amount), (f"lines.{index}.balance", line.balance)]
    if statement.stated_totals is not None:
        fields += [
            ("stated_totals.credits", statement.stated_totals.credits),
            ("stated_totals.debits", statement.stated_totals.debits),
        ]
    return [
        FieldError(name, f"{money.currency.code} differs from the opening balance's {expected}")
        for name, money in fields
        if money is not None and money.currency != expected
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
    stated_totals: StatementTotals | None = None
    """What the statement says its lines add up to, if it says so."""

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
