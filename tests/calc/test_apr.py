"""APR under Regulation Z Appendix J and APRC under the EU Consumer Credit Directive.

Regulation Z examples: 12 CFR part 1026, Appendix J, paragraph (c), "Examples for the actuarial
method". The Appendix says its rates "were obtained with a ten-digit calculator" and that the
APR obtained, when rounded to two decimals, is correct; so each is checked here to the two
decimals it prints (tighter than the 1/8 percentage point tolerance of 1026.22(a)(2)). The
examples print amounts, dates (or the term), the unit-period and the resulting t and f; where
an example gives the term or t and f rather than calendar dates ((c)(5)(ii)-(iv), (c)(6)), the
dates below are chosen to produce exactly the t and f it states.
"""

from __future__ import annotations

import decimal
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.calc.apr import (
    UNIT_PERIODS,
    UnitPeriod,
    apr,
    detect_unit_period,
    round_aprc,
    unit_periods,
)
from leasekit.calc.dates import add_months
from leasekit.calc.rates import irr
from leasekit.calc.seeded import Solver
from leasekit.calc.solve import working_precision
from leasekit.errors import CalculationError, NoRateError

Flows = list[tuple[date, str]]
TIGHT = Decimal("1e-20")


def monthly(first: date, count: int, amount: str, months: int = 1) -> Flows:
    return [(add_months(first, k * months), amount) for k in range(count)]


def every_weeks(first: date, count: int, amount: str, weeks: int = 1) -> Flows:
    return [(first + timedelta(days=7 * weeks * k), amount) for k in range(count)]


def twice_a_month(first: date, second: date, count: int, amount: str) -> Flows:
    dates = sorted(add_months(day, k) for k in range(count) for day in (first, second))
    return [(day, amount) for day in dates[:count]]


def on_days(start: date, offsets: list[int], amount: str) -> Flows:
    return [(start + timedelta(days=offset), amount) for offset in offsets]


def rounded(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


# (paragraph, advance date, amount, payments, unit-period named in the example, stated APR)
APPENDIX_J_EXAMPLES = [
    # (c)(1) Single advance transaction, with or without an odd first period, otherwise regular.
    ("(c)(1)(i) monthly, regular first period", date(1978, 1, 10), "5000",
     monthly(date(1978, 2, 10), 24, "230"), "monthly", "9.69"),
    ("(c)(1)(ii) monthly, long first period: t=1, f=19/30", date(1978, 2, 10), "6000",
     monthly(date(1978, 4, 1), 36, "200"), "monthly", "11.82"),
    ("(c)(1)(iii) semimonthly, short first period: t=0, f=6/15", date(1978, 2, 23), "5000",
     twice_a_month(date(1978, 3, 1), date(1978, 3, 16), 24, "219.17"), "semimonthly", "10.34"),
    ("(c)(1)(iv) quarterly, long first period: t=1, f=39/90", date(1978, 5, 23), "10000",
     monthly(date(1978, 10, 1), 40, "385", months=3), "quarterly", "8.97"),
    ("(c)(1)(v) weekly, long first period: t=4, f=4/7", date(1978, 3, 20), "500",
     every_weeks(date(1978, 4, 21), 30, "17.60"), "weekly", "14.96"),
    # (c)(2) Single advance transaction, with an odd first payment.
    ("(c)(2)(i) monthly, irregular first payment", date(1978, 1, 10), "5000",
     [(date(1978, 2, 10), "250"), *monthly(date(1978, 3, 10), 23, "230")], "monthly", "10.08"),
    ("(c)(2)(ii) every 4 weeks, long first period, irregular first payment: f=5/28",
     date(1978, 3, 18), "400",
     [(date(1978, 4, 20), "39.50"), *every_weeks(date(1978, 5, 18), 11, "38.31", weeks=4)],
     UnitPeriod("week", 4), "28.50"),
    # (c)(3) Single advance transaction, with an odd final payment.
    ("(c)(3)(i) monthly, irregular final payment", date(1978, 1, 10), "5000",
     [*monthly(date(1978, 2, 10), 23, "230"), (date(1980, 1, 10), "280")], "monthly", "10.50"),
    ("(c)(3)(ii) every 2 weeks, short first period, irregular final payment: f=8/14",
     date(1978, 4, 3), "200",
     [*every_weeks(date(1978, 4, 11), 19, "9.50", weeks=2),
      (date(1978, 4, 11) + timedelta(weeks=38), "30")],
     "biweekly", "12.22"),
    # (c)(4) Single advance transaction, with an odd first payment and an odd final payment.
    ("(c)(4)(i) monthly, irregular first and final payments", date(1978, 1, 10), "5000",
     [(date(1978, 2, 10), "250"), *monthly(date(1978, 3, 10), 22, "230"),
      (date(1980, 1, 10), "280")], "monthly", "10.90"),
    ("(c)(4)(ii) every 2 months, short first period, irregular first and final: f=52/60",
     date(1978, 1, 10), "8000",
     [(date(1978, 3, 1), "449.36"), *monthly(date(1978, 5, 1), 18, "465", months=2),
      (date(1981, 5, 1), "200")], UnitPeriod("month", 2), "7.30"),
    # (c)(5) Single advance, single payment transaction.
    ("(c)(5)(i) term of 255 days, less than a year", date(1978, 1, 3), "1000",
     [(date(1978, 9, 15), "1080")], None, "11.45"),
    ("(c)(5)(ii) term of 6 months", date(1978, 7, 15), "1000",
     [(date(1979, 1, 15), "1044")], None, "8.80"),
    ("(c)(5)(iii) term of 18 months, a year unit: t=1, f=6/12", date(1978, 1, 3), "1000",
     [(date(1979, 7, 3), "1135.19")], None, "8.76"),
    ("(c)(5)(iv) term of 2 years: t=2, f=0", date(1978, 1, 3), "1000",
     [(date(1980, 1, 3), "1240")], None, "11.36"),
    # (c)(6) Complex single advance transaction: skipped and irregular payments.
    ("(c)(6)(i) every 4 weeks with skips: f=26/28 and 12/28", date(1978, 1, 10), "2135",
     on_days(date(1978, 1, 10),
             [26 + 28 * k for k in range(9)] + [292 + 28 * k for k in range(6)]
             + [474 + 28 * k for k in range(6)] + [656 + 28 * k for k in range(3)], "100"),
     UnitPeriod("week", 4), "12.00"),
    ("(c)(6)(ii) monthly with skipped and single payments: f=12/30 and 29/30",
     date(1978, 1, 10), "7350",
     [*monthly(date(1978, 7, 22), 3, "1000"), (date(1979, 1, 22), "2000"),
      *monthly(date(1979, 7, 22), 3, "750"), (date(1979, 12, 8), "1000")], "monthly", "10.22"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("advance_date", "amount", "payments", "unit", "stated"),
    [case[1:] for case in APPENDIX_J_EXAMPLES],
    ids=[case[0] for case in APPENDIX_J_EXAMPLES],
)
@pytest.mark.parametrize("solver", ["bracket", "float_seed"])
def test_appendix_j_examples(
    advance_date: date,
    amount: str,
    payments: Flows,
    unit: str | UnitPeriod | None,
    stated: str,
    solver: Solver,
) -> None:
    result = apr(
        advances=[(advance_date, amount)], payments=payments, unit_period=unit, solver=solver
    )
    assert rounded(result) == Decimal(stated)


@pytest.mark.parametrize(
    ("advance_date", "amount", "payments", "unit", "stated"),
    [case[1:] for case in APPENDIX_J_EXAMPLES],
    ids=[case[0] for case in APPENDIX_J_EXAMPLES],
)
def test_appendix_j_examples_with_the_unit_period_found_by_b4(
    advance_date: date, amount: str, payments: Flows, unit: str | UnitPeriod | None, stated: str
) -> None:
    result = apr(advances=[(advance_date, amount)], payments=payments, unit_period=None)
    assert rounded(result) == Decimal(stated)


@pytest.mark.parametrize(
    ("start", "when", "unit", "stated"),
    [
        # The t and f each example of Appendix J (c) prints for its first payment.
        (date(1978, 2, 10), date(1978, 4, 1), "monthly", (1, "19/30")),
        (date(1978, 2, 23), date(1978, 3, 1), "semimonthly", (0, "6/15")),
        (date(1978, 2, 23), date(1978, 3, 16), "semimonthly", (1, "6/15")),
        (date(1978, 5, 23), date(1978, 10, 1), "quarterly", (1, "39/90")),
        (date(1978, 3, 20), date(1978, 4, 21), "weekly", (4, "4/7")),
        (date(1978, 3, 18), date(1978, 4, 20), UnitPeriod("week", 4), (1, "5/28")),
        (date(1978, 4, 3), date(1978, 4, 11), "biweekly", (0, "8/14")),
        (date(1978, 1, 10), date(1978, 3, 1), UnitPeriod("month", 2), (0, "52/60")),
        (date(1978, 1, 10), date(1981, 5, 1), UnitPeriod("month", 2), (19, "52/60")),
        (date(1978, 1, 3), date(1979, 7, 3), "annual", (1, "6/12")),
        (date(1978, 1, 3), date(1980, 1, 3), "annual", (2, "0/1")),
    ],
)
def test_unit_periods_match_the_examples(
    start: date, when: date, unit: str | UnitPeriod, stated: tuple[int, str]
) -> None:
    whole, fraction = stated
    numerator, denominator = fraction.split("/")
    with working_precision():
        expected = Decimal(numerator) / Decimal(denominator)
    assert unit_periods(start, when, unit) == (whole, expected)


def test_unit_periods_of_a_year_with_odd_days_count_them_over_365() -> None:
    # (b)(5)(v)(B): one year back from 1 March 1980 reaches 1 March 1979; 10 days remain.
    with working_precision():
        assert unit_periods(date(1979, 2, 19), date(1980, 3, 1), "annual") == (
            1,
            Decimal(10) / 365,
        )


def test_unit_periods_daily() -> None:
    assert unit_periods(date(2024, 1, 1), date(2024, 3, 1), "daily") == (60, Decimal(0))


def test_month_end_series_counts_whole_months_b3iv() -> None:
    # "If payments ... are scheduled for the 29th or 30th of each month, the last day of
    # February shall be used when applicable": 28 February stands for the 30th.
    assert unit_periods(date(2023, 1, 30), date(2023, 2, 28), "monthly", month_end_day=30) == (
        1,
        Decimal(0),
    )
    assert unit_periods(date(2023, 1, 30), date(2023, 3, 30), "monthly", month_end_day=30) == (
        2,
        Decimal(0),
    )
    # A series on the last day of each month measures from month end to month end.
    assert unit_periods(date(2023, 1, 31), date(2023, 4, 30), "monthly") == (3, Decimal(0))
    assert unit_periods(date(2023, 2, 28), date(2023, 3, 31), "monthly") == (1, Decimal(0))


def test_hp12c_odd_period_example() -> None:
    # HP 12c Platinum user's guide, section 3, odd-period calculations, "Example 2": a 42-month
    # loan of $3,950 accruing interest from 19 July 2004, first period beginning 1 August 2004,
    # $120 at the end of each month, simple interest for the 13 odd days counted over a 30-day
    # month: APR 13.95. That is Appendix J's t=1, f=13/30 for the first payment.
    result = apr(
        advances=[(date(2004, 7, 19), "3950")],
        payments=monthly(date(2004, 9, 1), 42, "120"),
    )
    assert rounded(result) == Decimal("13.95")


# --- several advances and odd periods, checked against their defining equation ---------------


def test_several_advances_with_an_odd_fraction() -> None:
    # 10,000 lent on 15 January and 5,000 on 25 April (t=3, f=10/30); 24 equal payments from
    # 15 February, sized so that the unit-period rate is exactly 1 % (APR 12 %).
    with working_precision():
        rate = Decimal("0.01")
        second = Decimal(5000) / ((1 + rate * 10 / 30) * (1 + rate) ** 3)
        annuity = sum((1 + rate) ** -k for k in range(1, 25))
        payment = (10000 + second) / annuity
    result = apr(
        advances=[(date(2024, 1, 15), "10000"), (date(2024, 4, 25), "5000")],
        payments=[(day, str(payment)) for day, _ in monthly(date(2024, 2, 15), 24, "0")],
    )
    assert abs(result - 12) < TIGHT


def test_odd_first_period_uses_simple_interest_for_the_fraction() -> None:
    # 1,000 lent on 10 January, paid back in 12 months from 1 March: t=1+k, f=22/30. With the
    # payment sized for 1.5 % a month, the APR is 18 % exactly, which holds only if the odd
    # 22 days are discounted by (1 + 22/30 * i), not (1 + i) ** (22/30).
    with working_precision():
        rate = Decimal("0.015")
        factor = sum(1 / ((1 + rate * 22 / 30) * (1 + rate) ** (1 + k)) for k in range(12))
        payment = 1000 / factor
    result = apr(
        advances=[(date(2024, 1, 10), "1000")],
        payments=[(day, str(payment)) for day, _ in monthly(date(2024, 3, 1), 12, "0")],
    )
    assert abs(result - 18) < TIGHT


def test_unsorted_input_and_a_down_payment_at_signing() -> None:
    # A payment on the day of the advance is allowed (t=0, f=0) and the order of the pairs
    # does not matter.
    ordered = apr(
        advances=[(date(2024, 1, 15), "11000")],
        payments=[(date(2024, 1, 15), "1000"), *monthly(date(2024, 2, 15), 12, "880")],
    )
    shuffled = apr(
        advances=[(date(2024, 1, 15), "11000")],
        payments=[*reversed(monthly(date(2024, 2, 15), 12, "880")), (date(2024, 1, 15), "1000")],
    )
    assert ordered == shuffled
    net = apr(
        advances=[(date(2024, 1, 15), "10000")], payments=monthly(date(2024, 2, 15), 12, "880")
    )
    assert abs(ordered - net) < TIGHT


# --- unit-period selection, Appendix J (b)(4) -------------------------------------------------


def test_b4_most_frequent_common_period() -> None:
    payments = [date(2024, 2, 1), *(add_months(date(2024, 3, 1), k) for k in range(6))]
    assert detect_unit_period([date(2024, 1, 10)], payments) == UnitPeriod("month")


def test_b4a_equal_frequency_picks_the_smaller_period() -> None:
    # Two 2-week periods and two 1-month periods: the smaller, 2 weeks, is the unit.
    payments = [date(2024, 1, 15), date(2024, 1, 29), date(2024, 2, 29), date(2024, 3, 29)]
    assert detect_unit_period([date(2024, 1, 1)], payments) == UnitPeriod("week", 2)


def test_b4b_no_common_period_rounds_the_average_to_a_standard_interval() -> None:
    # Periods of 10, 20 and 45 days average 25: nearer 4 weeks (28) than 3 weeks (21) or a
    # month (30.4).
    start = date(2024, 1, 1)
    payments = [date(2024, 1, 11), date(2024, 1, 31), date(2024, 3, 16)]
    assert detect_unit_period([start], payments) == UnitPeriod("week", 4)


def test_b4_semimonthly_rather_than_two_weeks() -> None:
    payments = [day for day, _ in twice_a_month(date(2024, 3, 1), date(2024, 3, 15), 12, "0")]
    assert detect_unit_period([date(2024, 2, 20)], payments) == UnitPeriod("semimonth")


def test_b4_single_payment_over_a_year_uses_a_year() -> None:
    assert detect_unit_period([date(2024, 1, 1)], [date(2025, 7, 1)]) == UnitPeriod("month", 12)


def test_detect_unit_period_errors() -> None:
    with pytest.raises(CalculationError, match="advance_dates"):
        detect_unit_period([], [date(2024, 1, 1)])
    with pytest.raises(CalculationError, match="no period"):
        detect_unit_period([date(2024, 1, 1)], [date(2024, 1, 1)])


def test_unit_period_names_and_values() -> None:
    assert UNIT_PERIODS["quarterly"].per_year == 4
    assert UnitPeriod("week", 4).per_year == 13
    assert UnitPeriod("semimonth").per_year == 24
    assert UnitPeriod("day").per_year == 365
    assert str(UnitPeriod("month", 3)) == "3 months"
    assert str(UnitPeriod("week")) == "week"
    with pytest.raises(ValueError, match="1 to 12"):
        UnitPeriod("month", 13)
    with pytest.raises(ValueError, match="kind"):
        UnitPeriod("fortnight")


# --- EU APRC, Directive 2008/48/EC Annex I ----------------------------------------------------


def test_eu_calendar_basis_example_of_directive_98_7() -> None:
    # The worked examples annexed to the consumer credit directive by Directive 98/7/EC
    # (Annex III to 87/102/EEC, as proposed in COM(96) 79), "A. Calculation ... on a calendar
    # basis", first example: ECU 1 000 lent on 1 January 1994 and repaid by a single payment
    # of ECU 1 200 on 1 July 1995, "1 1/2 years or 546 (= 365 + 181) days" later; "rounded to
    # 13 % (or 12,96 % if an accuracy of two decimal places is preferred)". The basic equation
    # of 2008/48/EC Annex I is the same.
    result = apr(
        advances=[(date(1994, 1, 1), "1000")],
        payments=[(date(1995, 7, 1), "1200")],
        convention="eu",
    )
    assert round_aprc(result, 2) == Decimal("12.96")
    assert round_aprc(result) == Decimal("13.0")


def test_eu_months_basis_counts_equal_months() -> None:
    # 18 months are 1.5 years exactly: 1.2 ** (1 / 1.5) - 1.
    result = apr(
        advances=[(date(1994, 1, 1), "1000")],
        payments=[(date(1995, 7, 1), "1200")],
        convention="eu",
        time_basis="months",
    )
    with working_precision():
        expected = (Decimal("1.2") ** (Decimal(2) / 3) - 1) * 100
    assert abs(result - expected) < TIGHT


def test_eu_months_basis_equals_the_compounded_monthly_irr() -> None:
    # 12 monthly payments from a month-end drawdown stay whole months (31 Jan, 29 Feb, 31 Mar,
    # ...), so the APRC is (1 + monthly IRR) ** 12 - 1, =(1+IRR(...))^12-1 in a spreadsheet.
    payments = [(add_months(date(2024, 1, 31), k, 31), "856.07") for k in range(1, 13)]
    result = apr(
        advances=[(date(2024, 1, 31), "10000")],
        payments=payments,
        convention="eu",
        time_basis="months",
    )
    monthly_rate = irr(["-10000", *["856.07"] * 12])
    with working_precision():
        assert abs(result - ((1 + monthly_rate) ** 12 - 1) * 100) < TIGHT


def test_eu_days_basis_uses_366_for_a_year_holding_29_february() -> None:
    # 60 days from 15 January 2024 to 15 March 2024; the year back from 15 March 2024 holds
    # 29 February, so the interval is 60/366 of a year (Annex I remark (c)).
    result = apr(
        advances=[(date(2024, 1, 15), "1000")],
        payments=[(date(2024, 3, 15), "1010")],
        convention="eu",
    )
    with working_precision():
        expected = (Decimal("1.01") ** (Decimal(366) / 60) - 1) * 100
    assert abs(result - expected) < TIGHT


def test_eu_days_basis_counts_whole_years_across_a_leap_day() -> None:
    # Two whole years are 2 years even though they span 731 days.
    result = apr(
        advances=[(date(2023, 1, 1), "1000")],
        payments=[(date(2025, 1, 1), "1210")],
        convention="eu",
    )
    assert abs(result - 10) < TIGHT


def test_eu_weeks_basis_counts_52_weeks_a_year() -> None:
    # 26 weeks are half a year: 1.05 ** 2 - 1.
    result = apr(
        advances=[(date(2024, 1, 1), "1000")],
        payments=[(date(2024, 1, 1) + timedelta(weeks=26), "1050")],
        convention="eu",
        time_basis="weeks",
    )
    assert abs(result - Decimal("10.25")) < TIGHT


def test_eu_several_drawdowns() -> None:
    # 500 drawn on 1 January 2023 and 500 on 1 January 2024, all repaid with 10 % a year on
    # 1 January 2025: 500 * 1.1**2 + 500 * 1.1 = 1155.
    result = apr(
        advances=[(date(2023, 1, 1), "500"), (date(2024, 1, 1), "500")],
        payments=[(date(2025, 1, 1), "1155")],
        convention="eu",
    )
    assert abs(result - 10) < TIGHT


@pytest.mark.parametrize(
    ("value", "places", "disclosed"),
    [
        (Decimal("12.962037"), 1, Decimal("13.0")),
        (Decimal("12.95"), 1, Decimal("13.0")),  # "greater than or equal to 5": half up
        (Decimal("12.9499999"), 1, Decimal("12.9")),
        (Decimal("12.962037"), 2, Decimal("12.96")),
    ],
)
def test_round_aprc(value: Decimal, places: int, disclosed: Decimal) -> None:
    assert round_aprc(value, places) == disclosed


# --- input validation -------------------------------------------------------------------------

LENT = [(date(2024, 1, 15), "1000")]
REPAID = monthly(date(2024, 2, 15), 3, "340")


@pytest.mark.parametrize(
    ("advances", "payments", "error", "match"),
    [
        ([], REPAID, CalculationError, "advances: at least one"),
        (LENT, [], CalculationError, "payments: at least one"),
        ([(date(2024, 1, 15), "-1000")], REPAID, CalculationError, r"advances\[0\]: amount -1000"),
        (LENT, [*REPAID, (date(2024, 6, 15), "-5")], CalculationError, r"payments\[3\]: amount"),
        (LENT, [*REPAID, (date(2024, 1, 14), "5")], CalculationError, r"payments\[3\]: 2024-01-14"),
        (LENT, [(date(2024, 2, 15), 340.0)], TypeError, r"payments\[0\] amount: float"),
        (LENT, [(datetime(2024, 2, 15, 12), "340")], TypeError, r"payments\[0\]: expected a date"),
        (LENT, [(date(2024, 2, 15), "340", "x")], TypeError, r"payments\[0\]: expected a"),
        (LENT, "2024-02-15", TypeError, "payments: expected a sequence"),
        ([(date(2024, 1, 15), "0")], REPAID, NoRateError, "advances: every amount is zero"),
        (LENT, [(date(2024, 2, 15), "0")], NoRateError, "payments: every amount is zero"),
        (LENT, [(date(2024, 1, 15), "1000")], NoRateError, "no time passes"),
    ],
)
def test_input_errors_name_the_argument_and_index(
    advances: object, payments: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        apr(advances=advances, payments=payments)  # type: ignore[arg-type]


def test_option_errors() -> None:
    with pytest.raises(ValueError, match="convention"):
        apr(advances=LENT, payments=REPAID, convention="uk")
    with pytest.raises(ValueError, match="unit_period"):
        apr(advances=LENT, payments=REPAID, unit_period="fortnightly")
    with pytest.raises(ValueError, match="time_basis"):
        apr(advances=LENT, payments=REPAID, time_basis="days")
    with pytest.raises(ValueError, match="time_basis"):
        apr(advances=LENT, payments=REPAID, convention="eu", time_basis="quarters")
    with pytest.raises(CalculationError, match="before the start"):
        unit_periods(date(2024, 2, 1), date(2024, 1, 1), "monthly")
    with pytest.raises(ValueError, match="month_end_day"):
        unit_periods(date(2024, 1, 1), date(2024, 2, 1), "monthly", month_end_day=27)


def test_payments_below_the_advance_give_a_negative_rate() -> None:
    result = apr(advances=LENT, payments=monthly(date(2024, 2, 15), 3, "300"))
    assert result < 0


def test_a_payment_that_can_never_balance_has_no_rate() -> None:
    # Less repaid than lent, and all of it on the day of the advance except a zero.
    with pytest.raises(NoRateError, match="never changes sign"):
        apr(
            advances=LENT,
            payments=[(date(2024, 1, 15), "900"), (date(2024, 2, 15), "0")],
        )


# --- level annuities (property tests) ---------------------------------------------------------

principals = st.decimals(min_value=Decimal("100"), max_value=Decimal("1000000"), places=2)
annual_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.30"), places=4)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


def level_loan(principal: Decimal, annual: Decimal, count: int, start: date) -> tuple[Flows, Flows]:
    """A loan repaid monthly on the advance's day of the month, installment unrounded."""
    with working_precision():
        periodic = annual / 12
        if periodic.is_zero():
            payment = principal / count
        else:
            payment = principal * periodic / (1 - (1 + periodic) ** -count)
    payments = [(add_months(start, k), str(payment)) for k in range(1, count + 1)]
    return [(start, str(principal))], payments


@settings(max_examples=40, deadline=None)
@given(
    principal=principals,
    annual=annual_rates,
    count=st.integers(min_value=1, max_value=360),
    start=starts,
)
def test_apr_recovers_the_rate_of_a_level_loan(
    principal: Decimal, annual: Decimal, count: int, start: date
) -> None:
    advances, payments = level_loan(principal, annual, count, start)
    assert abs(apr(advances=advances, payments=payments) / 100 - annual) < Decimal("1e-10")
    aprc = apr(advances=advances, payments=payments, convention="eu", time_basis="months")
    with working_precision():
        effective = (1 + annual / 12) ** 12 - 1
    assert abs(aprc / 100 - effective) < Decimal("1e-10")


@settings(max_examples=30, deadline=None)
@given(
    principal=principals,
    annual=annual_rates,
    count=st.integers(min_value=2, max_value=120),
    start=starts,
    data=st.data(),
)
def test_apr_rises_when_a_payment_rises(
    principal: Decimal, annual: Decimal, count: int, start: date, data: st.DataObject
) -> None:
    advances, payments = level_loan(principal, annual, count, start)
    which = data.draw(st.integers(min_value=0, max_value=count - 1))
    extra = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2))
    raised = [*payments]
    raised[which] = (payments[which][0], str(Decimal(payments[which][1]) + extra))
    for convention in ("us_actuarial", "eu"):
        before = apr(advances=advances, payments=payments, convention=convention)
        after = apr(advances=advances, payments=raised, convention=convention)
        assert after > before
