"""Payment calendars and day counts.

Due dates are always computed from an *anchor* (the first date and its day of the month), never
from the previous due date: stepping 31 Jan → 29 Feb → 29 Mar would lose the month end for
the rest of the contract, whereas anchoring gives 31 Jan → 29 Feb → 31 Mar.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from typing import Final, Literal, TypeAlias

from leasekit.errors import CalculationError
from leasekit.money import exact

__all__ = [
    "DAY_COUNTS",
    "FREQUENCIES",
    "DayCount",
    "Frequency",
    "accrual_fraction",
    "add_months",
    "check_day_count",
    "days_30_360",
    "days_in_month",
    "due_dates",
    "is_regular_period",
    "months_per_period",
    "periods_per_year",
    "year_fraction",
]

Frequency: TypeAlias = Literal["monthly", "quarterly", "semiannual", "annual"]
DayCount: TypeAlias = Literal["30/360", "actual/365", "actual/actual"]

_MONTHS: Final[dict[str, int]] = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
FREQUENCIES: Final = tuple(_MONTHS)
DAY_COUNTS: Final = ("30/360", "actual/365", "actual/actual")


def months_per_period(frequency: str) -> int:
    try:
        return _MONTHS[frequency]
    except KeyError:
        raise CalculationError(
            f"frequency: {frequency!r} is not one of {', '.join(FREQUENCIES)}"
        ) from None


def periods_per_year(frequency: str) -> int:
    return 12 // months_per_period(frequency)


def check_day_count(day_count: str) -> None:
    if day_count not in DAY_COUNTS:
        raise CalculationError(f"day_count: {day_count!r} is not one of {', '.join(DAY_COUNTS)}")


_MONTH_LENGTHS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """The length of a month; a table lookup, as a schedule asks hundreds of times."""
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_LENGTHS[month - 1]


def add_months(start: date, months: int, day: int | None = None) -> date:
    """Move *start* by *months*, landing on *day* (default: start's day) or the month's end."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month + 1, min(day or start.day, days_in_month(year, month + 1)))


def due_dates(first: date, count: int, frequency: str, day: int | None = None) -> list[date]:
    """*count* due dates starting at *first*, one period apart, anchored on *day*.

    *day* defaults to ``first.day``; pass 31 to follow month ends from a first date such as
    28 February. Each month's day comes from a table built once per call, as a schedule asks
    for hundreds of dates and :func:`add_months` per date would cost twice as much.
    """
    if count < 1:
        raise CalculationError(f"count: must be at least 1, got {count}")
    step = months_per_period(frequency)
    anchor = day or first.day
    day_in = [min(anchor, length) for length in _MONTH_LENGTHS]
    leap_february = min(anchor, 29)
    start = first.year * 12 + first.month - 1
    dates = [first]
    for month_index in range(start + step, start + step * count, step):
        year, month = divmod(month_index, 12)
        if month == 1 and calendar.isleap(year):
            dates.append(date(year, 2, leap_february))
        else:
            dates.append(date(year, month + 1, day_in[month]))
    return dates


def is_regular_period(start: date, end: date, months: int, anchor: int) -> bool:
    """True when *start* and *end* are consecutive due dates of a calendar anchored on day
    *anchor*: both on the anchor (or the month's end, where the month is shorter) and
    *months* apart."""
    on_anchor = start.day == min(anchor, days_in_month(start.year, start.month))
    return on_anchor and add_months(start, months, anchor) == end


def days_30_360(start: date, end: date) -> int:
    """Days between two dates under 30/360 "bond basis" (ISDA 2006 section 4.16(f)).

    A 31st is treated as the 30th, and an end date on the 31st counts as the 30th only when
    the start date is a 30th or 31st.
    """
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


_LEAP_AND_COMMON: Final = 366 * 365
"""A denominator for actual/actual: each year's days count 365 or 366 parts of it."""


def accrual_fraction(start: date, end: date, day_count: str) -> tuple[int, int]:
    """The part of a year between *start* and *end* as an exact fraction of integers.

    Interest is ``balance * rate * numerator / denominator``, divided last: the quotient of
    exact numbers is exact whenever the interest is a whole number of half cents, so a
    half-up rounding never sees a tie that an earlier division had nudged below the half.
    ISDA actual/actual counts each calendar year's days over that year's length.
    """
    check_day_count(day_count)
    if day_count == "30/360":
        return days_30_360(start, end), 360
    if day_count == "actual/365":
        return (end - start).days, 365
    if end < start:
        days, parts = accrual_fraction(end, start, day_count)
        return -days, parts
    numerator = 0
    cursor = start
    while cursor < end:
        stop = min(end, date(cursor.year + 1, 1, 1))
        year_length = 366 if calendar.isleap(cursor.year) else 365
        numerator += (stop - cursor).days * (_LEAP_AND_COMMON // year_length)
        cursor = stop
    return numerator, _LEAP_AND_COMMON


@exact
def year_fraction(start: date, end: date, day_count: str) -> Decimal:
    """The part of a year between *start* and *end* under *day_count*."""
    numerator, denominator = accrual_fraction(start, end, day_count)
    return Decimal(numerator) / denominator
