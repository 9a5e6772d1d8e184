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

import calendar
import decimal
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, repeat
from operator import add, attrgetter, floordiv, mod, mul, sub
from typing import Final, NamedTuple

import attrs

from leasekit.calc.dates import add_months, days_in_month
from leasekit.calc.rates import FlowColumns, dated_columns, powers_of, rough_rate, solve_flows
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
_SHORTEST_MONTH: Final = 28
_DAY: Final = attrgetter("day")
_DAYS_BEFORE_MONTH: Final = (
    (0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334),
    (0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335),
)
"""Days in a common year (``[0]``) and a leap year (``[1]``) before each month (1 to 12)."""
_MONTH: Final = attrgetter("month")
_YEAR: Final = attrgetter("year")
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


class _Dated(NamedTuple):
    """Validated ``(date, amount)`` pairs as columns, in date order (ties in input order)."""

    dates: list[date]
    amounts: list[Decimal]
    ordinals: list[int]


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

    ``solver="float_seed"`` finds the rate several times faster, for books of many contracts
    (:mod:`leasekit.calc.seeded`): within 1e-15 of the default's as a fraction (1e-13 of a
    percentage point), far below any disclosed digit, though not digit for digit.
    """
    check_solver(solver)
    if convention not in APR_CONVENTIONS:
        raise CalculationError(
            f"convention: {convention!r} is not one of {', '.join(APR_CONVENTIONS)}"
        )
    lent = _read_flows(advances, "advances")
    repaid = _read_flows(payments, "payments")
    if repaid.ordinals[0] < lent.ordinals[0]:
        raise _before_start(payments, repaid.dates[0], lent.dates[0])
    _require_positive_total(lent.amounts, "advances", "nothing is lent")
    _require_positive_total(repaid.amounts, "payments", "nothing is repaid")
    if lent.ordinals[-1] == repaid.ordinals[-1] == lent.ordinals[0]:
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
    lent: _Dated, repaid: _Dated, unit_period: str | UnitPeriod | None, solver: Solver
) -> Decimal:
    start = lent.dates[0]
    calendar_ = _Calendar.of(chain(lent.dates, repaid.dates))
    if unit_period is None:
        single = len(lent.dates) == 1 and len(repaid.dates) == 1
        if single and repaid.dates[0] <= add_months(start, 12):
            return _single_advance_single_payment(lent, repaid, calendar_)
        unit = detect_unit_period(lent.dates, repaid.dates)
    else:
        unit = _unit(unit_period)

    def bracket() -> Decimal:
        with working_precision():
            terms = [
                (amount, *_count(unit, start, when, calendar_))
                for when, amount in zip(lent.dates, lent.amounts, strict=True)
            ]
            terms += [
                (-amount, *_count(unit, start, when, calendar_))
                for when, amount in zip(repaid.dates, repaid.amounts, strict=True)
            ]
        equation = _GeneralEquation(terms)
        guess = rough_rate((-amount, whole + fraction) for amount, whole, fraction in terms)
        return find_root(equation.value, derivative=equation.slope, guess=guess)

    if solver == "bracket":
        rate = bracket()
    else:
        rate = _seeded_general(lent, repaid, unit, calendar_, bracket)
    with working_precision():
        return rate * unit.per_year * 100


def _seeded_general(
    lent: _Dated,
    repaid: _Dated,
    unit: UnitPeriod,
    calendar_: _Calendar,
    bracket: Callable[[], Decimal],
) -> Decimal:
    """The rate of the general equation from a float seed, amounts lent negative. Flows all
    within the first unit-period have no whole units to count, and the bracketing solver
    takes them."""
    wholes, fractions = _counts(
        unit, lent.dates[0], lent.dates + repaid.dates, lent.ordinals + repaid.ordinals, calendar_
    )
    if not any(wholes):
        return bracket()
    with working_precision():
        amounts = _signed(lent, repaid)
    scale = float(unit.per_year)  # the APR is the rate per unit-period times this
    return SeededSum(amounts, [(1, wholes)], fractions).solve(None, bracket, scale=scale).rate


def _signed(lent: _Dated, repaid: _Dated) -> list[Decimal]:
    """The amounts lent, negated, then those repaid; call under :func:`working_precision`,
    as negating rounds to the context."""
    return [-amount for amount in lent.amounts] + repaid.amounts


def _single_advance_single_payment(lent: _Dated, repaid: _Dated, calendar_: _Calendar) -> Decimal:
    """(b)(4)(ii), (b)(5)(vi)-(vii): a term of a year or less is itself the unit-period.

    With one unit-period the rate per unit is simply repaid / lent - 1, and there are
    12 / months (whole months) or 365 / days such units in a year.
    """
    advanced, paid = lent.dates[0], repaid.dates[0]
    months, odd_days = calendar_.count_back(advanced, paid)
    with working_precision():
        rate = repaid.amounts[0] / lent.amounts[0] - 1
        if odd_days == 0 and months > 0:
            per_year = Decimal(12) / months
        else:
            per_year = Decimal(_DAYS_PER_YEAR) / (paid - advanced).days
        return rate * per_year * 100


def _eu_aprc(lent: _Dated, repaid: _Dated, time_basis: str, solver: Solver) -> Decimal:
    if time_basis not in TIME_BASES:
        raise CalculationError(f"time_basis: {time_basis!r} is not one of {', '.join(TIME_BASES)}")
    start = lent.dates[0]
    dates = lent.dates + repaid.dates
    with working_precision():
        amounts = _signed(lent, repaid)
        period = Decimal(1) / _PERIODS_PER_YEAR_BY_BASIS[time_basis]

    def timed(calendar_: _Calendar) -> FlowColumns:
        times = [_eu_time(start, when, time_basis, calendar_) for when in dates]
        whole, days, years = (list(column) for column in zip(*times, strict=True))
        return FlowColumns(amounts, whole, days, years)

    if solver == "bracket" or time_basis != "days":
        rate = solve_flows(timed(_Calendar.of(dates)), period=period, solver=solver).rate
    else:
        times, calendar_ = _eu_years(start, dates)
        seeded = SeededSum(amounts, lambda: _eu_day_columns(start, dates, calendar_), times=times)
        rate = seeded.solve(None, lambda: _bracket_eu(timed(calendar_), period)).rate
    with working_precision():
        return rate * 100


def _bracket_eu(flows: FlowColumns, period: Decimal) -> Decimal:
    return solve_flows(flows, period=period, solver="bracket").rate


def _year_stops(start: date) -> Callable[[tuple[int, int]], tuple[int, int]]:
    """Where :func:`_eu_time` stops counting whole years back from a date, on the ``"days"``
    basis, as a function of the date's month and day: ``(n, d - n * stop year)``.

    Counting whole years back keeps a date's month and day: the count stops on that month and
    day in the start's year, or the next when that is before the start. So the odd days ``d``
    from the start and the length ``n`` of the year ending there (366 when it holds a 29
    February) depend on the month and day alone, and are worked out from the days before each
    month in the start's year and the next. ``w`` whole years and ``d`` odd days are
    ``n * w + d`` days of 1/n of a year, ``n * year + (d - n * stop year)`` for a date in
    *year*. Only a month end in February can move as years are counted back (28 February
    standing for the 29th, and back); :func:`_eu_time` counts such dates itself.
    """
    first_year = start.year
    leap_before, leap_first, leap_next = map(calendar.isleap, range(first_year - 1, first_year + 2))
    first, following = _DAYS_BEFORE_MONTH[leap_first], _DAYS_BEFORE_MONTH[leap_next]
    place = start.month, start.day
    at_start = first[start.month] + start.day
    next_start = _DAYS_PER_YEAR + leap_first - at_start

    def stop(key: tuple[int, int]) -> tuple[int, int]:
        month, day = key
        if key < place:  # the count stops in the next year
            length = _DAYS_PER_YEAR + (leap_next if month > 2 else leap_first)
            return length, next_start + following[month] + day - length * (first_year + 1)
        length = _DAYS_PER_YEAR + (leap_first if month > 2 else leap_before)
        return length, first[month] + day - at_start - length * first_year

    return stop


def _eu_years(start: date, dates: Sequence[date]) -> tuple[list[float], _Calendar]:
    """The time of each date in years, as :func:`_eu_time` counts it on the ``"days"`` basis,
    in float (``(n * w + d) / n``, correctly rounded), and the calendar of the dates."""
    stop_of = _year_stops(start)
    stops: dict[tuple[int, int], tuple[int, int]] = {}
    known = stops.get
    times: list[float] = []
    append = times.append
    for when in dates:
        key = when.month, when.day
        stop = known(key)
        if stop is None:
            stop = stops[key] = stop_of(key)
        length, offset = stop
        append((length * when.year + offset) / length)
    calendar_ = _Calendar(max(day for _, day in stops))
    if calendar_.month_end_day > _SHORTEST_MONTH and any(map(_late_february, stops)):
        for index, when in enumerate(dates):
            if _late_february((when.month, when.day)):
                whole, odd, length = _eu_time(start, when, "days", calendar_)
                times[index] = (length * whole + odd) / length
    return times, calendar_


def _eu_day_columns(
    start: date, dates: Sequence[date], calendar_: _Calendar
) -> list[tuple[int, Sequence[int]]]:
    """The times of :func:`_eu_years` as columns for the float seeded solver's ``Decimal``
    polish: ``n * w + d`` days in the column for *n*."""
    stop_of = _year_stops(start)
    common: list[int] = []
    leap: list[int] = []
    moving_ends = calendar_.month_end_day > _SHORTEST_MONTH
    for when in dates:
        key = when.month, when.day
        if moving_ends and _late_february(key):
            whole, odd, length = _eu_time(start, when, "days", calendar_)
            count = length * whole + odd
        else:
            length, offset = stop_of(key)
            count = length * when.year + offset
        common.append(count if length == _DAYS_PER_YEAR else 0)
        leap.append(0 if length == _DAYS_PER_YEAR else count)
    columns: list[tuple[int, Sequence[int]]] = [(_DAYS_PER_YEAR, common)]
    if any(leap):
        columns.append((_DAYS_PER_YEAR + 1, leap))
    return columns


def _late_february(day_in_year: tuple[int, int]) -> bool:
    """28 or 29 February: a month end that may stand for a later day (:class:`_Calendar`)."""
    return (2, 28) <= day_in_year < (3, 1)


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
    def of(cls, dates: Iterable[date]) -> _Calendar:
        return cls(max(map(_DAY, dates)))

    def anchor(self, when: date) -> int:
        """The day of the month *when* stands for: its own, or for a month end the latest."""
        if when.day == days_in_month(when.year, when.month):
            return max(when.day, self.month_end_day)
        return when.day

    def back(self, when: date, months: int) -> date:
        """*when* moved back *months* whole months, keeping its place in the month."""
        return add_months(when, -months, self.anchor(when))

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


def _counts(
    unit: UnitPeriod,
    start: date,
    dates: Sequence[date],
    ordinals: Sequence[int],
    calendar_: _Calendar,
) -> tuple[list[int], list[Decimal] | None]:
    """:func:`_count` of every date at once, for the float-seeded solver: whole unit-periods,
    and the fractions (None when all are zero).

    Days and weeks divide the days from the start. Months and semimonths divide ``30 *
    months + odd days`` (:func:`_month_units`). A year's unit counts each date by
    :func:`_count` itself. Each distinct fraction is one division, as :func:`_count` makes it.
    """
    if unit.kind == "month" and unit.count == 12:
        with working_precision():
            counted = [_count(unit, start, when, calendar_) for when in dates]
        fractions = [fraction for _, fraction in counted]
        return [whole for whole, _ in counted], fractions if any(fractions) else None
    if unit.kind in ("day", "week"):
        length = 7 * unit.count if unit.kind == "week" else 1
        units = list(map(sub, ordinals, repeat(start.toordinal())))
    else:
        length = _DAYS_PER_SEMIMONTH if unit.kind == "semimonth" else _DAYS_PER_MONTH * unit.count
        units = _month_units(start, dates, calendar_)
    if length == 1:
        return units, None
    odds = list(map(mod, units, repeat(length)))
    wholes = list(map(floordiv, units, repeat(length)))
    if not any(odds):
        return wholes, None
    with working_precision():
        of_odd = {odd: Decimal(odd) / length for odd in set(odds)}
    return wholes, list(map(of_odd.__getitem__, odds))


def _month_units(start: date, dates: Sequence[date], calendar_: _Calendar) -> list[int]:
    """``30 * months + odd days`` from *start* to each date, as (b)(5)(ii)-(iii) count them
    with :meth:`_Calendar.count_back`.

    Counting back from a date by the months between their calendar months lands in the
    start's month, on the day the date stands for (clamped to that month's length); when that
    is before the start, one month fewer lands in the next month. Either way, the days left
    over depend on the day the date stands for alone, and are worked out once for each.
    """
    days = list(map(_DAY, dates))
    if calendar_.month_end_day > _SHORTEST_MONTH:  # a month end may stand for a later day
        days = [
            calendar_.anchor(when) if day >= _SHORTEST_MONTH else day
            for when, day in zip(dates, days, strict=True)
        ]
    landings = {day: _landing(start, day) for day in set(days)}
    months = map(add, map(mul, map(_YEAR, dates), repeat(12)), map(_MONTH, dates))
    origin = _DAYS_PER_MONTH * (12 * start.year + start.month)
    return [
        _DAYS_PER_MONTH * month + landing - origin
        for month, landing in zip(months, map(landings.__getitem__, days), strict=True)
    ]


def _landing(start: date, day: int) -> int:
    """What a date standing for *day* adds to ``30 *`` its calendar months from *start*: the
    odd days where counting back lands, less 30 when it lands a month short of the start's."""
    length = days_in_month(start.year, start.month)
    if min(day, length) >= start.day:
        return min(day, length) - start.day
    after = add_months(start, 1)
    return length - start.day + min(day, days_in_month(after.year, after.month)) - _DAYS_PER_MONTH


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


def _read_flows(flows: Sequence[tuple[date, DecimalLike]], name: str) -> _Dated:
    """Validated ``(date, amount)`` pairs, sorted by date; errors name the caller's index."""
    if isinstance(flows, (str, bytes)) or not isinstance(flows, Sequence):
        raise TypeError(f"{name}: expected a sequence of (date, amount) pairs")
    if not flows:
        raise CalculationError(f"{name}: at least one (date, amount) pair is required")
    columns = dated_columns(flows)
    if columns is None or min(columns[1]) < 0:
        columns = _checked_pairs(flows, name)
    dates, amounts = columns
    ordinals = list(map(date.toordinal, dates))
    if ordinals == sorted(ordinals):
        return _Dated(list(dates), list(amounts), ordinals)
    order = sorted(range(len(ordinals)), key=ordinals.__getitem__)
    return _Dated(
        [dates[i] for i in order], [amounts[i] for i in order], [ordinals[i] for i in order]
    )


def _checked_pairs(
    flows: Sequence[tuple[date, DecimalLike]], name: str
) -> tuple[list[date], list[Decimal]]:
    """The pairs checked one by one, raising for the first at fault."""
    dates: list[date] = []
    amounts: list[Decimal] = []
    for index, flow in enumerate(flows):
        if not (isinstance(flow, tuple) and len(flow) == 2):
            raise TypeError(f"{name}[{index}]: expected a (date, amount) pair, got {flow!r}")
        when, value = flow
        if not isinstance(when, date) or isinstance(when, datetime):
            raise TypeError(f"{name}[{index}]: expected a date, got {when!r}")
        amount = to_decimal(value, f"{name}[{index}] amount")
        if amount < 0:
            raise CalculationError(f"{name}[{index}]: amount {amount} is negative")
        dates.append(when)
        amounts.append(amount)
    return dates, amounts


def _before_start(
    payments: Sequence[tuple[date, DecimalLike]], earliest: date, start: date
) -> CalculationError:
    """The error for the earliest payment, dated before the first advance (the first such
    pair in the caller's order)."""
    position = next(index for index, (when, _) in enumerate(payments) if when == earliest)
    return CalculationError(
        f"payments[{position}]: {earliest} is before the first advance on {start}"
    )


def _require_positive_total(amounts: Sequence[Decimal], name: str, meaning: str) -> None:
    if not any(amounts):
        raise NoRateError(f"{name}: every amount is zero, so {meaning}")
