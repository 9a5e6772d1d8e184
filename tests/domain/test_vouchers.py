"""Vouchers balance per currency, always: built, read back, or reversed."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.identity import Actor, Role
from leasekit.domain.vouchers import JournalLine, Side, Voucher, check_balanced, totals_by_currency
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.money import Money

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
BD = date(2024, 3, 1)
FINANCE = Actor("f1", Role.FINANCE)

ACCOUNTS = ["1001 bank", "1122 receivables", "2202 payables", "6001 interest income"]
CURRENCIES = ["CNY", "USD", "JPY", "KWD"]


def cents(currency: str) -> st.SearchStrategy[Decimal]:
    digits = {"JPY": 0, "KWD": 3}.get(currency, 2)
    return st.integers(1, 10**12).map(lambda n: Decimal(n).scaleb(-digits))


@st.composite
def balanced_lines(draw: st.DrawFn) -> list[JournalLine]:
    """Per currency, random debits and credits, the smaller side topped up by the gap."""
    lines: list[JournalLine] = []
    for currency in draw(
        st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=3, unique=True)
    ):
        debits = draw(st.lists(cents(currency), min_size=1, max_size=4))
        credits = draw(st.lists(cents(currency), min_size=1, max_size=4))
        gap = sum(debits, Decimal(0)) - sum(credits, Decimal(0))
        if gap > 0:
            credits.append(gap)
        elif gap < 0:
            debits.append(-gap)
        for side, amounts in ((Side.DEBIT, debits), (Side.CREDIT, credits)):
            for amount in amounts:
                account = draw(st.sampled_from(ACCOUNTS))
                lines.append(JournalLine(account, side, Money(amount, currency)))
    return draw(st.permutations(lines))


def post(lines: list[JournalLine]) -> Voucher:
    return Voucher.post(business_date=BD, description="test", lines=lines, actor=FINANCE, at=AT)


@given(balanced_lines())
def test_balanced_lines_post(lines: list[JournalLine]) -> None:
    voucher = post(lines)
    for debit, credit in totals_by_currency(voucher.lines).values():
        assert debit == credit


@given(balanced_lines(), st.data())
def test_changing_any_one_amount_unbalances(lines: list[JournalLine], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    quantum = line.amount.currency.quantum
    bumped = JournalLine(
        line.account, line.side, Money(line.amount.amount + quantum, line.amount.currency)
    )
    broken = [*lines[:index], bumped, *lines[index + 1 :]]
    with pytest.raises(ValidationError) as caught:
        post(broken)
    [error] = caught.value.errors
    assert error.field == "lines"
    assert error.message.startswith(f"{line.amount.currency.code} debits")


@given(balanced_lines(), st.data())
def test_flipping_any_one_side_unbalances(lines: list[JournalLine], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    broken = [*lines[:index], lines[index].mirrored(), *lines[index + 1 :]]
    with pytest.raises(ValidationError, match="do not equal credits"):
        post(broken)


@given(balanced_lines())
def test_a_reversal_balances_and_nets_every_account_to_zero(lines: list[JournalLine]) -> None:
    original = post(lines)
    reversal = original.reversal(
        actor=FINANCE, at=AT, business_date=date(2024, 3, 5), reason="wrong contract"
    )
    assert reversal.reverses == original.id
    assert reversal.business_date == date(2024, 3, 5)
    net: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in (*original.lines, *reversal.lines):
        sign = 1 if line.side is Side.DEBIT else -1
        net[line.account, line.amount.currency.code] += sign * line.amount.amount
    assert set(net.values()) == {Decimal(0)}


def test_rehydrating_an_unbalanced_voucher_fails() -> None:
    lines = (
        JournalLine("1001 bank", Side.DEBIT, Money("100.00", "CNY")),
        JournalLine("1122 receivables", Side.CREDIT, Money("99.99", "CNY")),
    )
    with pytest.raises(ValidationError, match=r"CNY debits 100.00 do not equal credits 99.99"):
        Voucher("v1", BD, "stored", lines, "f1", AT)


def test_each_currency_balances_on_its_own() -> None:
    """100 CNY debit against 100 USD credit is two unbalanced currencies, not a balance."""
    lines = [
        JournalLine("1001 bank", Side.DEBIT, Money("100", "CNY")),
        JournalLine("1001 bank", Side.CREDIT, Money("100", "USD")),
    ]
    with pytest.raises(ValidationError) as caught:
        check_balanced(lines)
    assert [e.message for e in caught.value.errors] == [
        "CNY debits 100 do not equal credits 0",
        "USD debits 0 do not equal credits 100",
    ]


def test_a_voucher_needs_two_lines() -> None:
    with pytest.raises(ValidationError, match="lines: a voucher needs at least 2 lines"):
        post([])


@pytest.mark.parametrize(
    ("account", "amount", "fields"),
    [
        (" ", Money("1", "CNY"), ["account"]),
        ("1001", Money("0", "CNY"), ["amount"]),
        ("1001", Money("-5", "CNY"), ["amount"]),
        ("", Money("0.001", "CNY"), ["account", "amount"]),
        ("1001", Money("1.5", "JPY"), ["amount"]),
    ],
)
def test_journal_line_rules(account: str, amount: Money, fields: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        JournalLine(account, Side.DEBIT, amount)
    assert [e.field for e in caught.value.errors] == fields


def test_only_finance_and_the_system_post() -> None:
    lines = [
        JournalLine("1001 bank", Side.DEBIT, Money("1", "CNY")),
        JournalLine("1122 receivables", Side.CREDIT, Money("1", "CNY")),
    ]
    with pytest.raises(PermissionDeniedError):
        Voucher.post(
            business_date=BD, description="x", lines=lines, actor=Actor("o", Role.OFFICER), at=AT
        )
    voucher = Voucher.post(
        business_date=BD, description="x", lines=lines, actor=Actor.system(), at=AT, source_key="k1"
    )
    assert (voucher.source_key, voucher.created_by, voucher.reverses) == ("k1", "system", None)
    with pytest.raises(ValidationError, match="reason"):
        voucher.reversal(actor=FINANCE, at=AT, business_date=BD, reason=" ")
