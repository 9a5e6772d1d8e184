"""Vouchers: balanced journal entries, the unit in which the ledger records anything.

Every voucher balances in every currency it touches: its debits equal its credits. That is
checked whenever a voucher is built, including when it is read back from storage, because an
unbalanced voucher in the books is corruption, not a state to tolerate. Vouchers are
immutable; a mistake is corrected by a reversal, a mirror voucher that points at the original
so that neither hides the other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.validation import Checks, money_amount, text
from leasekit.errors import ValidationError
from leasekit.money import DECIMAL_CONTEXT, Money

__all__ = ["JournalLine", "Posting", "Side", "Voucher", "check_balanced", "totals_by_currency"]

MIN_LINES: Final = 2


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


def _side(value: str) -> Side:
    """*value* as a side; one already (nearly every line's) without the enum's lookup."""
    return value if type(value) is Side else Side(value)


@attrs.frozen
class JournalLine:
    """One posting: an amount on one side of one account. Amounts are positive, to the
    currency's minor unit; the side, not a sign, says which way the money moves."""

    account: str
    side: Side = attrs.field(converter=_side)
    amount: Money
    memo: str = ""

    def __attrs_post_init__(self) -> None:
        if _fit(self.account, self.amount):
            return
        checks = Checks()
        checks.run(lambda: text(self.account, "account"))
        valid = checks.run(lambda: money_amount(self.amount, "amount"))
        if valid is not None and valid.amount <= 0:
            checks.add("amount", "must be positive; the side gives the direction")
        if checks.errors:
            raise checks.error()

    def mirrored(self) -> JournalLine:
        return attrs.evolve(self, side=self.side.opposite)


@functools.lru_cache(maxsize=4096)
def _fit_account(account: str) -> bool:
    try:
        text(account, "account")
    except ValidationError:
        return False
    return True


def _fit(account: object, amount: object) -> bool:
    """Whether a line passes every check of :class:`JournalLine` for sure: the quick test
    the books' many lines take (a chart has few account codes), before the one that names
    each fault."""
    try:
        return (
            type(account) is str
            and _fit_account(account)
            and isinstance(amount, Money)
            and amount.amount > 0
            and amount.is_quantized
        )
    except ArithmeticError:
        return False


class Posting(Protocol):
    """An amount on one side: a :class:`JournalLine`, or a line sent to a ledger adapter."""

    @property
    def side(self) -> Side: ...

    @property
    def amount(self) -> Money: ...


def totals_by_currency(lines: Iterable[Posting]) -> Mapping[str, tuple[Decimal, Decimal]]:
    """Debit and credit totals per currency code, summed exactly."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for line in lines:
        debit, credit = totals.get(line.amount.currency.code, (Decimal(0), Decimal(0)))
        if line.side is Side.DEBIT:
            debit = DECIMAL_CONTEXT.add(debit, line.amount.amount)
        else:
            credit = DECIMAL_CONTEXT.add(credit, line.amount.amount)
        totals[line.amount.currency.code] = (debit, credit)
    return totals


def check_balanced(lines: Iterable[JournalLine]) -> None:
    """Refuse lines that are too few or whose debits and credits differ in any currency."""
    lines = tuple(lines)
    if len(lines) < MIN_LINES:
        raise ValidationError.single("lines", f"a voucher needs at least {MIN_LINES} lines")
    if _balanced_in_one_currency(lines):
        return
    checks = Checks()
    for code, (debit, credit) in sorted(totals_by_currency(lines).items()):
        if debit != credit:
            checks.add("lines", f"{code} debits {debit} do not equal credits {credit}")
    if checks.errors:
        raise checks.error()


def _balanced_in_one_currency(lines: tuple[JournalLine, ...]) -> bool:
    """Whether *lines*, all in one currency, balance exactly: the quick test nearly every
    voucher takes; any other is summed per currency by :func:`check_balanced`, which names
    the difference."""
    code = lines[0].amount.currency.code
    debit = credit = Decimal(0)
    add = DECIMAL_CONTEXT.add
    for line in lines:
        money = line.amount
        if money.currency.code != code:
            return False
        if line.side is Side.DEBIT:
            debit = add(debit, money.amount)
        else:
            credit = add(credit, money.amount)
    return debit == credit


def _lines(values: Iterable[JournalLine]) -> tuple[JournalLine, ...]:
    return tuple(values)


def _balanced(instance: Voucher, attribute: attrs.Attribute[object], value: object) -> None:
    check_balanced(instance.lines)


@attrs.frozen
class Voucher:
    """A balanced set of journal lines posted on one business date."""

    id: str
    business_date: date
    description: str
    lines: tuple[JournalLine, ...] = attrs.field(converter=_lines, validator=_balanced)
    created_by: str
    created_at: datetime = attrs.field(converter=require_utc)
    source_key: str | None = None
    """The idempotency key of the event that produced the voucher, so a replayed event
    does not post twice."""
    reverses: str | None = None
    """The id of the voucher this one reverses."""
    corrects_period: str | None = None
    """The closed month (``YYYY-MM``) whose event or voucher this one books late, in the
    open period (:mod:`leasekit.domain.accounting_periods`)."""

    @classmethod
    def post(
        cls,
        *,
        business_date: date,
        description: str,
        lines: Iterable[JournalLine],
        actor: Actor,
        at: datetime,
        source_key: str | None = None,
    ) -> Voucher:
        ensure_may_create(actor, "voucher")
        return cls(
            id=new_id(),
            business_date=business_date,
            description=text(description, "description"),
            lines=tuple(lines),
            created_by=actor.user_id,
            created_at=at,
            source_key=source_key,
        )

    def reversal(self, *, actor: Actor, at: datetime, business_date: date, reason: str) -> Voucher:
        """A mirror voucher undoing this one, dated *business_date* (the books for the
        original date may be closed), linked back to it and saying why."""
        ensure_may_create(actor, "voucher")
        why = text(reason, "reason")
        return Voucher(
            id=new_id(),
            business_date=business_date,
            description=f"Reversal of {self.id}: {why}",
            lines=tuple(line.mirrored() for line in self.lines),
            created_by=actor.user_id,
            created_at=at,
            reverses=self.id,
        )
