"""Exact ``Decimal`` round trips through PostgreSQL ``numeric``.

These pin what the storage layer will rely on: amounts and rates leave and come back from
PostgreSQL with the same value and the same scale, over both of psycopg's transfer formats,
and a ``numeric(p, s)`` column rounds the way :data:`leasekit.money.HALF_UP` does instead of
truncating.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import hypothesis.strategies as st
import psycopg
import pytest
from hypothesis import given
from psycopg import sql

from leasekit.money import HALF_UP, Money

pytestmark = pytest.mark.postgres

TRANSFER_FORMATS = [
    pytest.param(False, id="text"),
    pytest.param(True, id="binary"),
]

EXTREME_VALUES = [
    "0",
    "0.00",
    "0.01",
    "-0.01",
    "99999999999999.99",
    "-99999999999999.99",
    "0.000000000001",
    "-0.000000000001",
    "0.000000000001234567890123",
    "1E-30",
    "0.1000000000000000000000000000001",
    "1234567890123456.123456789012345678",
    "-123456789012345678901234567890.123456789",
    "79228162514264337593543950335",
]


@pytest.fixture(scope="module")
def connection(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One connection per module; every round trip runs in a transaction that is rolled back."""
    with psycopg.connect(postgres_url) as conn:
        yield conn


def round_trip(
    conn: psycopg.Connection[tuple[object, ...]],
    value: Decimal,
    column_type: str = "numeric",
    *,
    binary: bool = False,
) -> object:
    """Store *value* in a temporary *column_type* column and read it back.

    *binary* selects psycopg's binary format for both the parameter and the result, so the
    two code paths of the driver are covered separately.
    """
    placeholder = sql.SQL("%b" if binary else "%t")
    create = sql.SQL("CREATE TEMPORARY TABLE held (value {})").format(sql.SQL(column_type))
    insert = sql.SQL("INSERT INTO held (value) VALUES ({})").format(placeholder)
    with conn.transaction(force_rollback=True), conn.cursor(binary=binary) as cur:
        cur.execute(create)
        cur.execute(insert, [value])
        cur.execute("SELECT value FROM held")
        row = cur.fetchone()
    assert row is not None
    return row[0]


def assert_exact(loaded: object, sent: Decimal) -> None:
    """Same type, same value and same scale: ``0.10`` must not come back as ``0.1``."""
    assert isinstance(loaded, Decimal), f"numeric came back as {type(loaded).__name__}"
    assert loaded == sent
    assert loaded.as_tuple().exponent == sent.as_tuple().exponent, (loaded, sent)


@pytest.mark.parametrize("binary", TRANSFER_FORMATS)
@pytest.mark.parametrize("text", EXTREME_VALUES)
def test_unconstrained_numeric_keeps_value_and_scale(
    connection: psycopg.Connection[tuple[object, ...]], text: str, binary: bool
) -> None:
    value = Decimal(text)
    assert_exact(round_trip(connection, value, binary=binary), value)


@pytest.mark.parametrize("binary", TRANSFER_FORMATS)
@pytest.mark.parametrize("text", ["0.01", "-0.01", "99999999999999.99", "-99999999999999.99"])
def test_money_column_holds_largest_and_smallest_cents(
    connection: psycopg.Connection[tuple[object, ...]], text: str, binary: bool
) -> None:
    value = Decimal(text)
    assert_exact(round_trip(connection, value, "numeric(16, 2)", binary=binary), value)


@pytest.mark.parametrize("binary", TRANSFER_FORMATS)
@pytest.mark.parametrize("text", ["0.000000000001", "-0.000000000001", "0.065000000000"])
def test_rate_column_holds_twelve_decimal_places(
    connection: psycopg.Connection[tuple[object, ...]], text: str, binary: bool
) -> None:
    value = Decimal(text)
    assert_exact(round_trip(connection, value, "numeric(30, 12)", binary=binary), value)


def test_money_column_refuses_an_amount_too_large_rather_than_truncating(
    connection: psycopg.Connection[tuple[object, ...]],
) -> None:
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        round_trip(connection, Decimal("100000000000000.00"), "numeric(16, 2)")


@pytest.mark.parametrize("text", ["0.005", "-0.005", "0.015", "2.675", "-2.675", "10.0049999"])
def test_money_column_rounds_like_half_up(
    connection: psycopg.Connection[tuple[object, ...]], text: str
) -> None:
    """If an unquantized amount ever reaches a ``numeric(16, 2)`` column, PostgreSQL rounds ties
    away from zero, which is what HALF_UP does: the database cannot disagree with the books."""
    expected = Money(text, "USD").quantize(HALF_UP).amount
    assert round_trip(connection, Decimal(text), "numeric(16, 2)") == expected


plain_decimals = st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True).map(Decimal)


@pytest.mark.parametrize("binary", TRANSFER_FORMATS)
@given(value=plain_decimals)
def test_any_forty_digit_decimal_round_trips(
    connection: psycopg.Connection[tuple[object, ...]], binary: bool, value: Decimal
) -> None:
    assert_exact(round_trip(connection, value, binary=binary), value)
