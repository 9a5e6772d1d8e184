"""Rates implied by cash flows: IRR, XIRR, nominal/effective and flat/effective conversions.

Published figures are checked to the digits their source prints; everything else is checked
against the defining equation, which holds to far more digits than any disclosure needs.
"""

from __future__ import annotations

import decimal
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.calc.rates import (
    TimedFlow,
    effective_to_flat,
    effective_to_nominal,
    flat_to_effective,
    irr,
    nominal_to_effective,
    powers_of,
    rate_of_return,
    rough_rate,
    xirr,
)
from leasekit.calc.solve import find_root, working_precision
from leasekit.errors import CalculationError, NoRateError

TIGHT = Decimal("1e-25")


def npv(rate: Decimal, flows: list[Decimal]) -> Decimal:
    with working_precision():
        return sum((flow / (1 + rate) ** t for t, flow in enumerate(flows)), Decimal(0))


def level_payment(principal: Decimal, periodic: Decimal, count: int) -> Decimal:
    """The closed-form annuity installment, unrounded."""
    with working_precision():
        if periodic.is_zero():
            return principal / count
        return principal * periodic / (1 - (1 + periodic) ** -count)


# --- IRR --------------------------------------------------------------------------------------


def test_irr_numpy_financial_documented_example() -> None:
    # numpy-financial docs, irr(): "round(npf.irr([-100, 39, 59, 55, 20]), 5) -> 0.28095";
    # the NumPy 1.3 docs print the full float 0.2809484211599611.
    rate = irr(["-100", "39", "59", "55", "20"])
    assert round(rate, 5) == Decimal("0.28095")
    assert abs(rate - Decimal("0.2809484211599611")) < Decimal("1e-15")


@pytest.mark.parametrize(
    ("flows", "published"),
    [
        # The other examples of the same docs page, including flows with two sign changes.
        (["-100", "0", "0", "74"], Decimal("-0.0955")),
        (["-100", "100", "0", "-7"], Decimal("-0.0833")),
        (["-100", "100", "0", "7"], Decimal("0.06206")),
    ],
)
def test_irr_numpy_financial_further_examples(flows: list[str], published: Decimal) -> None:
    rate = irr(flows)
    assert rate.quantize(published) == published
    assert abs(npv(rate, [Decimal(flow) for flow in flows])) < TIGHT


def test_irr_with_two_roots_returns_the_one_nearest_the_guess() -> None:
    # -100 + 100 v - 7 v**3 = 0 has roots near -8.33 % and -67.9 %.
    flows = ["-100", "100", "0", "-7"]
    assert abs(irr(flows) - Decimal("-0.0833")) < Decimal("0.0001")
    far = irr(flows, guess="-0.6")
    assert abs(far - Decimal("-0.679")) < Decimal("0.001")
    assert abs(npv(far, [Decimal(flow) for flow in flows])) < TIGHT


def test_irr_is_exact_at_zero_interest() -> None:
    assert abs(irr(["-300", "100", "100", "100"])) < TIGHT


def test_irr_does_not_touch_the_callers_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.prec = 6
        rate = irr(["-100", "39", "59", "55", "20"])
        assert decimal.getcontext().prec == 6
    assert len(rate.as_tuple().digits) > 20


@pytest.mark.parametrize(
    ("flows", "message"),
    [
        (["100", "50"], "no negative amount"),
        (["-100", "-50"], "no positive amount"),
        (["0", "0"], "no positive amount"),
        # 100 - 300 v + 250 v**2 is positive for every v: the flows change sign but never balance.
        (["100", "-300", "250"], "never changes sign"),
    ],
)
def test_irr_without_a_rate(flows: list[str], message: str) -> None:
    with pytest.raises(NoRateError, match=message):
        irr(flows)


def test_irr_rejects_floats_and_names_the_flow() -> None:
    with pytest.raises(TypeError, match=r"cash_flows\[1\]: float"):
        irr(["-100", 110.0])  # type: ignore[list-item]


# --- XIRR -------------------------------------------------------------------------------------

EXCEL_XIRR_FLOWS = [
    (date(2008, 1, 1), "-10000"),
    (date(2008, 3, 1), "2750"),
    (date(2008, 10, 30), "4250"),
    (date(2009, 2, 15), "3250"),
    (date(2009, 4, 1), "2750"),
]


def test_xirr_excel_documented_example() -> None:
    # Microsoft support, "XIRR function", example: =XIRR(A3:A7, B3:B7) returns 0.373362535.
    # The same page says Excel iterates "until the result is accurate within 0.000001
    # percent", so its figure is good to 1e-8; the exact rate is 0.37336253351883...
    rate = xirr(EXCEL_XIRR_FLOWS)
    assert abs(rate - Decimal("0.373362535")) < Decimal("1e-8")
    assert rate.quantize(Decimal("1e-10")) == Decimal("0.3733625335")


def test_xirr_solves_its_defining_equation() -> None:
    rate = xirr(EXCEL_XIRR_FLOWS)
    start = EXCEL_XIRR_FLOWS[0][0]
    with working_precision():
        residual = sum(
            (
                Decimal(amount) / (1 + rate) ** (Decimal((when - start).days) / 365)
                for when, amount in EXCEL_XIRR_FLOWS
            ),
            Decimal(0),
        )
    assert abs(residual) < Decimal("1e-25")


def test_xirr_of_one_year_is_the_simple_gain() -> None:
    rate = xirr([(date(2023, 3, 1), "-1000"), (date(2024, 2, 29), "1100")])
    assert abs(rate - Decimal("0.1")) < TIGHT  # 365 days, whatever the calendar year holds


def test_xirr_all_on_one_day_has_no_rate() -> None:
    with pytest.raises(NoRateError, match="same time"):
        xirr([(date(2024, 1, 1), "-100"), (date(2024, 1, 1), "100")])


def test_xirr_refuses_a_flow_before_the_first() -> None:
    flows = [*EXCEL_XIRR_FLOWS, (date(2007, 12, 31), "10")]
    with pytest.raises(CalculationError, match=r"flows\[5\]: 2007-12-31 is before"):
        xirr(flows)


@pytest.mark.parametrize(
    ("flows", "error", "match"),
    [
        ([], CalculationError, "at least two"),
        ([(datetime(2024, 1, 1, 9, 30), "-100"), (date(2024, 2, 1), "101")], TypeError, r"\[0\]"),
        ([(date(2024, 1, 1), -100.0), (date(2024, 2, 1), "101")], TypeError, "float"),
        ([(date(2024, 1, 1), "-100"), "2024-02-01"], TypeError, r"flows\[1\]"),
    ],
)
def test_xirr_input_errors(flows: list[object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        xirr(flows)  # type: ignore[arg-type]


# --- rate_of_return and its helpers -----------------------------------------------------------


def test_rate_of_return_with_months_and_odd_days() -> None:
    # 1000 lent; 1100 back after 2 months (2/12 year) and 10 days (10/365 year).
    flows = [TimedFlow("-1000", 0), TimedFlow("1100", 2, 10)]
    with working_precision():
        period = Decimal(1) / 12
        rate = rate_of_return(flows, period=period)
        exponent = 2 * period + Decimal(10) / 365
        assert abs((1 + rate) ** exponent - Decimal("1.1")) < TIGHT


def test_rate_of_return_refuses_a_non_positive_period() -> None:
    with pytest.raises(ValueError, match="period"):
        rate_of_return([TimedFlow("-1", 0), TimedFlow("2", 1)], period=0)


def test_timed_flow_refuses_negative_times() -> None:
    with pytest.raises(ValueError, match="days"):
        TimedFlow("1", 0, -1)


def test_powers_of_matches_direct_powers() -> None:
    base = Decimal("0.9917")
    with working_precision():
        powers = powers_of(base, [0, 3, 3, 12, 360])
        for exponent, power in powers.items():
            assert abs(power - base**exponent) < Decimal("1e-31")
    assert sorted(powers) == [0, 3, 12, 360]


def test_rough_rate_is_simple_interest_between_average_times() -> None:
    assert rough_rate([(Decimal(-100), Decimal(0)), (Decimal(110), Decimal(2))]) == Decimal("0.05")
    assert rough_rate([(Decimal(-100), Decimal(1)), (Decimal(110), Decimal(1))]) == Decimal("0.1")
    assert rough_rate([(Decimal(-100), Decimal(0)), (Decimal(1), Decimal(1))]) == Decimal("-0.5")
    assert rough_rate([(Decimal(100), Decimal(1))]) == Decimal("0.1")


# --- nominal and effective --------------------------------------------------------------------


def test_twelve_percent_compounded_monthly() -> None:
    # (1 + 0.12/12) ** 12 - 1 = 1.01 ** 12 - 1, exactly 0.126825030131969720661201.
    assert nominal_to_effective("0.12", 12) == Decimal("0.126825030131969720661201")


def test_effective_to_nominal_of_a_round_effective_rate() -> None:
    # 10 % effective is 12 * (1.1 ** (1/12) - 1) = 9.569 % nominal, compounded monthly.
    nominal = effective_to_nominal("0.10", 12)
    assert nominal.quantize(Decimal("1e-6")) == Decimal("0.095690")
    with working_precision():
        assert abs((1 + nominal / 12) ** 12 - Decimal("1.1")) < TIGHT


rates = st.decimals(min_value=Decimal("-0.5"), max_value=Decimal("2"), places=6)
frequencies = st.sampled_from([1, 2, 4, 12, 52, 365])


@given(rate=rates, per_year=frequencies)
def test_nominal_effective_round_trip(rate: Decimal, per_year: int) -> None:
    assert abs(effective_to_nominal(nominal_to_effective(rate, per_year), per_year) - rate) < TIGHT
    assert abs(nominal_to_effective(effective_to_nominal(rate, per_year), per_year) - rate) < TIGHT


def test_nominal_effective_input_errors() -> None:
    with pytest.raises(TypeError, match="float"):
        nominal_to_effective(0.12, 12)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="periods_per_year"):
        nominal_to_effective("0.12", True)
    with pytest.raises(ValueError, match="periods_per_year"):
        effective_to_nominal("0.12", 0)
    with pytest.raises(CalculationError, match="wipes out"):
        nominal_to_effective("-12", 12)
    with pytest.raises(CalculationError, match="wipes out"):
        effective_to_nominal("-1", 12)


# --- flat and effective -----------------------------------------------------------------------


def test_hp12c_add_on_rate_example() -> None:
    # HP 12c Solutions Handbook, "Add-On Interest Rate Converted to APR": "a 10% add-on rate
    # for 36 months on $3000 means add one-tenth of $3000 for 3 years (300 x 3) ... for a total
    # of $3900. The monthly payment is $3900/36." The APR is 12 times the monthly rate of that
    # annuity, =12*RATE(36,-3900/36,3000) in a spreadsheet: 0.1791767586...
    rate = flat_to_effective("0.10", 36)
    assert abs(rate - Decimal("0.1791767586046")) < Decimal("1e-13")
    assert abs(level_payment(Decimal(3000), rate / 12, 36) - Decimal(3900) / 36) < TIGHT


def test_flat_rate_in_advance_and_effective_basis() -> None:
    # The same loan paid at the start of each month costs more; quoted as an effective rate.
    nominal = flat_to_effective("0.10", 36, in_advance=True)
    effective = flat_to_effective("0.10", 36, in_advance=True, basis="effective")
    assert nominal > flat_to_effective("0.10", 36)
    with working_precision():
        assert abs((1 + nominal / 12) ** 12 - 1 - effective) < TIGHT
        first = Decimal(3900) / 36  # paid on the day the 3000 is lent
        assert abs(level_payment(3000 - first, nominal / 12, 35) - first) < Decimal("1e-24")


def test_flat_rate_over_one_period_in_arrears_is_the_flat_rate() -> None:
    # One installment of 1 + f/m after one period: the periodic rate is f/m, nominally f.
    assert abs(flat_to_effective("0.12", 1) - Decimal("0.12")) < TIGHT
    assert abs(flat_to_effective("0.12", 1, "quarterly") - Decimal("0.12")) < TIGHT


def test_zero_flat_rate_is_zero() -> None:
    assert abs(flat_to_effective("0", 24)) < TIGHT
    assert effective_to_flat("0", 24) == 0


flat_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.3"), places=4)


@settings(max_examples=60, deadline=None)
@given(
    flat=flat_rates,
    periods=st.integers(min_value=1, max_value=120),
    frequency=st.sampled_from(["monthly", "quarterly", "semiannual", "annual"]),
    in_advance=st.booleans(),
    basis=st.sampled_from(["nominal", "effective"]),
)
def test_flat_effective_round_trip(
    flat: Decimal, periods: int, frequency: str, in_advance: bool, basis: str
) -> None:
    if in_advance and periods == 1:
        periods = 2
    effective = flat_to_effective(flat, periods, frequency, in_advance=in_advance, basis=basis)
    back = effective_to_flat(effective, periods, frequency, in_advance=in_advance, basis=basis)
    assert abs(back - flat) < Decimal("1e-20")
    assert effective >= flat - Decimal("1e-20")  # paying down the balance never makes it cheaper


def test_flat_rate_errors() -> None:
    with pytest.raises(NoRateError, match="single installment paid in advance"):
        flat_to_effective("0.1", 1, in_advance=True)
    with pytest.raises(CalculationError, match="nothing to repay"):
        flat_to_effective("-2", 12)
    with pytest.raises(ValueError, match="basis"):
        flat_to_effective("0.1", 12, basis="apr")
    with pytest.raises(ValueError, match="frequency"):
        effective_to_flat("0.1", 12, "weekly")
    with pytest.raises(TypeError, match="float"):
        flat_to_effective(0.1, 12)  # type: ignore[arg-type]
    with pytest.raises(CalculationError, match="wipes out"):
        effective_to_flat("-1.5", 12, basis="effective")


# --- level annuities (property tests) ---------------------------------------------------------

principals = st.decimals(min_value=Decimal("100"), max_value=Decimal("1000000"), places=2)
annual_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.30"), places=4)
terms = st.integers(min_value=1, max_value=360)


@settings(max_examples=60, deadline=None)
@given(principal=principals, annual=annual_rates, count=terms)
def test_irr_recovers_the_rate_of_a_level_annuity(
    principal: Decimal, annual: Decimal, count: int
) -> None:
    with working_precision():
        periodic = annual / 12
    payment = level_payment(principal, periodic, count)
    rate = irr([-principal, *[payment] * count])
    assert abs(rate * 12 - annual) < Decimal("1e-10")


@settings(max_examples=40, deadline=None)
@given(
    principal=principals,
    annual=annual_rates,
    count=st.integers(min_value=2, max_value=360),
    data=st.data(),
)
def test_irr_rises_when_a_payment_rises(
    principal: Decimal, annual: Decimal, count: int, data: st.DataObject
) -> None:
    with working_precision():
        payment = level_payment(principal, annual / 12, count)
    flows = [-principal, *[payment] * count]
    which = data.draw(st.integers(min_value=1, max_value=count))
    extra = data.draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2))
    raised = [*flows]
    raised[which] += extra
    assert irr(raised) > irr(flows)


# --- the root finder --------------------------------------------------------------------------


def test_find_root_newton_and_secant_agree_on_square_root_of_two() -> None:
    def func(x: Decimal) -> Decimal:
        return x * x - 2

    def slope(x: Decimal) -> Decimal:
        return 2 * x

    with working_precision():
        root_two = Decimal(2).sqrt()
    assert abs(find_root(func, derivative=slope, guess=Decimal(1)) - root_two) < TIGHT
    assert abs(find_root(func, guess=Decimal(1)) - root_two) < TIGHT


def test_find_root_survives_where_plain_newton_diverges() -> None:
    # f(x) = d / (1 + |d|), d = x - 0.3: from x = 2.3 Newton steps to -3.7, then -36, ... away.
    def func(x: Decimal) -> Decimal:
        d = x - Decimal("0.3")
        return d / (1 + abs(d))

    def slope(x: Decimal) -> Decimal:
        return 1 / (1 + abs(x - Decimal("0.3"))) ** 2

    root = find_root(func, derivative=slope, guess=Decimal("2.3"))
    assert abs(root - Decimal("0.3")) < TIGHT


def test_find_root_converges_on_a_triple_root() -> None:
    # Newton is only linear here; the safeguard keeps bisecting the bracket.
    root = find_root(
        lambda x: (x - Decimal("0.2")) ** 3, derivative=lambda x: 3 * (x - Decimal("0.2")) ** 2
    )
    assert abs(root - Decimal("0.2")) < Decimal("1e-20")


def test_find_root_without_a_sign_change() -> None:
    with pytest.raises(NoRateError, match="never changes sign"):
        find_root(lambda x: x * x + 1, guess=Decimal("0.1"))


def test_find_root_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="guess"):
        find_root(lambda x: x, guess=Decimal(-1))
    with pytest.raises(ValueError, match="tolerance"):
        find_root(lambda x: x, tolerance=Decimal(0))


def test_find_root_returns_an_exact_guess_or_bracket_point() -> None:
    assert find_root(lambda x: x - Decimal("0.1")) == Decimal("0.1")
    # The first upward step from 0.1 is 0.05, landing on the root itself.
    assert find_root(lambda x: x - Decimal("0.15")) == Decimal("0.15")
