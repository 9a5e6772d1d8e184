"""Reconciliation: payments to contracts by reference, amount and payer, and the queue steps."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.domain.reconciliation import (
    DEFAULT_RULES,
    Allocation,
    Ambiguity,
    AmbiguityReason,
    IncomingLine,
    Match,
    MatchingRules,
    MatchRule,
    OpenItem,
    Reconciliation,
    Suspense,
    Tolerance,
    combine,
    normalize,
    reconcile,
    split,
    to_suspense,
)
from leasekit.errors import ValidationError
from leasekit.money import Money

DAY = date(2024, 3, 1)
ALL_RULES = MatchingRules(
    (MatchRule.REFERENCE, MatchRule.AMOUNT_AND_PAYER, MatchRule.AMOUNT_WITHIN_TOLERANCE),
    Tolerance(Money("1.00", "EUR")),
)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def line(
    line_id: str,
    amount: str,
    reference: str = "",
    *,
    account: str = "",
    name: str = "",
    booked_on: date = DAY,
    cur: str = "EUR",
) -> IncomingLine:
    return IncomingLine(
        line_id=line_id,
        amount=Money(amount, cur),
        booked_on=booked_on,
        reference=reference,
        payer_name=name,
        payer_account=account,
    )


def item(
    key: str,
    due: str,
    number: str | None = None,
    *,
    references: Sequence[str] = (),
    accounts: Sequence[str] = (),
    names: Sequence[str] = (),
    cur: str = "EUR",
) -> OpenItem:
    return OpenItem(
        key=key,
        contract_number=number if number is not None else f"LC-{key}",
        amount_due=Money(due, cur),
        due_on=DAY,
        references=tuple(references),
        payer_accounts=tuple(accounts),
        payer_names=tuple(names),
    )


def only_match(result: Reconciliation) -> Match:
    assert len(result.matched) == 1, result
    return result.matched[0]


def only_ambiguity(result: Reconciliation) -> Ambiguity:
    assert len(result.ambiguous) == 1, result
    return result.ambiguous[0]


# Normalization and the reference rule ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "LC-2024-0001",
        "lc-2024-0001",
        "LC 2024 0001",
        "lc20240001",
        "LC/2024.0001",
        " Lc_2024_0001 ",
    ],
)
def test_normalize_drops_case_blanks_and_punctuation(text: str) -> None:
    assert normalize(text) == "lc20240001"


@settings(max_examples=500)
@given(text=st.text())
def test_normalize_skips_the_expression_only_where_it_would_remove_nothing(text: str) -> None:
    assert normalize(text) == re.sub(r"[\W_]+", "", text.casefold())


@pytest.mark.parametrize(
    "reference",
    [
        "LC-2024-0001",
        "lc 2024 0001",
        "Ref: lc-2024-0001 / installment 3",
        "INSTALLMENT MARCH LC20240001",
        "payment for LC 2024-0001, thank you",
    ],
)
def test_reference_found_however_written(reference: str) -> None:
    result = reconcile([line("L1", "100.00", reference)], [item("C1", "100.00", "LC-2024-0001")])
    assert only_match(result) == Match(
        "L1", (Allocation("C1", eur("100.00")),), MatchRule.REFERENCE, eur("0"), eur("0")
    )


@pytest.mark.parametrize("reference", ["LC-2024-00011", "XLC-2024-0001", "LC-2024-000", ""])
def test_reference_only_at_word_boundaries(reference: str) -> None:
    result = reconcile([line("L1", "100.00", reference)], [item("C1", "100.00", "LC-2024-0001")])
    assert result.unmatched == ("L1",)


def test_longest_reference_wins_over_one_inside_it() -> None:
    items = [item("SHORT", "100.00", "LC-2024"), item("LONG", "100.00", "LC-2024-0001")]
    result = reconcile([line("L1", "100.00", "contract LC 2024 0001")], items)
    assert only_match(result).keys == ("LONG",)


def test_settlement_quote_and_mandate_references_count() -> None:
    items = [item("C1", "9000.00", references=("Q-77", "MANDATE-5"))]
    by_quote = reconcile([line("L1", "9000.00", "quote q77")], items)
    by_mandate = reconcile([line("L1", "9000.00", "mandate 5")], items)
    assert only_match(by_quote).keys == only_match(by_mandate).keys == ("C1",)


def test_part_payment_by_reference_leaves_a_shortfall() -> None:
    match = only_match(reconcile([line("L1", "60.00", "LC-C1")], [item("C1", "100.00")]))
    assert match.allocations == (Allocation("C1", eur("60.00")),)
    assert (match.overpayment, match.shortfall, match.difference) == (
        eur("0"),
        eur("40.00"),
        eur("-40.00"),
    )


def test_overpayment_by_reference_is_kept_apart() -> None:
    match = only_match(reconcile([line("L1", "130.00", "LC-C1")], [item("C1", "100.00")]))
    assert match.allocations == (Allocation("C1", eur("100.00")),)
    assert match.overpayment == eur("30.00")
    assert match.allocated + match.overpayment == eur("130.00")


def test_one_transfer_for_several_contracts_is_split_by_amount_due() -> None:
    items = [item("C1", "100.00"), item("C2", "250.50"), item("C3", "75.00")]
    result = reconcile([line("L1", "350.50", "LC-C2 and LC-C1")], items)
    assert only_match(result).allocations == (
        Allocation("C1", eur("100.00")),
        Allocation("C2", eur("250.50")),
    )


def test_several_contracts_whose_sum_differs_wait_in_the_queue() -> None:
    items = [item("C1", "100.00"), item("C2", "250.50")]
    result = reconcile([line("L1", "350.00", "LC-C1 LC-C2")], items, ALL_RULES)
    assert only_ambiguity(result) == Ambiguity(
        "L1", ("C1", "C2"), MatchRule.REFERENCE, AmbiguityReason.AMOUNTS_DIFFER
    )


def test_reference_in_another_currency_is_not_matched() -> None:
    result = reconcile([line("L1", "100.00", "LC-C1", cur="USD")], [item("C1", "100.00")])
    assert only_ambiguity(result).reason is AmbiguityReason.CURRENCY_DIFFERS


# Amount and payer ---------------------------------------------------------------------------


def test_amount_and_payer_account_however_spaced() -> None:
    items = [item("C1", "100.00", accounts=("DE89 3704 0044 0532 0130 00",))]
    result = reconcile([line("L1", "100.00", "rent", account="de89370400440532013000")], items)
    assert only_match(result).rule is MatchRule.AMOUNT_AND_PAYER


def test_payer_name_counts_when_the_account_finds_nothing() -> None:
    items = [item("C1", "100.00", names=("Acme Motors GmbH",))]
    result = reconcile([line("L1", "100.00", account="NL01X", name="ACME MOTORS GMBH.")], items)
    assert only_match(result).keys == ("C1",)


def test_amount_without_payer_is_not_enough() -> None:
    items = [item("C1", "100.00", accounts=("A1",))]
    assert reconcile([line("L1", "100.00", account="B2")], items).unmatched == ("L1",)


@pytest.mark.parametrize(
    "paid",
    [
        line("L1", "100.01", account="A1", name="Acme"),
        line("L1", "100.00", account="A1", name="Acme", cur="USD"),
    ],
)
def test_payer_without_an_amount_due_is_not_enough(paid: IncomingLine) -> None:
    items = [item("C1", "100.00", accounts=("A1",), names=("Acme",))]
    assert reconcile([paid], items).unmatched == ("L1",)


def test_names_are_found_after_lines_found_by_account() -> None:
    items = [item("C1", "100.00", accounts=("A1",)), item("C2", "250.50", names=("Beta Cars",))]
    lines = [line("L1", "100.00", account="A1"), line("L2", "250.50", account="Z9", name="beta")]
    lines.append(line("L3", "250.50", account="Z9", name="BETA CARS"))
    result = reconcile(lines, items)
    assert [(m.line_id, m.keys) for m in result.matched] == [("L1", ("C1",)), ("L3", ("C2",))]
    assert result.unmatched == ("L2",)


def test_dealer_paying_one_of_several_equal_installments_is_ambiguous() -> None:
    items = [item(key, "100.00", accounts=("DEALER",)) for key in ("C2", "C1")]
    result = reconcile([line("L1", "100.00", account="dealer")], items)
    assert only_ambiguity(result) == Ambiguity(
        "L1", ("C1", "C2"), MatchRule.AMOUNT_AND_PAYER, AmbiguityReason.SEVERAL_CANDIDATES
    )


# Tolerance ----------------------------------------------------------------------------------


def tolerance_rules(amount: str | None = None, percent: str | None = None) -> MatchingRules:
    limit = Tolerance(eur(amount) if amount else None, Decimal(percent) if percent else None)
    return MatchingRules((MatchRule.AMOUNT_WITHIN_TOLERANCE,), limit)


@pytest.mark.parametrize(
    ("paid", "rules", "difference"),
    [
        ("101.00", tolerance_rules("1.00"), "1.00"),
        ("99.00", tolerance_rules("1.00"), "-1.00"),
        ("100.50", tolerance_rules(percent="0.5"), "0.50"),
        ("99.50", tolerance_rules(percent="0.5"), "-0.50"),
        ("100.50", tolerance_rules("1.00", "0.5"), "0.50"),
    ],
)
def test_exactly_at_the_tolerance_matches(paid: str, rules: MatchingRules, difference: str) -> None:
    items = [item("C1", "100.00", accounts=("A1",))]
    match = only_match(reconcile([line("L1", paid, account="A1")], items, rules))
    assert match.rule is MatchRule.AMOUNT_WITHIN_TOLERANCE
    assert match.difference == eur(difference)
    assert match.allocated + match.overpayment == eur(paid)


@pytest.mark.parametrize(
    ("paid", "rules"),
    [
        ("101.01", tolerance_rules("1.00")),
        ("98.99", tolerance_rules("1.00")),
        ("100.51", tolerance_rules(percent="0.5")),
        ("99.49", tolerance_rules(percent="0.5")),
        ("100.51", tolerance_rules("1.00", "0.5")),  # both limits must hold
        ("100.60", tolerance_rules("0.50", "1")),
    ],
)
def test_one_cent_over_the_tolerance_does_not(paid: str, rules: MatchingRules) -> None:
    items = [item("C1", "100.00", accounts=("A1",))]
    assert reconcile([line("L1", paid, account="A1")], items, rules).unmatched == ("L1",)


def test_tolerance_needs_a_single_candidate() -> None:
    items = [item("C1", "100.00", accounts=("A1",)), item("C2", "100.80", accounts=("A1",))]
    result = reconcile([line("L1", "100.40", account="A1")], items, tolerance_rules("1.00"))
    assert only_ambiguity(result).candidates == ("C1", "C2")


def test_tolerance_needs_the_payer() -> None:
    items = [item("C1", "100.00", accounts=("A1",))]
    rules = tolerance_rules("1.00")
    assert reconcile([line("L1", "100.40", account="Z9")], items, rules).unmatched == ("L1",)


def test_absolute_tolerance_binds_only_its_currency() -> None:
    items = [item("C1", "100.00", accounts=("A1",), cur="USD")]
    absolute = tolerance_rules("1.00")
    both = tolerance_rules("1.00", "1")
    assert reconcile([line("L1", "100.40", account="A1", cur="USD")], items, absolute).unmatched
    assert reconcile([line("L1", "100.40", account="A1", cur="USD")], items, both).matched


# Conflicts: nothing is matched twice -------------------------------------------------------


def test_earlier_line_takes_the_item_and_the_later_waits() -> None:
    lines = [
        line("L2", "100.00", "LC-C1", booked_on=DAY),
        line("L1", "100.00", "LC-C1", booked_on=DAY + timedelta(days=1)),
    ]
    result = reconcile(lines, [item("C1", "100.00")])
    assert only_match(result).line_id == "L2"
    assert only_ambiguity(result) == Ambiguity(
        "L1", ("C1",), MatchRule.REFERENCE, AmbiguityReason.ALREADY_MATCHED
    )


def test_same_day_ties_are_broken_by_line_id() -> None:
    lines = [line("B", "100.00", "LC-C1"), line("A", "100.00", "LC-C1")]
    assert only_match(reconcile(lines, [item("C1", "100.00")])).line_id == "A"


def test_stronger_rule_wins_over_an_earlier_line() -> None:
    items = [item("C1", "100.00", accounts=("A1",))]
    lines = [
        line("EARLY", "100.00", account="A1", booked_on=DAY),
        line("LATE", "100.00", "LC-C1", booked_on=DAY + timedelta(days=3)),
    ]
    result = reconcile(lines, items)
    assert only_match(result).line_id == "LATE"
    assert only_ambiguity(result).rule is MatchRule.AMOUNT_AND_PAYER


def test_an_ambiguous_line_is_not_passed_to_weaker_rules() -> None:
    items = [item("C1", "100.00", accounts=("A1",)), item("C2", "200.00")]
    result = reconcile([line("L1", "100.00", "LC-C1 LC-C2", account="A1")], items, ALL_RULES)
    assert only_ambiguity(result).rule is MatchRule.REFERENCE
    assert result.matched == ()


def test_duplicate_line_ids_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        reconcile([line("L1", "1.00"), line("L1", "2.00")], [])
    assert caught.value.errors[0].field == "lines[1]"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: line(" ", "1.00"), "line_id"),
        (lambda: line("L1", "0.00"), "amount"),
        (lambda: line("L1", "-5.00"), "amount"),
        (lambda: item("C1", "0"), "amount_due"),
        (lambda: item("", "1.00"), "key"),
    ],
)
def test_values_refuse_what_cannot_be_reconciled(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.errors[0].field == field


# Configuration -----------------------------------------------------------------------------


def test_default_rules_never_guess() -> None:
    assert DEFAULT_RULES.rules == (MatchRule.REFERENCE, MatchRule.AMOUNT_AND_PAYER)
    assert MatchingRules.from_dict({}) == DEFAULT_RULES


def test_rules_round_trip_through_a_plain_dict() -> None:
    settings_value = {
        "rules": ["amount_and_payer", "reference", "amount_within_tolerance"],
        "tolerance": {"amount": "2.50", "currency": "EUR", "percent": "0.5"},
    }
    rules = MatchingRules.from_dict(settings_value)
    assert rules.rules[0] is MatchRule.AMOUNT_AND_PAYER
    assert rules.tolerance == Tolerance(eur("2.50"), Decimal("0.5"))
    assert rules.to_dict() == settings_value
    assert MatchingRules.from_dict(rules.to_dict()) == rules


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"rules": ["reference", "by_magic"]}, ["rules[1]"]),
        ({"rules": "reference"}, ["rules"]),
        ({"rules": []}, ["rules"]),
        ({"rules": ["reference", "reference"]}, ["rules"]),
        ({"rules": ["manual"]}, ["rules[0]"]),
        ({"rules": ["amount_within_tolerance"]}, ["tolerance"]),
        ({"rules": ["reference"], "tolerance": []}, ["tolerance"]),
        ({"rule": ["reference"]}, ["rule"]),
        ({"tolerance": {"amount": "1.00"}}, ["tolerance.currency"]),
        ({"tolerance": {"amount": "1.00", "currency": "XXX"}}, ["tolerance.currency"]),
        ({"tolerance": {"amount": 1.5, "currency": "EUR"}}, ["tolerance.amount"]),
        ({"tolerance": {"amount": "lots", "currency": "EUR"}}, ["tolerance.amount"]),
        ({"tolerance": {"amount": "-1", "currency": "EUR"}}, ["tolerance.amount"]),
        ({"tolerance": {"percent": "100"}}, ["tolerance.percent"]),
        ({"tolerance": {"percent": "-0.1"}}, ["tolerance.percent"]),
        ({"tolerance": {"currency": "EUR"}}, ["tolerance.currency"]),
        ({"tolerance": {"pct": "1"}}, ["tolerance.pct"]),
        (
            {"rules": ["x"], "tolerance": {"percent": "abc"}, "extra": 1},
            ["extra", "rules[0]", "tolerance.percent"],
        ),
    ],
)
def test_bad_settings_name_each_field(data: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        MatchingRules.from_dict(data)
    assert sorted(error.field for error in caught.value.errors) == fields


# The queue ----------------------------------------------------------------------------------


def test_split_allocates_the_parts_a_person_names() -> None:
    match = split(line("L1", "300.00"), [("C1", eur("100.00")), ("C2", eur("200.00"))])
    assert match.rule is MatchRule.MANUAL
    assert match.allocated == eur("300.00")
    assert match.keys == ("C1", "C2")


@pytest.mark.parametrize(
    ("parts", "fields"),
    [
        ([("C1", eur("100.00")), ("C2", eur("199.99"))], ["parts"]),
        ([("C1", eur("300.01"))], ["parts"]),
        ([], ["parts"]),
        ([("C1", eur("150.00")), ("C1", eur("150.00"))], ["parts[1]"]),
        ([("C1", Money("300.00", "USD"))], ["parts[0].amount"]),
        ([("C1", eur("300.00")), ("C2", eur("0"))], ["parts[1].amount"]),
        ([(" ", eur("300.00"))], ["parts[0].key"]),
    ],
)
def test_split_parts_must_account_for_the_line(
    parts: list[tuple[str, Money]], fields: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        split(line("L1", "300.00"), parts)
    assert [error.field for error in caught.value.errors] == fields


def test_combine_fills_one_item_from_several_lines() -> None:
    lines = [line("L2", "60.00", booked_on=DAY + timedelta(days=1)), line("L1", "40.00")]
    matches = combine(lines, item("C1", "100.00"))
    assert [(m.line_id, m.allocated, m.overpayment, m.shortfall) for m in matches] == [
        ("L1", eur("40.00"), eur("0"), eur("0")),
        ("L2", eur("60.00"), eur("0"), eur("0")),
    ]


def test_combine_keeps_excess_and_shortfall_visible() -> None:
    over = combine([line("L1", "70.00"), line("L2", "50.00")], item("C1", "100.00"))
    assert [(m.allocated, m.overpayment) for m in over] == [
        (eur("70.00"), eur("0")),
        (eur("30.00"), eur("20.00")),
    ]
    short = combine([line("L1", "70.00"), line("L2", "10.00")], item("C1", "100.00"))
    assert short[-1].shortfall == eur("20.00")


def test_combine_refuses_other_currencies_and_repeated_lines() -> None:
    lines = [line("L1", "1.00"), line("L1", "2.00"), line("L3", "1.00", cur="USD")]
    with pytest.raises(ValidationError) as caught:
        combine(lines, item("C1", "100.00"))
    assert [error.field for error in caught.value.errors] == ["lines[1]", "lines[2].amount"]


def test_suspense_needs_a_reason() -> None:
    parked = to_suspense(line("L1", "12.00"), "  no contract  named ")
    assert parked == Suspense("L1", eur("12.00"), "no contract named")
    with pytest.raises(ValidationError) as caught:
        to_suspense(line("L1", "12.00"), "   ")
    assert caught.value.errors[0].field == "reason"


# Properties ---------------------------------------------------------------------------------

AMOUNTS = ["100.00", "250.50", "99.99", "100.40", "350.50", "0.01"]
ACCOUNTS = ["", "DE01 AAAA", "de01aaaa", "NL02 BBBB", "FR03CCCC"]
NAMES = ["", "Acme Motors", "ACME MOTORS", "Beta Cars"]
SHARED_REFS = ["Q-1", "Q-2", "MANDATE-9"]


@st.composite
def open_items(draw: st.DrawFn) -> list[OpenItem]:
    count = draw(st.integers(0, 8))
    return [
        OpenItem(
            key=f"K{index}",
            contract_number=f"LC-{index}",
            amount_due=eur(draw(st.sampled_from(AMOUNTS))),
            due_on=DAY,
            references=tuple(draw(st.lists(st.sampled_from(SHARED_REFS), max_size=2))),
            payer_accounts=tuple(draw(st.lists(st.sampled_from(ACCOUNTS), max_size=2))),
            payer_names=tuple(draw(st.lists(st.sampled_from(NAMES), max_size=1))),
        )
        for index in range(count)
    ]


def spelled(reference: str) -> st.SearchStrategy[str]:
    """The ways a payer writes one reference: as given, lower case, spaced, undashed."""
    return st.sampled_from(
        [reference, reference.lower(), reference.replace("-", " "), reference.replace("-", "")]
    )


def single_references() -> st.SearchStrategy[str]:
    numbers = st.integers(0, 9).map(lambda n: f"LC-{n}")
    noise = st.integers(0, 99).map(lambda n: f"ZZ {n}")
    return st.one_of(numbers, st.sampled_from(SHARED_REFS), noise, st.just("")).flatmap(spelled)


def free_references() -> st.SearchStrategy[str]:
    """Single references and texts naming several, with words around them."""
    several = st.lists(single_references(), min_size=2, max_size=3).map(" / ".join)
    wrapped = single_references().map(lambda ref: f"payment {ref}, thanks")
    return st.one_of(single_references(), several, wrapped)


@st.composite
def incoming_lines(draw: st.DrawFn, references: st.SearchStrategy[str]) -> list[IncomingLine]:
    count = draw(st.integers(0, 10))
    return [
        IncomingLine(
            line_id=f"L{index}",
            amount=eur(draw(st.sampled_from(AMOUNTS))),
            booked_on=DAY + timedelta(days=draw(st.integers(0, 3))),
            reference=draw(references),
            payer_name=draw(st.sampled_from(NAMES)),
            payer_account=draw(st.sampled_from(ACCOUNTS)),
        )
        for index in range(count)
    ]


rule_sets = st.sampled_from(
    [
        DEFAULT_RULES,
        ALL_RULES,
        MatchingRules(
            (MatchRule.AMOUNT_WITHIN_TOLERANCE, MatchRule.REFERENCE),
            Tolerance(percent=Decimal("1")),
        ),
    ]
)


@settings(max_examples=300)
@given(lines=incoming_lines(free_references()), items=open_items(), rules=rule_sets)
def test_every_line_ends_in_exactly_one_place(
    lines: list[IncomingLine], items: list[OpenItem], rules: MatchingRules
) -> None:
    result = reconcile(lines, items, rules)
    placed = [
        *(m.line_id for m in result.matched),
        *(a.line_id for a in result.ambiguous),
        *result.unmatched,
    ]
    assert sorted(placed) == sorted(line.line_id for line in lines)


@settings(max_examples=300)
@given(lines=incoming_lines(free_references()), items=open_items(), rules=rule_sets)
def test_nothing_is_matched_twice_and_no_money_is_lost(
    lines: list[IncomingLine], items: list[OpenItem], rules: MatchingRules
) -> None:
    result = reconcile(lines, items, rules)
    keys = [key for match in result.matched for key in match.keys]
    assert len(keys) == len(set(keys))
    amounts = {line.line_id: line.amount for line in lines}
    dues = {item.key: item.amount_due for item in items}
    for match in result.matched:
        assert match.allocated + match.overpayment == amounts[match.line_id]
        assert match.overpayment.amount >= 0
        assert match.shortfall.amount >= 0
        assert all(dues[key] >= amount for key, amount in match.allocations)


@settings(max_examples=200)
@given(
    lines=incoming_lines(free_references()),
    items=open_items(),
    rules=rule_sets,
    data=st.data(),
)
def test_input_order_does_not_matter(
    lines: list[IncomingLine], items: list[OpenItem], rules: MatchingRules, data: st.DataObject
) -> None:
    shuffled_lines = data.draw(st.permutations(lines))
    shuffled_items = data.draw(st.permutations(items))
    assert reconcile(shuffled_lines, shuffled_items, rules) == reconcile(lines, items, rules)


# A plain hash join, for the rules it shares with the matcher ------------------------------

Outcome = tuple[str, tuple[Any, ...]]


def hash_join_baseline(
    lines: Iterable[IncomingLine], items: Iterable[OpenItem]
) -> dict[str, Outcome]:
    """Exact (normalized) reference, then exact amount and payer: one dictionary lookup per
    line and rule, the same tie rules as the matcher; unmatched lines are absent."""
    items = sorted(items, key=lambda i: i.key)
    dues = {i.key: i.amount_due for i in items}
    by_ref: defaultdict[str, list[str]] = defaultdict(list)
    by_account: defaultdict[tuple[Money, str], list[str]] = defaultdict(list)
    by_name: defaultdict[tuple[Money, str], list[str]] = defaultdict(list)
    for i in items:
        for ref in sorted({normalize(r) for r in (i.contract_number, *i.references)} - {""}):
            by_ref[ref].append(i.key)
        for account in {normalize(a) for a in i.payer_accounts} - {""}:
            by_account[i.amount_due, account].append(i.key)
        for name in {normalize(n) for n in i.payer_names} - {""}:
            by_name[i.amount_due, name].append(i.key)

    def by_payer(ln: IncomingLine) -> list[str]:
        account, name = normalize(ln.payer_account), normalize(ln.payer_name)
        found = by_account.get((ln.amount, account), []) if account else []
        return found or (by_name.get((ln.amount, name), []) if name else [])

    ordered = sorted(lines, key=lambda ln: (ln.booked_on, ln.line_id))
    outcomes: dict[str, Outcome] = {}
    taken: set[str] = set()
    for lookup, several_split in (
        (lambda ln: by_ref.get(normalize(ln.reference), []), True),
        (by_payer, False),
    ):
        for ln in ordered:
            keys = lookup(ln)
            if ln.line_id in outcomes or not keys:
                continue
            total = sum((dues[k].amount for k in keys), Decimal(0))
            several = len(keys) > 1 and (not several_split or total != ln.amount.amount)
            if taken & set(keys) or several:
                outcomes[ln.line_id] = ("ambiguous", tuple(keys))
                continue
            allocations: tuple[tuple[str, Decimal], ...]
            if len(keys) == 1:
                allocations = ((keys[0], min(ln.amount.amount, total)),)
            else:
                allocations = tuple((k, dues[k].amount) for k in keys)
            outcomes[ln.line_id] = ("matched", allocations)
            taken.update(keys)
    return outcomes


def as_outcomes(result: Reconciliation) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {
        m.line_id: ("matched", tuple((k, a.amount) for k, a in m.allocations))
        for m in result.matched
    }
    outcomes.update((a.line_id, ("ambiguous", a.candidates)) for a in result.ambiguous)
    return outcomes


@settings(max_examples=500)
@given(lines=incoming_lines(single_references()), items=open_items())
def test_same_matches_as_a_plain_hash_join(
    lines: list[IncomingLine], items: list[OpenItem]
) -> None:
    assert as_outcomes(reconcile(lines, items)) == hash_join_baseline(lines, items)


@settings(max_examples=300)
@given(reference=single_references(), items=open_items())
def test_a_text_that_is_just_a_reference_matches_as_among_other_words(
    reference: str, items: list[OpenItem]
) -> None:
    """The whole text looked up at once finds what the runs of its words find."""
    alone = reconcile([IncomingLine("L1", eur("100.00"), DAY, reference)], items)
    among = reconcile([IncomingLine("L1", eur("100.00"), DAY, f"paid {reference} thanks")], items)
    assert alone == among


def test_rules_built_in_code_are_checked_too() -> None:
    with pytest.raises(ValidationError) as caught:
        MatchingRules((MatchRule.AMOUNT_WITHIN_TOLERANCE, MatchRule.MANUAL))
    assert [error.field for error in caught.value.errors] == ["rules[1]", "tolerance"]


cents = st.integers(1, 10_000_000).map(lambda n: eur(str(Decimal(n) / 100)))
tolerances = st.builds(
    Tolerance,
    st.one_of(st.none(), st.integers(0, 100_000).map(lambda n: eur(str(Decimal(n) / 100)))),
    st.one_of(st.none(), st.integers(0, 9_999).map(lambda n: Decimal(n) / 100)),
)


@settings(max_examples=500)
@given(paid=cents, due=cents, tolerance=tolerances)
def test_the_bisection_window_holds_every_due_the_tolerance_allows(
    paid: Money, due: Money, tolerance: Tolerance
) -> None:
    low, high = tolerance.window(paid)
    if tolerance.allows(paid, due):
        assert low <= due.amount <= high
