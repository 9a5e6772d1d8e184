"""Amounts, rates, instants and JSON come back from both databases exactly as they went in.

The rule under test (see ``leasekit.store.types``): a decimal keeps its value *and* its scale
(``0.10`` stays ``0.10``); the only rewriting is the canonical form both databases share,
positive exponents written out (``1E+2`` → ``100``) and negative zero stored as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from leasekit.domain.applications import RequestedTerms
from leasekit.domain.credit_limits import CreditLimit
from leasekit.money import Money
from leasekit.store.database import create_engine
from leasekit.store.types import (
    CanonicalJson,
    CanonicalText,
    ExactDecimal,
    UtcDateTime,
    canonical_decimal,
    canonical_json,
)
from leasekit.store.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from tests.store.conftest import Build

scratch = sa.MetaData()
values = sa.Table(
    "scratch_values",
    scratch,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", ExactDecimal()),
    sa.Column("at", UtcDateTime()),
    sa.Column("doc", CanonicalJson()),
)

EXTREME = [
    "0",
    "0.00",
    "0.01",
    "-0.01",
    "0.10",
    "100.000",
    "99999999999999999999.99",
    "-99999999999999999999.99",
    "1E-28",
    "-1E-28",
    "0.0599",
    "0.000000000000000000000000000001",
    "1234567890123456789012345678901234",
    "1.234567890123456789012345678901234",
    "-123456789012345678901234567890.1234",
    "79228162514264337593543950335",
]


@pytest.fixture
def table(engine: Engine) -> Iterator[sa.Table]:
    scratch.create_all(engine)
    yield values
    scratch.drop_all(engine)


def round_trip(engine: Engine, column: str, value: object) -> object:
    """Store *value* in *column* of a new scratch row and read it back in a new connection."""
    with engine.begin() as connection:
        row_id = connection.execute(sa.insert(values).values({column: value})).inserted_primary_key
    with engine.connect() as connection:
        return connection.scalar(sa.select(values.c[column]).where(values.c.id == row_id[0]))


def assert_same_decimal(loaded: object, expected: Decimal) -> None:
    assert isinstance(loaded, Decimal)
    assert loaded == expected
    assert loaded.as_tuple() == expected.as_tuple(), (loaded, expected)


@pytest.mark.parametrize("text", EXTREME)
def test_exact_decimal_keeps_value_and_scale(engine: Engine, table: sa.Table, text: str) -> None:
    assert_same_decimal(round_trip(engine, "amount", Decimal(text)), Decimal(text))


@pytest.mark.parametrize(
    ("given", "stored"),
    [("1E+2", "100"), ("-0.00", "0.00"), ("-0", "0"), ("1.5E+3", "1500"), ("-1E-28", "-1E-28")],
)
def test_exact_decimal_stores_the_canonical_form_on_both_databases(
    engine: Engine, table: sa.Table, given: str, stored: str
) -> None:
    assert_same_decimal(round_trip(engine, "amount", Decimal(given)), Decimal(stored))


def test_ints_are_exact_too(engine: Engine, table: sa.Table) -> None:
    assert_same_decimal(round_trip(engine, "amount", 10**30), Decimal(10**30))


@pytest.mark.parametrize(
    "value",
    [0.1, 1.0, True, "1.00", Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Inf")],
    ids=repr,
)
def test_exact_decimal_refuses_what_is_not_an_exact_finite_number(
    engine: Engine, table: sa.Table, value: object
) -> None:
    with pytest.raises(StatementError) as caught:
        round_trip(engine, "amount", value)
    assert isinstance(caught.value.orig, TypeError | ValueError)


def test_sqlite_holds_amounts_as_canonical_text(tmp_path: Path) -> None:
    """What SQLite really stores: text, never a REAL that would have turned 0.10 into 0.1."""
    engine = create_engine(f"sqlite:///{tmp_path / 'raw.db'}")
    try:
        scratch.create_all(engine)
        round_trip(engine, "amount", Decimal("0.10"))
        with engine.connect() as connection:
            raw = connection.exec_driver_sql("SELECT amount, typeof(amount) FROM scratch_values")
            assert raw.one() == ("0.10", "text")
    finally:
        engine.dispose()


def _decimal(sign: int, digits: tuple[int, ...], exponent: int) -> Decimal:
    return Decimal((sign, digits, exponent))


decimals_up_to_34_digits = st.builds(
    _decimal,
    st.sampled_from([0, 1]),
    st.lists(st.integers(0, 9), min_size=1, max_size=34).map(tuple),
    st.integers(-40, 10),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(value=decimals_up_to_34_digits)
def test_any_decimal_of_up_to_34_digits_round_trips(
    engine: Engine, table: sa.Table, value: Decimal
) -> None:
    loaded = round_trip(engine, "amount", value)
    assert loaded == value
    assert_same_decimal(loaded, canonical_decimal(value))
    if value.as_tuple().exponent <= 0 and not (value.is_zero() and value.is_signed()):
        assert_same_decimal(loaded, value)


def test_money_and_rates_round_trip_through_the_entity_tables(
    uow_factory: Callable[[], SqlUnitOfWork], build: Build
) -> None:
    """The extremes a lender meets, through the real repositories: the largest and smallest
    cents, a rate of 1E-28 and a price of 34 significant digits."""
    partner = build.partner()
    account = CreditLimit.open(
        partner.id, Money("99999999999999999999.99", "CNY"), partner.created_at
    )
    terms = RequestedTerms(
        vehicle_price=Money("12345678901234567890123456789012.34", "CNY"),
        down_payment=Money("0.01", "CNY"),
        term_months=120,
        annual_rate=Decimal("1E-28"),
        residual_value=Money("0.00", "CNY"),
    )
    customer, vehicle = build.customer(), build.vehicle()
    application = build.application(partner, customer, vehicle, terms)
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.credit_limits.add(account)
        uow.customers.add(customer)
        uow.vehicles.add(vehicle)
        uow.applications.add(application)
        uow.commit()
    with uow_factory() as uow:
        limit = uow.credit_limits.get(partner.id).total
        loaded = uow.applications.get(application.id).requested
    assert limit == account.total
    assert_same_decimal(limit.amount, Decimal("99999999999999999999.99"))
    assert loaded == terms
    assert_same_decimal(loaded.vehicle_price.amount, Decimal("12345678901234567890123456789012.34"))
    assert_same_decimal(loaded.down_payment.amount, Decimal("0.01"))
    assert_same_decimal(loaded.annual_rate, Decimal("1E-28"))
    assert loaded.residual_value is not None
    assert_same_decimal(loaded.residual_value.amount, Decimal("0.00"))


def test_utc_datetime_returns_the_same_instant_in_utc(engine: Engine, table: sa.Table) -> None:
    shanghai = timezone(timedelta(hours=8))
    sent = datetime(2026, 3, 2, 17, 30, 15, 123456, tzinfo=shanghai)
    loaded = round_trip(engine, "at", sent)
    assert loaded == sent
    assert isinstance(loaded, datetime)
    assert loaded.tzinfo == UTC
    assert loaded.microsecond == 123456


def test_utc_datetime_refuses_a_naive_datetime(engine: Engine, table: sa.Table) -> None:
    with pytest.raises(StatementError) as caught:
        round_trip(engine, "at", datetime(2026, 3, 2, 9, 30))
    assert isinstance(caught.value.orig, ValueError)


def test_canonical_json_is_stored_sorted_and_compact(engine: Engine, table: sa.Table) -> None:
    document = {"b": [1, "二", None], "a": {"z": True, "y": "0.10"}}
    assert round_trip(engine, "doc", document) == document
    with engine.connect() as connection:
        raw = connection.execute(sa.text("SELECT doc FROM scratch_values")).scalar_one()
    assert raw == '{"a":{"y":"0.10","z":true},"b":[1,"二",null]}'


def test_canonical_text_is_stored_as_it_is(engine: Engine, table: sa.Table) -> None:
    """Text serialised once for several rows is not serialised again (as a JSON string)."""
    flat = {"b": '二 "quoted"\n', "a": 3, "c": None, "d": False}
    text = CanonicalText.of_flat(flat)
    assert text == canonical_json(flat)
    assert round_trip(engine, "doc", text) == flat
    with engine.connect() as connection:
        raw = connection.execute(sa.text("SELECT doc FROM scratch_values")).scalar_one()
    assert raw == text


@pytest.mark.parametrize("document", [{"rate": 0.05}, {"when": datetime(2026, 1, 1)}, {1: "x"}])
def test_canonical_json_refuses_values_it_cannot_keep_exact(
    engine: Engine, table: sa.Table, document: object
) -> None:
    with pytest.raises(StatementError) as caught:
        round_trip(engine, "doc", document)
    assert isinstance(caught.value.orig, TypeError)
