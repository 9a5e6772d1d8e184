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

from leasekit.money import exact

__all__ = [
    "DAY_COUNTS",
    "FREQUENCIES",
    "DayCount",
    "Frequency",
    "add_months",
    "check_day_count",
    "days_30_360",
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
        raise ValueError(
            f"frequency: {frequency!r} is not one of {', '.join(FREQUENCIES)}"
        ) from None


def periods_per_year(frequency: str) -> int:
    return 12 // months_per_period(frequency)


def check_day_count(day_count: str) -> None:
    if day_count not in DAY_COUNTS:
        raise ValueError(f"day_count: {day_count!r} is not one of {', '.join(DAY_COUNTS)}")


def add_months(start: date, months: int, day: int | None = None) -> date:
    """Move *start* by *months*, landing on *day* (default: start's day) or the month's end."""
    month_index = start.year * 12 + start.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day or start.day, last))


def due_dates(first: date, count: int, frequency: str, day: int | None = None) -> list[date]:
    """*count* due dates starting at *first*, one period apart, anchored on *day*.

    *day* defaults to ``first.day``; pass 31 to follow month ends from a first date such as
    28 February.
    """
    if count < 1:
        raise ValueError(f"count: must be at least 1, got {count}")
    step = months_per_period(frequency)
    anchor = day or first.day
    return [first] + [add_months(first, k * step, anchor) for k in range(1, count)]


def is_regular_period(start: date, end: date, months: int, anchor: int) -> bool:
    """True when *start* and *end* are consecutive due dates of a calendar anchored on day
    *anchor*: both on the anchor (or the month's end, where the month is shorter) and
    *months* apart."""
    on_anchor = start.day == min(anchor, calendar.monthrange(start.year, start.month)[1])
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


def _actual_actual(start: date, end: date) -> Decimal:
    """ISDA actual/actual: days in each calendar year over that year's length."""
    if end < start:
        return -_actual_actual(end, start)
    total = Decimal(0)
    cursor = start
    while cursor < end:
        year_end = date(cursor.year + 1, 1, 1)
        stop = min(end, year_end)
        days_in_year = 366 if calendar.isleap(cursor.year) else 365
        total += Decimal((stop - cursor).days) / days_in_year
        cursor = stop
    return total


@exact
def year_fraction(start: date, end: date, day_count: str) -> Decimal:
    """The part of a year between *start* and *end* under *day_count*."""
    check_day_count(day_count)
    if day_count == "30/360":
        return Decimal(days_30_360(start, end)) / 360
    if day_count == "actual/365":
        return Decimal((end - start).days) / 365
    return _actual_actual(start, end)
