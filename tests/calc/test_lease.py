from __future__ import annotations

from decimal import Decimal as D

import pytest

from leasekit import calc
from leasekit.errors import LeasekitError


def test_lease_payment_by_hand():
    # Net capitalized cost 30,000 − 2,000 = 28,000; residual 16,000; 36 months; 6 % a year.
    # Depreciation (28,000 − 16,000) / 36 = 333.33; rent charge (28,000 + 16,000) × 0.0025 =
    # 110.00; base 443.33; 7 % use tax 31.03; monthly payment 474.36.
    lp = calc.lease_payment(
        cap_cost=D("30000"),
        cap_cost_reduction=D("2000"),
        residual=D("16000"),
        term=36,
        annual_rate=D("0.06"),
        tax_rate=D("0.07"),
    )
    assert lp.money_factor == D("0.0025")
    assert (lp.depreciation, lp.rent_charge, lp.base_payment) == (
        D("333.33"),
        D("110.00"),
        D("443.33"),
    )
    assert lp.tax == D("31.03")
    assert lp.payment == D("474.36")
    # Regulation M totals reconcile: 36 × 443.33 = 15,959.88 of base payments, of which
    # 12,000.00 is depreciation and 3,959.88 rent charge (the monthly roundings land there).
    assert lp.total_of_base_payments == D("15959.88")
    assert lp.total_depreciation == D("12000.00")
    assert lp.total_rent_charge == D("3959.88")


def test_money_factor_round_trip():
    assert calc.money_factor(D("0.06")) == D("0.0025")
    assert calc.rate_from_money_factor(D("0.00125")) == D("0.03")
    lp = calc.lease_payment(cap_cost="20000", residual="10000", term=24, money_factor="0.00125")
    assert lp.rent_charge == D("37.50")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"money_factor": "0.002", "annual_rate": "0.05"}, "exactly one of"),
        ({}, "exactly one of"),
        ({"annual_rate": "0.05", "residual": "40000"}, "residual: must be between"),
        ({"annual_rate": "0.05", "term": 0}, "term: must be at least 1"),
        ({"annual_rate": 0.05}, "annual_rate: float"),
        ({"annual_rate": "0.05", "cap_cost": "30000.555"}, "cap_cost: 30000.555 has more"),
    ],
)
def test_lease_rejects(kwargs, message):
    args = {"cap_cost": "30000", "residual": "15000", "term": 36} | kwargs
    with pytest.raises((LeasekitError, TypeError), match=message):
        calc.lease_payment(**args)
