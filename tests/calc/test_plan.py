from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit import calc
from leasekit.calc import Fee
from leasekit.errors import LeasekitError

START = date(2024, 1, 15)


def plan(**overrides):
    args = {
        "vehicle_price": D("30000"),
        "annual_rate": D("0.065"),
        "periods": 36,
        "start_date": START,
        "down_payment": "20%",
        "residual": "25%",
    }
    args.update(overrides)
    return calc.financing_plan(**args)


def test_percentages_are_of_the_vehicle_price():
    p = plan()
    assert p.down_payment == D("6000.00")
    assert p.residual_value == D("7500.00")
    assert p.principal == D("24000.00")
    assert p.schedule.rows[-1].balance == D("7500.00")


def test_apr_equals_the_note_rate_without_fees():
    p = plan()
    assert p.apr.quantize(D("0.0001")) == D("6.5000")
    assert p.amount_financed == p.principal
    assert p.finance_charge == p.total_of_payments - p.principal


def test_financed_service_fee_raises_the_apr_but_not_the_amount_financed():
    fee = Fee("service", D("500"), financed=True)
    p = plan(fees=[fee])
    assert p.principal == D("24500.00")
    assert p.amount_financed == D("24000.00")  # 12 CFR 1026.18(b): prepaid finance charge out
    assert p.apr > D("6.5")
    assert p.finance_charge == p.total_of_payments - D("24000.00")


def test_fee_that_is_not_a_finance_charge_leaves_the_apr_alone():
    gps = Fee("gps", D("300"), financed=True, finance_charge=False)
    p = plan(fees=[gps])
    assert p.amount_financed == p.principal == D("24300.00")
    assert p.apr.quantize(D("0.0001")) == D("6.5000")


def test_upfront_fees_and_deposit_are_due_at_signing():
    p = plan(
        fees=[Fee("documentation", D("150")), Fee("registration", D("90"), finance_charge=False)],
        security_deposit=D("600"),
    )
    assert p.upfront_fees == D("240.00")
    assert p.due_at_signing == D("6000.00") + D("240.00") + D("600.00")
    assert p.amount_financed == D("24000.00") - D("150.00")
    assert p.final_payment == p.schedule.rows[-1].payment + D("7500.00") - D("600.00")
    assert p.total_cost == p.down_payment + p.upfront_fees + p.total_of_payments


def test_in_advance_first_installment_is_due_at_signing():
    p = plan(in_advance=True)
    assert p.due_at_signing == D("6000.00") + p.schedule.rows[0].payment


def test_eu_convention_gives_the_effective_annual_rate():
    p = plan(apr_convention="eu")
    # A nominal 6.5 % compounded monthly is (1 + 0.065/12)**12 - 1 = 6.6972 % effective.
    assert p.apr.quantize(D("0.01")) == D("6.70")


def test_currency_digits_are_respected():
    p = plan(vehicle_price="3000000", currency_code="JPY", down_payment="10%", residual="0")
    assert p.down_payment == D("300000")
    assert p.schedule.payment == p.schedule.payment.to_integral_value()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vehicle_price": "30000.001"}, "vehicle_price: 30000.001 has more decimal places"),
        ({"vehicle_price": 30000.0}, "vehicle_price: float"),
        ({"vehicle_price": "0"}, "vehicle_price: must be positive"),
        ({"down_payment": "100%"}, "down_payment: must be at least 0 and below the price"),
        ({"down_payment": "abc%"}, "down_payment: 'abc' is not a decimal number"),
        ({"security_deposit": "-1"}, "security_deposit: must not be negative"),
        ({"fees": [Fee("gps", "10.005")]}, r"fees\[gps\]: 10.005 has more decimal places"),
        ({"fees": [Fee("x", D("24000"))]}, "leave no amount financed"),
        ({"apr_convention": "uk"}, "convention: 'uk' is not one of"),
    ],
)
def test_bad_input_names_the_field(overrides, message):
    with pytest.raises((LeasekitError, TypeError, ValueError), match=message):
        plan(**overrides)


def test_negative_fee_refused():
    with pytest.raises(LeasekitError, match=r"fees\[x\]: amount must not be negative"):
        Fee("x", D("-1"))


@settings(max_examples=150, deadline=None)
@given(
    principal=st.integers(min_value=10_000, max_value=2_000_000).map(D),
    bp=st.integers(min_value=0, max_value=3000),
    periods=st.integers(min_value=6, max_value=120),
    balloon_share=st.integers(min_value=0, max_value=40),
    in_advance=st.booleans(),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
)
def test_apr_of_a_generated_schedule_gives_back_its_rate(
    principal, bp, periods, balloon_share, in_advance, start
):
    """Regulation Z's actuarial APR of a schedule's own cash flows is its nominal rate, up to
    what rounding each installment to the cent moves it (well under a basis point here)."""
    rate = D(bp) / 10000
    s = calc.schedule(
        principal=principal,
        annual_rate=rate,
        periods=periods,
        start_date=start,
        balloon=(principal * balloon_share / 100).quantize(D("0.01")),
        in_advance=in_advance,
    )
    got = calc.apr(advances=[(start, principal)], payments=s.cash_flows()) / 100
    assert abs(got - rate) < D("0.0001")
    # Counted in whole months, as Regulation Z counts them, the EU APRC of the same flows is
    # the effective rate of that nominal monthly rate.
    eu = calc.apr(
        advances=[(start, principal)],
        payments=s.cash_flows(),
        convention="eu",
        time_basis="months",
    )
    assert abs(eu / 100 - calc.nominal_to_effective(got, 12)) < D("1e-20")
