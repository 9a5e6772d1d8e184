"""Refunds of a contract's credit on SQLite and PostgreSQL: the credit is taken oldest
payment first and exactly; more than the credit is refused with nothing written; the bank is
asked before any resend, so a refund redelivered after a lost answer is paid once; a refund
the bank refuses or returns gives every payment back exactly its credit; the vouchers keep
the trial balance at zero and the credit balances account equal to the payments' credit."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.domain.contracts import Contract
from leasekit.domain.identity import Actor, Role
from leasekit.domain.refunds import CreditTaken, Refund, RefundState
from leasekit.errors import (
    AdapterError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money
from leasekit.services import accounting, accounting_reports, refunds, users
from leasekit.services.catalog import handlers
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.events import HandlerSubscriber
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .test_accounting import balanced, book, deliver_all, finance, record, trial_balance, usd
from .test_accounting import vouchers as vouchers_of

__all__ = ["book", "finance", "usd"]  # fixtures

IBAN = "DE89 3704 0044 0532 0130 00"
COMPACT = "DE89370400440532013000"


@pytest.fixture
def cfo(ctx: ServiceContext, admin: Actor) -> Actor:
    command = users.CreateUser("cfo", "Finance director", Role.FINANCE_DIRECTOR)
    return users.create_user(ctx, admin, command).actor()


def refund(
    ctx: ServiceContext, actor: Actor, contract: Contract, amount: str, *,
    iban: str = IBAN, holder: str = "Erika Mustermann", request_id: str | None = "ER-1",
) -> Refund:  # fmt: skip
    """Pay out a refund as an exception request's execution does: inside a command's unit of
    work, committed by it."""
    with ctx.uow_factory() as uow:
        at, business_date = ctx.moment()
        work = Work(ctx, uow, actor, at, business_date)
        made = refunds.pay_out_refund(
            work, contract_id=contract.id, amount=Money(amount, contract.principal.currency),
            iban=iban, holder=holder, exception_request_id=request_id,
        )  # fmt: skip
        uow.commit()
    return made


def relay(ctx: ServiceContext, made: Refund) -> None:
    """Deliver the refund's event to the payout handler, as the outbox relay would."""
    with ctx.uow_factory() as uow:
        found = uow.event_log.after(["refund"], 0, 10_000)
    (event,) = [e for _, e in found if e.subject_id == made.id and e.name == "credit_refunded"]
    HandlerSubscriber(handlers()["refunds.pay_out"], ctx).deliver(event)


def credits(ctx: ServiceContext, contract: Contract) -> dict[str, Decimal]:
    """Each payment's credit, by payment id, oldest first (those with none included)."""
    with ctx.uow_factory() as uow:
        return {p.id: p.unallocated.amount for p in uow.payments.list_for_contract(contract.id)}


def with_credit(
    ctx: ServiceContext, finance: Actor, made: BookContract, *amounts: str
) -> list[str]:
    """Payments on *made*'s contract, each all credit: the first pays what is due, and
    *amounts[0]* more; the others arrive with nothing due. Their ids, oldest first."""
    contract, due = made.contract, sum(line.amount_due.amount for line in made.lines[:2])
    ids = []
    for n, amount in enumerate(amounts):
        paid = Decimal(amount) + (due if n == 0 else 0)
        record(ctx, finance, contract, str(paid), f"R-{contract.id}-{n}")
        ids.append(list(credits(ctx, contract))[-1])
    return ids


def state_of(ctx: ServiceContext, finance: Actor, made: Refund) -> RefundState:
    return refunds.get_refund(ctx, finance, made.id).state


def test_the_credit_is_taken_oldest_payment_first_and_exactly(
    ctx: ServiceContext, finance: Actor, cfo: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    first, second, third = with_credit(ctx, finance, made, "30.00", "50.00", "20.00")
    assert credits(ctx, made.contract)[first] == Decimal("30.00")
    done = refund(ctx, cfo, made.contract, "45.50")
    assert done.taken == (
        CreditTaken(first, Decimal("30.00")),
        CreditTaken(second, Decimal("15.50")),
    )
    assert (done.state, done.iban, done.exception_request_id) == (
        RefundState.REQUESTED, COMPACT, "ER-1",
    )  # fmt: skip
    left = credits(ctx, made.contract)
    assert (left[first], left[second], left[third]) == (0, Decimal("34.50"), Decimal("20.00"))
    assert refunds.get_refund(ctx, finance, done.id) == done
    with ctx.uow_factory() as uow:
        assert [found.id for found in uow.refunds.of_payment(second)] == [done.id]
        assert uow.refunds.of_payment(third) == []


def test_a_payment_whose_credit_is_out_at_the_bank_is_not_changed(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    (payment_id,) = with_credit(ctx, finance, made, "30.00")
    done = refund(ctx, cfo, made.contract, "10.00")

    def check() -> None:
        with ctx.uow_factory() as uow:
            at, business_date = ctx.moment()
            work = Work(ctx, uow, cfo, at, business_date)
            refunds.ensure_no_refund_out(work, uow.payments.get(payment_id))

    with pytest.raises(DomainError, match=f"refund {done.id} .* is requested"):
        check()
    relay(ctx, done)
    with pytest.raises(DomainError, match="is sent at the bank"):
        check()
    fakes.bank.settle(done.id)
    refunds.track_refund(ctx, finance, done.id)
    check()


@pytest.mark.parametrize(
    ("amount", "iban", "holder", "field"),
    [
        ("100.01", IBAN, "Erika Mustermann", "amount"),
        ("0.00", IBAN, "Erika Mustermann", "amount"),
        ("-5.00", IBAN, "Erika Mustermann", "amount"),
        ("1.001", IBAN, "Erika Mustermann", "amount"),
        ("10.00", "DE89 3704 0044 0532 0130 01", "Erika Mustermann", "iban"),
        ("10.00", "6222020200112233446", "Erika Mustermann", "iban"),
        ("10.00", IBAN, "   ", "holder"),
        ("10.00", IBAN, "x" * 71, "holder"),
    ],
)
def test_a_refund_the_credit_or_the_account_cannot_carry_is_refused_with_nothing_written(
    ctx: ServiceContext, finance: Actor, cfo: Actor, book: Callable[..., BookContract],
    amount: str, iban: str, holder: str, field: str,
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "60.00", "40.00")
    before = credits(ctx, made.contract)
    with pytest.raises(ValidationError) as refused:
        refund(ctx, cfo, made.contract, amount, iban=iban, holder=holder)
    assert [error.field for error in refused.value.errors] == [field]
    assert credits(ctx, made.contract) == before
    page = refunds.list_contract_refunds(ctx, finance, made.contract.id)
    assert page.items == []
    with ctx.uow_factory() as uow:
        assert uow.event_log.after(["refund"], 0, 10) == []


def test_a_refund_larger_than_the_credit_says_how_much_there_is(
    ctx: ServiceContext, finance: Actor, cfo: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    with pytest.raises(ValidationError, match=r"credit is 0 USD"):
        refund(ctx, cfo, made.contract, "1.00")


def test_a_refund_is_paid_out_once_and_settles(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "80.00")
    done = refund(ctx, cfo, made.contract, "80.00")
    relay(ctx, done)
    relay(ctx, done)  # the relay delivers twice
    sent = refunds.get_refund(ctx, finance, done.id)
    assert sent.state is RefundState.SENT
    assert sent.bank_reference is not None
    (instruction,) = fakes.bank.paid(COMPACT)
    assert (instruction.instruction_id, instruction.amount) == (done.id, done.amount)
    assert instruction.payee_name == "Erika Mustermann"
    fakes.bank.settle(done.id)
    paid = refunds.track_refund(ctx, finance, done.id)
    assert paid.state is RefundState.PAID
    assert paid.paid_at is not None
    assert refunds.track_refund(ctx, cfo, done.id) == paid, "nothing more to ask"
    assert len(fakes.bank.paid(COMPACT)) == 1


def test_a_refund_redelivered_after_the_bank_lost_its_answer_is_paid_once(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "80.00")
    done = refund(ctx, cfo, made.contract, "25.00")
    fakes.bank.lose_next_answer()
    with pytest.raises(AdapterError):
        relay(ctx, done)
    assert state_of(ctx, finance, done) is RefundState.REQUESTED, "the outcome is unknown"
    relay(ctx, done)
    relay(ctx, done)
    assert state_of(ctx, finance, done) is RefundState.SENT
    assert len(fakes.bank.paid(COMPACT)) == 1


def test_a_refund_the_bank_refuses_gives_the_credit_back(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "30.00", "50.00")
    before = credits(ctx, made.contract)
    fakes.bank.reject_payments_to(COMPACT, "account closed")
    done = refund(ctx, cfo, made.contract, "60.00")
    relay(ctx, done)
    failed = refunds.get_refund(ctx, finance, done.id)
    assert (failed.state, failed.reason) == (RefundState.FAILED, "account closed")
    assert credits(ctx, made.contract) == before
    relay(ctx, done)
    assert credits(ctx, made.contract) == before, "given back once"


def test_a_refund_returned_after_acceptance_gives_the_credit_back(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "30.00", "50.00")
    before = credits(ctx, made.contract)
    done = refund(ctx, cfo, made.contract, "70.00")
    relay(ctx, done)
    fakes.bank.fail_settlement(done.id)
    failed = refunds.track_refund(ctx, finance, done.id)
    assert failed.state is RefundState.FAILED
    assert failed.reason == "returned by the payee's bank"
    assert credits(ctx, made.contract) == before
    assert refunds.track_refund(ctx, finance, done.id).state is RefundState.FAILED


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_failed_refund_leaves_every_payment_with_its_credit(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract], data: st.DataObject,
) -> None:  # fmt: skip
    made = book()
    cents = data.draw(st.lists(st.integers(1, 500_000), min_size=1, max_size=4), label="credits")
    with_credit(ctx, finance, made, *(str(Decimal(c).scaleb(-2)) for c in cents))
    before = credits(ctx, made.contract)
    asked = data.draw(st.integers(1, sum(cents)), label="refund")
    done = refund(ctx, cfo, made.contract, str(Decimal(asked).scaleb(-2)))
    # Oldest first: every payment before the last one touched gave all its credit.
    taken = [part.amount for part in done.taken]
    held = [amount for amount in before.values() if amount]
    assert taken[:-1] == held[: len(taken) - 1]
    assert sum(taken) == Decimal(asked).scaleb(-2)
    fakes.bank.reject_payments_to(COMPACT)
    relay(ctx, done)
    assert state_of(ctx, finance, done) is RefundState.FAILED
    assert credits(ctx, made.contract) == before


def _books_whole(usd: ServiceContext, finance: Actor, contract: Contract) -> Decimal:
    """Every voucher balanced, the trial balance zero and the customer credit balances
    account equal to the payments' credit; what the receivables account and the contract's
    sub-ledger differ by (a taken-over contract's lending was booked before leasekit)."""
    deliver_all(usd)
    assert accounting.list_unmapped(usd, finance).items == []
    assert all(balanced(view) for view in vouchers_of(usd, finance))
    totals = trial_balance(usd)
    assert sum(totals.values(), Decimal(0)) == 0
    assert -totals.get("2200", Decimal(0)) == sum(credits(usd, contract).values(), Decimal(0))
    return accounting_reports.contract_sub_ledger(usd, finance, contract.id).difference


@pytest.mark.parametrize("outcome", ["paid", "failed"])
def test_the_books_stay_whole_after_a_refund_is_paid_or_fails(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract], outcome: str,
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "30.00", "50.00")
    lent = _books_whole(usd, finance, made.contract)
    assert lent == -made.contract.principal.amount
    done = refund(ctx, cfo, made.contract, "65.00")
    assert _books_whole(usd, finance, made.contract) == lent
    relay(ctx, done)
    if outcome == "paid":
        fakes.bank.settle(done.id)
    else:
        fakes.bank.fail_settlement(done.id)
    assert refunds.track_refund(ctx, finance, done.id).state == outcome
    assert _books_whole(usd, finance, made.contract) == lent, "no receivable moved"
    booked = vouchers_of(usd, finance, contract_id=made.contract.id)
    kinds = [view.event_type for view in booked if view.event_type.startswith(("credit_r", "ref"))]
    assert kinds == ["credit_refunded"] + (["refund_failed"] if outcome == "failed" else [])


def test_refunds_are_listed_by_contract_masked_and_kept_from_dealers(
    ctx: ServiceContext, finance: Actor, cfo: Actor, dealer: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with_credit(ctx, finance, made, "90.00")
    first = refund(ctx, cfo, made.contract, "10.00")
    second = refund(ctx, cfo, made.contract, "20.00")
    page = refunds.list_contract_refunds(ctx, finance, made.contract.id, limit=1)
    assert [record["id"] for record in page.items] == [first.id]
    rest = refunds.list_contract_refunds(ctx, finance, made.contract.id, after=page.next_after)
    assert [record["id"] for record in rest.items] == [second.id]
    assert rest.items[0]["iban"] != COMPACT
    assert rest.items[0]["iban"].endswith(COMPACT[-4:])
    assert [part["amount"] for part in rest.items[0]["taken"]] == [Decimal("20.00")]
    with pytest.raises(PermissionDeniedError):
        refunds.get_refund(ctx, dealer, first.id)
    with pytest.raises(PermissionDeniedError):
        refunds.track_refund(ctx, dealer, first.id)
    with pytest.raises(NotFoundError):
        refunds.get_refund(ctx, finance, "no-such-refund")
