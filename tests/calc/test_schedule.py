from __future__ import annotations

import decimal
import itertools
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leasekit import calc
from leasekit.calc.dates import year_fraction
from leasekit.errors import CalculationError, CurrencyMismatchError
from leasekit.money import DECIMAL_CONTEXT, Money

START = date(2024, 1, 1)


def make(**overrides):
    args = {
        "principal": D("100000"),
        "annual_rate": D("0.049"),
        "periods": 120,
        "start_date": START,
    }
    args.update(overrides)
    return calc.schedule(**args)


def assert_consistent(s: calc.Schedule) -> None:
    """Every row obeys payment = principal + interest and the balance carries over."""
    balance = s.terms.principal
    for row in s.rows:
        assert row.payment == row.principal + row.interest
        assert row.balance == balance - row.principal
        balance = row.balance
    assert balance == s.balloon


# -- worked examples -----------------------------------------------------------------------


def test_annuity_matches_numpy_financial_documented_pmt():
    # numpy-financial's documentation of pmt: a $200,000 loan over 15 years at 7.5 % a year
    # costs -1854.0247200054619 a month.
    s = make(principal=D("200000"), annual_rate=D("0.075"), periods=180)
    assert s.payment == D("1854.02")
    assert_consistent(s)


def test_spec_example_annuity():
    s = make()
    assert s.payment == D("1055.77")
    first = s.rows[0]
    # 100000 * 0.049 / 12 = 408.3333… → 408.33; 1055.77 − 408.33 = 647.44
    assert (first.interest, first.principal, first.balance) == (
        D("408.33"),
        D("647.44"),
        D("99352.56"),
    )
    assert s.rows[-1].balance == D("0.00")
    assert s.total_interest == sum(r.interest for r in s.rows)
    assert len(s.rows) == 120


def test_equal_principal_hand_example():
    # 1,000,000 over 360 months at 4.9 %: 1,000,000 / 360 = 2777.78 of principal a month and
    # 1,000,000 × 0.049 / 12 = 4083.33 of interest in the first month (checkable by hand).
    s = make(principal=D("1000000"), periods=360, method="equal_principal")
    assert s.rows[0].principal == D("2777.78")
    assert s.rows[0].interest == D("4083.33")
    assert s.payment == D("6861.11")
    # The second month's interest is on 997,222.22: × 0.049 / 12 = 4071.99
    assert s.rows[1].interest == D("4071.99")
    # 359 × 2777.78 = 997,223.02, so the final principal is 2776.98.
    assert s.rows[-1].principal == D("2776.98")
    assert_consistent(s)


def test_interest_only_pays_principal_at_the_end():
    s = make(principal=D("12000"), annual_rate=D("0.06"), periods=12, method="interest_only")
    assert all(r.payment == D("60.00") and r.principal == 0 for r in s.rows[:-1])
    assert s.rows[-1].payment == D("12060.00")
    assert s.payment == D("60.00")
    assert_consistent(s)


def test_flat_rate_hand_example():
    # 10,000 at a flat 5 % for two years: interest 10,000 × 5 % × 2 = 1,000, spread over 24
    # installments of (10,000 + 1,000) / 24 = 458.33; 1,000 / 24 = 41.67 of interest each.
    s = make(principal=D("10000"), annual_rate=D("0.05"), periods=24, method="flat")
    assert s.payment == D("458.33")
    assert s.rows[0].interest == D("41.67")
    assert s.total_interest == D("1000.00")
    assert s.total_principal == D("10000.00")
    assert s.rows[-1].payment == D("458.41")  # absorbs 24 × 458.33 = 10,999.92
    assert_consistent(s)


def test_flat_interest_never_goes_negative_on_the_last_row():
    # 0.13 of interest over 8 rows: 0.02 a row would overshoot, so rows take 0.01.
    s = make(principal=D("1000"), annual_rate=D("0.0002"), periods=8, method="flat")
    assert s.total_interest == D("0.13")
    assert [r.interest for r in s.rows] == [D("0.01")] * 7 + [D("0.06")]


def test_zero_rate_splits_principal_and_last_row_absorbs():
    s = make(principal=D("100"), annual_rate=D("0"), periods=3)
    assert [r.payment for r in s.rows] == [D("33.33"), D("33.33"), D("33.34")]
    assert s.total_interest == 0


def test_balloon_is_the_final_balance_and_due_with_last_payment():
    s = make(principal=D("30000"), annual_rate=D("0.065"), periods=36, balloon=D("9000"))
    assert s.rows[-1].balance == D("9000.00")
    assert s.total_principal == D("21000.00")
    flows = s.cash_flows()
    assert flows[-1] == (s.rows[-1].due_date, s.rows[-1].payment + D("9000"))
    assert s.total_payable == s.total_payments + D("9000")


def test_in_advance_matches_annuity_due_and_first_row_is_all_principal():
    # An annuity due of 36 payments on 30,000 at 6 %: numpy_financial.pmt(0.005, 36, -30000,
    # when="begin") = 908.1175…
    s = make(principal=D("30000"), annual_rate=D("0.06"), periods=36, in_advance=True)
    assert s.payment == D("908.12")
    assert s.rows[0].due_date == START
    assert s.rows[0].interest == 0
    assert s.rows[0].principal == s.payment
    assert_consistent(s)


def test_month_end_due_dates_are_not_stuck_on_the_28th():
    s = make(periods=4, start_date=date(2023, 12, 31))
    assert [r.due_date for r in s.rows] == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_due_day_follows_month_end_from_a_february_first_due():
    s = make(periods=3, start_date=date(2023, 1, 20), first_due_date=date(2023, 2, 28), due_day=31)
    assert [r.due_date for r in s.rows] == [date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("quarterly", [date(2024, 4, 1), date(2024, 7, 1)]),
        ("semiannual", [date(2024, 7, 1), date(2025, 1, 1)]),
        ("annual", [date(2025, 1, 1), date(2026, 1, 1)]),
    ],
)
def test_frequencies(frequency, expected):
    s = make(periods=2, frequency=frequency)
    assert [r.due_date for r in s.rows] == expected


def test_quarterly_rate_is_a_quarter_of_the_annual_rate():
    s = make(principal=D("10000"), annual_rate=D("0.08"), periods=4, frequency="quarterly")
    assert s.rows[0].interest == D("200.00")


def test_long_broken_first_period_charges_its_days():
    # 15 Jan → 1 Mar is 46 days under 30/360 (ISDA bond basis): 12,000 × 6 % × 46/360 = 92.00
    s = make(
        principal=D("12000"),
        annual_rate=D("0.06"),
        periods=3,
        start_date=date(2024, 1, 15),
        first_due_date=date(2024, 3, 1),
    )
    assert s.rows[0].interest == D("92.00")
    assert s.rows[1].due_date == date(2024, 4, 1)
    assert_consistent(s)
    regular = make(principal=D("12000"), annual_rate=D("0.06"), periods=3)
    assert s.payment > regular.payment


def test_short_broken_first_period_added_to_first_payment():
    # 15 Jan → 1 Feb is 16 days: 12,000 × 6 % × 16/360 = 32.00 instead of a month's 60.00.
    s = make(
        principal=D("12000"),
        annual_rate=D("0.06"),
        periods=3,
        start_date=date(2024, 1, 15),
        first_due_date=date(2024, 2, 1),
        broken_period="add_to_first",
    )
    regular = make(principal=D("12000"), annual_rate=D("0.06"), periods=3)
    assert s.payment == regular.payment
    assert s.rows[0].interest == D("32.00")
    assert s.rows[0].payment == regular.payment - D("28.00")
    assert [r.balance for r in s.rows] == [r.balance for r in regular.rows]


def test_actual_365_interest_follows_the_calendar():
    s = make(
        principal=D("36500"),
        annual_rate=D("0.10"),
        periods=2,
        start_date=date(2023, 1, 1),
        day_count="actual/365",
    )
    assert s.rows[0].interest == D("310.00")  # 31 days × 36500 × 10 % / 365
    assert_consistent(s)


def test_actual_actual_splits_days_across_years():
    s = make(
        principal=D("100000"),
        annual_rate=D("0.10"),
        periods=1,
        start_date=date(2023, 12, 1),
        day_count="actual/actual",
    )
    # 31 days of 2023 / 365 only: 100000 × 10 % × 31/365 = 849.32
    assert s.rows[0].interest == D("849.32")
    s = make(
        principal=D("100000"),
        annual_rate=D("0.10"),
        periods=1,
        start_date=date(2023, 12, 15),
        day_count="actual/actual",
    )
    # 17 days in 2023 (/365) and 14 days in 2024 (/366): 465.75… + 382.51… = 848.27
    assert s.rows[0].interest == D("848.27")


def test_interest_only_grace_then_amortize():
    s = make(principal=D("12000"), annual_rate=D("0.06"), periods=12, grace_periods=3)
    assert [r.payment for r in s.rows[:3]] == [D("60.00")] * 3
    assert s.rows[2].balance == D("12000.00")
    assert s.payment == make(principal=D("12000"), annual_rate=D("0.06"), periods=9).payment
    assert_consistent(s)


def test_capitalized_grace_adds_interest_to_balance():
    s = make(
        principal=D("12000"),
        annual_rate=D("0.06"),
        periods=12,
        grace_periods=2,
        grace="capitalized",
    )
    assert s.rows[0].payment == 0
    assert s.rows[0].balance == D("12060.00")
    assert s.rows[1].balance == D("12120.30")
    assert_consistent(s)


def test_capitalized_grace_row_pays_nothing_even_with_a_broken_first_period():
    s = make(
        principal=D("12000"),
        annual_rate=D("0.06"),
        periods=12,
        grace_periods=1,
        grace="capitalized",
        start_date=date(2024, 1, 15),
        first_due_date=date(2024, 2, 29),
        broken_period="add_to_first",
    )
    # 15 Jan → 29 Feb is 44 days (30/360): 12,000 × 6 % × 44/360 = 88.00, all capitalized.
    assert s.rows[0].payment == D("0.00")
    assert s.rows[0].balance == D("12088.00")
    assert_consistent(s)


@pytest.mark.parametrize(
    ("principal", "interest"),
    [
        # 150.72 × 6.25 % / 12 = 0.785 exactly, and 191,999.04 × 6.25 % / 12 = 999.995: exact
        # half cents that half-up must round up. Dividing the rate first (0.0625 / 12 to 34
        # digits) would land just below the tie and round them down.
        (D("150.72"), D("0.79")),
        (D("191999.04"), D("1000.00")),
    ],
)
def test_half_cent_interest_ties_round_up(principal, interest):
    s = make(principal=principal, annual_rate=D("0.0625"), periods=12, method="interest_only")
    assert s.rows[0].interest == interest


def test_half_cent_ties_in_a_broken_period_round_up():
    # 7 days (30/360) of 6 % on 10,290.00: 10,290 × 0.06 × 7/360 = 12.005
    s = make(
        principal=D("10290"),
        annual_rate=D("0.06"),
        periods=2,
        method="interest_only",
        start_date=date(2024, 1, 24),
        first_due_date=date(2024, 2, 1),
    )
    assert s.rows[0].interest == D("12.01")


# -- rounding conventions ------------------------------------------------------------------


def test_installment_up_to_unit():
    s = make(rounding="installment_up_to_unit")
    assert s.payment == D("1056")
    assert s.rows[-1].payment < D("1056")
    assert_consistent(s)


def test_level_total_makes_every_payment_equal():
    s = make(rounding="level_total")
    assert {r.payment for r in s.rows} == {s.payment}
    assert s.total_payments == s.payment * 120
    assert min(r.interest for r in s.rows) >= 0
    assert_consistent(s)


def test_level_total_raises_the_installment_until_the_last_interest_is_whole():
    # 1,000 at 0.24 % over 24 quarters: 41.98 (the solved installment rounded up) would leave
    # the last row -0.01 of interest, as the rows' half-up interest roundings add up to more
    # than the rounding up repays; 41.99 is the smallest level installment that works.
    s = make(
        principal=D("1000"),
        annual_rate=D("0.0024"),
        periods=24,
        frequency="quarterly",
        rounding="level_total",
    )
    assert s.payment == D("41.99")
    assert {r.payment for r in s.rows} == {D("41.99")}
    assert s.rows[-1].interest >= 0
    assert_consistent(s)


def test_whole_unit_installments_that_repay_early_are_refused():
    with pytest.raises(CalculationError, match="repays the loan by row"):
        make(principal=D("10"), annual_rate=D("0"), periods=12, rounding="installment_up_to_unit")


def test_tiny_installments_are_refused():
    # 0.7375… rounds up to 0.74; 166 such overpayments clear the loan at row 165.
    with pytest.raises(CalculationError, match="compounds faster than the loan amortizes"):
        make(principal=D("100"), annual_rate=D("0.0297"), periods=166, start_date=date(2000, 1, 1))


# -- inputs --------------------------------------------------------------------------------


def test_money_principal_sets_the_currency():
    s = make(principal=Money("1000000", "JPY"), annual_rate=D("0.02"), periods=12)
    assert s.currency.code == "JPY"
    assert s.payment == s.payment.to_integral_value()


def test_currency_mismatch_refused():
    with pytest.raises(CurrencyMismatchError, match="more than one currency"):
        make(principal=Money("1000", "EUR"), currency="USD")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"annual_rate": 0.049}, "annual_rate: float 0.049 is not exact"),
        ({"principal": 1000.5}, "principal: float"),
        ({"principal": D("-1")}, "principal: must be positive"),
        ({"principal": D("100.001")}, "principal: 100.001 has more decimal places"),
        ({"annual_rate": D("-0.01")}, "annual_rate: must not be negative"),
        ({"periods": 0}, "periods: must be at least 1"),
        ({"balloon": D("200000")}, "balloon: must be between 0"),
        ({"method": "rule78"}, "method: 'rule78' is not one of"),
        ({"frequency": "weekly"}, "frequency: 'weekly' is not one of"),
        ({"day_count": "30/365"}, "day_count: '30/365' is not one of"),
        ({"rounding": "nearest"}, "rounding: 'nearest' is not one of"),
        ({"grace_periods": 120}, "grace_periods: must be between"),
        ({"first_due_date": START}, "first_due_date: 2024-01-01 is not after"),
        ({"method": "interest_only", "in_advance": True}, "in_advance: interest-only"),
        ({"method": "flat", "grace_periods": 1}, "grace_periods: a flat-rate schedule"),
    ],
)
def test_bad_input_names_the_parameter(overrides, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make(**overrides)


# -- properties ----------------------------------------------------------------------------

cents = st.integers(min_value=1_000_00, max_value=5_000_000_00).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=3000).map(lambda bp: D(bp) / 10000)
methods = st.sampled_from(calc.METHODS)
day_counts = st.sampled_from(["30/360", "actual/365", "actual/actual"])
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
calendars = st.sampled_from(["regular", "first_due_date", "due_day"])


@st.composite
def terms(draw, method=methods, day_count=day_counts, calendars=calendars):
    principal = draw(cents)
    method = draw(method)
    frequency = draw(st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]))
    per_year = {"monthly": 12, "quarterly": 4, "semiannual": 2, "annual": 1}[frequency]
    # Vehicle finance: up to ten years. Much longer terms at high rates amortize negatively
    # in long months under actual day counts, as the arithmetic says they must.
    periods = draw(st.integers(min_value=1, max_value=10 * per_year))
    balloon_share = draw(st.integers(min_value=0, max_value=50))
    balloon = (principal * balloon_share / 100).quantize(D("0.01"))
    # Below about n/200 a row, rounding each installment to the cent repays the loan before
    # its last row, which schedule() refuses (test_tiny_installments_are_refused).
    assume(principal - balloon >= 2 * periods)
    start = draw(starts)
    in_advance = method != "interest_only" and draw(st.booleans())
    calendar = draw(calendars)
    options = {}
    if calendar == "first_due_date" and not in_advance:
        # A broken first period from half a period to one and a half.
        days = draw(st.integers(min_value=15, max_value=45 * 12 // per_year))
        options["first_due_date"] = start + timedelta(days=days)
        options["broken_period"] = draw(st.sampled_from(["amortize", "add_to_first"]))
    elif calendar == "due_day":
        options["due_day"] = draw(st.integers(min_value=1, max_value=31))
    if method != "flat" and periods > 1:
        options["grace_periods"] = draw(st.integers(min_value=0, max_value=min(3, periods - 1)))
        options["grace"] = draw(st.sampled_from(["interest_only", "capitalized"]))
    return {
        "principal": principal,
        "annual_rate": draw(rates),
        "periods": periods,
        "start_date": start,
        "method": method,
        "balloon": balloon,
        "in_advance": in_advance,
        "frequency": frequency,
        "day_count": draw(day_count),
        "rounding": draw(st.sampled_from(["standard", "level_total"])),
        **options,
    }


@settings(max_examples=300, deadline=None)
@given(terms())
def test_principal_sums_exactly_to_financed_amount_less_balloon(t):
    s = calc.schedule(**t)
    assert s.total_principal == t["principal"] - s.balloon
    assert s.rows[-1].balance == s.balloon
    assert_consistent(s)


@settings(max_examples=300, deadline=None)
@given(terms())
def test_balances_never_increase_and_interest_never_negative(t):
    s = calc.schedule(**t)
    # Capitalized grace rows add their interest to the balance on purpose, and a long broken
    # first period spread over level installments can charge row 1 more interest than it
    # pays; from then on the balance only falls.
    capitalized = t.get("grace") == "capitalized" and t.get("grace_periods", 0)
    # (In advance the broken period is the second row's: the first is paid at the start.)
    broken = "first_due_date" in t or "due_day" in t
    skip = max(t["grace_periods"] if capitalized else 0, 2 if broken else 0)
    balances = [t["principal"]] + [r.balance for r in s.rows]
    assert all(a >= b for a, b in itertools.pairwise(balances[skip:]))
    assert all(r.interest >= 0 for r in s.rows)
    assert all(r.payment >= 0 for r in s.rows)


@settings(max_examples=200, deadline=None)
@given(terms())
def test_every_amount_is_an_exact_decimal_in_cents(t):
    s = calc.schedule(**t)
    for row in s.rows:
        for value in (row.payment, row.principal, row.interest, row.balance):
            assert type(value) is D
            assert value == value.quantize(D("0.01"))
    assert type(s.payment) is D


@settings(max_examples=200, deadline=None)
@given(terms(method=st.just("annuity"), day_count=st.just("30/360"), calendars=st.just("regular")))
def test_annuity_payments_are_level_but_the_last(t):
    s = calc.schedule(**t)
    # Grace rows pay interest only.
    assert {r.payment for r in s.rows[t.get("grace_periods", 0) : -1]} <= {s.payment}
    # Each row's two roundings are off by at most half a cent each, and what they leave
    # compounds at the periodic rate until the last row: at most a cent a row, grown.
    i = t["annual_rate"] / s.terms.periods_per_year
    growth = (1 + i) ** len(s.rows)
    cent_a_row_grown = D(len(s.rows)) if i == 0 else (growth - 1) / i
    assert abs(s.rows[-1].payment - s.payment) <= D("0.01") * (cent_a_row_grown * growth + 1)


@pytest.mark.parametrize("day_count", ["30/360", "actual/365", "actual/actual"])
def test_results_do_not_depend_on_the_callers_decimal_context(day_count):
    start, first_due = date(2023, 12, 15), date(2024, 2, 1)
    expected_schedule = make(day_count=day_count, start_date=start, first_due_date=first_due)
    expected_fraction = year_fraction(start, first_due, day_count)
    with decimal.localcontext(decimal.Context(prec=5, rounding=decimal.ROUND_FLOOR)):
        schedule = make(day_count=day_count, start_date=start, first_due_date=first_due)
        fraction = year_fraction(start, first_due, day_count)
    assert schedule == expected_schedule
    assert fraction == expected_fraction


def test_actual_actual_keeps_34_digits():
    fraction = year_fraction(date(2023, 12, 15), date(2024, 1, 15), "actual/actual")
    # One division of exact integers: (17 × 366 + 14 × 365) / (365 × 366), correctly rounded.
    assert fraction == DECIMAL_CONTEXT.divide(17 * 366 + 14 * 365, 365 * 366)
