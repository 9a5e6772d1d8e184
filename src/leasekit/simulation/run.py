"""The simulation's days: each business day the money that arrives by transfer is recorded,
early settlers pay their quotes off, the day's debit run is made, the bank's return file for
it is written and imported and the rest of the run collected, and the day is closed.

Everything goes through the real services as finance staff would drive them; the only
things simulated are the customers (:mod:`.behaviour`) and the bank's answers, which are the
files :func:`leasekit.bankfiles.result_file` writes for the fake bank. :func:`close_day` is
the one place a day ends.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

import attrs

from leasekit import bankfiles
from leasekit.calc.dates import add_months
from leasekit.demo import DEMO_ADAPTER_OPTIONS, DEMO_ADAPTERS, DEMO_FUNDS
from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import ContractState
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import PartnerRating
from leasekit.errors import DomainError
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import Runtime, build_runtime
from leasekit.services import debit_runs, funds, settlement_quotes, users
from leasekit.services.context import ServiceContext
from leasekit.services.end_of_day import close_business_day
from leasekit.settings import Settings, load_settings
from leasekit.simulation.behaviour import (
    DEFAULT_BEHAVIOUR,
    Behaviour,
    Conduct,
    Payer,
    deal,
    late_days,
)
from leasekit.simulation.book import ACCOUNT_ID, CURRENCY, BookEntry, build_book
from leasekit.simulation.figures import (
    Bucket,
    collections_by_month,
    delinquency,
    exposure_by_grade,
    month_of,
)
from leasekit.store.database import commit_without_sync
from leasekit.store.end_of_day import ClosedDateClock

__all__ = [
    "RETURN_CODE",
    "MonthEnd",
    "Simulation",
    "SimulationResult",
    "Tally",
    "close_day",
    "month_ends",
    "simulate",
    "simulation_runtime",
    "simulation_settings",
]

OPENING: Final = time(9)
"""The wall-clock time each simulated day starts at (UTC)."""
RETURN_CODE: Final = "R01"
"""Why the bank returns a simulated debit: insufficient funds (the mandate stays usable)."""


@attrs.frozen
class Simulation:
    """What to simulate: a book of *contracts* over *months* months from *start* (the 28th
    of a month at the latest, so that every month has its day)."""

    contracts: int
    months: int
    start: date
    seed: int = 1
    behaviour: Behaviour = DEFAULT_BEHAVIOUR

    @property
    def end(self) -> date:
        """The last simulated day."""
        return add_months(self.start, self.months) - timedelta(days=1)


@attrs.frozen
class MonthEnd:
    """The book on the last day of a month."""

    month: str
    on: date
    buckets: Mapping[str, Bucket]
    """Each contract's bucket, by contract id."""
    exposure: Mapping[PartnerRating, Decimal]


@attrs.define
class Tally:
    """What the days did, counted as they went."""

    debit_runs: int = 0
    debits: int = 0
    returned: int = 0
    transfers: int = 0
    settled: int = 0


@attrs.frozen
class SimulationResult:
    book: tuple[BookEntry, ...]
    conduct: Mapping[str, Conduct]
    """Each contract's conduct, by contract id."""
    month_ends: tuple[MonthEnd, ...]
    collections: Mapping[str, Mapping[str, Decimal]]
    """Money in, by month and by payment source."""
    tally: Tally


def simulation_settings(folder: Path, database_url: str) -> Settings:
    """The simulated company's settings: the demo company's accounts and fees, every party
    on its fake, files under *folder*; no notifier or ledger, which would only keep in memory
    what the run sends them."""
    return load_settings(
        database_url=database_url,
        data_dir=folder,
        adapters=DEMO_ADAPTERS | {"notifier": None, "ledger": None},
        adapter_options=DEMO_ADAPTER_OPTIONS,
        funds=DEMO_FUNDS,
        secret_key="leasekit simulate: a synthetic book's key",
    )


def simulation_runtime(
    folder: Path, database_url: str, start: date, *, deliver: bool = False
) -> Runtime:
    """A runtime on *database_url* (migrated) whose clock stands on *start*. With *deliver*
    its worker delivers the run's events as they are committed (the voucher engine books
    them, as on a server); without, they wait in the outbox for the first server or worker
    on the database, and the run takes about half the time. A SQLite file commits without
    syncing to disk: a run cut short is run again, not recovered."""
    plugins = create_plugin_manager(load_entrypoints=False, blocked=())
    clock = FixedClock(now=datetime.combine(start, OPENING, tzinfo=UTC), business_date=start)
    settings = simulation_settings(folder, database_url)
    runtime = build_runtime(settings, plugins, clock=clock, deliver=deliver)
    commit_without_sync(runtime.engine)
    return runtime


def close_day(ctx: ServiceContext) -> None:
    """End the business day: the close of business (penalty interest, aging, interest
    earned, expiries, partner ratings) moves the business date to the next day, and the
    wall clock follows it."""
    clock = ctx.clock
    if not isinstance(clock, ClosedDateClock) or not isinstance(clock.base, FixedClock):
        raise TypeError("a simulation runs on a FixedClock under the close's business date")
    close_business_day(ctx)
    clock.base.advance()


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from *start* to *end*."""
    days = []
    day = start
    while day <= end:
        following = add_months(day, 1, day=1)
        days.append(min(following - timedelta(days=1), end))
        day = following
    return days


def _finance(ctx: ServiceContext) -> Actor:
    """A finance user, who runs the debits, imports the bank's files and takes payments."""
    try:
        admin, _ = users.bootstrap_admin(ctx, "admin", "Simulation administrator")
    except DomainError:
        raise DomainError("the database is not empty; a simulation starts on a fresh one") from None
    request = users.CreateUser("finance", "Simulated finance desk", Role.FINANCE)
    return users.create_user(ctx, admin.actor(), request).actor()


@attrs.define
class _Days:
    """The simulation's running state: who owes what by transfer when."""

    ctx: ServiceContext
    actor: Actor
    by_number: Mapping[str, BookEntry]
    conduct: Mapping[str, Conduct]
    rng: random.Random
    tally: Tally = attrs.field(factory=Tally)
    transfers: dict[date, list[str]] = attrs.field(factory=dict)
    """Late payers' transfers, by the day they arrive."""
    waiting: set[str] = attrs.field(factory=set)
    """Late payers whose transfer is on its way: their debits come back meanwhile."""
    settlements: dict[date, list[str]] = attrs.field(factory=dict)

    def day(self, today: date) -> None:
        for contract_id in self.transfers.pop(today, []):
            self.pay_arrears(contract_id, today)
        for contract_id in self.settlements.pop(today, []):
            self.settle(contract_id)
        self.collect(today)

    def pay_arrears(self, contract_id: str, today: date) -> None:
        """A late payer's transfer: everything its installments owe by today."""
        self.waiting.discard(contract_id)
        with self.ctx.uow_factory() as uow:
            contract = uow.contracts.get(contract_id)
            lines = uow.receivables.list_for_contract(contract_id)
        due = [line for line in lines if line.due_date <= today and line.written_off_on is None]
        owed = sum((line.outstanding.amount for line in due), Decimal(0))
        if owed <= 0 or contract.state is not ContractState.ACTIVE:
            return
        request = funds.RecordPayment(
            contract_id, Money(owed, CURRENCY), reference=f"{contract.number} arrears",
            source_ref=f"transfer-{contract.number}-{today}",
        )  # fmt: skip
        funds.record_payment(self.ctx, self.actor, request)
        self.tally.transfers += 1

    def settle(self, contract_id: str) -> None:
        """An early settler asks for a quote and pays it the same day."""
        with self.ctx.uow_factory() as uow:
            if uow.contracts.get(contract_id).state is not ContractState.ACTIVE:
                return
        quote = settlement_quotes.create_settlement_quote(
            self.ctx, self.actor, settlement_quotes.RequestQuote(contract_id)
        )
        payment = settlement_quotes.QuotePayment(quote.total, reference=f"payoff {quote.number}")
        settlement_quotes.pay_settlement_quote(
            self.ctx, self.actor, settlement_quotes.PayQuote(quote.id, payment)
        )
        self.tally.settled += 1

    def collect(self, today: date) -> None:
        """The day's debit run; the bank returns what the customers cannot pay and collects
        the rest."""
        run = debit_runs.start_debit_run(self.ctx, self.actor, debit_runs.StartDebitRun(ACCOUNT_ID))
        self.tally.debit_runs += 1
        if not run.item_count:
            return
        batch = debit_runs.debit_batch(self.ctx, self.actor, run.id)
        # In contract number order, so that late payers draw their days in the same order
        # in every run (the items' order follows their random ids).
        numbered = sorted((item.remittance.split()[0], item.item_id) for item in batch.items)
        returned = {
            item_id: RETURN_CODE
            for number, item_id in numbered
            if self.bounces(self.by_number[number].contract_id, today)
        }
        self.tally.debits += run.item_count
        if returned:
            content = bankfiles.result_file(batch, returned, created_at=self.ctx.clock.now())
            debit_runs.import_debit_results(
                self.ctx, self.actor, [content], filename=f"returns-{today}.ach"
            )
            self.tally.returned += len(returned)
        debit_runs.settle_debit_run(self.ctx, self.actor, debit_runs.SettleRun(run.id))

    def bounces(self, contract_id: str, today: date) -> bool:
        """Whether the contract's debit today comes back; a late payer's first return of an
        installment sets the day its transfer arrives."""
        conduct = self.conduct[contract_id]
        if conduct.payer is not Payer.LATE:
            return conduct.bounces(today)
        if contract_id not in self.waiting:
            self.waiting.add(contract_id)
            arrives = today + timedelta(days=late_days(self.rng))
            self.transfers.setdefault(arrives, []).append(contract_id)
        return True


def simulate(
    ctx: ServiceContext,
    simulation: Simulation,
    *,
    booked: Callable[[int], None] = lambda done: None,
    day_done: Callable[[date], None] = lambda day: None,
) -> SimulationResult:
    """Run *simulation* on an empty database behind *ctx*, whose FixedClock stands on the
    start date. *booked* is told how many contracts are written, *day_done* each day closed."""
    actor = _finance(ctx)  # refuses a database that is not empty, whatever its date
    if ctx.clock.business_date() != simulation.start:
        raise ValueError(f"the clock stands on {ctx.clock.business_date()}, not on the start")
    rng = random.Random(simulation.seed)
    book = build_book(ctx, simulation.contracts, rng, booked)
    days = (simulation.end - simulation.start).days + 1
    dealt = deal(simulation.behaviour, len(book), simulation.start, days, rng)
    conduct = {entry.contract_id: one for entry, one in zip(book, dealt, strict=True)}
    state = _Days(ctx, actor, {entry.number: entry for entry in book}, conduct, rng)
    for contract_id, one in conduct.items():
        if one.payer is Payer.EARLY and one.day is not None:
            state.settlements.setdefault(one.day, []).append(contract_id)
    ends = set(month_ends(simulation.start, simulation.end))
    ids = [entry.contract_id for entry in book]
    snapshots = []
    while (today := ctx.clock.business_date()) <= simulation.end:
        state.day(today)
        close_day(ctx)
        if today in ends:
            buckets = delinquency(ctx, ids, today)
            snapshots.append(MonthEnd(month_of(today), today, buckets, exposure_by_grade(ctx)))
        day_done(today)
    return SimulationResult(
        tuple(book), conduct, tuple(snapshots), collections_by_month(ctx, ids), state.tally
    )
