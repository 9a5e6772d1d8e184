"""The refund aggregate without storage: the credit taken oldest payment first and exactly,
for any split of the credit; the account checked as an IBAN; the bank's answers as the only
moves, with both ends final."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.identity import Actor, Role
from leasekit.domain.refunds import CreditTaken, Refund, RefundState, take_credit, valid_iban
from leasekit.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from leasekit.money import Money

AT = datetime(2026, 12, 6, 9, tzinfo=UTC)
CFO = Actor("cfo", Role.FINANCE_DIRECTOR)
SYSTEM = Actor.system()


def usd(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2), "USD")


def made(amount: str = "10.00", **changes: object) -> Refund:
    terms: dict[str, object] = {
        "contract_id": "c", "partner_id": "p", "amount": Money(amount, "USD"),
        "iban": "de89 3704 0044 0532 0130 00", "holder": " Erika  Mustermann ",
        "reference": "Refund", "exception_request_id": None,
        "held": [("p1", Money("6.00", "USD")), ("p2", Money("50.00", "USD"))],
        "actor": CFO, "at": AT,
    }  # fmt: skip
    return Refund.request(**(terms | changes))  # type: ignore[arg-type]


@given(
    credits=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=8),
    share=st.fractions(0, 1),
)
def test_the_credit_is_taken_oldest_first_and_exactly(credits: list[int], share: object) -> None:
    total = sum(credits)
    asked = max(1, int(total * share))  # type: ignore[operator]
    held = [(f"p{n}", usd(cents)) for n, cents in enumerate(credits)]
    if asked > total:
        with pytest.raises(ValidationError) as refused:
            take_credit(held, usd(asked))
        assert refused.value.errors[0].field == "amount"
        return
    taken = take_credit(held, usd(asked))
    assert sum(part.amount for part in taken) == usd(asked).amount
    assert all(part.amount > 0 for part in taken)
    given_all = [usd(cents).amount for cents in credits if cents]
    # Every payment but the last one touched gave all its credit, in order.
    assert [part.amount for part in taken[:-1]] == given_all[: len(taken) - 1]
    assert taken[-1].amount <= given_all[len(taken) - 1]
    by_payment = dict(held)
    assert all(part.amount <= by_payment[part.payment_id].amount for part in taken)


def test_a_refund_records_what_it_took_and_the_account_compact() -> None:
    refund = made("20.00")
    assert refund.taken == (CreditTaken("p1", Decimal("6.00")), CreditTaken("p2", Decimal("14.00")))
    assert (refund.iban, refund.holder) == ("DE89370400440532013000", "Erika Mustermann")
    assert (refund.state, refund.instruction_id, refund.requested_by) == (
        RefundState.REQUESTED, refund.id, "cfo",
    )  # fmt: skip


def test_every_input_fault_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        made("-1.00", iban="GB00 0000", holder="")
    assert [error.field for error in refused.value.errors] == ["amount", "iban", "holder"]


@pytest.mark.parametrize(
    "value",
    ["", "DE89370400440532013001", "XX89370400440532013000", "DE8937040044053201300",
     "6222020200112233446"],
)  # fmt: skip
def test_an_iban_that_does_not_check_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        valid_iban(value)
    assert refused.value.errors[0].field == "iban"


def test_a_credit_in_another_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match="the contract is in"):
        take_credit([("p1", Money("100.00", "EUR"))], Money("10.00", "USD"))


def _apply(refund: Refund, action: str, actor: Actor = SYSTEM, **params: str) -> None:
    reason = "returned" if action == "fail" else None
    refund.apply(action, actor, at=AT, business_date=date(2026, 12, 6), reason=reason, **params)


def test_the_bank_s_answers_move_a_refund_and_its_ends_are_final() -> None:
    paid = made()
    _apply(paid, "send", bank_reference="B-1")
    _apply(paid, "settle")
    assert (paid.state, paid.bank_reference, paid.paid_at) == (RefundState.PAID, "B-1", AT)
    with pytest.raises(IllegalTransitionError):
        _apply(paid, "fail")
    failed = made()
    _apply(failed, "fail")
    assert (failed.state, failed.reason, failed.failed_at) == (RefundState.FAILED, "returned", AT)
    with pytest.raises(IllegalTransitionError):
        _apply(failed, "send", bank_reference="B-2")
    with pytest.raises(PermissionDeniedError):
        _apply(made(), "send", CFO, bank_reference="B-3")
