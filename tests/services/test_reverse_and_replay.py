"""Reverse-and-replay on a real database: a reversed payment's contract ends as if the payment
had never been posted (a property against a second contract that never had it), the books
stay whole, and the money can be re-applied to another contract."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import Contract, Payment, PaymentState
from leasekit.domain.end_of_day import CloseRules
from leasekit.domain.funds import PostedAllocation
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.services import accounting, accounting_reports, contracts, disbursements, funds, users
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.end_of_day import close_business_day
from leasekit.services.funds import RecordPayment
from leasekit.services.voucher_batches import replay_log
from leasekit.store.end_of_day import ClosedDateClock
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .conftest import taken_over
from .test_accounting import deliver_all, finance, settled_partner, trial_balance  # noqa: F401
from .test_books_stateful import emptied, journal
from .test_disbursements import ACCOUNT, pay, payout
from .test_funds import money_in_balance

SYSTEM = Actor.system()
SERIAL = itertools.count(1)


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    """Taken-over contracts (see :func:`taken_over`), each with a serial of its own."""
    return lambda currency="USD": taken_over(ctx, 5000 + next(SERIAL), currency)


def record(ctx: ServiceContext, finance: Actor, contract: Contract, cents: int) -> str:  # noqa: F811
    ref = f"R-{next(SERIAL)}"
    amount = Money(Decimal(cents).scaleb(-2), contract.principal.currency)
    request = RecordPayment(contract.id, amount, ref, source_ref=ref)
    return funds.record_payment(ctx, finance, request).id


def reverse(ctx: ServiceContext, payment_id: str, reapply_to: str | None = None) -> Payment | None:
    """Reverse a payment as a debit return or an exception request does, within a command."""
    with ctx.uow_factory() as uow:
        at, business_date = ctx.moment()
        work = Work(ctx, uow, SYSTEM, at, business_date)
        target = None if reapply_to is None else uow.contracts.get(reapply_to)
        made = funds.reverse_payment(
            work, uow.payments.get(payment_id), "posted in error", reapply_to=target
        )
        uow.commit()
    return made


def credit_run(ctx: ServiceContext, contract_ids: Sequence[str]) -> None:
    """The end of day: credit pays what falls due on the business date."""
    with ctx.uow_factory() as uow:
        at, business_date = ctx.moment()
        work = Work(ctx, uow, SYSTEM, at, business_date)
        for contract_id in contract_ids:
            funds.allocate_credit(work, uow.contracts.get(contract_id))
        uow.commit()


def days_pass(
    ctx: ServiceContext, days: int, due: Sequence[date], contract_ids: Sequence[str]
) -> None:
    """*days* go by (-1: up to the next due date); the end of day of each due date among them
    applies credit."""
    start = ctx.clock.business_date()
    end = start + timedelta(days=days) if days >= 0 else min(d for d in due if d > start)
    for day in sorted(d for d in due if start < d <= end):
        ctx.clock.set_business_date(day)  # type: ignore[attr-defined]
        credit_run(ctx, contract_ids)
    ctx.clock.set_business_date(end)  # type: ignore[attr-defined]


def standing(rows: Sequence[PostedAllocation]) -> list[PostedAllocation]:
    undone = {row.reverses for row in rows if row.reverses}
    return [row for row in rows if row.reverses is None and row.id not in undone]


Picture = tuple[object, ...]


def picture(ctx: ServiceContext, contract_id: str, payment_ids: Sequence[str]) -> Picture:
    """What a contract's history left: each line's paid parts; for each payment (in the order
    given) its allocations as they stand per line, part and day, their net per line and part
    (reversals included) and its credit."""
    with ctx.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(contract_id)
        rows = uow.allocations.of_contract(contract_id)
        payments = {p.id: p for p in uow.payments.list_for_contract(contract_id)}
    sequence = {line.id: line.sequence for line in lines}
    paid = sorted((line.sequence, line.paid_penalty.amount, line.paid_fee.amount,
                   line.paid_interest.amount, line.paid_principal.amount)
                  for line in lines)  # fmt: skip
    per_payment = []
    for payment_id in payment_ids:
        by_day: dict[tuple[int, str, date], Decimal] = defaultdict(Decimal)
        for row in standing([r for r in rows if r.payment_id == payment_id]):
            by_day[(sequence[row.receivable_id], str(row.part), row.allocated_on)] += (
                row.amount.amount
            )
        net: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for row in rows:
            if row.payment_id == payment_id:
                net[(sequence[row.receivable_id], str(row.part))] += row.amount.amount
        per_payment.append(
            (dict(by_day), {key: value for key, value in net.items() if value},
             payments[payment_id].unallocated.amount)
        )  # fmt: skip
    return paid, per_payment


def charged(ctx: ServiceContext, contract_id: str, extras: Sequence[tuple[int, int]]) -> None:
    """Fees and penalties on the first lines, as a product or the end of day charges them."""
    with ctx.uow_factory() as uow:
        lines = sorted(uow.receivables.list_for_contract(contract_id), key=lambda ln: ln.sequence)
        for line, (fee, penalty) in zip(lines, extras, strict=False):
            cur = line.principal.currency
            line.fee = Money(Decimal(fee).scaleb(-2), cur)
            line.penalty = Money(Decimal(penalty).scaleb(-2), cur)
            uow.receivables.update(line)
        uow.commit()


# --- the property -------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(st.tuples(st.integers(-1, 40), st.integers(1, 200_000)), min_size=1, max_size=6),
    extras=st.lists(
        st.tuples(st.integers(0, 5_000), st.integers(0, 3_000)), min_size=3, max_size=3
    ),
    pick=st.integers(0, 5),
)
# Credit paid a line on the due date the reversed payment arrived on: the replay must pay it
# on that day again, not when the next payment comes.
@example(steps=[(0, 300_000), (-1, 50_000), (3, 70_000)], extras=[(0, 0)] * 3, pick=1)
def test_a_reversed_payment_leaves_the_contract_as_if_it_had_never_been_posted(
    ctx: ServiceContext, finance: Actor,  # noqa: F811
    book: Callable[..., BookContract],
    steps: list[tuple[int, int]], extras: list[tuple[int, int]], pick: int,
) -> None:  # fmt: skip
    """Two contracts with the same schedule, fees and penalties live the same days; one
    receives every payment, the other all but one. Once that one is reversed by
    reverse-and-replay, both have paid the same of every part of every line, and each payment
    stands allocated to the same lines, parts and days, with the same credit."""
    made, oracle = book(), book()
    both = [made.contract.id, oracle.contract.id]
    for contract_id in both:
        charged(ctx, contract_id, extras)
    due = [line.due_date for line in made.lines]
    skipped = pick % len(steps)
    posted, kept = [], []
    for n, (days, cents) in enumerate(steps):
        days_pass(ctx, days, due, both)
        posted.append(record(ctx, finance, made.contract, cents))
        if n != skipped:
            kept.append(record(ctx, finance, oracle.contract, cents))

    reverse(ctx, posted[skipped])

    rest = posted[:skipped] + posted[skipped + 1 :]
    assert picture(ctx, made.contract.id, rest) == picture(ctx, oracle.contract.id, kept)
    _, ((_, net, credit),) = picture(ctx, made.contract.id, [posted[skipped]])
    assert (net, credit) == ({}, 0)
    money_in_balance(ctx, made.contract)


def test_a_later_payment_pays_what_the_reversed_one_had_paid(
    ctx: ServiceContext,
    finance: Actor,  # noqa: F811
    book: Callable[..., BookContract],
) -> None:
    made = book()
    first, second = made.lines[:2]
    early = record(ctx, finance, made.contract, int(first.amount_due.amount * 100))
    later = record(ctx, finance, made.contract, int(second.amount_due.amount * 100))
    reverse(ctx, early)
    view = funds.get_payment(ctx, finance, later)
    # Its allocation to the second line was undone and it now pays the first, oldest first.
    assert [(row.sequence, row.amount.amount > 0) for row in view.allocations] == [
        (2, True), (2, True), (2, False), (2, False), (1, True), (1, True),
    ]  # fmt: skip
    statuses = [
        line.status for line in funds.list_receivables(ctx, finance, made.contract.id).items
    ]
    assert statuses[:2] == ["paid", "due"]
    money_in_balance(ctx, made.contract)
    with ctx.uow_factory() as uow:
        names = [event.name for _, event in uow.event_log.after(["payment"], 0, 1_000)
                 if event.subject_id == later]  # fmt: skip
    assert names[-2:] == ["allocation_undone", "credit_applied"]


# --- the books ----------------------------------------------------------------------------------


def test_the_books_stay_whole_after_a_reverse_and_replay(
    ctx: ServiceContext,
    engine: Engine, admin: Actor, dealer: Actor, officer: Actor,
    finance: Actor,  # noqa: F811
    fakes: Fakes, settled_partner: Partner, lease: Product,  # noqa: F811
) -> None:  # fmt: skip
    item = payout(ctx, dealer, officer, fakes, settled_partner, 0)
    approved = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    pay(ctx, approved)
    fakes.bank.settle(fakes.bank.paid(ACCOUNT.card_number)[-1].instruction_id)
    disbursements.track_payout(ctx, finance, item.id)
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    with ctx.uow_factory() as uow:
        due = [line.due_date for line in uow.receivables.list_for_contract(contract.id)]
    # Credit paid in before anything is due, then payments on the due dates.
    made = [record(ctx, finance, contract, 150_000)]
    for cents in (400_000, 90_000, 700_000):
        days_pass(ctx, (due[len(made) - 1] - ctx.clock.business_date()).days, due, [contract.id])
        made.append(record(ctx, finance, contract, cents))
    reverse(ctx, made[1])

    delivered = deliver_all(ctx)
    assert {"allocation_undone", "credit_applied", "payment_reversed"} <= {
        event.name for event in delivered
    }
    assert accounting.list_unmapped(ctx, finance).items == []
    assert sum(trial_balance(ctx).values(), Decimal(0)) == 0
    assert trial_balance(ctx)["2900"] == 0
    report = accounting_reports.contract_sub_ledger(ctx, finance, contract.id)
    assert report.matches, (report.receivable_balance, report.outstanding)
    with ctx.uow_factory() as uow:
        credit = uow.payments.credit_of([contract.id]).get(contract.id)
    held = -trial_balance(ctx).get("2200", Decimal(0))  # a liability: credit balance
    assert held == (Decimal(0) if credit is None else credit.amount)
    # The event log booked again into an emptied journal gives the same vouchers.
    booked = journal(engine)
    emptied(engine)
    replay_log(ctx)
    assert journal(engine) == booked


# --- re-applying ---------------------------------------------------------------------------------


def test_the_money_of_a_reversed_payment_is_re_applied_to_another_contract(
    ctx: ServiceContext,
    finance: Actor,  # noqa: F811
    book: Callable[..., BookContract],
) -> None:
    wrong, right = book(), book()
    first = right.lines[0]
    misplaced = record(ctx, finance, wrong.contract, int(first.amount_due.amount * 100))
    ctx.clock.advance(1)  # type: ignore[attr-defined]
    own = record(ctx, finance, right.contract, 1_000)  # the right contract's own, a day later
    moved = reverse(ctx, misplaced, reapply_to=right.contract.id)
    assert moved is not None
    before = funds.get_payment(ctx, finance, misplaced).payment
    assert before.state is PaymentState.REVERSED
    assert (moved.contract_id, moved.amount, moved.reference, moved.source, moved.received_on) == (
        right.contract.id, before.amount, before.reference, before.source, before.received_on,
    )  # fmt: skip
    assert moved.source_ref == f"reapplied:{misplaced}"
    # Posted as it arrived, it pays the first line ahead of the later payment, which moves on.
    view = funds.get_payment(ctx, finance, moved.id)
    assert {row.sequence for row in standing(view.allocations)} == {1}
    assert sum((row.amount for row in view.allocations), Money(0, "USD")) == first.amount_due
    own_rows = funds.get_payment(ctx, finance, own).allocations
    assert {row.sequence for row in standing(own_rows)} == {2}
    statuses = [
        line.status for line in funds.list_receivables(ctx, finance, wrong.contract.id).items
    ]
    assert statuses[:2] == ["overdue", "due"]  # owed again
    money_in_balance(ctx, wrong.contract)
    money_in_balance(ctx, right.contract)


def test_re_applying_is_refused_to_another_currency_a_contract_not_paying_or_the_same_one(
    ctx: ServiceContext,
    admin: Actor,
    finance: Actor,  # noqa: F811
    book: Callable[..., BookContract],
) -> None:
    made, euros, closed = book(), book("EUR"), book()
    cfo = users.create_user(
        ctx, admin, users.CreateUser("cfo", "Finance director", Role.FINANCE_DIRECTOR)
    ).actor()
    contracts.transition_contract(ctx, cfo, closed.contract.id, "write_off", "uncollectable")
    payment_id = record(ctx, finance, made.contract, 10_000)
    for target, says in ((euros, "EUR"), (closed, "written_off"), (made, "the contract")):
        with pytest.raises(ValidationError) as refused:
            reverse(ctx, payment_id, reapply_to=target.contract.id)
        (error,) = refused.value.errors
        assert error.field == "reapply_to"
        assert says in error.message
    # Nothing was written: the payment stands as it was.
    view = funds.get_payment(ctx, finance, payment_id)
    assert view.payment.state is PaymentState.ALLOCATED
    assert all(row.reverses is None for row in view.allocations)


def test_a_payment_reversed_with_nothing_after_it_changes_no_other_payment(
    ctx: ServiceContext,
    finance: Actor,  # noqa: F811
    book: Callable[..., BookContract],
) -> None:
    made = book()
    early = record(ctx, finance, made.contract, 50_000)
    last = record(ctx, finance, made.contract, 30_000)
    before = funds.get_payment(ctx, finance, early).allocations
    reverse(ctx, last)
    assert funds.get_payment(ctx, finance, early).allocations == before
    assert (
        attrs.evolve(funds.get_payment(ctx, finance, last).payment, version=0).state == "reversed"
    )


# --- with the closes of business charging penalty -----------------------------------------------


@pytest.fixture
def closing(ctx: ServiceContext, engine: Engine, fixed_clock: FixedClock) -> ServiceContext:
    """The services' context with the business date moved by closes, which charge penalty."""
    rules = CloseRules(partition_size=50, penalty_daily_rate=Decimal("0.0005"))
    return attrs.evolve(ctx, clock=ClosedDateClock(fixed_clock, engine), close_rules=rules)


def close_days(ctx: ServiceContext, clock: FixedClock, days: int) -> None:
    """*days* business days closed, a day of the clock passing with each."""
    for _ in range(days):
        clock.current += timedelta(days=1)
        close_business_day(ctx)


def penalties(ctx: ServiceContext, contract_id: str) -> list[tuple[object, ...]]:
    """Each line's penalty as charged, and the exact accrual and the day it runs through."""
    with ctx.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(contract_id)
        states = uow.end_of_day.penalty_states([line.id for line in lines])
    return [(line.sequence, line.penalty.amount, states[line.id].exact, states[line.id].through)
            for line in lines]  # fmt: skip


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 150_000)), min_size=2, max_size=5),
    pick=st.integers(0, 4),
)
# A payment on the day the contract was booked, before any close had charged it.
@example(steps=[(0, 5000), (12, 150000), (12, 100000), (4, 30000)], pick=2)
def test_a_reversal_charges_penalty_as_if_the_payment_had_never_been_posted(
    closing: ServiceContext, fixed_clock: FixedClock, finance: Actor,  # noqa: F811
    book: Callable[..., BookContract], steps: list[tuple[int, int]], pick: int,
) -> None:  # fmt: skip
    """Two contracts live the same closes of business, which apply credit as installments
    fall due and charge penalty on what is overdue; one receives every payment, the other all
    but one. Once that one is reversed, both have the same penalty on every line (charged,
    exact, and through the same day) and the same allocations: the closes since the reversed
    payment are charged again on what was owed without it."""
    made, oracle = book(), book()
    skipped = pick % len(steps)
    posted, kept = [], []
    for n, (days, cents) in enumerate(steps):
        close_days(closing, fixed_clock, days)
        posted.append(record(closing, finance, made.contract, cents))
        if n != skipped:
            kept.append(record(closing, finance, oracle.contract, cents))
    close_days(closing, fixed_clock, 1)
    assert any(penalty for _, penalty, _, _ in penalties(closing, oracle.contract.id))

    reverse(closing, posted[skipped])

    rest = posted[:skipped] + posted[skipped + 1 :]
    assert penalties(closing, made.contract.id) == penalties(closing, oracle.contract.id)
    assert picture(closing, made.contract.id, rest) == picture(closing, oracle.contract.id, kept)
    money_in_balance(closing, made.contract)
