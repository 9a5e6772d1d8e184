"""What a payoff changes on the receivables, and the schedule a quote is made from."""

from __future__ import annotations

from datetime import UTC, date, datetime

import attrs
import pytest

from leasekit.domain.contracts import Receivable
from leasekit.domain.settlement_quotes import (
    QuoteKind,
    QuoteState,
    SettlementQuote,
    payoff,
)
from leasekit.errors import DomainError
from leasekit.money import Money

AT = datetime(2026, 1, 5, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def lines() -> list[Receivable]:
    """Three installments: one due on 5 January, two after."""
    return [
        Receivable.line(contract_id="c", sequence=n, due_date=date(2026, n, 5),
                        principal=usd("100.00"), interest=usd("10.00"))
        for n in (1, 2, 3)
    ]  # fmt: skip


def quote(accrued: str = "4.00", fee: str = "6.00") -> SettlementQuote:
    overdue, principal = usd("110.00"), usd("200.00")
    return SettlementQuote(
        id="q", number="SQ-1-1", contract_id="c", partner_id="p", kind=QuoteKind.BUY_BACK,
        quoted_on=date(2026, 1, 10), valid_until=date(2026, 1, 20), overdue=overdue,
        outstanding_principal=principal, accrued_interest=usd(accrued), fee=usd(fee),
        total=overdue + principal + usd(accrued) + usd(fee), state=QuoteState.OPEN,
        created_at=AT, created_by="u",
    )  # fmt: skip


def test_the_lines_then_owe_exactly_the_quotes_total() -> None:
    made, book = quote(), lines()
    changes = payoff(made, book, made.total)
    assert [line.interest for line in book] == [usd("10.00"), usd("4.00"), usd("0.00")]
    assert [line.fee for line in book] == [usd("0.00"), usd("6.00"), usd("0.00")]
    assert sum((line.outstanding for line in book), usd("0")) == made.total
    assert changes.interest_forgone == usd("16.00")
    assert changes.penalty_waived == usd("0.00")
    assert changes.fee_line == book[1].id
    assert set(changes.changed) == {book[1].id, book[2].id}


def test_penalty_charged_since_the_quote_is_waived_up_to_what_the_payment_lacks() -> None:
    made, book = quote(), lines()
    book[0].penalty = usd("3.00")
    changes = payoff(made, book, made.total + usd("1.00"))
    assert changes.penalty_waived == usd("2.00")
    assert book[0].penalty == usd("1.00")
    assert sum((line.outstanding for line in book), usd("0")) == made.total + usd("1.00")


def test_a_fee_charged_since_cannot_be_waived_and_the_payoff_is_refused() -> None:
    made, book = quote(), lines()
    book[0].fee = usd("25.00")
    with pytest.raises(DomainError, match="no longer covers"):
        payoff(made, book, made.total)


def test_interest_already_paid_is_not_taken_back() -> None:
    made, book = quote(accrued="0.00", fee="0.00"), lines()
    book[1].pay("interest", usd("10.00"))
    changes = payoff(made, book, made.total)
    assert book[1].interest == usd("10.00")
    assert changes.interest_forgone == usd("10.00")


def test_after_the_last_due_date_the_fee_goes_on_the_last_line() -> None:
    made = attrs.evolve(quote(), quoted_on=date(2026, 3, 10))
    book = lines()
    changes = payoff(made, book, usd("1000.00"))
    assert changes.fee_line == book[-1].id
    assert changes.interest_forgone == usd("0.00")
