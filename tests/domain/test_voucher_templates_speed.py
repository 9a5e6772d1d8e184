"""Linear amounts evaluated from their coefficients agree exactly with rule-engine: on random
expressions and payloads, and on every line of the default templates, which all take the
fast way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.domain import voucher_templates
from leasekit.domain.bookings import default_accounting
from leasekit.domain.identity import Actor
from leasekit.domain.voucher_templates import (
    DEFAULT_TEMPLATES,
    EVENT_TYPES,
    EventFacts,
    TemplateVersion,
    _compiled,
    _linear_amount,
)

FIELDS = tuple(EVENT_TYPES["payment_reversed"].amounts)
DIVISORS = ("2", "3", "4", "5", "7", "8", "0.5", "1.25", "12")
AT = datetime(2026, 1, 5, 9, tzinfo=UTC)

amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)
constants = st.decimals(min_value=Decimal(-1000), max_value=Decimal(1000), places=3).map(str)
leaves = st.sampled_from(FIELDS) | constants.map(lambda c: f"({c})")


def _grown(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return (
        st.tuples(inner, st.sampled_from(["+", "-"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        | st.tuples(inner, constants).map(lambda t: f"({t[0]} * {t[1]})")
        | st.tuples(inner, st.sampled_from(DIVISORS)).map(lambda t: f"({t[0]} / {t[1]})")
        | st.tuples(inner, inner).map(lambda t: f"({t[0]} * {t[1]})")
        | inner.map(lambda e: f"-{e}")
    )


expressions = st.recursive(leaves, _grown, max_leaves=8)
payloads = st.fixed_dictionaries(dict.fromkeys(FIELDS, amounts))


@settings(deadline=None)  # compiling an expression the first time is slow on a busy machine
@given(expressions, payloads)
def test_a_linear_amount_evaluates_to_what_rule_engine_computes(
    expression: str, values: dict[str, Decimal]
) -> None:
    linear = _linear_amount(expression, "payment_reversed")
    fast = None if linear is None else linear.evaluate(values)
    if fast is not None:
        assert fast == _compiled(expression, "payment_reversed").evaluate(values)


def test_a_division_that_does_not_terminate_is_left_to_rule_engine() -> None:
    assert _linear_amount("amount / 3", "payment_received") is None
    assert _linear_amount("amount / 3 * 3", "payment_received") is None
    assert _linear_amount("amount * amount", "payment_received") is None
    assert _linear_amount("amount / 2 ** 200", "payment_received") is None
    assert _linear_amount("(amount + credit) / 2.5", "payment_allocated") is not None


@pytest.mark.parametrize("data", DEFAULT_TEMPLATES, ids=lambda data: str(data["name"]))
def test_every_default_line_is_evaluated_from_its_coefficients(data: dict[str, object]) -> None:
    template = TemplateVersion.from_mapping(data)
    assert all(_linear_amount(line.amount, template.event_type) for line in template.lines)


@settings(deadline=None)
@given(st.sampled_from(DEFAULT_TEMPLATES), st.data())
def test_a_template_books_the_same_voucher_either_way(
    data: dict[str, object], draw: st.DataObject
) -> None:
    template = TemplateVersion.from_mapping(data)
    event = EVENT_TYPES[template.event_type]
    magnitude = st.decimals(min_value=0, max_value=Decimal("1e9"), places=2)
    values = {
        field: str(draw.draw(magnitude) * (-1 if sign == "negative" else 1))
        for field, sign in event.amounts.items()
    }
    facts = EventFacts(
        template.event_type, "key-1", date(2026, 1, 5),
        {**values, "currency": "CNY", "contract_id": "c-1", "subject_id": "c-1"},
    )  # fmt: skip
    chart = default_accounting().chart
    booked = _book(template, facts, chart)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voucher_templates, "_linear_amount", lambda expression, event_type: None)
        slow = _book(template, facts, chart)
    assert booked == slow


def _book(template: TemplateVersion, facts: EventFacts, chart: object) -> object:
    """The booking's lines and dimensions (its id is new each time), or the error's text."""
    try:
        booking = voucher_templates.book(
            template,
            facts,
            chart,
            actor=Actor.system(),
            at=AT,  # type: ignore[arg-type]
        )
    except voucher_templates.BookingError as exc:
        return str(exc)
    if booking is None:
        return None
    return (booking.voucher.lines, booking.dimensions, booking.template, booking.version)
