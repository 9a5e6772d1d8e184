"""The close of business: penalty accrual and aging against hand-computed figures, the
business date moving only when every step is done, resumption after a failing step, and the
same result whatever the partitioning."""

from __future__ import annotations

import gc
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.calc import penalty_interest
from leasekit.domain.clock import FixedClock
from leasekit.domain.end_of_day import AgingBucket, CloseRules, CloseState, InterestAccrual
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.errors import LeasekitError
from leasekit.money import Money
from leasekit.services import approvals, credit_limits, funds, users
from leasekit.services.context import ServiceContext
from leasekit.services.end_of_day import (
    BUILTIN_STEPS,
    CloseFailed,
    EndOfDayStep,
    close_business_day,
    close_progress,
    run_partition,
)
from leasekit.services.funds import RecordPayment
from leasekit.services.storage import UnitOfWork
from leasekit.store.end_of_day import ClosedDateClock
from leasekit.testing.book import taken_over_book

from .conftest import open_review, open_task
from .test_accounting import deliver_all, trial_balance
from .test_approvals import submitted
from .test_credit_limits import ask

PRICED_ON = date(2024, 1, 10)
"""Installments fall due on the 10th of each month from February 2024."""
RATE = Decimal("0.0005")


@pytest.fixture
def closing(ctx: ServiceContext, engine: Engine, fixed_clock: FixedClock) -> ServiceContext:
    """The services' context with the business date kept by closes, as the runtime builds it."""
    rules = CloseRules(partition_size=2, penalty_daily_rate=RATE)
    return attrs.evolve(ctx, clock=ClosedDateClock(fixed_clock, engine), close_rules=rules)


def _book(ctx: ServiceContext, count: int) -> list[str]:
    with ctx.unit_of_work() as uow:
        ids = taken_over_book(uow, count, priced_on=PRICED_ON, at=ctx.clock.now())
        uow.commit()
    return ids


def _lines(uow: UnitOfWork, contract_id: str) -> list[tuple[date, Decimal, Decimal]]:
    return [(line.due_date, line.outstanding.amount - line.penalty.amount, line.penalty.amount)
            for line in uow.receivables.list_for_contract(contract_id)]  # fmt: skip


def _close_days(ctx: ServiceContext, days: int) -> None:
    for _ in range(days):
        close_business_day(ctx)


def _table(engine: Engine, name: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        table = sa.Table(name, sa.MetaData(), autoload_with=connection)
        order = [column for column in table.c if column.name not in {"done_at", "started_at",
                                                                     "closed_at"}]  # fmt: skip
        return [tuple(row) for row in connection.execute(sa.select(*order).order_by(*order))]


def test_the_close_moves_the_business_date_one_day(
    closing: ServiceContext, fixed_clock: FixedClock
) -> None:
    fixed_clock.set_business_date(date(2024, 2, 1))
    closed = close_business_day(closing)
    assert (closed.business_date, closed.state) == (date(2024, 2, 1), CloseState.CLOSED)
    assert closing.clock.business_date() == date(2024, 2, 2)
    fixed_clock.set_business_date(date(2030, 1, 1))
    assert closing.clock.business_date() == date(2024, 2, 2), "closes alone move it now"


def test_penalty_and_aging_match_the_calculator_day_by_day(
    closing: ServiceContext, fixed_clock: FixedClock
) -> None:
    [contract_id] = _book(closing, 1)
    grace = closing.collection.retry.grace_days
    fixed_clock.set_business_date(date(2024, 2, 10))
    with closing.unit_of_work() as uow:
        first_due, owed, _ = _lines(uow, contract_id)[0]
    for day in range(grace + 1):  # the due date and the grace days: nothing yet
        close_business_day(closing)
        with closing.unit_of_work() as uow:
            assert _lines(uow, contract_id)[0][2] == 0, f"day {day}"
            assert uow.end_of_day.aging_of(contract_id) is None
    _close_days(closing, 36)  # through 2024-03-20: 39 days after the first due date
    on = date(2024, 3, 20)
    with closing.unit_of_work() as uow:
        lines = _lines(uow, contract_id)
        aging = uow.end_of_day.aging_of(contract_id)
    quoted = penalty_interest(
        [(due, rest) for due, rest, _ in lines if due <= on], as_of=on, daily_rate=RATE,
        grace_days=grace, currency_code="CNY",
    )  # fmt: skip
    assert [line.penalty for line in quoted.lines] == [penalty for due, _, penalty in lines
                                                       if due <= on]  # fmt: skip
    # by hand: the first line, owing its whole installment, 39 days at 0.05 %
    assert lines[0][2] == (owed * RATE * 39).quantize(Decimal("0.01"))
    assert aging is not None
    assert (aging.days_past_due, aging.bucket) == (39, AgingBucket.DAYS_31_60)
    assert aging.overdue == lines[0][1] + lines[1][1]
    assert first_due == date(2024, 2, 10)


def test_a_closed_day_done_again_changes_nothing(
    closing: ServiceContext, fixed_clock: FixedClock, engine: Engine
) -> None:
    _book(closing, 3)
    fixed_clock.set_business_date(date(2024, 3, 1))
    close_business_day(closing)
    before = {name: _table(engine, name) for name in ("receivables", "contract_aging")}
    assert before["contract_aging"], "the day had overdue contracts to age"
    for step in BUILTIN_STEPS:
        with closing.unit_of_work() as uow:
            partitions = uow.end_of_day.partitions(date(2024, 3, 1), step.name)
        for partition in partitions:
            assert not run_partition(closing, date(2024, 3, 1), step.name, partition.low)
    assert {name: _table(engine, name) for name in before} == before
    # Even the receivables step itself, run again past its partitions' marks, adds nothing.
    [receivables] = [step for step in BUILTIN_STEPS if step.name == "receivables"]
    with closing.unit_of_work() as uow:
        again = receivables.work(uow, closing, date(2024, 3, 1), "", None)
        uow.commit()
    assert again["lines_accrued"] == 0
    assert {name: _table(engine, name) for name in before} == before


def test_a_failing_step_leaves_the_date_and_the_rerun_resumes(
    closing: ServiceContext, fixed_clock: FixedClock, engine: Engine
) -> None:
    [contract_id] = _book(closing, 1)
    fixed_clock.set_business_date(date(2024, 3, 1))
    calls: list[date] = []

    def flaky(uow: object, ctx: ServiceContext, on: date, low: str, high: str | None
              ) -> dict[str, int]:  # fmt: skip
        calls.append(on)
        if len(calls) == 1:
            raise LeasekitError("the archive is not reachable")
        return {"archived": 1}

    failing = attrs.evolve(closing, end_of_day_steps=(EndOfDayStep("archive", flaky),))
    with pytest.raises(CloseFailed, match="step archive: the archive is not reachable"):
        close_business_day(failing)
    assert failing.clock.business_date() == date(2024, 3, 1)
    with failing.unit_of_work() as uow:
        accrued = _lines(uow, contract_id)[0][2]
    progress = close_progress(failing, date(2024, 3, 1))
    assert progress is not None
    assert progress.state is CloseState.RUNNING
    assert {step.name: (step.done, step.total) for step in progress.steps}["archive"] == (0, 1)

    closed = close_business_day(failing)
    assert failing.clock.business_date() == date(2024, 3, 2)
    assert closed.summary["archive"] == {"archived": 1}
    with failing.unit_of_work() as uow:
        assert _lines(uow, contract_id)[0][2] == accrued, "the receivables step ran once"


def test_the_partitioning_does_not_change_the_result(
    closing: ServiceContext, fixed_clock: FixedClock, engine: Engine
) -> None:
    ids = _book(closing, 5)
    fixed_clock.set_business_date(date(2024, 4, 1))
    close_business_day(closing)
    split = {name: _table(engine, name) for name in ("receivables", "contract_aging")}
    with closing.unit_of_work() as uow:
        assert len(uow.end_of_day.partitions(date(2024, 4, 1), "receivables")) == 3
    # the same day again, on the same book, in one partition: undo the close and redo it
    with engine.begin() as connection:
        for table in ("eod_partitions", "eod_closes", "contract_aging"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
        connection.execute(sa.text("UPDATE receivables SET penalty = '0', penalty_exact = NULL, "
                                   "penalty_through = NULL, version = version - 1 "
                                   "WHERE penalty_through IS NOT NULL"))  # fmt: skip
    whole = attrs.evolve(closing, close_rules=CloseRules(partition_size=100,
                                                         penalty_daily_rate=RATE))  # fmt: skip
    close_business_day(whole)
    assert split["contract_aging"], "the day had overdue contracts to age"
    assert {name: _table(engine, name) for name in split} == split
    assert len(split["contract_aging"]) == len(ids)


def test_a_partition_works_with_the_older_heap_frozen(
    closing: ServiceContext, fixed_clock: FixedClock
) -> None:
    """What was alive before a partition is out of the garbage collector's sweeps while it
    works, and back in after; a heap the process froze itself stays frozen."""
    _book(closing, 3)
    fixed_clock.set_business_date(date(2024, 3, 1))
    seen: list[int] = []

    def look(uow: object, ctx: ServiceContext, on: date, low: str, high: str | None
             ) -> dict[str, int]:  # fmt: skip
        seen.append(gc.get_freeze_count())
        return {}

    looking = attrs.evolve(closing, end_of_day_steps=(EndOfDayStep("look", look, True),))
    assert gc.get_freeze_count() == 0
    close_business_day(looking)
    assert len(seen) == 2, "one look per partition"
    assert all(seen)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        close_business_day(looking)
        assert gc.get_freeze_count(), "the process's own freeze was left alone"
    finally:
        gc.unfreeze()


def test_a_step_name_used_twice_is_refused(closing: ServiceContext) -> None:
    [expiries] = [step for step in BUILTIN_STEPS if step.name == "expiries"]
    twice = attrs.evolve(closing, end_of_day_steps=(expiries,))
    with pytest.raises(CloseFailed, match="named twice: expiries"):
        close_business_day(twice)


# --- interest earned, not yet paid --------------------------------------------------------------


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("finance", "Fin", Role.FINANCE)).actor()


def _accrued(ctx: ServiceContext) -> tuple[Decimal, Decimal]:
    """The balances of interest earned not yet paid (1250) and interest income (4100), as
    debit minus credit, once every money event is booked; and the books balance."""
    deliver_all(ctx)
    balances = trial_balance(ctx)
    assert sum(balances.values(), Decimal(0)) == 0
    return balances.get("1250", Decimal(0)), balances.get("4100", Decimal(0))


def test_interest_is_booked_as_it_is_earned_and_released_once_paid(
    closing: ServiceContext, fixed_clock: FixedClock, finance: Actor
) -> None:
    daily = attrs.evolve(closing, close_rules=attrs.evolve(
        closing.close_rules, interest_accrual=InterestAccrual.DAILY))  # fmt: skip
    [contract_id] = _book(daily, 1)
    with daily.unit_of_work() as uow:
        first = uow.receivables.list_for_contract(contract_id)[0]
    fixed_clock.set_business_date(date(2024, 1, 25))
    _close_days(daily, 5)  # through 2024-01-29: 19 of the 31 days before 2024-02-10
    earned = (first.interest.amount * 19 / 31).quantize(Decimal("0.01"))
    assert _accrued(daily) == (earned, -earned)
    _close_days(daily, 12)  # through the due date: all of it
    assert _accrued(daily) == (first.interest.amount, -first.interest.amount)

    pay = RecordPayment(contract_id, first.amount_due, "feb", source_ref="feb")
    funds.record_payment(daily, finance, pay)
    close_business_day(daily)  # 2024-02-11: paid, released; the next line earns a day
    with daily.unit_of_work() as uow:
        second = uow.receivables.list_for_contract(contract_id)[1]
    one_day = (second.interest.amount / 29).quantize(Decimal("0.01"))
    assert _accrued(daily) == (one_day, -(first.interest.amount + one_day))


def test_month_end_interest_books_on_the_last_day_only(
    closing: ServiceContext, fixed_clock: FixedClock
) -> None:
    [contract_id] = _book(closing, 1)
    fixed_clock.set_business_date(date(2024, 1, 29))
    _close_days(closing, 2)
    assert _accrued(closing)[0] == 0
    close_business_day(closing)  # 2024-01-31
    with closing.unit_of_work() as uow:
        first = uow.receivables.list_for_contract(contract_id)[0]
    assert _accrued(closing)[0] == (first.interest.amount * 21 / 31).quantize(Decimal("0.01"))


def test_the_close_releases_run_out_claims_and_ends_temporary_limits(
    closing: ServiceContext, fixed_clock: FixedClock, dealer: Actor, partner: Partner,
    officer: Actor, manager: Actor, director: Actor,
) -> None:  # fmt: skip
    """A claim whose lease ran out goes back to the queue, one still leased stays; a
    temporary limit whose last day is closed comes off the account, once."""
    today = closing.clock.business_date()
    stale, live = (open_task_of(closing, dealer, partner, n) for n in (1, 2))
    approvals.transition_approval_task(closing, officer, stale, "claim")
    fixed_clock.current += timedelta(minutes=31)
    approvals.transition_approval_task(closing, manager, live, "claim")
    request = ask(closing, officer, partner, "temporary", "500000.00", today)
    credit_limits.transition_limit_request(closing, manager, request.id, "approve")
    assert credit_limits.get_credit_limit(closing, officer, partner.id).temporary_until == today

    expiries = close_business_day(closing).summary["expiries"]
    assert (expiries["claims_released"], expiries["temporary_limits_ended"]) == (1, 1)
    view = {task_id: approvals.get_task_view(closing, director, task_id).task
            for task_id in (stale, live)}  # fmt: skip
    assert (str(view[stale].state), view[stale].locked_by) == ("open", None)
    assert (str(view[live].state), view[live].locked_by) == ("claimed", manager.user_id)
    account = credit_limits.get_credit_limit(closing, officer, partner.id)
    assert (account.temporary.amount, account.temporary_until) == (Decimal("0.00"), None)
    with closing.unit_of_work() as uow:
        trail = [entry.action for entry in uow.audit.for_subject("credit_limit", partner.id)]
    assert trail.count("credit_limit_temporary_ended") == 1

    fixed_clock.current += timedelta(hours=1)
    again = close_business_day(closing).summary["expiries"]
    assert (again["claims_released"], again["temporary_limits_ended"]) == (1, 0)


def open_task_of(ctx: ServiceContext, dealer: Actor, partner: Partner, n: int) -> str:
    application_id = submitted(ctx, dealer, partner, n)
    open_review(ctx, application_id)
    return open_task(ctx, application_id).id


def test_the_penalty_is_stored_as_the_currency_writes_it(
    closing: ServiceContext, fixed_clock: FixedClock
) -> None:
    """SQLite keeps amounts as text: the close adds the day's penalty in Python, so a charge
    of 2.00 is stored as 2.00 (added in SQL it would be the float 2.0)."""
    [contract_id] = _book(closing, 1)
    fixed_clock.set_business_date(date(2024, 2, 10))
    with closing.unit_of_work() as uow:
        line = uow.receivables.list_for_contract(contract_id)[0]
        line.principal, line.interest = Money("1000.00", "CNY"), Money("0.00", "CNY")
        uow.receivables.update(line)
        uow.commit()
    _close_days(closing, 5)  # due on the 10th; the 14th charges four days at 0.50
    with closing.unit_of_work() as uow:
        charged = uow.receivables.get(line.id).penalty.amount
    assert str(charged) == "2.00"


def test_credit_held_pays_the_installment_falling_due_at_the_close(
    closing: ServiceContext, fixed_clock: FixedClock, finance: Actor
) -> None:
    """A customer pays two installments when the first is due: the second's money waits as
    credit until the close of its due date pays it, so it never falls overdue."""
    [contract_id] = _book(closing, 1)
    with closing.unit_of_work() as uow:
        first, second = uow.receivables.list_for_contract(contract_id)[:2]
    fixed_clock.set_business_date(second.due_date - timedelta(days=1))
    paid = first.amount_due + second.amount_due
    funds.record_payment(
        closing, finance, RecordPayment(contract_id, paid, "two", source_ref="two")
    )
    before = close_business_day(closing).summary["receivables"]
    on_due = close_business_day(closing).summary["receivables"]
    assert (before["credit_applied"], on_due["credit_applied"]) == (0, 1)
    with closing.unit_of_work() as uow:
        line = uow.receivables.get(second.id)
        [payment] = uow.payments.list_for_contract(contract_id)
    assert (line.settled, payment.unallocated.amount) == (True, 0)
    _close_days(closing, 10)
    with closing.unit_of_work() as uow:
        assert uow.end_of_day.aging_of(contract_id) is None
