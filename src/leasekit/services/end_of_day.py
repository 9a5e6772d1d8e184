"""The close of business: the named steps that end a business date, and the business date
that moves on once every one of them has finished.

A close is recorded by its business date (:mod:`leasekit.store.end_of_day`). Each step is cut
into **partitions** when the close first reaches it: ranges of contract ids for a step that
works contract by contract, one partition for the rest. A partition is done in one
transaction that also marks it done, under its row's lock, so it is done exactly once
however often it is started, by however many workers; a crash loses at most the partitions
in flight, and running the close again resumes with what is left. The business date moves
(the close's row turns ``closed``) only after every partition of every step is done, so a
step failing in the middle leaves the date where it was.

Partitions run in this process (:func:`run_inline`) or as jobs for ``leasekit worker``
processes on PostgreSQL (:mod:`leasekit.jobs`); either gives the same database contents.

The built-in steps, in order:

``receivables``
    The credit a contract holds (money paid before it was due) pays the installments falling
    due; lines still owed past their grace days accrue penalty interest for the day, and each
    contract's days past due and aging bucket are stored (``contract_aging``).
``interest``
    Daily or at month end (settings), interest earned and not yet paid is booked
    (``interest_accrued`` events for the voucher engine).
``expiries``
    Settlement quotes whose last valid day this is, and exception requests past their
    approval window, are expired; claims on approval tasks and payouts whose lease ran out
    are released; temporary credit-limit additions whose last day this is come off.
``partners``
    Partners are rated and their monitoring rules applied (once per business date).
``debit_runs``
    Where settings ask for it, the next business date's debit runs are prepared.

Plugins add steps with the ``leasekit_end_of_day_steps`` hook; theirs run after these.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final, Protocol, TypeVar

import attrs

from leasekit.domain.contracts import ContractState
from leasekit.domain.end_of_day import (
    AgingBucket,
    CloseState,
    PartitionState,
    accrue_penalty,
    bucket_of,
    cut,
    days_past_due,
    earned_unpaid,
    next_business_date,
)
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.errors import ConflictError, LeasekitError, NotFoundError
from leasekit.money import currency
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext, back_office_only
from leasekit.services.storage import (
    AgingRow,
    ClaimableRepository,
    CloseRecord,
    InterestLine,
    InterestUpdate,
    OverdueLine,
    PartitionRecord,
    PenaltyUpdate,
    UnitOfWork,
)

__all__ = [
    "BUILTIN_STEPS",
    "BusinessDay",
    "CloseFailed",
    "CloseView",
    "EndOfDayStep",
    "PartitionRunner",
    "StartClose",
    "StepProgress",
    "close_business_day",
    "close_progress",
    "get_business_day",
    "get_close",
    "run_inline",
    "run_partition",
    "start_close",
    "steps_of",
]

_L = TypeVar("_L", OverdueLine, InterestLine)

SERVICED_STATES: Final = frozenset({ContractState.ACTIVE, ContractState.TERMINATED})
"""Contracts whose receivables age and accrue: those being collected."""

_SYSTEM: Final = Actor.system("end_of_day")

Counts = dict[str, Any]
"""What a partition of a step did, as counts (and amounts as text): summed into the close's
summary."""


@attrs.frozen
class EndOfDayStep:
    """A named step of the close.

    A step *by_contract* works on one range of contract ids at a time, inside the
    partition's transaction: ``work(uow, ctx, business_date, low, high)``. Any other step is
    one partition: ``work(None, ctx, business_date, "", None)``, which opens its own
    transactions and must be safe to run again (a rerun after a crash repeats it)."""

    name: str
    work: Callable[[UnitOfWork | None, ServiceContext, date, str, str | None], Counts]
    by_contract: bool = False


class CloseFailed(LeasekitError):
    """A step did not finish: the business date stays, and running the close again resumes."""


def _receivables(
    uow: UnitOfWork | None, ctx: ServiceContext, on: date, low: str, high: str | None
) -> Counts:
    """Credit held pays what falls due, then penalty accrual and aging of the contracts in
    one range."""
    assert uow is not None
    rules = ctx.close_rules
    grace = ctx.collection.retry.grace_days
    states = sorted(SERVICED_STATES)
    credited = _apply_credit(Work(ctx, uow, _SYSTEM, ctx.clock.now(), on), low, high, states)
    updates: list[PenaltyUpdate] = []
    aging: list[AgingRow] = []
    penalty = Decimal(0)
    owed = uow.end_of_day.overdue_lines(low, high, next_business_date(on), states)
    for contract_id, lines in _by_contract(owed):
        exponent = currency(lines[0].currency).quantum
        for line in lines:
            accrued = accrue_penalty(
                base=line.owed, due_date=line.due_date, exact=line.penalty_exact,
                through=line.penalty_through, on=on, daily_rate=rules.penalty_daily_rate,
                grace_days=grace, exponent=exponent,
            )  # fmt: skip
            if accrued is not None:
                updates.append(
                    PenaltyUpdate(line.line_id, line.penalty + accrued.added, accrued.exact, on)
                )
                penalty += accrued.added
        days = days_past_due(lines[0].due_date, on, grace)
        if days:
            overdue = sum((line.owed for line in lines if line.due_date <= on), Decimal(0))
            aging.append(AgingRow(contract_id, on, days, bucket_of(days), overdue,
                                  lines[0].currency))  # fmt: skip
    uow.end_of_day.accrue_penalties(updates)
    uow.end_of_day.replace_aging(low, high, aging)
    buckets = Counter(row.bucket.value for row in aging)
    return {"credit_applied": credited, "lines_accrued": len(updates), "penalty": str(penalty),
            "overdue_contracts": len(aging),
            **{f"bucket_{bucket.value}": buckets[bucket.value] for bucket in AgingBucket
               if bucket is not AgingBucket.CURRENT}}  # fmt: skip


def _apply_credit(work: Work, low: str, high: str | None, states: Sequence[str]) -> int:
    """Let the credit the range's contracts hold pay what has fallen due by the day closed;
    how many contracts it paid something of."""
    from leasekit.services.funds import allocate_credit

    holding = work.uow.end_of_day.holding_credit(low, high, states)
    return sum(
        allocate_credit(work, work.uow.contracts.get(contract_id)) for contract_id in holding
    )


def _by_contract(lines: Iterable[_L]) -> Iterator[tuple[str, list[_L]]]:
    """*lines* (sorted by contract) grouped per contract."""
    for contract_id, owned in itertools.groupby(lines, key=attrgetter("contract_id")):
        yield contract_id, list(owned)


def _interest(
    uow: UnitOfWork | None, ctx: ServiceContext, on: date, low: str, high: str | None
) -> Counts:
    """On the days settings name, each contract's interest earned and not yet paid is trued
    up: an ``interest_accrued`` event books what more was earned and releases what was paid
    since (its payment booked it as income)."""
    assert uow is not None
    if not ctx.close_rules.interest_accrual.due_on(on):
        return {"interest_events": 0, "interest_accrued": "0", "interest_released": "0"}
    until = next_business_date(on) + _PERIOD
    lines = uow.end_of_day.interest_lines(low, high, until, sorted(SERVICED_STATES))
    updates: list[InterestUpdate] = []
    events, totals = 0, {"accrued": Decimal(0), "released": Decimal(0)}
    for contract_id, owned in _by_contract(lines):
        accrued, released = _true_up(owned, on, updates)
        if accrued or released:
            uow.record(_interest_event(contract_id, owned[0].currency, accrued, released, on, ctx))
            events += 1
            totals["accrued"] += accrued
            totals["released"] += released
    uow.end_of_day.book_interest(updates)
    return {"interest_events": events, "interest_accrued": str(totals["accrued"]),
            "interest_released": str(totals["released"])}  # fmt: skip


def _true_up(
    lines: Sequence[InterestLine], on: date, updates: list[InterestUpdate]
) -> tuple[Decimal, Decimal]:
    """What one contract's lines earned more and were paid of what was booked, each line's
    new figure added to *updates*."""
    quantum = currency(lines[0].currency).quantum
    accrued, released = Decimal(0), Decimal(0)
    for line in lines:
        target = Decimal(0)
        if line.earning:
            target = earned_unpaid(interest=line.interest, paid=line.paid_interest,
                                   due_date=line.due_date, on=on, exponent=quantum)  # fmt: skip
        if target != line.accrued:
            updates.append(InterestUpdate(line.line_id, target))
            accrued += max(target - line.accrued, Decimal(0))
            released += max(line.accrued - target, Decimal(0))
    return accrued, released


_PERIOD: Final = timedelta(days=31)
"""How far ahead a line's interest may be earning: a monthly installment's month."""


def _interest_event(
    contract_id: str, code: str, accrued: Decimal, released: Decimal, on: date,
    ctx: ServiceContext,
) -> DomainEvent:  # fmt: skip
    """One contract's true-up; its key is the contract and the date, so a replay books once."""
    return DomainEvent.new(
        "interest_accrued", "contract", contract_id,
        {"contract_id": contract_id, "currency": code, "accrued": str(accrued),
         "released": str(released), "through": on.isoformat()},
        occurred_at=ctx.clock.now(), business_date=on, actor_id=_SYSTEM.user_id,
        idempotency_key=f"interest_accrued:{contract_id}:{on.isoformat()}",
    )  # fmt: skip


def _expiries(
    uow: UnitOfWork | None, ctx: ServiceContext, on: date, low: str, high: str | None
) -> Counts:
    """What time ends, the system ending it: settlement quotes past their last valid day and
    exception requests past their approval window expire, claims whose lease ran out are
    released, and temporary credit limits no longer in force tomorrow are taken off."""
    from leasekit.services.exception_requests import transition_exception_request

    with ctx.unit_of_work() as own:
        work = Work(ctx, own, _SYSTEM, ctx.clock.now(), on)
        counts = {"quotes_expired": _expire_quotes(work), "claims_released": _release_claims(work),
                  "temporary_limits_ended": _end_temporary_limits(work)}  # fmt: skip
        own.commit()
        late = own.exception_requests.expired_by(work.at)
    for request_id in late:
        transition_exception_request(ctx, _SYSTEM, request_id, "expire",
                                     "the approval window passed")  # fmt: skip
    return {**counts, "exception_requests_expired": len(late)}


def _expire_quotes(work: Work) -> int:
    from leasekit.services.settlement_quotes import expire

    tomorrow = next_business_date(work.business_date)
    accounts = work.ctx.collection.accounts.values()
    quotes = 0
    for code in sorted({work.ctx.currency.code, *(account.currency for account in accounts)}):
        for quote in work.uow.settlement_quotes.open_in(code):
            if quote.expired_on(tomorrow):
                expire(work, quote)
                quotes += 1
    return quotes


def _release_claims(work: Work) -> int:
    """Approval tasks and payouts whose claim's lease ran out go back to their queues."""
    return _release(work, work.uow.approval_tasks) + _release(work, work.uow.disbursements)


def _release(work: Work, claimable: ClaimableRepository[Any]) -> int:
    released = claimable.claims_run_out(work.at)
    for item_id in released:
        item = claimable.get(item_id)
        event = item.apply("release", work.actor, at=work.at, business_date=work.business_date,
                           reason="the claim's lease ran out")  # fmt: skip
        claimable.update(item)
        work.record(event)
    return len(released)


def _end_temporary_limits(work: Work) -> int:
    """Temporary credit-limit additions whose last day was today come off the account."""
    tomorrow = next_business_date(work.business_date)
    ended = 0
    for partner_id in work.uow.credit_limits.temporary_ended_by(tomorrow):
        account = work.uow.credit_limits.get_for_update(partner_id)
        until, amount = account.temporary_until, account.end_temporary(tomorrow, work.at)
        if amount is None:
            continue
        work.uow.credit_limits.update(account)
        work.event("credit_limit_temporary_ended", "credit_limit", partner_id,
                   {"amount": str(amount.amount), "currency": amount.currency.code,
                    "until": str(until), "limit": str(account.limit(tomorrow).amount)})  # fmt: skip
        ended += 1
    return ended


def _partners(
    uow: UnitOfWork | None, ctx: ServiceContext, on: date, low: str, high: str | None
) -> Counts:
    from leasekit.services.partner_monitoring import refresh_partners

    report = refresh_partners(ctx)
    if report.failed:
        named = "; ".join(f"{partner_id}: {why}" for partner_id, why in report.failed)
        raise CloseFailed(f"partners could not be rated: {named}")
    return {"partners_rated": report.rated, "partners_rated_before": report.already}


def _debit_runs(
    uow: UnitOfWork | None, ctx: ServiceContext, on: date, low: str, high: str | None
) -> Counts:
    """Tomorrow's debit run of each creditor account, where settings ask for it (one run
    per account and date, so a rerun finds the runs made)."""
    from leasekit.services.debit_runs import StartDebitRun, start_debit_run

    if not ctx.close_rules.prepare_debit_runs:
        return {"debit_runs": 0}
    tomorrow = next_business_date(on)
    for account_id in sorted(ctx.collection.accounts):
        start_debit_run(ctx, _SYSTEM, StartDebitRun(account_id, tomorrow))
    return {"debit_runs": len(ctx.collection.accounts)}


BUILTIN_STEPS: Final = (
    EndOfDayStep("receivables", _receivables, by_contract=True),
    EndOfDayStep("interest", _interest, by_contract=True),
    EndOfDayStep("expiries", _expiries),
    EndOfDayStep("partners", _partners),
    EndOfDayStep("debit_runs", _debit_runs),
)


def steps_of(ctx: ServiceContext) -> tuple[EndOfDayStep, ...]:
    """The built-in steps, then the plugins'; two with one name is a configuration error."""
    found = (*BUILTIN_STEPS, *ctx.end_of_day_steps)
    names = Counter(step.name for step in found)
    twice = sorted(name for name, count in names.items() if count > 1)
    if twice:
        raise CloseFailed(f"end-of-day steps named twice: {', '.join(twice)}")
    return found


def _step(ctx: ServiceContext, name: str) -> EndOfDayStep:
    for step in steps_of(ctx):
        if step.name == name:
            return step
    raise CloseFailed(f"no end-of-day step is named {name!r}")


def run_partition(ctx: ServiceContext, business_date: date, step_name: str, low: str) -> bool:
    """Do one partition of a step unless it is done; True if this call did it. Workers call
    this for each job.

    A step by contract works in the transaction that marks its partition done, under the
    partition's row lock, so it is done exactly once. Any other step opens transactions of
    its own (SQLite admits one writer), so it runs first and its partition is marked after:
    a crash between the two repeats it, which such a step must allow."""
    step = _step(ctx, step_name)
    if not step.by_contract:
        with ctx.unit_of_work() as uow:
            if _locked(uow, business_date, step_name, low).state is PartitionState.DONE:
                return False
        result = step.work(None, ctx, business_date, "", None)
    with ctx.unit_of_work() as uow:
        partition = _locked(uow, business_date, step_name, low)
        if partition.state is PartitionState.DONE:
            return False
        with _heap_frozen():
            if step.by_contract:
                result = step.work(uow, ctx, business_date, partition.low, partition.high)
            uow.end_of_day.finish_partition(business_date, step_name, low, result, ctx.clock.now())
            uow.commit()
    return True


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects alive before a partition out of the garbage collector's full sweeps
    while it works. The partition's tens of thousands of rows and events, alive until its
    commit, would otherwise set off a sweep of the whole heap (modules, mappings, caches)
    every few thousand contracts: a fifth of the interest step's time. Garbage made meanwhile
    is collected as ever; cycles among the older objects that die meanwhile, at the next
    sweep after. A process that froze its heap itself (``gc.freeze()`` after start-up) keeps
    it frozen: this then does nothing."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _locked(uow: UnitOfWork, business_date: date, step: str, low: str) -> PartitionRecord:
    """The partition, locked until *uow* ends."""
    partition = uow.end_of_day.take_partition(business_date, step, low)
    if partition is None:
        raise CloseFailed(f"{business_date} {step}: no partition starts at {low!r}")
    return partition


class PartitionRunner(Protocol):
    """Gets a step's pending partitions done: in this process, or by queued workers."""

    def __call__(
        self,
        ctx: ServiceContext,
        business_date: date,
        step: str,
        pending: Sequence[PartitionRecord],
        advanced: Callable[[int], None],
    ) -> None: ...


def run_inline(
    ctx: ServiceContext,
    business_date: date,
    step: str,
    pending: Sequence[PartitionRecord],
    advanced: Callable[[int], None],
) -> None:
    """Each partition in turn, in this process (SQLite, or a small book)."""
    for partition in pending:
        run_partition(ctx, business_date, step, partition.low)
        advanced(1)


def _partitions(uow: UnitOfWork, ctx: ServiceContext, on: date, step: EndOfDayStep
                ) -> list[PartitionRecord]:  # fmt: skip
    """The step's partitions, cut the first time the close reaches it; the same on a rerun."""
    found = uow.end_of_day.partitions(on, step.name)
    if found:
        return found
    ranges: list[tuple[str, str | None]] = [("", None)]
    if step.by_contract:
        size = ctx.close_rules.partition_size
        ranges = cut(uow.end_of_day.contract_ids(sorted(SERVICED_STATES), every=size))
    uow.end_of_day.add_partitions(on, step.name, ranges)
    return uow.end_of_day.partitions(on, step.name)


def close_business_day(
    ctx: ServiceContext,
    *,
    runner: PartitionRunner = run_inline,
    started: Callable[[str, int], None] = lambda step, total: None,
    advanced: Callable[[int], None] = lambda done: None,
    business_date: date | None = None,
) -> CloseRecord:
    """Close the current business date: every step, then the date moves to the next day.

    A close begun before (and stopped by a crash or a failing step) resumes with what is
    left. *started* hears each step's name and partition count, *advanced* each partition
    done (progress bars). *business_date* names the date a caller began closing earlier
    (:func:`start_close`): should another process have closed it meanwhile, this finds its
    steps done and leaves the next date alone."""
    on = ctx.clock.business_date() if business_date is None else business_date
    with ctx.unit_of_work() as uow:
        uow.end_of_day.open_close(on, ctx.clock.now())
        uow.commit()
    for step in steps_of(ctx):
        with ctx.unit_of_work() as uow:
            partitions = _partitions(uow, ctx, on, step)
            uow.commit()
        pending = [p for p in partitions if p.state is PartitionState.PENDING]
        started(step.name, len(partitions))
        advanced(len(partitions) - len(pending))
        try:
            runner(ctx, on, step.name, pending, advanced)
        except LeasekitError as exc:
            raise CloseFailed(f"{on} step {step.name}: {exc}") from exc
    with ctx.unit_of_work() as uow:
        summary = _summary(uow, ctx, on)
        if uow.end_of_day.finish_close(on, ctx.clock.now(), summary):
            uow.record(_closed(on, ctx))
        uow.commit()
        closed = uow.end_of_day.close_of(on)
    assert closed is not None
    return closed


def _closed(on: date, ctx: ServiceContext) -> DomainEvent:
    """The date moved: on the audit log and to the plugins, once (the close's row turns
    closed once; its summary stays with it)."""
    return DomainEvent.new(
        "business_day_closed", "business_day_close", on.isoformat(),
        {"business_date": on.isoformat(), "next": next_business_date(on).isoformat()},
        occurred_at=ctx.clock.now(), business_date=on, actor_id=_SYSTEM.user_id,
    )  # fmt: skip


def _summary(uow: UnitOfWork, ctx: ServiceContext, on: date) -> dict[str, Any]:
    """Each step's partition results summed; refused if a partition is not done (a worker
    still at it, or one that failed)."""
    summary: dict[str, Any] = {}
    for step in steps_of(ctx):
        totals: dict[str, Any] = {}
        for partition in uow.end_of_day.partitions(on, step.name):
            if partition.state is not PartitionState.DONE:
                raise CloseFailed(
                    f"{on} step {step.name}: the partition from {partition.low!r} is not done"
                )
            for key, value in partition.result.items():
                totals[key] = _added(totals.get(key), value)
        summary[step.name] = totals
    return summary


def _added(total: Any, value: Any) -> Any:
    """Counts add as numbers, amounts (text) as exact decimals."""
    if isinstance(value, str):
        return str(Decimal(total or 0) + Decimal(value))
    return (total or 0) + value


def close_progress(ctx: ServiceContext, business_date: date | None = None) -> CloseView | None:
    """The close of *business_date* (the newest begun if left out) as it stands, or None if
    none was begun. A read: it commits nothing, so it wakes no delivery."""
    with ctx.uow_factory() as uow:
        close = (uow.end_of_day.newest_close() if business_date is None
                 else uow.end_of_day.close_of(business_date))  # fmt: skip
        if close is None:
            return None
        steps = []
        for step in steps_of(ctx):
            partitions = uow.end_of_day.partitions(close.business_date, step.name)
            done = sum(p.state is PartitionState.DONE for p in partitions)
            steps.append(StepProgress(step.name, done, len(partitions)))
    return CloseView(close.business_date, close.state, tuple(steps), close.summary)


# --- the close as the HTTP API shows and starts it ------------------------------------------

_SUBJECT: Final = "business_day_close"


@attrs.frozen
class StepProgress:
    """One step of a close: its partitions done, of all it was cut into (0 of 0 until the
    close reaches it)."""

    name: str
    done: int
    total: int


@attrs.frozen
class CloseView:
    """Where a close stands: ``running`` until every step is done, then ``closed`` with the
    summary of what each step did (counts, and amounts as text)."""

    business_date: date
    state: CloseState
    steps: tuple[StepProgress, ...]
    summary: Mapping[str, Any]


@attrs.frozen
class BusinessDay:
    """The company's business date, and the newest close: the current date's while it is
    being closed, else the one that moved the date here (none before the first)."""

    business_date: date
    newest_close: CloseView | None


@attrs.frozen
class StartClose:
    """Which business date the caller means to close."""

    business_date: date | None = attrs.field(
        default=None,
        metadata={"description": "The current business date, so that a request sent again "
                  "after the close never closes the next one; left out: whichever is current."},
    )  # fmt: skip


def get_business_day(ctx: ServiceContext, actor: Actor) -> BusinessDay:
    """The current business date and the newest close. Back office."""
    back_office_only(actor, _SUBJECT)
    return BusinessDay(ctx.clock.business_date(), close_progress(ctx))


def get_close(ctx: ServiceContext, actor: Actor, business_date: date) -> CloseView:
    """How far the close of a business date has come, step by step. Back office; a date
    never closed is a 404."""
    back_office_only(actor, _SUBJECT)
    progress = close_progress(ctx, business_date)
    if progress is None:
        raise NotFoundError(_SUBJECT, business_date.isoformat())
    return progress


def _reload_close(uow: UnitOfWork, business_date: str) -> CloseRecord:
    found = uow.end_of_day.close_of(date.fromisoformat(business_date))
    assert found is not None, "a close, once begun, is never removed"
    return found


@command(
    "start_close", subject=_SUBJECT, roles=frozenset({Role.ADMIN, Role.SYSTEM}),
    reload=_reload_close, identify=lambda close: close.business_date.isoformat(),
)  # fmt: skip
def start_close(work: Work, request: StartClose) -> CloseRecord:
    """Begin closing the current business date, or resume a close that stopped, on record
    of who asked; :func:`close_business_day` then does the work. Naming another date than
    the current one is a 409."""
    on = work.business_date
    if request.business_date not in (None, on):
        raise ConflictError(f"the business date is {on}, not {request.business_date}")
    resumed = work.uow.end_of_day.close_of(on) is not None
    close = work.uow.end_of_day.open_close(on, work.at)
    work.event("business_day_close_started", _SUBJECT, on.isoformat(),
               {"business_date": on.isoformat(), "resumed": resumed})  # fmt: skip
    return close
