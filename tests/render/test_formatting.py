"""Figures are written from their Decimal, to the currency's minor unit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from leasekit.render.formatting import amount_text, date_text, percent_text


@pytest.mark.parametrize(
    ("value", "code", "text"),
    [
        (Decimal("1234567.8"), "USD", "1,234,567.80"),
        (Decimal("0"), "CNY", "0.00"),
        (Decimal("-1000.05"), "EUR", "-1,000.05"),
        (Decimal("12345678901234567.89"), "USD", "12,345,678,901,234,567.89"),
        (Decimal("1500000"), "JPY", "1,500,000"),
        (Decimal("0.005"), "USD", "0.01"),
    ],
)
def test_amounts(value: Decimal, code: str, text: str) -> None:
    assert amount_text(value, code) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("6.5"), "6.50%"), (Decimal("6.87"), "6.87%"), (Decimal("6.125"), "6.125%")],
)
def test_percentages_keep_their_disclosed_digits(value: Decimal, text: str) -> None:
    assert percent_text(value) == text


def test_dates_are_iso() -> None:
    assert date_text(date(2027, 1, 5)) == "2027-01-05"
