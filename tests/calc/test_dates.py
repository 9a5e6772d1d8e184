"""Payment calendars and day counts, checked against the published ISDA examples."""

from __future__ import annotations

import calendar
import itertools
from datetime import date
from decimal import Decimal
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from hypothesis import given

from leasekit.calc.dates import (
    DAY_COUNTS,
    FREQUENCIES,
    add_months,
    check_day_count,
    days_30_360,
    due_dates,
    months_per_period,
    periods_per_year,
    year_fraction,
)
from leasekit.money import DECIMAL_CONTEXT

# Decimal division keeps 28 significant digits; year fractions are compared to exact
# fractions with this much room.
EXACT_ENOUGH = Fraction(1, 10**25)


def month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


class TestAddMonths:
    def test_month_end_is_kept_by_the_anchor_not_by_the_previous_date(self) -> None:
        """31 Jan → 29 Feb → 31 Mar: stepping from 29 Feb would give 29 Mar for ever after."""
        start = date(2024, 1, 31)
        assert add_months(start, 1) == date(2024, 2, 29)
        assert add_months(start, 2) == date(2024, 3, 31)
        assert add_months(date(2024, 2, 29), 1) == date(2024, 3, 29)

    @pytest.mark.parametrize(
        ("start", "months", "expected"),
        [
            (date(2023, 1, 31), 1, date(2023, 2, 28)),
            (date(2024, 1, 31), 1, date(2024, 2, 29)),
            (date(1900, 1, 31), 1, date(1900, 2, 28)),
            (date(2000, 1, 31), 1, date(2000, 2, 29)),
            (date(2023, 3, 31), 1, date(2023, 4, 30)),
            (date(2023, 11, 15), 3, date(2024, 2, 15)),
            (date(2023, 12, 31), 2, date(2024, 2, 29)),
            (date(2024, 3, 31), -1, date(2024, 2, 29)),
            (date(2024, 1, 15), -13, date(2022, 12, 15)),
            (date(2024, 5, 17), 0, date(2024, 5, 17)),
        ],
    )
    def test_lands_on_the_same_day_or_the_month_end(
        self, start: date, months: int, expected: date
    ) -> None:
        assert add_months(start, months) == expected

    def test_explicit_day_overrides_the_start_day(self) -> None:
        assert add_months(date(2023, 2, 28), 1, day=31) == date(2023, 3, 31)
        assert add_months(date(2023, 2, 28), 2, day=31) == date(2023, 4, 30)


class TestDueDates:
    def test_monthly_from_a_month_end(self) -> None:
        assert due_dates(date(2024, 1, 31), 4, "monthly") == [
            date(2024, 1, 31),
            date(2024, 2, 29),
            date(2024, 3, 31),
            date(2024, 4, 30),
        ]

    def test_day_31_from_28_february_follows_month_ends(self) -> None:
        assert due_dates(date(2023, 2, 28), 4, "monthly", day=31) == [
            date(2023, 2, 28),
            date(2023, 3, 31),
            date(2023, 4, 30),
            date(2023, 5, 31),
        ]

    def test_without_day_28_february_stays_on_the_28th(self) -> None:
        assert due_dates(date(2023, 2, 28), 3, "monthly") == [
            date(2023, 2, 28),
            date(2023, 3, 28),
            date(2023, 4, 28),
        ]

    def test_quarterly(self) -> None:
        assert due_dates(date(2023, 1, 31), 5, "quarterly") == [
            date(2023, 1, 31),
            date(2023, 4, 30),
            date(2023, 7, 31),
            date(2023, 10, 31),
            date(2024, 1, 31),
        ]

    def test_semiannual(self) -> None:
        assert due_dates(date(2023, 8, 31), 4, "semiannual") == [
            date(2023, 8, 31),
            date(2024, 2, 29),
            date(2024, 8, 31),
            date(2025, 2, 28),
        ]

    def test_annual_from_29_february(self) -> None:
        assert due_dates(date(2024, 2, 29), 5, "annual") == [
            date(2024, 2, 29),
            date(2025, 2, 28),
            date(2026, 2, 28),
            date(2027, 2, 28),
            date(2028, 2, 29),
        ]

    def test_a_single_payment_is_due_on_the_first_date(self) -> None:
        assert due_dates(date(2024, 6, 10), 1, "annual") == [date(2024, 6, 10)]

    @pytest.mark.parametrize(
        ("frequency", "months", "per_year"),
        [("monthly", 1, 12), ("quarterly", 3, 4), ("semiannual", 6, 2), ("annual", 12, 1)],
    )
    def test_frequencies(self, frequency: str, months: int, per_year: int) -> None:
        assert frequency in FREQUENCIES
        assert months_per_period(frequency) == months
        assert periods_per_year(frequency) == per_year

    @pytest.mark.parametrize("frequency", ["weekly", "Monthly", "", "biannual"])
    def test_unknown_frequency_names_the_field_and_the_choices(self, frequency: str) -> None:
        message = (
            rf"^frequency: {frequency!r} is not one of monthly, quarterly, semiannual, annual$"
        )
        with pytest.raises(ValueError, match=message):
            due_dates(date(2024, 1, 1), 3, frequency)
        with pytest.raises(ValueError, match=message):
            periods_per_year(frequency)


# 2006 ISDA Definitions, section 4.16(f), "30/360" (bond basis): the worked examples that ISDA
# published with the definitions, as day counts.
ISDA_30_360_EXAMPLES = [
    # Example 1: no end of February involved.
    (date(2006, 8, 20), date(2007, 2, 20), 180),
    (date(2007, 2, 20), date(2007, 8, 20), 180),
    (date(2007, 8, 20), date(2008, 2, 20), 180),
    (date(2008, 2, 20), date(2008, 8, 20), 180),
    (date(2008, 8, 20), date(2009, 2, 20), 180),
    (date(2009, 2, 20), date(2009, 8, 20), 180),
    # Example 2: some periods end on the last day of February.
    (date(2006, 8, 31), date(2007, 2, 28), 178),
    (date(2007, 2, 28), date(2007, 8, 31), 183),
    (date(2007, 8, 31), date(2008, 2, 29), 179),
    (date(2008, 2, 29), date(2008, 8, 31), 182),
    (date(2008, 8, 31), date(2009, 2, 28), 178),
    (date(2009, 2, 28), date(2009, 8, 31), 183),
    # Example 3: miscellaneous.
    (date(2006, 1, 31), date(2006, 2, 28), 28),
    (date(2006, 1, 30), date(2006, 2, 28), 28),
    (date(2006, 2, 28), date(2006, 3, 3), 5),
    (date(2006, 2, 14), date(2006, 2, 28), 14),
    (date(2006, 9, 30), date(2006, 10, 31), 30),
    (date(2006, 10, 31), date(2006, 11, 28), 28),
    (date(2007, 8, 31), date(2008, 2, 28), 178),
    (date(2008, 2, 28), date(2008, 8, 28), 180),
    (date(2008, 2, 28), date(2008, 8, 30), 182),
    (date(2008, 2, 28), date(2008, 8, 31), 183),
    (date(2007, 2, 26), date(2008, 2, 28), 362),
    (date(2007, 2, 26), date(2008, 2, 29), 363),
    (date(2008, 2, 29), date(2009, 2, 28), 359),
    (date(2008, 2, 28), date(2008, 3, 30), 32),
    (date(2008, 2, 28), date(2008, 3, 31), 33),
]

# ISDA actual/actual examples ("EMU and market conventions: recent developments"), each as
# (start, end, days falling in 365-day years, days falling in 366-day years).
ISDA_ACTUAL_ACTUAL_EXAMPLES = [
    (date(2003, 11, 1), date(2004, 5, 1), 61, 121),
    (date(1999, 2, 1), date(1999, 7, 1), 150, 0),
    (date(1999, 7, 1), date(2000, 7, 1), 184, 182),
    (date(2002, 8, 15), date(2003, 7, 15), 334, 0),
    (date(2003, 7, 15), date(2004, 1, 15), 170, 14),
    (date(1999, 7, 30), date(2000, 1, 30), 155, 29),
    (date(2000, 1, 30), date(2000, 6, 30), 0, 152),
]


class TestDayCounts:
    @pytest.mark.parametrize(("start", "end", "days"), ISDA_30_360_EXAMPLES)
    def test_30_360_bond_basis_matches_isda(self, start: date, end: date, days: int) -> None:
        assert days_30_360(start, end) == days
        assert year_fraction(start, end, "30/360") == DECIMAL_CONTEXT.divide(days, 360)

    @pytest.mark.parametrize(
        ("start", "end", "short_days", "leap_days"), ISDA_ACTUAL_ACTUAL_EXAMPLES
    )
    def test_actual_actual_matches_isda(
        self, start: date, end: date, short_days: int, leap_days: int
    ) -> None:
        expected = Fraction(short_days, 365) + Fraction(leap_days, 366)
        assert abs(Fraction(year_fraction(start, end, "actual/actual")) - expected) < EXACT_ENOUGH

    def test_actual_actual_agrees_with_the_figure_isda_prints(self) -> None:
        """ISDA writes 1 Nov 2003 – 1 May 2004 as 61/365 + 121/366 = 0.49772438."""
        fraction = year_fraction(date(2003, 11, 1), date(2004, 5, 1), "actual/actual")
        assert fraction.quantize(Decimal("0.00000001")) == Decimal("0.49772438")

    def test_actual_actual_is_antisymmetric(self) -> None:
        start, end = date(2003, 11, 1), date(2004, 5, 1)
        forward = year_fraction(start, end, "actual/actual")
        assert year_fraction(end, start, "actual/actual") == forward.copy_negate()

    @pytest.mark.parametrize(
        ("start", "end", "days"),
        [
            (date(2023, 1, 1), date(2024, 1, 1), 365),
            (date(2024, 1, 1), date(2025, 1, 1), 366),
            (date(2023, 12, 1), date(2024, 3, 1), 91),
            (date(2024, 2, 28), date(2024, 3, 1), 2),
        ],
    )
    def test_actual_365_ignores_leap_years(self, start: date, end: date, days: int) -> None:
        assert year_fraction(start, end, "actual/365") == DECIMAL_CONTEXT.divide(days, 365)

    def test_no_time_is_no_fraction(self) -> None:
        today = date(2024, 2, 29)
        assert all(year_fraction(today, today, count) == 0 for count in DAY_COUNTS)

    @pytest.mark.parametrize("day_count", ["30/365", "ACT/365", "actual/360", ""])
    def test_unknown_day_count_names_the_field_and_the_choices(self, day_count: str) -> None:
        message = rf"^day_count: {day_count!r} is not one of 30/360, actual/365, actual/actual$"
        with pytest.raises(ValueError, match=message):
            check_day_count(day_count)
        with pytest.raises(ValueError, match=message):
            year_fraction(date(2024, 1, 1), date(2024, 2, 1), day_count)


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
anchors = st.none() | st.integers(min_value=1, max_value=31)


class TestProperties:
    @given(
        first=dates,
        count=st.integers(min_value=1, max_value=60),
        frequency=st.sampled_from(FREQUENCIES),
        day=anchors,
    )
    def test_due_dates_strictly_increase_and_hold_the_anchor(
        self, first: date, count: int, frequency: str, day: int | None
    ) -> None:
        schedule = due_dates(first, count, frequency, day)
        anchor = day or first.day
        assert len(schedule) == count
        assert schedule[0] == first
        assert all(earlier < later for earlier, later in itertools.pairwise(schedule))
        for due in schedule[1:]:
            assert due.day <= anchor
            assert due.day == min(anchor, month_end(due.year, due.month))

    @given(
        first=dates,
        count=st.integers(min_value=1, max_value=60),
        frequency=st.sampled_from(FREQUENCIES),
    )
    def test_due_dates_are_whole_periods_apart(
        self, first: date, count: int, frequency: str
    ) -> None:
        step = months_per_period(frequency)
        months = [due.year * 12 + due.month for due in due_dates(first, count, frequency)]
        assert months == [months[0] + k * step for k in range(count)]

    @given(start=dates, months=st.integers(min_value=-600, max_value=600))
    def test_add_months_is_reversible_below_the_29th(self, start: date, months: int) -> None:
        start = start.replace(day=min(start.day, 28))
        assert add_months(add_months(start, months), -months) == start

    @given(year=st.integers(min_value=1900, max_value=2199))
    def test_a_calendar_year_is_one_year_under_actual_actual(self, year: int) -> None:
        assert year_fraction(date(year, 1, 1), date(year + 1, 1, 1), "actual/actual") == 1

    @given(a=dates, b=dates, c=dates)
    def test_actual_actual_adds_up_across_a_split(self, a: date, b: date, c: date) -> None:
        start, middle, end = sorted([a, b, c])
        whole = year_fraction(start, end, "actual/actual")
        parts = year_fraction(start, middle, "actual/actual") + year_fraction(
            middle, end, "actual/actual"
        )
        assert abs(whole - parts) < Decimal("1e-24")
