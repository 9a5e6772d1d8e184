"""A payment reversed after refunds paid out of its credit, on SQLite and PostgreSQL: the bank
takes back the whole payment, so what was refunded of its credit becomes owed again, as a new
line due on the business date (a debit returned by the bank's file, or a reversal executed by
an exception request); a refund that failed claws back nothing; a return imported again
changes nothing; the vouchers stay balanced, the trial balance zero, the credit balances
account equal to the payments' credit and the receivable account equal to what is owed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from leasekit.domain.contracts import Contract, PaymentSource, PaymentState, Receivable
from leasekit.domain.events import DomainEvent
from leasekit.domain.exception_requests import Proposal
from leasekit.domain.identity import Actor
from leasekit.domain.refunds import RefundState
from leasekit.domain.vouchers import Side
from leasekit.ports import DebitBatch
from leasekit.services import accounting, accounting_reports, debit_runs, refunds
from leasekit.services import exception_requests as requests
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.exception_requests import RaiseRequest, Submission
from leasekit.services.refunds import CLAWBACK
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .test_accounting import SYSTEM, balanced, book, deliver_all, finance, record, trial_balance
from .test_accounting import usd as usd
from .test_accounting import vouchers as vouchers_of
from .test_refunds import COMPACT, cfo, credits, refund, relay

__all__ = ["book", "cfo", "finance", "usd"]  # fixtures


def _payments(ctx: ServiceContext, contract: Contract) -> dict[str, tuple[PaymentState, Decimal]]:
    with ctx.uow_factory() as uow:
        return {p.id: (p.state, p.unallocated.amount)
                for p in uow.payments.list_for_contract(contract.id)}  # fmt: skip


def _lines(ctx: ServiceContext, contract: Contract) -> list[Receivable]:
    with ctx.uow_factory() as uow:
        return uow.receivables.list_for_contract(contract.id)


def _events(ctx: ServiceContext, name: str) -> list[DomainEvent]:
    with ctx.uow_factory() as uow:
        found = uow.event_log.after(["payment", "receivable"], 0, 100_000)
    return [event for _, event in found if event.name == name]


def _books_whole(
    usd: ServiceContext, finance: Actor, contract: Contract, in_flight: Decimal = Decimal(0)
) -> Decimal:
    """Every voucher booked and balanced, the trial balance zero, the credit balances
    account equal to the payments' credit, less what refunds still out at the bank took of
    payments reversed since (*in_flight*: owed once paid, back once failed); what the
    receivable account and the schedule differ by (a taken-over contract's lending was booked
    before leasekit)."""
    deliver_all(usd)
    assert accounting.list_unmapped(usd, finance).items == []
    assert all(balanced(view) for view in vouchers_of(usd, finance))
    totals = trial_balance(usd)
    assert sum(totals.values(), Decimal(0)) == 0
    held = sum(credits(usd, contract).values(), Decimal(0))
    assert -totals.get("2200", Decimal(0)) == held - in_flight
    return accounting_reports.contract_sub_ledger(usd, finance, contract.id).difference


def _debit_all_credit(
    ctx: ServiceContext, finance: Actor, made: BookContract
) -> tuple[DebitBatch, str, str]:
    """A direct debit collected after the installments it was for were paid by hand, so its
    payment is all credit: the batch, the debit's trace id and the payment's id."""
    run = debit_runs.start_debit_run(ctx, finance, StartDebitRun("us"))
    batch = debit_runs.debit_batch(ctx, SYSTEM, run.id)
    (debit,) = batch.items
    record(ctx, finance, made.contract, str(debit.amount.amount), "BY-HAND")
    debit_runs.settle_debit_run(ctx, finance, SettleRun(run.id))
    with ctx.uow_factory() as uow:
        (payment,) = [p for p in uow.payments.list_for_contract(made.contract.id)
                      if p.source is PaymentSource.DIRECT_DEBIT]  # fmt: skip
    assert payment.unallocated == debit.amount
    return batch, debit.item_id, payment.id


def _refunded(
    ctx: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes, contract: Contract,
    amount: str, outcome: RefundState,
) -> None:  # fmt: skip
    """A refund of *amount* of the contract's credit, paid or failed at the bank."""
    if outcome is RefundState.FAILED:
        fakes.bank.reject_payments_to(COMPACT, "account closed")
    done = refund(ctx, cfo, contract, amount)
    relay(ctx, done)
    if outcome is RefundState.PAID:
        fakes.bank.settle(done.id)
        refunds.track_refund(ctx, finance, done.id)
    assert refunds.get_refund(ctx, finance, done.id).state is outcome


@pytest.mark.parametrize(
    ("refunded", "outcome", "clawed_back"),
    [
        ("all", RefundState.PAID, "all"),
        ("100.00", RefundState.PAID, "100.00"),
        ("100.00", RefundState.FAILED, None),
    ],
    ids=["fully-refunded", "partly-refunded", "refund-failed"],
)
def test_a_returned_debit_claws_back_what_was_refunded_of_its_credit(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract], refunded: str, outcome: RefundState,
    clawed_back: str | None,
) -> None:  # fmt: skip
    made = book()
    contract = made.contract
    batch, trace, payment_id = _debit_all_credit(ctx, finance, made)
    whole = credits(ctx, contract)[payment_id]
    amount = str(whole) if refunded == "all" else refunded
    _refunded(ctx, finance, cfo, fakes, contract, amount, outcome)
    lent = _books_whole(usd, finance, contract)
    before = _lines(ctx, contract)

    debit_runs.import_debit_results(ctx, finance, [fakes.bank.return_file(batch, {trace: "R01"})])

    owed = None if clawed_back is None else whole if clawed_back == "all" else Decimal(clawed_back)
    after = _lines(ctx, contract)
    assert _payments(ctx, contract)[payment_id] == (PaymentState.REVERSED, 0)
    clawbacks = _events(ctx, "refund_clawed_back")
    if owed is None:
        assert len(after) == len(before)
        assert clawbacks == []
    else:
        (new,) = after[len(before) :]
        assert [line.id for line in after[: len(before)]] == [line.id for line in before]
        assert (new.sequence, new.due_date) == (before[-1].sequence + 1, ctx.clock.business_date())
        assert (new.principal.amount, new.interest.amount, new.fee.amount) == (0, 0, owed)
        assert new.paid.amount == 0
        (event,) = clawbacks
        assert (event.subject, event.subject_id) == ("receivable", new.id)
        assert event.payload["amount"] == str(owed)
        assert (event.payload["payment_id"], event.payload["description"]) == (
            payment_id, CLAWBACK,
        )  # fmt: skip
    assert _books_whole(usd, finance, contract) == lent, "the receivable account owes it too"
    booked = vouchers_of(usd, finance, contract_id=contract.id)
    (reversed_,) = [view for view in booked if view.event_type == "payment_reversed"]
    bank = [line for line in reversed_.lines if line.account == "1110"]
    assert [(line.side, line.amount.amount) for line in bank] == [(Side.CREDIT, whole)], (
        "the bank took back the whole payment"
    )
    clawed = [view for view in booked if view.event_type == "refund_clawed_back"]
    assert [sorted((line.account, str(line.side), line.amount.amount) for line in view.lines)
            for view in clawed] == ([] if owed is None else [
        [("1200", "debit", owed), ("2200", "credit", owed)]])  # fmt: skip


def test_a_return_imported_again_claws_back_nothing_more(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    batch, trace, _ = _debit_all_credit(ctx, finance, made)
    _refunded(ctx, finance, cfo, fakes, made.contract, "100.00", RefundState.PAID)
    returns = fakes.bank.return_file(batch, {trace: "R01"})
    debit_runs.import_debit_results(ctx, finance, [returns])
    lent = _books_whole(usd, finance, made.contract)
    lines, payments = _lines(ctx, made.contract), _payments(ctx, made.contract)

    assert debit_runs.import_debit_results(ctx, finance, [returns])[1] is False
    # The same return in another file: the NACHA header's file id modifier (position 34).
    assert returns[33:34] == b"A"
    again, applied = debit_runs.import_debit_results(
        ctx, finance, [returns[:33] + b"B" + returns[34:]], filename="again"
    )
    assert (applied, [line.outcome for line in again.lines]) == (True, ["duplicate"])

    assert _lines(ctx, made.contract) == lines
    assert _payments(ctx, made.contract) == payments
    assert len(_events(ctx, "refund_clawed_back")) == 1
    assert _books_whole(usd, finance, made.contract) == lent


def test_a_reversal_executed_after_a_refund_was_paid_claws_it_back(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, cfo: Actor, officer: Actor,
    supervisor: Actor, fakes: Fakes, book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    contract = made.contract
    due = sum(line.amount_due.amount for line in made.lines[:2])
    record(ctx, finance, contract, str(due + Decimal("80.00")), "TOO-MUCH")
    (payment_id,) = credits(ctx, contract)
    _refunded(ctx, finance, cfo, fakes, contract, "50.00", RefundState.PAID)
    lent = _books_whole(usd, finance, contract)
    proposal = Proposal("reversal", "duplicate", "entered twice", payment_id=payment_id)  # type: ignore[arg-type]
    request = requests.create_exception_request(ctx, officer, RaiseRequest(contract.id, proposal))
    requests.submit_exception_request(ctx, officer, Submission(request.id))
    requests.transition_exception_request(ctx, supervisor, request.id, "approve")
    requests.transition_exception_request(ctx, cfo, request.id, "approve")
    requests.transition_exception_request(ctx, finance, request.id, "execute")

    assert _payments(ctx, contract)[payment_id] == (PaymentState.REVERSED, 0)
    new = _lines(ctx, contract)[-1]
    assert (new.fee.amount, new.due_date) == (Decimal("50.00"), ctx.clock.business_date())
    (event,) = _events(ctx, "refund_clawed_back")
    assert event.subject_id == new.id
    assert _books_whole(usd, finance, contract) == lent
    (reversed_,) = [view for view in vouchers_of(usd, finance, contract_id=contract.id)
                    if view.event_type == "payment_reversed"]  # fmt: skip
    (bank,) = [line for line in reversed_.lines if line.account == "1100"]
    assert (bank.side, bank.amount.amount) == (Side.CREDIT, due + Decimal("80.00"))


@pytest.mark.parametrize("outcome", [RefundState.PAID, RefundState.FAILED])
def test_a_refund_still_out_when_the_debit_returns_is_clawed_back_only_once_paid(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, cfo: Actor, fakes: Fakes,
    book: Callable[..., BookContract], outcome: RefundState,
) -> None:  # fmt: skip
    made = book()
    contract = made.contract
    batch, trace, payment_id = _debit_all_credit(ctx, finance, made)
    out = refund(ctx, cfo, contract, "100.00")
    relay(ctx, out)
    assert refunds.get_refund(ctx, finance, out.id).state is RefundState.SENT
    lent = _books_whole(usd, finance, contract)
    before = _lines(ctx, contract)
    debit_runs.import_debit_results(ctx, finance, [fakes.bank.return_file(batch, {trace: "R01"})])
    assert len(_lines(ctx, contract)) == len(before), "no line while the bank may yet fail it"
    assert _books_whole(usd, finance, contract, in_flight=Decimal("100.00")) == lent

    (fakes.bank.settle if outcome is RefundState.PAID else fakes.bank.fail_settlement)(out.id)
    refunds.track_refund(ctx, finance, out.id)

    assert refunds.get_refund(ctx, finance, out.id).state is outcome
    assert _payments(ctx, contract)[payment_id] == (PaymentState.REVERSED, 0), (
        "a reversed payment holds no credit, whatever the refund became"
    )
    clawbacks = _events(ctx, "refund_clawed_back")
    if outcome is RefundState.PAID:
        (new,) = _lines(ctx, contract)[len(before) :]
        assert (new.fee.amount, new.due_date) == (Decimal("100.00"), ctx.clock.business_date())
        assert [(event.subject_id, event.payload["refunds"]) for event in clawbacks] == [
            (new.id, out.id)
        ]
    else:
        assert (len(_lines(ctx, contract)), clawbacks) == (len(before), [])
    assert _books_whole(usd, finance, contract) == lent
