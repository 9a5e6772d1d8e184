"""Annual percentage rates as consumer-credit law defines them: US Regulation Z and the EU APRC.

Both conventions solve one equation, "what is lent, discounted, equals what is repaid,
discounted", and differ in how they measure time and quote the answer:

``us_actuarial``
    12 CFR 1026 (Regulation Z) Appendix J, actuarial method. Time is counted in *unit-periods*
    (usually the payment interval); each date is a whole number of unit-periods *t* plus a
    fraction *f* from the beginning of the term, and a flow is discounted by
    ``(1 + f*i) * (1 + i)**t``: simple interest for the odd fraction, compound for the rest
    (paragraph (b)(8)). The APR is the nominal rate ``i * unit-periods per year``
    (paragraph (b)(1)).

``eu``
    Directive 2008/48/EC Annex I (and its successor, Directive (EU) 2023/2225 Annex III).
    Time is in years from the first drawdown and a flow is discounted by ``(1 + X)**-t``; the
    APRC *X* is an effective annual rate.

Both return a percentage, unrounded: the caller decides the disclosure precision (Annex I
remark (d) asks for at least one decimal, rounded half up: see :func:`round_aprc`; Regulation Z
section 1026.22(a)(2) sets a tolerance of 1/8 of a percentage point for regular transactions
and 1/4 for irregular ones).
"""

from __future__ import annotations

import decimal
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Final, NamedTuple, TypeGuard

import attrs

from leasekit.calc.dates import add_months, days_in_month
from leasekit.calc.rates import FlowColumns, powers_of, rough_rate, solve_flows
from leasekit.calc.seeded import SeededSum, Solver, check_solver
from leasekit.calc.solve import RateEquation, find_root, working_precision
from leasekit.errors import CalculationError, NoRateError
from leasekit.money import DecimalLike, exact, to_decimal

__all__ = [
    "APR_CONVENTIONS",
    "TIME_BASES",
    "UNIT_PERIODS",
    "UnitPeriod",
    "apr",
    "detect_unit_period",
    "round_aprc",
    "unit_periods",
]

APR_CONVENTIONS: Final = ("us_actuarial", "eu")
TIME_BASES: Final = ("days", "weeks", "months")
_UNIT_KINDS: Final = ("day", "week", "semimonth", "month")
_DAYS_PER_MONTH: Final = 30  # Appendix J (b)(5)(ii)-(iii): odd days count in 30-day months
_DAYS_PER_SEMIMONTH: Final = 15
_DAYS_PER_YEAR: Final = 365
# The whole periods each EU time basis counts before the odd days: years, weeks or months.
_PERIODS_PER_YEAR_BY_BASIS: Final = {"days": 1, "weeks": 52, "months": 12}


@attrs.frozen
class UnitPeriod:
    """A Regulation Z *standard interval of time* (Appendix J (b)(3)(iii)).

    A day, a semimonth, or 1-52 weeks, or 1-12 months. Twelve months is the year of
    paragraph (b)(5)(v).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(_UNIT_KINDS))
    count: int = attrs.field(default=1)

    @count.validator
    def _check_count(self, attribute: attrs.Attribute[int], value: int) -> None:
        most = {"day": 1, "semimonth": 1, "week": 52, "month": 12}[self.kind]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise CalculationError(
                f"count: a {self.kind} unit-period takes 1 to {most}, got {value!r}"
            )

    @property
    def per_year(self) -> Decimal:
        """Unit-periods per year, as Appendix J (b)(5)(ii)-(v) fixes them."""
        with working_precision():
            if self.kind == "day":
                return Decimal(_DAYS_PER_YEAR)
            if self.kind == "week":
                return Decimal(52) / self.count
            if self.kind == "semimonth":
                return Decimal(24)
            return Decimal(12) / self.count

    @property
    def length_in_days(self) -> Decimal:
        """Length in days (a month being 365/12), to compare and average periods under (b)(4)."""
        with working_precision():
            if self.kind == "week":
                return Decimal(7 * self.count)
            return _DAYS_PER_YEAR / self.per_year

    def __str__(self) -> str:
        return self.kind if self.count == 1 else f"{self.count} {self.kind}s"


UNIT_PERIODS: Final[dict[str, UnitPeriod]] = {
    "daily": UnitPeriod("day"),
    "weekly": UnitPeriod("week"),
    "biweekly": UnitPeriod("week", 2),
    "semimonthly": UnitPeriod("semimonth"),
    "monthly": UnitPeriod("month"),
    "quarterly": UnitPeriod("month", 3),
    "semiannual": UnitPeriod("month", 6),
    "annual": UnitPeriod("month", 12),
}
"""Named unit-periods; ``"biweekly"`` means every two weeks."""

_STANDARD_INTERVALS: Final = (
    UnitPeriod("day"),
    UnitPeriod("semimonth"),
    *(UnitPeriod("week", weeks) for weeks in range(1, 53)),
    *(UnitPeriod("month", months) for months in range(1, 13)),
)


class _Flow(NamedTuple):
    position: int
    when: date
    amount: Decimal


def apr(
    *,
    advances: Sequence[tuple[date, DecimalLike]],
    payments: Sequence[tuple[date, DecimalLike]],
    convention: str = "us_actuarial",
    unit_period: str | UnitPeriod | None = "monthly",
    time_basis: str | None = None,
    solver: Solver = "bracket",
) -> Decimal:
    """The annual percentage rate, in percent and unrounded, of credit given as dated flows.

    *advances* are the amounts lent (the amount financed, or each drawdown) and *payments*
    what the borrower pays, each a ``(date, amount)`` pair with a non-negative amount. The
    term begins on the first advance; no payment may fall before it.

    ``convention="us_actuarial"`` follows Regulation Z Appendix J. *unit_period* is a name
    from :data:`UNIT_PERIODS` or a :class:`UnitPeriod`; ``None`` chooses it as paragraph
    (b)(4) does (see :func:`detect_unit_period`), and for a single advance repaid by a single
    payment within a year takes the term itself as the unit-period ((b)(4)(ii)). Each date
    is counted in whole unit-periods back towards the first advance, and what is left over
    is the fraction *f*; for monthly and multi-month units (and semimonths) the odd days
    count in 30-day months, so 19 odd days are ``f = 19/30`` of a month (paragraph (b)(5)).
    See :func:`unit_periods`.

    ``convention="eu"`` follows Directive 2008/48/EC Annex I. Remark (c) measures time "in
    years or in fractions of a year. A year is presumed to have 365 days (or 366 days for leap
    years), 52 weeks or 12 equal months"; *time_basis* picks the division: ``"days"`` (the
    default), ``"weeks"`` or ``"months"``. As the Commission's guidelines on the Directive
    (SWD(2012) 128) and its successor's Annex III I(c) spell out, whole years, weeks or months
    are counted back from each date towards the first drawdown, and the days left over are
    divided by the length of the year that ends where the count stopped: 366 when that year
    holds a 29 February, else 365. With ``"days"`` a flow two years on is therefore exactly
    2 years away even across a leap day, and one 60 days on from 15 January 2024 is 60/366.
    Returns ``X * 100`` where *X* is the effective annual rate; the Directive discloses it
    to one decimal (:func:`round_aprc`).

    ``solver="float_seed"`` finds the same rate several times faster, for books of
    many contracts (:mod:`leasekit.calc.seeded`).
    """
    check_solver(solver)
    if convention not in APR_CONVENTIONS:
        raise CalculationError(
            f"convention: {convention!r} is not one of {', '.join(APR_CONVENTIONS)}"
        )
    lent = _read_flows(advances, "advances")
    start = lent[0].when
    repaid = _read_flows(payments, "payments")
    for flow in repaid:
        if flow.when < start:
            raise CalculationError(
                f"payments[{flow.position}]: {flow.when} is before the first advance on {start}"
            )
    _require_positive_total(lent, "advances", "nothing is lent")
    _require_positive_total(repaid, "payments", "nothing is repaid")
    if all(flow.when == start for flow in repaid) and all(flow.when == start for flow in lent):
        raise NoRateError(
            "every advance and payment falls on the first advance date, so no time passes "
            "over which interest could be charged"
        )
    if convention == "eu":
        return _eu_aprc(lent, repaid, "days" if time_basis is None else time_basis, solver)
    if time_basis is not None:
        raise CalculationError("time_basis: applies to convention='eu' only")
    return _us_actuarial(lent, repaid, unit_period, solver)


@exact
def round_aprc(aprc: Decimal, places: int = 1) -> Decimal:
    """Round an APRC (in percent) for disclosure as Annex I remark (d) of 2008/48/EC requires.

    "The result of the calculation shall be expressed with an accuracy of at least one decimal
    place. If the figure at the following decimal place is greater than or equal to 5, the
    figure at that particular decimal place shall be increased by one": half up.
    """
    return aprc.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


def detect_unit_period(advance_dates: Sequence[date], payment_dates: Sequence[date]) -> UnitPeriod:
    """The unit-period Appendix J (b)(4)(i) prescribes for these dates.

    A *period* is the interval between consecutive advances, between consecutive payments,
    or from the beginning of the term (the first advance) to the first payment (b)(3)(i). The
    unit-period is the *common period* (one occurring more than once) that occurs most often,
    the shorter on a tie (A); with no common period, the average of all periods rounded to
    the nearest standard interval, the shorter on a tie (B).

    Periods are recognised as whole months (month ends and the 29th-31st following
    (b)(3)(iv)), semimonths (about 15 days, two of which make a month), whole weeks, or a
    day. A period recurring as a number of days that is none of these (say every 33 days)
    cannot be counted with the rules of (b)(5), so it counts only towards the average of (B).
    """
    if not advance_dates:
        raise CalculationError("advance_dates: at least one advance is required")
    start = min(advance_dates)
    calendar_ = _Calendar.of([*advance_dates, *payment_dates])
    sequences = (
        sorted(set(advance_dates)),
        sorted({start, *payment_dates}),
    )
    standard: list[UnitPeriod] = []
    lengths: list[int] = []
    for dates in sequences:
        for index in range(len(dates) - 1):
            lengths.append((dates[index + 1] - dates[index]).days)
            found = _classify(dates, index, calendar_)
            if found is not None:
                standard.append(found)
    common = {unit: count for unit, count in Counter(standard).items() if count > 1}
    if common:
        return min(common, key=lambda unit: (-common[unit], unit.length_in_days))
    return _nearest_standard_interval(lengths)


def unit_periods(
    start: date, when: date, unit: str | UnitPeriod, *, month_end_day: int = 31
) -> tuple[int, Decimal]:
    """Whole unit-periods *t* and fraction *f* from *start* to *when*, per Appendix J (b)(5).

    Whole unit-periods are counted back from *when* towards *start*; what is left at the start
    is the fraction. Days count as they fall for daily and weekly units; for semimonthly and
    monthly units each whole month counts 30 days and the odd days are added, so the
    fraction is ``odd days / 15`` or ``odd days / (30 * months)``. For a yearly unit the
    fraction is whole months over 12 when the remainder is whole months, else days over 365.

    *month_end_day* is the day of the month a month-end *when* stands for: a payment due on
    the 30th of each month falls on 28 February, and counting a month back from it must land
    on 30 January (b)(3)(iv).
    """
    chosen = _unit(unit)
    if when < start:
        raise CalculationError(f"when: {when} is before the start {start}")
    if not 28 <= month_end_day <= 31:
        raise CalculationError(f"month_end_day: {month_end_day} is not a day between 28 and 31")
    with working_precision():
        return _count(chosen, start, when, _Calendar(month_end_day))


def _us_actuarial(
    lent: list[_Flow], repaid: list[_Flow], unit_period: str | UnitPeriod | None, solver: Solver
) -> Decimal:
    start = lent[0].when
    calendar_ = _Calendar.of([flow.when for flow in (*lent, *repaid)])
    if unit_period is None:
        if len(lent) == 1 and len(repaid) == 1 and repaid[0].when <= add_months(start, 12):
            return _single_advance_single_payment(lent[0], repaid[0], calendar_)
        unit = detect_unit_period([flow.when for flow in lent], [flow.when for flow in repaid])
    else:
        unit = _unit(unit_period)
    with working_precision():
        terms = [(flow.amount, *_count(unit, start, flow.when, calendar_)) for flow in lent]
        terms += [(-flow.amount, *_count(unit, start, flow.when, calendar_)) for flow in repaid]

    def bracket() -> Decimal:
        equation = _GeneralEquation(terms)
        guess = rough_rate((-amount, whole + fraction) for amount, whole, fraction in terms)
        return find_root(equation.value, derivative=equation.slope, guess=guess)

    rate = bracket() if solver == "bracket" else _seeded_general(terms, bracket)
    with working_precision():
        return rate * unit.per_year * 100


def _seeded_general(
    terms: Sequence[tuple[Decimal, int, Decimal]], bracket: Callable[[], Decimal]
) -> Decimal:
    """The rate of the general equation from a float seed; amounts lent are negated to the
    seeded sum's convention. Flows all within the first unit-period have no whole units to
    count, and the bracketing solver takes them."""
    wholes = [whole for _, whole, _ in terms]
    if not any(wholes):
        return bracket()
    fractions = [fraction for _, _, fraction in terms]
    amounts = [-amount for amount, _, _ in terms]
    seeded = SeededSum(amounts, [(1, wholes)], fractions if any(fractions) else None)
    return seeded.solve(None, bracket).rate


def _single_advance_single_payment(advance: _Flow, payment: _Flow, calendar_: _Calendar) -> Decimal:
    """(b)(4)(ii), (b)(5)(vi)-(vii): a term of a year or less is itself the unit-period.

    With one unit-period the rate per unit is simply repaid / lent - 1, and there are
    12 / months (whole months) or 365 / days such units in a year.
    """
    months, odd_days = calendar_.count_back(advance.when, payment.when)
    with working_precision():
        rate = payment.amount / advance.amount - 1
        if odd_days == 0 and months > 0:
            per_year = Decimal(12) / months
        else:
            per_year = Decimal(_DAYS_PER_YEAR) / (payment.when - advance.when).days
        return rate * per_year * 100


def _eu_aprc(lent: list[_Flow], repaid: list[_Flow], time_basis: str, solver: Solver) -> Decimal:
    if time_basis not in TIME_BASES:
        raise CalculationError(f"time_basis: {time_basis!r} is not one of {', '.join(TIME_BASES)}")
    start = lent[0].when
    calendar_ = _Calendar.of([flow.when for flow in (*lent, *repaid)])
    with working_precision():
        times = [_eu_time(start, flow.when, time_basis, calendar_) for flow in (*lent, *repaid)]
        amounts = [-flow.amount for flow in lent] + [flow.amount for flow in repaid]
        whole, days, years = (list(column) for column in zip(*times, strict=True))
        flows = FlowColumns(amounts, whole, days, years)
        period = Decimal(1) / _PERIODS_PER_YEAR_BY_BASIS[time_basis]
        return solve_flows(flows, period=period, solver=solver).rate * 100


def _eu_time(
    start: date, when: date, time_basis: str, calendar_: _Calendar
) -> tuple[int, int, int]:
    """Annex I remark (c): whole years, weeks or months counted back, then days over 365/366;
    as (whole periods, odd days, days in the year they are counted over)."""
    if time_basis == "weeks":
        whole, odd_days = divmod((when - start).days, 7)
        boundary = date.fromordinal(when.toordinal() - 7 * whole)
    else:
        months, _ = calendar_.count_back(start, when)
        whole = months // 12 if time_basis == "days" else months
        boundary = calendar_.back(when, 12 * whole if time_basis == "days" else whole)
        odd_days = (boundary - start).days
    return whole, odd_days, _year_ending(boundary)


def _year_ending(day: date) -> int:
    """Days in the year that ends on *day*: 366 when it holds a 29 February, else 365."""
    return (day - add_months(day, -12)).days


@attrs.frozen
class _Calendar:
    """Month arithmetic that keeps a payment series on its day, as (b)(3)(iv) requires.

    A date on the last day of its month stands for *month_end_day* (the latest day of the
    month any date of the transaction falls on), so that months count from month end to
    month end for a month-end series, and from 30 January to 28 February to 30 March for a
    series on the 30th.
    """

    month_end_day: int

    @classmethod
    def of(cls, dates: Sequence[date]) -> _Calendar:
        return cls(max(day.day for day in dates))

    def back(self, when: date, months: int) -> date:
        """*when* moved back *months* whole months, keeping its place in the month."""
        last = days_in_month(when.year, when.month)
        anchor = max(when.day, self.month_end_day) if when.day == last else when.day
        return add_months(when, -months, anchor)

    def count_back(self, start: date, when: date) -> tuple[int, int]:
        """Whole months from *when* back to no earlier than *start*, and the days left over."""
        months = 12 * (when.year - start.year) + when.month - start.month
        boundary = self.back(when, months)
        if boundary < start:
            months -= 1
            boundary = self.back(when, months)
        return months, (boundary - start).days

    def whole_months(self, earlier: date, later: date) -> int | None:
        months, odd_days = self.count_back(earlier, later)
        return months if months > 0 and odd_days == 0 else None


def _count(unit: UnitPeriod, start: date, when: date, calendar_: _Calendar) -> tuple[int, Decimal]:
    """(b)(5): whole unit-periods and the fraction of one from *start* to *when*.

    Call under :func:`working_precision`: the fractions are divisions.
    """
    if unit.kind in ("day", "week"):
        length = 7 * unit.count if unit.kind == "week" else 1
        whole, odd = divmod((when - start).days, length)
        return whole, Decimal(odd) / length
    months, odd_days = calendar_.count_back(start, when)
    if unit.kind == "month" and unit.count == 12:
        return _count_years(months, odd_days, start, when, calendar_)
    length = _DAYS_PER_SEMIMONTH if unit.kind == "semimonth" else _DAYS_PER_MONTH * unit.count
    whole, odd = divmod(_DAYS_PER_MONTH * months + odd_days, length)
    return whole, Decimal(odd) / length


def _count_years(
    months: int, odd_days: int, start: date, when: date, calendar_: _Calendar
) -> tuple[int, Decimal]:
    """(b)(5)(v): full years back, then whole months over 12 or, failing that, days over 365."""
    years, spare_months = divmod(months, 12)
    if odd_days == 0:
        return years, Decimal(spare_months) / 12
    return years, Decimal((calendar_.back(when, 12 * years) - start).days) / _DAYS_PER_YEAR


def _classify(dates: Sequence[date], index: int, calendar_: _Calendar) -> UnitPeriod | None:
    """The standard interval from ``dates[index]`` to the next date, if it is one."""
    earlier, later = dates[index], dates[index + 1]
    months = calendar_.whole_months(earlier, later)
    if months is not None and months <= 12:
        return UnitPeriod("month", months)
    days = (later - earlier).days
    if 13 <= days <= 17 and _within_a_month_pair(dates, index, calendar_):
        return UnitPeriod("semimonth")
    if days % 7 == 0 and days <= 7 * 52:
        return UnitPeriod("week", days // 7)
    return UnitPeriod("day") if days == 1 else None


def _within_a_month_pair(dates: Sequence[date], index: int, calendar_: _Calendar) -> bool:
    """True when this interval and a neighbour together make exactly one month."""
    pairs = ((index - 1, index + 1), (index, index + 2))
    return any(
        first >= 0 and last < len(dates) and calendar_.whole_months(dates[first], dates[last]) == 1
        for first, last in pairs
    )


def _nearest_standard_interval(lengths: Sequence[int]) -> UnitPeriod:
    """(b)(4)(i)(B): the average period rounded to the nearest standard interval, lower on ties."""
    if not lengths:
        raise CalculationError("every date is the same, so there is no period to measure")
    with working_precision():
        average = Decimal(sum(lengths)) / len(lengths)
        return min(
            _STANDARD_INTERVALS,
            key=lambda unit: (abs(unit.length_in_days - average), unit.length_in_days),
        )


class _GeneralEquation(RateEquation):
    """Appendix J (b)(8): ``sum(A / ((1 + f*i) * (1 + i)**t))`` over advances minus payments.

    Built from ``(signed amount, t, f)`` terms; amounts due at the same (t, f) are added
    first, and the value and its derivative are computed together once per trial rate.
    """

    def __init__(self, terms: Sequence[tuple[Decimal, int, Decimal]]) -> None:
        grouped: dict[tuple[int, Decimal], Decimal] = {}
        with working_precision():
            for amount, whole, fraction in terms:
                grouped[whole, fraction] = grouped.get((whole, fraction), Decimal(0)) + amount
        self._groups = sorted(grouped.items())
        super().__init__()

    def _compute(self, rate: Decimal) -> tuple[Decimal, Decimal]:
        discount = 1 / (1 + rate)
        powers = powers_of(discount, [whole for (whole, _), _ in self._groups])
        fractions = {fraction for (_, fraction), _ in self._groups}
        simple = {fraction: 1 / (1 + fraction * rate) for fraction in fractions}
        total = slope = Decimal(0)
        for (whole, fraction), amount in self._groups:
            term = amount * powers[whole] * simple[fraction]
            total += term
            # d/di of 1/((1 + f i)(1 + i)^t) is the factor times -f/(1 + f i) - t/(1 + i).
            slope -= term * (fraction * simple[fraction] + whole * discount)
        return total, slope


def _unit(unit_period: str | UnitPeriod) -> UnitPeriod:
    if isinstance(unit_period, UnitPeriod):
        return unit_period
    try:
        return UNIT_PERIODS[unit_period]
    except KeyError:
        names = ", ".join(UNIT_PERIODS)
        raise CalculationError(
            f"unit_period: {unit_period!r} is not one of {names}, a UnitPeriod or None"
        ) from None


def _read_flows(flows: Sequence[tuple[date, DecimalLike]], name: str) -> list[_Flow]:
    """Validated ``(date, amount)`` pairs, sorted by date; errors name the caller's index."""
    if isinstance(flows, (str, bytes)) or not isinstance(flows, Sequence):
        raise TypeError(f"{name}: expected a sequence of (date, amount) pairs")
    if not flows:
        raise CalculationError(f"{name}: at least one (date, amount) pair is required")
    read = []
    for index, flow in enumerate(flows):
        if not (isinstance(flow, tuple) and len(flow) == 2):
            raise TypeError(f"{name}[{index}]: expected a (date, amount) pair, got {flow!r}")
        when, value = flow
        if not isinstance(when, date) or isinstance(when, datetime):
            raise TypeError(f"{name}[{index}]: expected a date, got {when!r}")
        # A finite Decimal is what to_decimal would return; only other values need a name.
        amount = value if _is_exact(value) else to_decimal(value, f"{name}[{index}] amount")
        if amount < 0:
            raise CalculationError(f"{name}[{index}]: amount {amount} is negative")
        read.append(_Flow(index, when, amount))
    return sorted(read, key=attrgetter("when"))


def _is_exact(value: object) -> TypeGuard[Decimal]:
    return type(value) is Decimal and value.is_finite()


def _require_positive_total(flows: Sequence[_Flow], name: str, meaning: str) -> None:
    if all(flow.amount.is_zero() for flow in flows):
        raise NoRateError(f"{name}: every amount is zero, so {meaning}")
