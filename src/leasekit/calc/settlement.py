"""Ending or shortening a contract early, and charging for late payment.

All three work on a :class:`~leasekit.calc.schedule.Schedule` and a date. They assume every
row due before that date has been paid unless told otherwise (``paid_through``), because the
calculator knows the plan, not the payments; the funds services pass what was really paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final, Literal, TypeAlias

import attrs

from leasekit.calc.dates import accrual_fraction
from leasekit.calc.schedule import (
    Schedule,
    add_broken_period_interest,
    amortize,
    period_rate,
    solving_rates,
)
from leasekit.errors import CalculationError
from leasekit.money import (
    HALF_UP,
    Currency,
    DecimalLike,
    Rounding,
    amount_in,
    currency,
    exact,
    to_decimal,
)

__all__ = [
    "PenaltyLine",
    "PenaltyQuote",
    "Prepayment",
    "SettlementFee",
    "SettlementQuote",
    "penalty_interest",
    "prepay",
    "settlement_quote",
]

PrepaymentMode: TypeAlias = Literal["reduce_payment", "shorten_term"]
_ZERO: Final = Decimal(0)


def _fee_term(value: DecimalLike) -> Decimal:
    return to_decimal(value, "fee")


def _optional_fee_term(value: DecimalLike | None) -> Decimal | None:
    return None if value is None else to_decimal(value, "fee")


@attrs.frozen(kw_only=True)
class SettlementFee:
    """The early-settlement fee: a share of the outstanding principal plus a fixed amount,
    optionally bounded. ``SettlementFee(rate=Decimal("0.02"), minimum=Decimal("200"))``."""

    rate: Decimal = attrs.field(default=_ZERO, converter=_fee_term)
    fixed: Decimal = attrs.field(default=_ZERO, converter=_fee_term)
    minimum: Decimal | None = attrs.field(default=None, converter=_optional_fee_term)
    maximum: Decimal | None = attrs.field(default=None, converter=_optional_fee_term)

    def amount(self, outstanding: Decimal, cur: Currency, rounding: Rounding) -> Decimal:
        """The fee on *outstanding*; the fixed part and the bounds must be exact in *cur*."""
        fee = rounding.apply(outstanding * self.rate, cur) + amount_in(self.fixed, cur, "fee.fixed")
        if self.minimum is not None:
            fee = max(fee, amount_in(self.minimum, cur, "fee.minimum"))
        if self.maximum is not None:
            fee = min(fee, amount_in(self.maximum, cur, "fee.maximum"))
        return fee


@attrs.frozen(kw_only=True)
class SettlementQuote:
    """What the customer pays to end the contract on *on*.

    ``total = overdue + outstanding_principal + accrued_interest + fee - deposit``; a
    negative total is a refund owed to the customer.
    """

    on: date
    overdue: Decimal
    outstanding_principal: Decimal
    accrued_interest: Decimal
    fee: Decimal
    deposit: Decimal

    @property
    @exact
    def total(self) -> Decimal:
        return (
            self.overdue
            + self.outstanding_principal
            + self.accrued_interest
            + self.fee
            - self.deposit
        )


def _rows_due(s: Schedule, on: date) -> int:
    """How many rows fall due on or before *on*."""
    return sum(1 for row in s.rows if row.due_date <= on)


def _check_date(s: Schedule, on: date) -> None:
    """A quote or a prepayment cannot go back before the start or behind a prepayment."""
    if on < s.terms.start_date:
        raise CalculationError(f"on: {on} is before the contract starts ({s.terms.start_date})")
    if s.prepayments and on < s.prepayments[-1][0]:
        raise CalculationError(f"on: {on} is before the last prepayment ({s.prepayments[-1][0]})")


def _interest_on_prepaid(s: Schedule, since: date, when: date, amount: Decimal) -> Decimal:
    """Interest a prepaid *amount* earned from the last due date *since* until it was paid."""
    t = s.terms
    return t.rounding.interest.apply(period_rate(t, since, when).interest_on(amount), t.currency)


def _carried_interest(s: Schedule, since: date, until: date) -> Decimal:
    """Interest owed on amounts prepaid after the due date *since*, up to *until*.

    The next installment charges it in one sum on top of the interest on the reduced
    balance, so it is owed in full from the day of each prepayment, not pro rata.
    """
    return sum(
        (
            _interest_on_prepaid(s, since, when, amount)
            for when, amount in s.prepayments
            if since <= when <= until
        ),
        s.currency.zero,
    )


def _balance_on(s: Schedule, due: int, on: date) -> Decimal:
    """Principal outstanding on *on*: after the *due* rows and any prepayment since.

    A prepayment dated on a due date comes after that date's installment, so the bound at
    *since* is inclusive (and on the start date there is no installment before it).
    """
    after_rows = s.rows[due - 1].balance if due else s.terms.principal
    since = s.rows[due - 1].due_date if due else s.terms.start_date
    prepaid = sum((amount for when, amount in s.prepayments if since <= when <= on), _ZERO)
    return after_rows - prepaid


def _accrued_interest(s: Schedule, due: int, on: date) -> Decimal:
    """Interest earned since the last due date: the next row's interest on the balance, pro
    rata by days, plus in full what prepayments since then carry."""
    if due >= len(s.rows):
        return s.currency.zero
    nxt = s.rows[due]
    previous = s.rows[due - 1].due_date if due else s.terms.start_date
    carried = _carried_interest(s, previous, nxt.due_date)
    # Elapsed over whole period, both in the schedule's day count (the denominators agree):
    # under 30/360 half a month is half a month's interest whatever the calendar month.
    elapsed, _ = accrual_fraction(previous, on, s.terms.day_count)
    length, _ = accrual_fraction(previous, nxt.due_date, s.terms.day_count)
    earned = (nxt.interest - carried) * elapsed / length if length else _ZERO
    on_balance = s.terms.rounding.interest.apply(earned, s.currency)
    return on_balance + carried


@exact
def settlement_quote(
    s: Schedule,
    on: date,
    *,
    fee: SettlementFee | None = None,
    deposit: DecimalLike = _ZERO,
    paid_through: int | None = None,
) -> SettlementQuote:
    """Quote the early settlement of *s* on *on*.

    Rows due on or before *on* are taken as paid, or, with ``paid_through=k``, rows after k
    that are already due count as overdue. The outstanding principal includes the balloon;
    the security *deposit* held is offset against the total.
    """
    _check_date(s, on)
    due = _rows_due(s, on)
    paid = due if paid_through is None else paid_through
    if not 0 <= paid <= due:
        raise CalculationError(f"paid_through: must be between 0 and {due} (rows due by {on})")
    cur = s.currency
    outstanding = _balance_on(s, due, on)
    return SettlementQuote(
        on=on,
        overdue=sum((row.payment for row in s.rows[paid:due]), cur.zero),
        outstanding_principal=outstanding,
        accrued_interest=_accrued_interest(s, due, on),
        fee=(fee or SettlementFee()).amount(outstanding, cur, s.terms.rounding.interest),
        deposit=amount_in(deposit, cur, "deposit"),
    )


@attrs.frozen(kw_only=True)
class Prepayment:
    """A partial prepayment and the schedule that follows it.

    *schedule* keeps the rows already due unchanged, replaces the rest and records the
    prepayment, so its totals and cash flows stay true; interest accrued on the prepaid
    amount since the last due date is charged with the next installment
    (*accrued_interest*), so the customer pays for the days the money was borrowed.
    """

    on: date
    amount: Decimal
    mode: PrepaymentMode
    accrued_interest: Decimal
    schedule: Schedule


def _check_prepayment(s: Schedule, due: int, on: date, amount: Decimal, mode: str) -> None:
    t = s.terms
    if mode not in ("reduce_payment", "shorten_term"):
        raise CalculationError(f"mode: {mode!r} is not one of reduce_payment, shorten_term")
    if t.method == "flat":
        raise CalculationError(
            "method: a flat-rate schedule charges interest on the original principal; "
            "prepay it through an early settlement quote"
        )
    if t.method == "interest_only" and mode == "shorten_term":
        raise CalculationError("mode: an interest-only schedule has no term to shorten")
    _check_date(s, on)
    if due < t.grace_periods:
        raise CalculationError(
            f"on: {on} falls in the grace period; prepayments apply from row "
            f"{t.grace_periods}'s due date ({s.rows[t.grace_periods - 1].due_date})"
        )
    if due >= len(s.rows) - 1:
        raise CalculationError("on: no installment remains after this date to re-plan")
    available = _balance_on(s, due, on) - s.balloon
    if not 0 < amount < available:
        raise CalculationError(
            f"amount: must be positive and below the outstanding principal less the balloon "
            f"({available}); a full repayment is an early settlement"
        )


@exact
def prepay(
    s: Schedule, *, on: date, amount: DecimalLike, mode: PrepaymentMode = "reduce_payment"
) -> Prepayment:
    """Apply a partial prepayment of *amount* to principal on *on*.

    ``reduce_payment`` keeps the maturity and lowers the installment; ``shorten_term`` keeps
    the installment (or, for equal principal, the principal per row) and ends earlier.
    """
    t = s.terms
    paid = amount_in(amount, t.currency, "amount")
    due = _rows_due(s, on)
    _check_prepayment(s, due, on, paid, mode)
    balance = _balance_on(s, due, on) - paid
    remaining = s.rows[due:]
    rates, broken_rate = solving_rates(t, [row.due_date for row in s.rows])
    previous = s.rows[due - 1].due_date if due else t.start_date
    accrued = _interest_on_prepaid(s, previous, on, paid)
    carried = _carried_interest(s, previous, on) + accrued
    fixed = None
    if mode == "shorten_term":
        fixed = s.payment if t.method == "annuity" else remaining[0].principal
    installment, rows = amortize(
        t.method,
        balance,
        [row.due_date for row in remaining],
        rates[due:],
        balloon=t.balloon,
        cur=t.currency,
        conv=t.rounding,
        first_number=due + 1,
        installment=fixed,
    )
    if due == 0 and broken_rate is not None:
        add_broken_period_interest(t, rows, balance, broken_rate)
    first = rows[0]
    rows[0] = first._replace(payment=first.payment + carried, interest=first.interest + carried)
    new = attrs.evolve(
        s,
        terms=attrs.evolve(t, periods=due + len(rows)),
        payment=installment,
        rows=(*s.rows[:due], *rows),
        prepayments=(*s.prepayments, (on, paid)),
    )
    return Prepayment(on=on, amount=paid, mode=mode, accrued_interest=accrued, schedule=new)


@attrs.frozen(kw_only=True)
class PenaltyLine:
    due_date: date
    amount: Decimal
    days: int
    penalty: Decimal


@attrs.frozen(kw_only=True)
class PenaltyQuote:
    as_of: date
    currency: Currency
    lines: tuple[PenaltyLine, ...]

    @property
    @exact
    def total(self) -> Decimal:
        return sum((line.penalty for line in self.lines), self.currency.zero)


@exact
def penalty_interest(
    overdue: Sequence[tuple[date, DecimalLike]],
    *,
    as_of: date,
    daily_rate: DecimalLike,
    grace_days: int = 0,
    currency_code: str | Currency = "USD",
    rounding: Rounding = HALF_UP,
) -> PenaltyQuote:
    """Simple daily penalty interest on each overdue amount up to *as_of*.

    A line within its *grace_days* costs nothing; past them, the penalty runs from the due
    date (the grace is a waiver, not a deduction). Each line is rounded once.
    """
    rate = to_decimal(daily_rate, "daily_rate")
    if rate < 0:
        raise CalculationError(f"daily_rate: must not be negative, got {rate}")
    if grace_days < 0:
        raise CalculationError(f"grace_days: must not be negative, got {grace_days}")
    cur = currency(currency_code)
    lines = []
    for index, (due, value) in enumerate(overdue):
        amount = amount_in(value, cur, f"overdue[{index}]")
        if amount < 0:
            raise CalculationError(f"overdue[{index}]: amount must not be negative")
        days = max((as_of - due).days, 0)
        charged = days if days > grace_days else 0
        penalty = rounding.apply(amount * rate * charged, cur)
        lines.append(PenaltyLine(due_date=due, amount=amount, days=days, penalty=penalty))
    return PenaltyQuote(as_of=as_of, currency=cur, lines=tuple(lines))
