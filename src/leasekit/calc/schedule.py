"""Repayment schedules: annuity, equal principal, interest only and flat rate.

Every method follows the same three steps, so the rounding rules are the same for all:

1. **Calendar.** Due dates anchored on one day of the month (the start date's, the first due
   date's or ``due_day``), so month ends survive February, and for each row the periodic
   rate of the period it pays for (:class:`PeriodRate`): a regular period under 30/360 is
   exactly its months over twelve; broken periods and the actual day counts are measured.
2. **Installment.** Solved exactly from those periodic rates, then rounded once by the
   convention's installment rounding.
3. **Rows.** Each row's interest is the outstanding balance times the row's rate, divided
   last and rounded once by the convention's interest rounding; principal is the installment
   less interest; the final row absorbs what rounding left over, so the balance ends exactly
   at the balloon.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Final, Literal, NamedTuple, TypeAlias

import attrs

from leasekit import money
from leasekit.calc.dates import (
    accrual_fraction,
    check_day_count,
    due_dates,
    is_regular_period,
    months_per_period,
    periods_per_year,
)
from leasekit.calc.rounding import CONVENTIONS, RoundingConvention, rounding_convention
from leasekit.errors import CalculationError, CurrencyMismatchError
from leasekit.money import Currency, DecimalLike, Money, exact, to_decimal

__all__ = [
    "METHODS",
    "NO_INTEREST",
    "Method",
    "PeriodRate",
    "Schedule",
    "ScheduleRow",
    "Terms",
    "amortize",
    "schedule",
]

Method: TypeAlias = Literal["annuity", "equal_principal", "interest_only", "flat"]
METHODS: Final = ("annuity", "equal_principal", "interest_only", "flat")
Grace: TypeAlias = Literal["interest_only", "capitalized"]
BrokenPeriod: TypeAlias = Literal["amortize", "add_to_first"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_LEVEL_TOTAL_STEPS: Final = 100
"""More cents than the level_total search ever needs (it ends within a step or two)."""


class ScheduleRow(NamedTuple):
    """One installment. A ``NamedTuple`` rather than an attrs class: a schedule builds
    hundreds of them per call and a tuple is four times cheaper to create."""

    number: int
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


class PeriodRate(NamedTuple):
    """The interest rate of one accrual period, kept as ``numerator / denominator``.

    *numerator* is the annual rate times the period's length in the day count's units
    (months or days) and *denominator* the number of those units in a year (12, 360, 365 or,
    for actual/actual, 365 × 366). Interest is ``balance * numerator / denominator``:
    dividing last keeps a whole number of half cents exact, so half-up rounding sees the tie.
    Dividing first (``0.0625 / 12``) would round 150.72's exact 0.785 of interest to 0.78.
    """

    numerator: Decimal
    denominator: int

    def interest_on(self, balance: Decimal) -> Decimal:
        return balance * self.numerator / self.denominator

    @property
    def value(self) -> Decimal:
        return self.numerator / self.denominator


_as_row: Final[Callable[[tuple[int, date, Decimal, Decimal, Decimal, Decimal]], ScheduleRow]] = (
    partial(tuple.__new__, ScheduleRow)
)
"""``ScheduleRow`` from a plain tuple, skipping the generated ``__new__``: half the cost of
``ScheduleRow(...)``, for loops that build hundreds of rows."""

NO_INTEREST: Final = PeriodRate(Decimal(0), 1)
"""The rate of an empty period: the first payment in advance falls on the start date."""


@attrs.frozen(kw_only=True)
class Terms:
    """Everything a schedule is built from, validated once.

    Amounts are exact ``Decimal`` values in *currency*; *annual_rate* is a fraction
    (``Decimal("0.049")`` for 4.9 %), a nominal rate for every method but ``flat``, where it is
    the add-on rate charged on the original principal for each year of the term.
    """

    principal: Decimal
    annual_rate: Decimal
    periods: int
    start_date: date
    method: Method = "annuity"
    balloon: Decimal = _ZERO
    in_advance: bool = False
    frequency: str = "monthly"
    day_count: str = "30/360"
    first_due_date: date | None = None
    due_day: int | None = None
    grace_periods: int = 0
    grace: Grace = "interest_only"
    broken_period: BrokenPeriod = "amortize"
    currency: Currency = attrs.field(default=money.CURRENCIES["USD"], converter=money.currency)
    rounding: RoundingConvention = attrs.field(
        default=CONVENTIONS["standard"], converter=rounding_convention
    )

    def __attrs_post_init__(self) -> None:
        _validate(self)

    @property
    def periods_per_year(self) -> int:
        return periods_per_year(self.frequency)

    @property
    def anchor_day(self) -> int:
        """The day of the month every due date aims at (clamped in shorter months)."""
        return self.due_day or (self.first_due_date or self.start_date).day


def _validate(t: Terms) -> None:
    """Reject terms that describe no sensible contract, naming the parameter at fault."""

    def fail(message: str) -> None:
        raise CalculationError(message)

    if t.method not in METHODS:
        fail(f"method: {t.method!r} is not one of {', '.join(METHODS)}")
    months_per_period(t.frequency)
    check_day_count(t.day_count)
    if t.principal <= 0:
        fail(f"principal: must be positive, got {t.principal}")
    money.amount_in(t.principal, t.currency, "principal")
    money.amount_in(t.balloon, t.currency, "balloon")
    if t.annual_rate < 0:
        fail(f"annual_rate: must not be negative, got {t.annual_rate}")
    if t.periods < 1:
        fail(f"periods: must be at least 1, got {t.periods}")
    if not _ZERO <= t.balloon <= t.principal:
        fail(f"balloon: must be between 0 and the principal {t.principal}, got {t.balloon}")
    if not 0 <= t.grace_periods < t.periods:
        fail(f"grace_periods: must be between 0 and periods - 1, got {t.grace_periods}")
    if t.grace not in ("interest_only", "capitalized"):
        fail(f"grace: {t.grace!r} is not one of interest_only, capitalized")
    if t.broken_period not in ("amortize", "add_to_first"):
        fail(f"broken_period: {t.broken_period!r} is not one of amortize, add_to_first")
    if t.due_day is not None and not 1 <= t.due_day <= 31:
        fail(f"due_day: must be between 1 and 31, got {t.due_day}")
    if t.first_due_date is not None:
        if t.in_advance:
            fail("first_due_date: payments in advance fall due on the start date")
        if t.first_due_date <= t.start_date:
            fail(f"first_due_date: {t.first_due_date} is not after start_date {t.start_date}")
    if t.method == "interest_only" and t.in_advance:
        fail("in_advance: interest-only schedules pay interest in arrears")
    if t.method == "flat" and t.grace_periods:
        fail("grace_periods: a flat-rate schedule has no grace periods")


@attrs.frozen(kw_only=True)
class Schedule:
    """A repayment schedule: its terms, the regular installment and one row per payment.

    *payment* is the installment the method solves for: the level payment for ``annuity``
    and ``flat``; for ``equal_principal`` and ``interest_only`` the first amortizing row's
    payment as planned (in advance that row carries no interest), before any broken-period
    surcharge. The balloon is not part of any row's payment: it is due with the last row,
    and the last row's balance equals it. *prepayments* lists the unscheduled principal
    payments (date, amount) that :func:`~leasekit.calc.settlement.prepay` applied; the
    totals and cash flows include them.
    """

    terms: Terms
    payment: Decimal
    rows: tuple[ScheduleRow, ...]
    prepayments: tuple[tuple[date, Decimal], ...] = ()

    @property
    def currency(self) -> Currency:
        return self.terms.currency

    @property
    @exact
    def balloon(self) -> Decimal:
        return self.terms.balloon

    @property
    @exact
    def total_interest(self) -> Decimal:
        return sum((row.interest for row in self.rows), self.currency.zero)

    @property
    @exact
    def total_prepaid(self) -> Decimal:
        return sum((amount for _, amount in self.prepayments), self.currency.zero)

    @property
    @exact
    def total_principal(self) -> Decimal:
        """Principal repaid by the rows and by prepayments: the principal less the balloon."""
        rows = sum((row.principal for row in self.rows), self.currency.zero)
        return rows + self.total_prepaid

    @property
    @exact
    def total_payments(self) -> Decimal:
        """What the rows ask for plus any prepayments, balloon excluded."""
        rows = sum((row.payment for row in self.rows), self.currency.zero)
        return rows + self.total_prepaid

    @property
    @exact
    def total_payable(self) -> Decimal:
        """Everything the customer pays over the term, balloon included."""
        return self.total_payments + self.balloon

    @property
    def maturity_date(self) -> date:
        return self.rows[-1].due_date

    @exact
    def cash_flows(self) -> list[tuple[date, Decimal]]:
        """The customer's payments by date (rows, prepayments, the balloon with the last
        row), one entry per date, for APR and IRR."""
        flows: dict[date, Decimal] = {}
        for when, amount in (
            *((row.due_date, row.payment) for row in self.rows),
            *self.prepayments,
            (self.maturity_date, self.balloon),
        ):
            flows[when] = flows.get(when, self.currency.zero) + amount
        return sorted(flows.items())


# -- calendar ------------------------------------------------------------------------------


def payment_dates(t: Terms) -> list[date]:
    """Due dates of every row: from the start date in advance, one period later in arrears."""
    if t.in_advance:
        return due_dates(t.start_date, t.periods, t.frequency, t.due_day)
    if t.first_due_date is None:
        return due_dates(t.start_date, t.periods + 1, t.frequency, t.due_day)[1:]
    return due_dates(t.first_due_date, t.periods, t.frequency, t.due_day)


def regular_rate(t: Terms) -> PeriodRate:
    """A full regular period under 30/360: exactly its months over twelve."""
    return PeriodRate(t.annual_rate * months_per_period(t.frequency), 12)


def period_rate(t: Terms, start: date, end: date) -> PeriodRate:
    """The periodic rate for the accrual period from *start* to *end*.

    Under 30/360 a full regular period is exactly ``1 / periods per year``; only an irregular
    (broken) period is measured in 30/360 days. The actual day counts measure every period.
    """
    if t.day_count == "30/360" and is_regular_period(
        start, end, months_per_period(t.frequency), t.anchor_day
    ):
        return regular_rate(t)
    days, days_in_year = accrual_fraction(start, end, t.day_count)
    return PeriodRate(t.annual_rate * days, days_in_year)


def period_rates(t: Terms, dates: Sequence[date]) -> list[PeriodRate]:
    """One periodic rate per row, for the period that row's interest pays for.

    In advance the first payment falls on the start date and pays no interest.
    """
    if t.in_advance:
        starts: list[date | None] = [None, *dates[:-1]]
    else:
        starts = [t.start_date, *dates[:-1]]
    if t.day_count == "30/360" and t.first_due_date is None and t.due_day is None:
        regular = regular_rate(t)
        return [NO_INTEREST if s is None else regular for s in starts]
    return [
        NO_INTEREST if s is None else period_rate(t, s, e)
        for s, e in zip(starts, dates, strict=True)
    ]


# -- installments ----------------------------------------------------------------------------


def level_payment(balance: Decimal, rates: Sequence[PeriodRate], balloon: Decimal) -> Decimal:
    """The exact level payment that takes *balance* to *balloon* over rows with *rates*.

    With ``b_k = b_(k-1) * (1 + r_k) - P``, the balance after the last row is linear in P:
    ``balance * prod(1 + r) - P * sum over k of prod_(j>k)(1 + r_j)``. Setting it equal to the
    balloon gives P for any mix of regular and broken periods. When every period has the
    same rate the product is ``(1 + r) ** n`` and the sum ``((1 + r) ** n - 1) / r``, the
    textbook annuity, computed in a few operations instead of a loop over the rows.
    """
    first = rates[0]
    if rates.count(first) == len(rates):
        r = first.value
        if r == 0:
            return (balance - balloon) / len(rates)
        growth = (_ONE + r) ** len(rates)
        return (balance * growth - balloon) * r / (growth - _ONE)
    growth = _ONE
    annuity_factor = _ZERO
    for rate in reversed(rates):
        annuity_factor += growth
        growth *= _ONE + rate.value
    return (balance * growth - balloon) / annuity_factor


def _closing_row(
    number: int,
    due: date,
    installment: Decimal,
    interest: Decimal,
    balance: Decimal,
    balloon: Decimal,
    conv: RoundingConvention,
    *,
    level: bool,
) -> ScheduleRow:
    """The last row: it repays the balance down to the balloon exactly."""
    principal = balance - balloon
    if level and conv.residue == "last_interest":
        interest = installment - principal
    return ScheduleRow(number, due, principal + interest, principal, interest, balloon)


def _repaid_early(payment: Decimal, number: int) -> CalculationError:
    return CalculationError(
        f"rounding: the rounded installment {payment} repays the loan by row {number}, "
        "before the last period: over this term the rounding difference compounds faster "
        "than the loan amortizes"
    )


def _balance_rows(
    balance: Decimal,
    dates: Sequence[date],
    rates: Sequence[PeriodRate],
    balloon: Decimal,
    cur: Currency,
    conv: RoundingConvention,
    first_number: int,
    *,
    fixed: Decimal,
    level: bool,
    stop_when_repaid: bool,
) -> list[ScheduleRow]:
    """Rows whose interest accrues on the running balance.

    With *level* every row pays *fixed* (an annuity's installment); otherwise each row pays
    *fixed* of principal plus its interest (equal principal, and interest only with zero
    principal). With *stop_when_repaid* the rows end as soon as the balance reaches the
    balloon (a fixed installment after a prepayment); otherwise reaching it early is a
    rounding error.
    """
    round_interest = conv.interest.quantizer(cur)
    rows: list[ScheduleRow] = []
    append = rows.append
    numerators, denominators = _rate_columns(rates[:-1])
    number = first_number
    # Not strict: a regular schedule's rate columns repeat without end.
    for due, numerator, denominator in zip(dates[:-1], numerators, denominators, strict=False):
        interest = round_interest(balance * numerator / denominator)
        payment = fixed if level else fixed + interest
        principal = payment - interest
        if stop_when_repaid and balance - principal <= balloon:
            append(
                _closing_row(number, due, payment, interest, balance, balloon, conv, level=False)
            )
            return rows
        balance -= principal
        if balance < balloon:
            raise _repaid_early(payment, number)
        append(_as_row((number, due, payment, principal, interest, balance)))
        number += 1
    interest = round_interest(rates[-1].interest_on(balance))
    payment = fixed if level else fixed + interest
    repaid = stop_when_repaid and balance - (payment - interest) <= balloon
    append(
        _closing_row(
            number, dates[-1], payment, interest, balance, balloon, conv, level=level and not repaid
        )
    )
    return rows


def _rate_columns(
    rates: Sequence[PeriodRate],
) -> tuple[Iterable[Decimal], Iterable[Decimal | int]]:
    """The numerators and denominators of *rates*, as the row loop reads them.

    A regular schedule under 30/360 has one rate for every row: it is repeated rather than
    unpacked row by row, and its denominator is made a ``Decimal`` once instead of at every
    division (the quotient is the same).
    """
    if rates and rates.count(rates[0]) == len(rates):
        numerator, denominator = rates[0]
        return itertools.repeat(numerator), itertools.repeat(Decimal(denominator))
    return [rate.numerator for rate in rates], [rate.denominator for rate in rates]


def _flat_rows(t: Terms, dates: Sequence[date]) -> tuple[Decimal, list[ScheduleRow]]:
    """Add-on interest on the original principal for the whole term, spread evenly."""
    cur, conv = t.currency, t.rounding
    add_on = t.principal * t.annual_rate * t.periods / t.periods_per_year
    total_interest = conv.interest.apply(add_on, cur)
    installment = conv.installment.apply(
        (t.principal - t.balloon + total_interest) / t.periods, cur
    )
    interest = conv.interest.apply(total_interest / t.periods, cur)
    if interest * (t.periods - 1) > total_interest:
        # Rounding up n - 1 times would leave the last row less than no interest.
        interest = (total_interest / t.periods).quantize(cur.quantum, decimal.ROUND_DOWN)
    rows: list[ScheduleRow] = []
    append = rows.append
    balance = t.principal
    principal = installment - interest
    for k, due in enumerate(dates[:-1], start=1):
        balance -= principal
        if balance < t.balloon:
            raise _repaid_early(installment, k)
        append(_as_row((k, due, installment, principal, interest, balance)))
    final_interest = total_interest - interest * (t.periods - 1)
    rows.append(
        _closing_row(
            t.periods,
            dates[-1],
            installment,
            final_interest,
            balance,
            t.balloon,
            conv,
            level=True,
        )
    )
    return installment, rows


def amortize(
    method: Method,
    balance: Decimal,
    dates: Sequence[date],
    rates: Sequence[PeriodRate],
    *,
    balloon: Decimal,
    cur: Currency,
    conv: RoundingConvention,
    first_number: int = 1,
    installment: Decimal | None = None,
) -> tuple[Decimal, list[ScheduleRow]]:
    """Rows that take *balance* to *balloon* on *dates*; returns (installment, rows).

    A given *installment* (for ``equal_principal``, the principal per row) is kept instead of
    solved for, and the rows stop as soon as it has repaid the balance: that is how a
    prepayment shortens the term. Flat-rate rows do not depend on the balance and are not
    built here.
    """
    given = installment is not None

    def rows_paying(fixed: Decimal, *, level: bool) -> list[ScheduleRow]:
        return _balance_rows(
            balance,
            dates,
            rates,
            balloon,
            cur,
            conv,
            first_number,
            fixed=fixed,
            level=level,
            stop_when_repaid=given,
        )

    if method == "annuity":
        if installment is None:
            installment = conv.installment.apply(level_payment(balance, rates, balloon), cur)
            if conv.residue == "last_interest":
                return _lowest_level_total(
                    installment, cur.quantum, partial(rows_paying, level=True)
                )
        return installment, rows_paying(installment, level=True)
    if method == "equal_principal":
        if installment is None:
            installment = conv.installment.apply((balance - balloon) / len(dates), cur)
        rows = rows_paying(installment, level=False)
        return rows[0].payment, rows
    if method == "interest_only":
        rows = rows_paying(cur.zero, level=False)
        return rows[0].payment, rows
    raise CalculationError(f"method: {method!r} does not amortize on a balance")


def _lowest_level_total(
    installment: Decimal, step: Decimal, level_rows: Callable[[Decimal], list[ScheduleRow]]
) -> tuple[Decimal, list[ScheduleRow]]:
    """Level payments whose total is installment × n: the smallest installment, from the
    solved one up by *step* (a cent) at a time, that leaves the last row no negative interest.

    Rounding the installment up usually suffices, but at low rates the half-up roundings of
    many rows' interest can outweigh it. Each cent more raises the last row's interest by
    more than a cent, so the search ends within a step or two.
    """
    for _ in range(_LEVEL_TOTAL_STEPS):
        rows = level_rows(installment)
        if rows[-1].interest >= 0:
            return installment, rows
        installment += step
    raise CalculationError("rounding: no level installment leaves the last row's interest whole")


def _grace_rows(
    t: Terms, dates: Sequence[date], rates: Sequence[PeriodRate]
) -> tuple[Decimal, list[ScheduleRow]]:
    """Grace periods: interest only, or nothing paid and interest added to the balance."""
    rows: list[ScheduleRow] = []
    balance = t.principal
    for k, (due, rate) in enumerate(zip(dates, rates, strict=True), start=1):
        interest = t.rounding.interest.apply(rate.interest_on(balance), t.currency)
        payment = interest if t.grace == "interest_only" else t.currency.zero
        principal = payment - interest
        balance -= principal
        rows.append(ScheduleRow(k, due, payment, principal, interest, balance))
    return balance, rows


def solving_rates(t: Terms, dates: Sequence[date]) -> tuple[list[PeriodRate], PeriodRate | None]:
    """The periodic rates the installment is solved with, and the broken first period's own
    rate when ``broken_period="add_to_first"`` charges it on top of the first installment.

    Only a first row that pays interest can carry the surcharge: in advance the first row
    pays none, and a capitalized grace row pays nothing at all (its interest, broken period
    included, is added to the balance instead).
    """
    rates = period_rates(t, dates)
    capitalized = t.grace_periods > 0 and t.grace == "capitalized"
    if t.broken_period != "add_to_first" or t.in_advance or capitalized:
        return rates, None
    broken = rates[0]
    rates[0] = regular_rate(t)
    return rates, broken


def add_broken_period_interest(
    t: Terms, rows: list[ScheduleRow], opening: Decimal, broken_rate: PeriodRate
) -> None:
    """Charge the broken first period's extra interest on top of the first installment.

    The installment was solved as if the first period were regular; the difference between
    the broken period's interest on *opening* and the regular interest already in row 1 is
    paid with row 1 and changes no balance.
    """
    first = rows[0]
    broken_interest = t.rounding.interest.apply(broken_rate.interest_on(opening), t.currency)
    extra = broken_interest - first.interest
    rows[0] = first._replace(payment=first.payment + extra, interest=first.interest + extra)


@exact
def build(t: Terms) -> Schedule:
    """Build the schedule for validated *t*."""
    dates = payment_dates(t)
    if t.method == "flat":
        installment, rows = _flat_rows(t, dates)
        return Schedule(terms=t, payment=installment, rows=tuple(rows))
    rates, broken_rate = solving_rates(t, dates)
    g = t.grace_periods
    balance, grace_rows = _grace_rows(t, dates[:g], rates[:g])
    installment, rows = amortize(
        t.method,
        balance,
        dates[g:],
        rates[g:],
        balloon=t.balloon,
        cur=t.currency,
        conv=t.rounding,
        first_number=g + 1,
    )
    rows = grace_rows + rows
    if broken_rate is not None:
        add_broken_period_interest(t, rows, t.principal, broken_rate)
    return Schedule(terms=t, payment=installment, rows=tuple(rows))


def currency_of(values: Iterable[object], requested: str | Currency | None) -> Currency:
    """The currency of the ``Money`` arguments, else *requested*, else USD.

    A requested currency that differs from a ``Money`` argument's is an error, not a
    conversion: leasekit never converts between currencies.
    """
    found = {value.currency for value in values if isinstance(value, Money)}
    if requested is not None:
        found.add(money.currency(requested))
    if len(found) > 1:
        codes = ", ".join(sorted(c.code for c in found))
        raise CurrencyMismatchError(f"currency: amounts in more than one currency ({codes})")
    return found.pop() if found else money.currency("USD")


@exact
def schedule(
    *,
    principal: DecimalLike | Money,
    annual_rate: DecimalLike,
    periods: int,
    start_date: date,
    method: Method = "annuity",
    balloon: DecimalLike | Money = _ZERO,
    in_advance: bool = False,
    frequency: str = "monthly",
    day_count: str = "30/360",
    first_due_date: date | None = None,
    due_day: int | None = None,
    grace_periods: int = 0,
    grace: Grace = "interest_only",
    broken_period: BrokenPeriod = "amortize",
    currency: str | Currency | None = None,
    rounding: str | RoundingConvention = "standard",
) -> Schedule:
    """Build a repayment schedule.

    *principal* and *balloon* are ``Decimal``, ``int``, ``str`` or ``Money``; a ``Money``
    principal sets the currency. *annual_rate* is a fraction. ``first_due_date`` makes the
    first period broken (longer or shorter than the rest); ``broken_period`` says whether its
    extra interest is spread over the installments (``"amortize"``) or paid with the first
    one (``"add_to_first"``). ``grace_periods`` leading rows pay interest only or, with
    ``grace="capitalized"``, nothing (the interest is added to the balance).
    """
    cur = currency_of((principal, balloon), currency)
    terms = Terms(
        principal=money.amount_in(principal, cur, "principal"),
        annual_rate=to_decimal(annual_rate, "annual_rate"),
        periods=periods,
        start_date=start_date,
        method=method,
        balloon=money.amount_in(balloon, cur, "balloon"),
        in_advance=in_advance,
        frequency=frequency,
        day_count=day_count,
        first_due_date=first_due_date,
        due_day=due_day,
        grace_periods=grace_periods,
        grace=grace,
        broken_period=broken_period,
        currency=cur,
        rounding=rounding,
    )
    return build(terms)
