"""The converter: strict inbound, exact outbound, every bad field named."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.domain.disbursements import Payee
from leasekit.domain.partner_profiles import BankAccount
from leasekit.errors import ValidationError
from leasekit.money import CURRENCIES, Money
from leasekit.server.payloads import make_converter, structure

from ..store.conftest import Build


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Line:
    amount: Money
    note: str | None = None


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if value <= 0:
        raise ValidationError.single(attribute.name, "must be positive")


@attrs.frozen
class Order:
    name: str
    count: int = attrs.field(validator=_positive)
    urgent: bool
    rate: Decimal
    day: date
    colour: Colour
    lines: list[Line]
    tags: frozenset[str] = frozenset()
    history: tuple[date, ...] = ()
    options: dict[str, str] = attrs.field(factory=dict)
    at: datetime | None = None


GOOD: dict[str, Any] = {
    "name": "Li Lei",
    "count": 2,
    "urgent": False,
    "rate": "0.0650",
    "day": "2024-02-29",
    "colour": "red",
    "lines": [{"amount": {"amount": "30000.00", "currency": "CNY"}, "note": None}],
    "tags": ["a"],
    "history": ["2024-01-31"],
    "options": {"k": "v"},
    "at": "2024-03-01T08:00:00+08:00",
}


@pytest.fixture(scope="module")
def converter() -> cattrs.Converter:
    return make_converter()


def errors(converter: cattrs.Converter, data: object, cls: type = Order) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        structure(converter, data, cls)
    return {error.field: error.message for error in caught.value.errors}


def bad(**changes: Any) -> dict[str, Any]:
    return GOOD | changes


def test_a_good_payload_round_trips_exactly(converter: cattrs.Converter) -> None:
    order = structure(converter, GOOD, Order)
    assert order.rate == Decimal("0.0650")
    assert str(order.rate) == "0.0650"
    assert order.lines[0].amount == Money(Decimal("30000.00"), CURRENCIES["CNY"])
    assert order.colour is Colour.RED
    assert order.tags == frozenset({"a"})
    assert order.history == (date(2024, 1, 31),)
    assert order.at == datetime(2024, 3, 1, tzinfo=UTC)
    out = converter.unstructure(order)
    assert json.loads(json.dumps(out)) == GOOD | {"at": "2024-03-01T00:00:00+00:00"}


def test_decimals_are_written_without_exponents(converter: cattrs.Converter) -> None:
    assert converter.unstructure(Decimal("1E+3")) == "1000"
    assert converter.unstructure(Decimal("0.00000001")) == "0.00000001"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.065, 'write the number as a string, e.g. "0.065", so that it stays exact'),
        (1, 'write the number as a string, e.g. "1", so that it stays exact'),
        ("NaN", "expected a decimal number such as \"12.34\", got 'NaN'"),
        ("Infinity", "expected a decimal number such as \"12.34\", got 'Infinity'"),
        ("1e3", "expected a decimal number such as \"12.34\", got '1e3'"),
        (" 1", "expected a decimal number such as \"12.34\", got ' 1'"),
        # Python's $ matches before a final newline; the schema's pattern does not.
        ("1.5\n", "expected a decimal number such as \"12.34\", got '1.5\\n'"),
        (None, "expected a decimal number as a string, got null"),
        (True, "expected a decimal number as a string, got a boolean"),
    ],
)
def test_decimals_must_be_exact_strings(
    converter: cattrs.Converter, value: object, message: str
) -> None:
    assert errors(converter, bad(rate=value)) == {"rate": message}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", 5, "expected a string, got a number"),
        ("count", "2", "expected an integer, got a string"),
        ("count", 2.0, "expected an integer, got a number"),
        ("count", True, "expected an integer, got a boolean"),
        ("urgent", "false", "expected true or false, got a string"),
        ("urgent", 0, "expected true or false, got a number"),
        ("day", "2024-02-30", "'2024-02-30' is not a date: day is out of range for month"),
        ("day", "20240229", "expected a date as YYYY-MM-DD, got '20240229'"),
        ("day", "2024-02-29\n", "expected a date as YYYY-MM-DD, got '2024-02-29\\n'"),
        ("colour", "blue", "expected one of red, green, got 'blue'"),
        ("colour", 1, "expected one of red, green, got a number"),
        ("tags", "abc", "expected an array, got a string"),
        ("lines", {"0": {}}, "expected an array, got an object"),
        ("options", ["k"], "expected an object, got an array"),
        (
            "at",
            "2024-03-01T08:00:00",
            "'2024-03-01T08:00:00' has no UTC offset; add one, e.g. Z or +08:00",
        ),
        ("at", "yesterday", "expected a date and time in ISO 8601, got 'yesterday'"),
    ],
)
def test_values_are_not_coerced(
    converter: cattrs.Converter, field: str, value: object, message: str
) -> None:
    assert errors(converter, bad(**{field: value})) == {field: message}


def test_every_bad_field_is_named_by_its_path(converter: cattrs.Converter) -> None:
    payload = bad(
        lines=[
            {"amount": {"amount": "1", "currency": "CNY"}},
            {"amount": {"amount": 1.5, "currency": "XXX", "rate": "1"}, "nte": "typo"},
            "not an object",
        ],
        history=["2024-01-01", "soon"],
        options={"k": 1},
        surplus=1,
    )
    assert errors(converter, payload) == {
        "lines[1].amount.rate": "unknown field",
        "lines[1].amount.amount": (
            'write the number as a string, e.g. "1.5", so that it stays exact'
        ),
        "lines[1].amount.currency": (
            f"expected an ISO 4217 currency code ({', '.join(sorted(CURRENCIES))}), got 'XXX'"
        ),
        "lines[1].nte": "unknown field",
        "lines[2]": "expected an object, got a string",
        "history[1]": "expected a date as YYYY-MM-DD, got 'soon'",
        "options.k": "expected a string, got a number",
        "surplus": "unknown field",
    }


def test_missing_fields_are_each_required(converter: cattrs.Converter) -> None:
    assert errors(converter, {"lines": [{}]}) == {
        "name": "this field is required",
        "count": "this field is required",
        "urgent": "this field is required",
        "rate": "this field is required",
        "day": "this field is required",
        "colour": "this field is required",
        "lines[0].amount": "this field is required",
    }


def test_money_needs_both_parts(converter: cattrs.Converter) -> None:
    payload = bad(lines=[{"amount": {}}])
    assert errors(converter, payload) == {
        "lines[0].amount.amount": "this field is required",
        "lines[0].amount.currency": "this field is required",
    }


def test_a_class_validation_error_keeps_its_field_under_the_path(
    converter: cattrs.Converter,
) -> None:
    assert errors(converter, bad(count=0)) == {"count": "must be positive"}


@attrs.frozen
class Term:
    months: int = attrs.field(validator=attrs.validators.gt(0))


@attrs.frozen
class Plan:
    term: Term


def test_an_attrs_validator_message_is_kept(converter: cattrs.Converter) -> None:
    assert errors(converter, {"term": {"months": 0}}, Plan) == {"term": "'months' must be > 0: 0"}


@pytest.mark.parametrize("body", [[], None, "text", 3])
def test_a_body_that_is_not_an_object_is_named_dollar(
    converter: cattrs.Converter, body: object
) -> None:
    (field,) = errors(converter, body)
    assert field == "$"


def test_sequences_and_mappings_by_abstract_type(converter: cattrs.Converter) -> None:
    @attrs.frozen
    class Abstract:
        items: Sequence[int]
        names: Mapping[str, Decimal]

    value = structure(converter, {"items": [1, 2], "names": {"a": "1.5"}}, Abstract)
    assert value.items == (1, 2)
    assert value.names == {"a": Decimal("1.5")}
    assert converter.unstructure(value) == {"items": [1, 2], "names": {"a": "1.5"}}


# --- every request the API reads, fed anything JSON can say ---------------------------------

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


def _api_classes() -> list[type]:
    """Every class the API structures from a body or a query string."""
    from leasekit.server.app import API

    found = {
        cls
        for group in API
        for operation in group.operations
        for cls in (operation.body, operation.query)
        if attrs.has(cls)
    }
    return sorted(found, key=lambda cls: cls.__qualname__)


def _shaped_like(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with *cls*'s field names (some left out) holding any JSON values: past the
    first check, into every field's own conversion."""
    names = [field.name for field in attrs.fields(cls)]
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, _JSON))


@pytest.mark.parametrize("cls", _api_classes(), ids=lambda cls: cls.__qualname__)
@given(data=st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_is_a_request_or_a_validation_error(
    converter: cattrs.Converter, cls: type, data: st.DataObject
) -> None:
    value = data.draw(_JSON | _shaped_like(cls))
    try:
        structure(converter, value, cls)
    except ValidationError as exc:
        refusal = exc
    else:
        return
    assert refusal.errors, "a refusal names at least one field"
    assert all(isinstance(error.field, str) and error.message for error in refusal.errors)


def test_the_accounts_a_payout_pays_into_leave_masked(converter: cattrs.Converter) -> None:
    """A payout's payee and a sale-leaseback seller's account show their last four
    characters; a partner's own settlement accounts are not touched here."""
    account = BankAccount(scheme="iban", holder="Zhang Wei", bank_name="Deutsche Bank",
                          iban="DE89370400440532013000", bic="DEUTDEFF")  # fmt: skip
    assert converter.unstructure(account)["iban"] == "DE89370400440532013000"
    payee = converter.unstructure(Payee("Sunrise Motors", "6222020200112233446", "ICBC"))
    assert payee["account"] == "****3446"
    build = Build()
    partner = build.partner()
    application = build.application(
        partner, build.customer(partner.id), build.vehicle(partner.id), build.terms()
    )
    contract = converter.unstructure(build.contract(application))
    assert contract["seller_account"]["iban"] == "****3000"
    assert contract["seller_account"]["bic"] == "DEUTDEFF"
