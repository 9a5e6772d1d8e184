"""Voucher templates: data that books an event as one balanced voucher, refused when saved if
it cannot balance, chosen by the most specific conditions, never losing an event."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.domain.accounting import ChartOfAccounts, default_chart
from leasekit.domain.events import DomainEvent, PayloadValue
from leasekit.domain.identity import Actor, Role
from leasekit.domain.voucher_templates import (
    DEFAULT_TEMPLATES,
    EVENT_TYPES,
    RECEIVABLE_ACCOUNTS,
    Booking,
    BookingError,
    EventFacts,
    Sign,
    TemplateSet,
    TemplateVersion,
    Unmapped,
    book,
    default_templates,
)
from leasekit.domain.vouchers import Side, totals_by_currency
from leasekit.errors import ValidationError
from leasekit.money import HALF_EVEN

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
BD = date(2024, 3, 1)
SYSTEM = Actor("system", Role.SYSTEM)
CHART = default_chart("Acme Auto Finance", "EUR")
DEFAULTS = default_templates(CHART)


def facts(event_type: str, **fields: PayloadValue) -> EventFacts:
    return EventFacts(event_type, f"{event_type}:S-1:1", BD, {"currency": "EUR", **fields})


def booked(event: EventFacts, templates: TemplateSet = DEFAULTS) -> Booking:
    booking = templates.book(event, actor=SYSTEM, at=AT)
    assert isinstance(booking, Booking)
    return booking


def postings(booking: Booking) -> list[tuple[str, str, str]]:
    return [
        (line.account, str(line.side), str(line.amount.amount)) for line in booking.voucher.lines
    ]


def template(**overrides: Any) -> TemplateVersion:
    data: dict[str, Any] = {
        "name": "fee_charged",
        "version": 1,
        "event_type": "return_fee_charged",
        "description": "Fee charged",
        "lines": [
            {"account": "1200", "side": "debit", "amount": "amount"},
            {"account": "4200", "side": "credit", "amount": "amount"},
        ],
    }
    return TemplateVersion.from_mapping({**data, **overrides})


def lines(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"account": account, "side": side, "amount": amount} for account, side, amount in rows]


def refusal(templates: TemplateSet, version: TemplateVersion) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        templates.save(version)
    return {e.field: e.message for e in caught.value.errors}


# --- the defaults -------------------------------------------------------------------------------


def test_every_default_template_is_saved_and_in_force() -> None:
    assert len(DEFAULTS.in_force()) == len(DEFAULT_TEMPLATES)
    assert {t.event_type for t in DEFAULTS.in_force().values()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
@pytest.mark.parametrize("business_type", ["loan", "finance_lease", "operating_lease",
                                           "sale_leaseback"])  # fmt: skip
@pytest.mark.parametrize("source", ["direct_debit", "bank_transfer", "cash"])
def test_the_defaults_map_every_event_of_every_business(
    event_type: str, business_type: str, source: str
) -> None:
    event = facts(event_type, business_type=business_type, source=source)
    assert isinstance(DEFAULTS.choose(event), TemplateVersion)


def amounts(event_type: str) -> st.SearchStrategy[dict[str, str]]:
    """Any amounts in cents, each with the sign its event gives it."""
    return st.fixed_dictionaries({
        field: st.integers(0, 10**13).map(functools.partial(_cents, sign))
        for field, sign in EVENT_TYPES[event_type].amounts.items()
    })  # fmt: skip


def _cents(sign: Sign, n: int) -> str:
    return str(Decimal(-n if sign is Sign.NEGATIVE else n).scaleb(-2))


@st.composite
def default_bookings(draw: st.DrawFn) -> tuple[TemplateVersion, EventFacts]:
    version = draw(st.sampled_from(sorted(DEFAULTS.in_force().values(), key=lambda t: t.name)))
    event = facts(version.event_type, contract_id="C-1", **draw(amounts(version.event_type)))
    return version, event


@settings(max_examples=300)
@given(default_bookings())
def test_every_default_template_gives_a_balanced_voucher_or_nothing(
    case: tuple[TemplateVersion, EventFacts],
) -> None:
    version, event = case
    booking = book(version, event, CHART, actor=SYSTEM, at=AT)
    if booking is None:
        read = {name for line in version.lines for name in re.findall(r"[a-z_]+", line.amount)}
        assert all(Decimal(str(event.fields[name])) == 0 for name in read)
        return
    debit, credit = totals_by_currency(booking.voucher.lines)["EUR"]
    assert debit == credit > 0
    assert all(
        line.amount.amount > 0 and line.amount.is_quantized for line in booking.voucher.lines
    )
    assert booking.voucher.source_key == event.key
    assert len(booking.dimensions) == len(booking.voucher.lines)


def test_a_loan_disbursement_books_what_was_lent_paid_and_financed() -> None:
    event = facts("contract_disbursed", business_type="loan", payout_amount="25000.00",
                  financed_fees="500.00", principal="25500.00", vehicle_price="30000.00",
                  down_payment="5000.00", upfront_fees="0", subject_id="C-7",
                  partner_id="P-3")  # fmt: skip
    booking = booked(event)
    assert booking.template == "loan_disbursed"
    assert postings(booking) == [
        ("1200", "debit", "25500.00"),
        ("1100", "credit", "25000.00"),
        ("2300", "credit", "500.00"),
    ]
    assert booking.dimensions[0] == {"contract": "C-7", "partner": "P-3"}


def test_a_direct_debit_of_a_finance_lease_reversed_gives_back_what_it_paid() -> None:
    event = facts("payment_reversed", business_type="finance_lease", source="direct_debit",
                  amount="100.00", penalty="0.00", fee="-5.00", interest="-10.50",
                  principal="-70.00", credit="14.50")  # fmt: skip
    booking = booked(event)
    assert booking.template == "finance_lease_payment_reversed_direct_debit"
    assert postings(booking) == [
        ("1210", "debit", "5.00"),
        ("4100", "debit", "10.50"),
        ("1210", "debit", "70.00"),
        ("2200", "debit", "14.50"),
        ("1110", "credit", "100.00"),
    ]


def test_an_operating_lease_payment_is_rent() -> None:
    event = facts("payment_allocated", business_type="operating_lease", amount="300.00",
                  penalty="0", fee="0", interest="40.00", principal="260.00",
                  credit="0")  # fmt: skip
    assert postings(booked(event)) == [("2900", "debit", "300.00"), ("4400", "credit", "300.00")]


def test_lines_that_come_to_zero_are_dropped_and_all_zero_books_nothing() -> None:
    event = facts("payment_allocated", amount="0", penalty="0", fee="0", interest="0",
                  principal="0", credit="0")  # fmt: skip
    assert DEFAULTS.book(event, actor=SYSTEM, at=AT) is None


# --- choosing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("business_type", "source", "chosen"),
    [
        ("loan", "cash", "loan_payment_reversed"),
        ("loan", "direct_debit", "loan_payment_reversed_direct_debit"),
        ("sale_leaseback", "direct_debit", "loan_payment_reversed_direct_debit"),
        ("finance_lease", "cash", "finance_lease_payment_reversed"),
        ("finance_lease", "direct_debit", "finance_lease_payment_reversed_direct_debit"),
        ("operating_lease", "direct_debit", "operating_lease_payment_reversed_direct_debit"),
    ],
)
def test_the_most_specific_template_wins(business_type: str, source: str, chosen: str) -> None:
    event = facts("payment_reversed", business_type=business_type, source=source)
    version = DEFAULTS.choose(event)
    assert isinstance(version, TemplateVersion)
    assert version.name == chosen


def test_an_event_no_template_meets_is_unmapped_not_lost() -> None:
    only_loans = TemplateSet(CHART).save(template(conditions={"business_type": "loan"}))
    event = facts("return_fee_charged", business_type="finance_lease", amount="15.00")
    unmapped = only_loans.choose(event)
    assert unmapped == Unmapped(
        "return_fee_charged",
        event.key,
        "no template meets business_type=finance_lease, product=None, payment_source=None",
    )
    assert isinstance(DEFAULTS.book(facts("contract_signed"), actor=SYSTEM, at=AT), Unmapped)


def test_templates_as_specific_as_each_other_must_not_leave_the_choice_to_chance() -> None:
    by_type = TemplateSet(CHART).save(template(conditions={"business_type": "loan"}))
    by_product = template(name="by_product", conditions={"product": "green-car"})
    assert refusal(by_type, by_product) == {
        "by_product.conditions": "product=green-car is as specific as template fee_charged "
        "(business_type=loan) and an event could meet both; add a template for "
        "business_type=loan, product=green-car first"
    }
    settled = by_type.save(
        template(name="green_loans", conditions={"business_type": "loan", "product": "green-car"})
    ).save(by_product)
    chosen = settled.choose(facts("return_fee_charged", business_type="loan", product="green-car"))
    assert isinstance(chosen, TemplateVersion)
    assert chosen.name == "green_loans"


def test_the_same_conditions_twice_are_refused() -> None:
    first = TemplateSet(CHART).save(template())
    assert set(refusal(first, template(name="another"))) == {"another.conditions"}


def test_conditions_that_cannot_meet_the_same_event_do_not_clash() -> None:
    loans = TemplateSet(CHART).save(template(conditions={"business_type": "loan"}))
    leases = template(name="leases", conditions={"business_type": "finance_lease"})
    assert set(loans.save(leases).in_force()) == {"fee_charged", "leases"}


# --- versions -----------------------------------------------------------------------------------


def test_a_new_version_replaces_the_one_in_force_and_keeps_it() -> None:
    first = TemplateSet(CHART).save(template())
    second = first.save(template(version=2, lines=lines(("1220", "debit", "amount"),
                                                        ("4200", "credit", "amount"))))  # fmt: skip
    assert second.in_force()["fee_charged"].version == 2
    assert [v.version for v in second.versions] == [1, 2]
    booking = booked(facts("return_fee_charged", amount="15.00"), second)
    assert (booking.template, booking.version) == ("fee_charged", 2)
    assert postings(booking)[0] == ("1220", "debit", "15.00")


@pytest.mark.parametrize("version", [1, 3])
def test_versions_are_numbered_one_after_another(version: int) -> None:
    first = TemplateSet(CHART).save(template())
    assert refusal(first, template(version=version)) == {
        "fee_charged.version": "must be 2, the next version"
    }


# --- refusing what cannot balance ---------------------------------------------------------------


def test_lines_that_cannot_balance_are_refused_symbolically() -> None:
    version = template(
        event_type="payment_allocated",
        lines=lines(("2900", "debit", "amount"), ("4100", "credit", "interest"),
                    ("1200", "credit", "principal + 2 * fee / 2 + 1")),
    )  # fmt: skip
    assert refusal(TemplateSet(CHART), version) == {
        "fee_charged.lines": "debits minus credits come to -1 + amount - fee - interest - "
        "principal; they must cancel"
    }


def test_lines_that_do_not_balance_on_a_sample_payload_are_refused() -> None:
    version = template(lines=lines(("1200", "debit", "amount * amount"),
                                   ("4200", "credit", "amount")))  # fmt: skip
    found = refusal(TemplateSet(CHART), version)
    assert list(found) == ["fee_charged.lines"]
    assert "do not equal credits" in found["fee_charged.lines"]
    assert "on a sample payload {amount: 1097.00}" in found["fee_charged.lines"]


def test_a_line_negative_on_a_sample_payload_is_refused_by_name() -> None:
    version = template(
        event_type="payment_reversed",
        lines=lines(("1200", "debit", "principal"), ("1100", "credit", "principal")),
    )
    found = refusal(TemplateSet(CHART), version)
    assert list(found) == ["fee_charged.lines[0].amount"]
    assert "negative" in found["fee_charged.lines[0].amount"]


def test_rounding_that_would_upset_the_balance_is_refused_when_saved() -> None:
    thirds = template(lines=lines(("1200", "debit", "amount"), ("4200", "credit", "amount / 3"),
                                  ("4200", "credit", "amount / 3"),
                                  ("4200", "credit", "amount / 3")))  # fmt: skip
    assert "do not equal credits" in refusal(TemplateSet(CHART), thirds)["fee_charged.lines"]


def test_a_share_and_its_remainder_balance_after_rounding() -> None:
    shares = template(lines=lines(("1200", "debit", "amount"), ("4200", "credit", "amount / 3"),
                                  ("4300", "credit", "amount - amount / 3")))  # fmt: skip
    booking = booked(facts("return_fee_charged", amount="100.00"), TemplateSet(CHART).save(shares))
    assert postings(booking)[1:] == [("4200", "credit", "33.33"), ("4300", "credit", "66.67")]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("amount.__class__", "not a valid expression"),
        ("amout", "unknown field 'amout'; return_fee_charged has amount"),
        ("amount > 0", "must be an amount (a number), not a condition"),
        ("amount +", "not a valid expression"),
    ],
)
def test_an_expression_that_is_not_a_safe_amount_is_refused(expression: str, message: str) -> None:
    version = template(lines=lines(("1200", "debit", expression), ("4200", "credit", "amount")))
    found = refusal(TemplateSet(CHART), version)
    assert list(found) == ["fee_charged.lines[0].amount"]
    assert found["fee_charged.lines[0].amount"].startswith(message)


def test_a_template_posting_to_a_closed_or_unknown_account_is_refused() -> None:
    closed = TemplateSet(CHART.close("4200"))
    version = template(lines=lines(("1299", "debit", "amount"), ("4200", "credit", "amount")))
    found = refusal(closed, version)
    assert set(found) == {"fee_charged.lines[0].account", "fee_charged.lines[1].account"}
    assert "closed" in found["fee_charged.lines[1].account"]


def test_faults_in_a_template_are_named_by_their_place() -> None:
    with pytest.raises(ValidationError) as caught:
        TemplateVersion.from_mapping({
            "name": "Bad Name", "version": 0, "event_type": "contract_signed",
            "description": "", "conditions": {"business_type": "boat", "colour": "red"},
            "colour": "red",
            "lines": [{"account": "1200", "side": "left", "amount": "amount",
                       "dimensions": {"region": "branch"}}, "x"],
        })  # fmt: skip
    assert {e.field for e in caught.value.errors} == {
        "name", "version", "event_type", "description", "colour", "conditions.business_type",
        "conditions.colour", "lines[0].side", "lines[0].dimensions.region", "lines[1]",
    }  # fmt: skip


# --- booking ------------------------------------------------------------------------------------


def test_a_closed_account_refuses_the_posting_naming_the_line() -> None:
    version = template()
    event = facts("return_fee_charged", amount="15.00")
    with pytest.raises(BookingError, match=r"fee_charged v1, lines\[1\].account: .* closed"):
        book(version, event, CHART.close("4200"), actor=SYSTEM, at=AT)


def test_a_negative_amount_is_an_error_naming_the_line() -> None:
    event = facts("payment_allocated", amount="10", penalty="0", fee="0", interest="-5",
                  principal="15", credit="0")  # fmt: skip
    version = DEFAULTS.choose(event)
    assert isinstance(version, TemplateVersion)
    with pytest.raises(BookingError, match=r"lines\[3\].amount: interest is -5.00, which is"):
        book(version, event, CHART, actor=SYSTEM, at=AT)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"currency": "EUR"}, "amount: the return_fee_charged event has no amount"),
        ({"currency": "EUR", "amount": "ten"}, "amount: 'ten' is not a decimal number"),
        ({"currency": "USD", "amount": "1"}, "currency: USD event, EUR chart"),
        ({"currency": "ZZZ", "amount": "1"}, "currency: unknown currency 'ZZZ'"),
    ],
)
def test_an_event_the_template_cannot_read_is_refused(
    fields: Mapping[str, PayloadValue], message: str
) -> None:
    event = EventFacts("return_fee_charged", "k", BD, fields)
    with pytest.raises(BookingError, match=message):
        book(template(), event, CHART, actor=SYSTEM, at=AT)


def test_a_template_books_only_its_own_event() -> None:
    with pytest.raises(BookingError, match="books return_fee_charged, not payment_received"):
        book(template(), facts("payment_received", amount="1"), CHART, actor=SYSTEM, at=AT)


def test_amounts_are_rounded_once_per_line_by_the_rounding_given() -> None:
    half = TemplateSet(CHART).save(
        template(lines=lines(("1200", "debit", "amount / 2"), ("4200", "credit", "amount / 2")))
    )
    event = facts("return_fee_charged", amount="0.05")
    version = half.choose(event)
    assert isinstance(version, TemplateVersion)
    up = book(version, event, CHART, actor=SYSTEM, at=AT)
    even = book(version, event, CHART, actor=SYSTEM, at=AT, rounding=HALF_EVEN)
    assert up is not None
    assert even is not None
    assert up.voucher.lines[0].amount.amount == Decimal("0.03")
    assert even.voucher.lines[0].amount.amount == Decimal("0.02")


@pytest.mark.parametrize("business_type", sorted(RECEIVABLE_ACCOUNTS))
def test_a_reversal_of_a_refunded_payment_takes_it_all_from_the_bank_and_owes_the_refund(
    business_type: str,
) -> None:
    """150.00 received by direct debit paid 100.00 and left 50.00 of credit, of which 30.00
    was refunded: the reversal takes 150.00 out of the bank, and with the claw-back the
    credit balances lose only the 20.00 still held, the receivable owes 30.00 more."""
    given_back = {"penalty": "0.00", "fee": "0.00", "interest": "-10.00", "principal": "-90.00"}
    reversal = facts("payment_reversed", business_type=business_type,
                     source="direct_debit", amount="150.00", credit="50.00",
                     **given_back)  # fmt: skip
    clawback = facts("refund_clawed_back", business_type=business_type, amount="30.00")
    net: dict[str, Decimal] = {}
    for event in (reversal, clawback):
        for line in booked(event).voucher.lines:
            sign = 1 if line.side is Side.DEBIT else -1
            net[line.account] = net.get(line.account, Decimal(0)) + sign * line.amount.amount
    receivable = RECEIVABLE_ACCOUNTS[business_type]
    assert net["1110"] == Decimal("-150.00")
    assert net["2200"] == Decimal("20.00")
    income = sum(amount for account, amount in net.items() if account.startswith("4"))
    assert net.get(receivable, Decimal(0)) + income == Decimal("130.00")
    assert sum(net.values()) == 0


def test_facts_of_an_event_add_the_contracts_context_and_its_subject() -> None:
    event = DomainEvent.new(
        "return_fee_charged", "receivable", "R-1",
        {"contract_id": "C-1", "amount": "15.00", "currency": "EUR", "reason_code": "AC04"},
        occurred_at=AT, business_date=BD, actor_id="system",
    )  # fmt: skip
    event_facts = EventFacts.of(
        event, {"business_type": "finance_lease", "branch": "Shanghai", "partner_id": "P-1",
                "contract_id": "ignored: the payload says it"},
    )  # fmt: skip
    booking = booked(event_facts)
    assert booking.template == "finance_lease_return_fee_charged"
    assert booking.voucher.source_key == event.idempotency_key
    assert booking.voucher.business_date == BD
    assert booking.dimensions[0] == {"contract": "C-1", "partner": "P-1", "branch": "Shanghai"}
    assert [line.side for line in booking.voucher.lines] == [Side.DEBIT, Side.CREDIT]


def test_a_chart_with_other_codes_refuses_the_defaults() -> None:
    other = ChartOfAccounts.from_mapping(
        {"company": "X", "currency": "EUR",
         "accounts": [{"code": "1", "name": "Bank", "kind": "asset"}]}
    )  # fmt: skip
    with pytest.raises(ValidationError, match="not in the chart of X"):
        default_templates(other)


def test_amounts_are_rounded_to_the_charts_currency() -> None:
    yen = default_chart("Acme Auto Finance Japan", "JPY")
    shares = template(lines=lines(("1200", "debit", "amount"), ("4200", "credit", "amount / 3"),
                                  ("4300", "credit", "amount - amount / 3")))  # fmt: skip
    event = EventFacts("return_fee_charged", "k", BD, {"currency": "JPY", "amount": "1000"})
    booking = TemplateSet(yen).save(shares).book(event, actor=SYSTEM, at=AT)
    assert isinstance(booking, Booking)
    assert postings(booking) == [("1200", "debit", "1000"), ("4200", "credit", "333"),
                                 ("4300", "credit", "667")]  # fmt: skip
