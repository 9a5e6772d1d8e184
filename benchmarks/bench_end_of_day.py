"""What does leasekit's close of business cost over the bare work it does, as the book grows?

For each book size N, a fresh database (a SQLite file, or with ``--postgres URL`` a database
created on that PostgreSQL server and dropped afterwards) is migrated and given N active
twelve-month CNY loans, each with its partner's customer, vehicle and approved application.
A handful of contracts is written through ``leasekit.testing.book.taken_over_contract``,
priced 0 to 65 days apart so that two to four installments are due by the run's business
date; the rest are copies of their rows, varied by id, number, VIN and id number,
bulk-inserted with SQLAlchemy Core (executemany in chunks of 5,000). Nine contracts in ten
have paid every installment due; one in twenty owes all of them, one in twenty has paid the
oldest and half the principal of the next. Then, each on a fresh copy of that database
(a copied file; on PostgreSQL a database created from the seeded one as its template) and
in a process of its own, so that its peak memory (``ru_maxrss``) is its own:

* **floor**: the bare work with SQLAlchemy Core: one query for the overdue lines, the
  penalty of each by the same rule, one executemany of the penalty updates, the aging rows
  inserted; one transaction, no leasekit services.
* **leasekit**: ``services.end_of_day.close_business_day`` on a runtime built as the server
  builds it, its partitions run in that process (``run_inline``).
* on PostgreSQL also **1 worker** and **2 workers**: the same close with ``run_queued``,
  its partitions done by ``leasekit worker`` processes started (and ready) before the clock
  starts.

With ``--month-end`` the book stands on 2026-06-30 and that date is closed: leasekit books
each contract's interest (an ``interest_accrued`` event each), and the floor does the bare
equivalent (each line's interest earned, one outbox row per contract). The close's runtime
then delivers no events itself; afterwards the relay delivers them for a while, to measure
their rate. With ``--daily-interest`` the close books interest on the date it closes
(``LEASEKIT_EOD__INTEREST_ACCRUAL=daily``), whichever it is, and the floor does its interest
pass on that date too.

Both ways must leave the same penalties on the same lines and the same aging rows (and the
same interest on the lines and in the events); the exit code is 1 only when they do not.
Times are printed, never judged.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

import leasekit
from bench_collections import (
    copied_parties,
    copy_of,
    database_mb,
    database_title,
    fresh_database,
    is_sqlite,
    maxrss_mb,
    peak_mb,
    reset_peak,
)
from leasekit.calc.dates import add_months
from leasekit.demo import DEMO_ADAPTER_OPTIONS, DEMO_ADAPTERS
from leasekit.domain.clock import FixedClock
from leasekit.domain.identity import new_id
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings
from leasekit.store.contracts import ContractRepository, ReceivableRepository
from leasekit.store.database import create_engine
from leasekit.store.origination import ApplicationRepository
from leasekit.store.outbox import DeliveryRow, OutboxPendingRow, OutboxRow
from leasekit.store.parties import CustomerRepository, VehicleRepository
from leasekit.store.schema import metadata
from leasekit.testing.book import (
    book_partner,
    months_before,
    taken_over_contract,
)

CHUNK: Final = 5_000
"""Rows per executemany, and contracts per seeding transaction."""
TEMPLATES: Final = 24
"""Contracts written through the unit of work, each at its own price and date."""
PER_PARTNER: Final = 100_000
"""Contracts per dealer (resident id numbers repeat every 100,000 serials)."""
TERM: Final = 12
BUSINESS_DATE: Final = date(2026, 6, 15)
"""The business date closed: not a month end, so no interest is booked."""
MONTH_END: Final = date(2026, 6, 30)
"""The business date closed with ``--month-end``: interest is booked for every contract."""
CENT: Final = Decimal("0.01")
"""The minor unit of CNY, the book's currency."""
SERVICED: Final = ("active", "terminated")
PARTS: Final = ("principal", "interest", "fee")
HEARTBEAT_SECONDS: Final = 2
DELIVERY_SECONDS: Final = 20
"""How long the relay delivers the close's events after it, to measure their rate."""
SECRET: Final = "bench-end-of-day: a scratch database's key"


# --- the book -----------------------------------------------------------------------------


def settings_for(folder: Path, url: str, partition_size: int | None, daily: bool = False
                 ) -> Any:  # fmt: skip
    eod: dict[str, Any] = {} if partition_size is None else {"partition_size": partition_size}
    if daily:
        eod["interest_accrual"] = "daily"
    return load_settings(
        database_url=url, data_dir=folder, adapters=DEMO_ADAPTERS,
        adapter_options=DEMO_ADAPTER_OPTIONS, secret_key=SECRET, eod=eod,
    )  # fmt: skip


def evening(on: date) -> datetime:
    """The wall-clock time of the close of business date *on*."""
    return datetime.combine(on, dt_time(18), tzinfo=UTC)


def runtime_for(folder: Path, url: str, on: date, partition_size: int | None = None, *,
                deliver: bool = True, daily: bool = False) -> Any:  # fmt: skip
    """A runtime as the server builds it (migrations applied, the close's clock), its
    business date *on* until a close moves it; without *deliver*, no background worker
    delivers its events; with *daily*, interest is booked every day."""
    plugins = create_plugin_manager(load_entrypoints=False, blocked=())
    clock = FixedClock(now=evening(on), business_date=on)
    settings = settings_for(folder, url, partition_size, daily)
    return build_runtime(settings, plugins, clock=clock, deliver=deliver)


def standing(serial: int) -> str:
    """How contract *serial* stands with what is due: ``paid`` (nine in ten), ``behind``
    (owes every line due) or ``late`` (paid the oldest, half the next one's principal);
    every template's copies take each standing in turn."""
    return {0: "behind", 10: "late"}.get((serial + serial // TEMPLATES) % 20, "paid")


def _settled(lines: Sequence[dict[str, Any]], how: str, on: date) -> list[dict[str, Any]]:
    """*lines* (a schedule's rows, in order) with what a contract standing *how* has paid by
    business date *on*."""
    due = [n for n, line in enumerate(lines) if line["due_date"] <= on]
    settled = []
    for n, line in enumerate(lines):
        paid = dict.fromkeys(PARTS, Decimal(0))
        if n in due and (how == "paid" or (how == "late" and n == due[0])):
            paid = {part: line[part] for part in PARTS}
        elif how == "late" and n in due[1:2]:
            paid["principal"] = (line["principal"] / 2).quantize(CENT)
        settled.append(line | {f"paid_{part}": paid[part] for part in PARTS})
    return settled


class Template:
    """One contract as the unit of work wrote it, as column values per table; its lines as
    each standing leaves them."""

    def __init__(self, uow: Any, made: Any, on: date) -> None:
        contract = made.contract
        self.customer = CustomerRepository.stored.mapper.columns(
            uow.customers.get(contract.customer_id)
        )
        self.vehicle = VehicleRepository.stored.mapper.columns(
            uow.vehicles.get(contract.vehicle_id)
        )
        self.application = ApplicationRepository.stored.mapper.columns(
            uow.applications.get(contract.application_id)
        )
        self.contract = ContractRepository.stored.mapper.columns(contract)
        lines = [ReceivableRepository.stored.mapper.columns(line) for line in made.lines]
        self.lines = {how: _settled(lines, how, on) for how in ("paid", "behind", "late")}


def _copy(serial: int, template: Template, partner_id: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of contract *serial*, copied from *template* with ids and numbers of its own."""
    rows = copied_parties(serial, template, partner_id, f"EOD-{serial:07d}")
    lines = [line | {"id": new_id(), "contract_id": rows["contract"]["id"]}
             for line in template.lines[standing(serial)]]  # fmt: skip
    return {
        "customers": [rows["customer"]], "vehicles": [rows["vehicle"]],
        "applications": [rows["application"]], "contracts": [rows["contract"]],
        "receivables": lines,
    }  # fmt: skip


_TABLES: Final[dict[str, Any]] = {
    "customers": CustomerRepository, "vehicles": VehicleRepository,
    "applications": ApplicationRepository, "contracts": ContractRepository,
    "receivables": ReceivableRepository,
}  # fmt: skip
"""The tables a contract's rows go to, in the order their foreign keys need."""


def _templates(folder: Path, url: str, count: int, on: date
               ) -> tuple[list[Template], list[str]]:  # fmt: skip
    """The contracts written through the unit of work (migrating the database first), and
    the dealers of the whole book."""
    runtime, now = runtime_for(folder, url, on), evening(on)
    try:
        with runtime.services.uow_factory() as uow:
            partners = [
                book_partner(uow, f"Dealer {n}", f"91110000MA{n:08d}", now).id
                for n in range(-(-count // PER_PARTNER))
            ]
            templates = []
            for serial in range(min(TEMPLATES, count)):
                priced_on = months_before(on, 2) - timedelta(days=13 * (serial % 6))
                made = taken_over_contract(
                    uow, uow.partners.get(partners[0]), number=f"EOD-{serial:07d}",
                    serial=serial, customer_name=f"Customer {serial}",
                    price=Money(Decimal(60_000 + 2_500 * serial), "CNY"), term_months=TERM,
                    annual_rate=Decimal("0.06"), priced_on=priced_on, at=now,
                )  # fmt: skip
                templates.append(Template(uow, made, on))
            uow.commit()
    finally:
        # Its background worker would wait on SQLite's write lock while the bulk inserts hold it.
        runtime.close()
    return templates, partners


def _settle_templates(connection: sa.Connection, templates: Sequence[Template]) -> None:
    """The written contracts' lines paid as their standing says."""
    lines = ReceivableRepository.stored.table
    update = (
        sa.update(lines)
        .where(lines.c.id == sa.bindparam("line_id"))
        .values({f"paid_{part}": sa.bindparam(f"new_{part}") for part in PARTS})
    )
    rows = [{"line_id": line["id"], **{f"new_{part}": line[f"paid_{part}"] for part in PARTS}}
            for serial, template in enumerate(templates)
            for line in template.lines[standing(serial)]]  # fmt: skip
    connection.execute(update, rows)


def seed(folder: Path, url: str, count: int, on: date) -> float:
    """A migrated database holding *count* contracts as they stand on *on*; the bulk part's
    seconds."""
    templates, partners = _templates(folder, url, count, on)
    engine = create_engine(url)
    try:
        tables = {name: repository.stored.table for name, repository in _TABLES.items()}
        started = time.perf_counter()
        with engine.begin() as connection:
            _settle_templates(connection, templates)
        for first in range(len(templates), count, CHUNK):
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
            for serial in range(first, min(first + CHUNK, count)):
                template = templates[serial % len(templates)]
                for name, made in _copy(serial, template, partners[serial // PER_PARTNER]).items():
                    rows[name] += made
            with engine.begin() as connection:
                for name, made in rows.items():
                    for at in range(0, len(made), CHUNK):
                        connection.execute(sa.insert(tables[name]), made[at : at + CHUNK])
        seconds = time.perf_counter() - started
        with engine.connect() as connection:
            if is_sqlite(url):
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        if not is_sqlite(url):
            from leasekit.jobs import ensure_job_schema

            ensure_job_schema(engine)  # in the template, so every copy has the queue
    finally:
        engine.dispose()
    return seconds


# --- the floor ----------------------------------------------------------------------------


def _overdue_query(on: date) -> sa.Select[Any]:
    r = ReceivableRepository.stored.table.c
    c = ContractRepository.stored.table.c
    owed = (r.paid_principal + r.paid_interest + r.paid_fee + r.paid_penalty
            < r.principal + r.interest + r.fee + r.penalty)  # fmt: skip
    return (
        sa.select(r.id, r.contract_id, r.due_date, r.principal, r.interest, r.fee,
                  r.paid_principal, r.paid_interest, r.paid_fee, r.penalty, r.paid_penalty,
                  r.penalty_exact, r.penalty_through)
        .join(ContractRepository.stored.table, c.id == r.contract_id)
        .where(r.due_date <= on, r.written_off_on.is_(None), owed,
               c.state.in_(SERVICED))
        .order_by(r.contract_id, r.sequence)
    )  # fmt: skip


def _bucket(days: int) -> str:
    for upper, name in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days <= upper:
            return name
    return "90+"


def floor_close(engine: sa.Engine, rate: Decimal, grace: int, on: date, daily: bool = False
                ) -> None:  # fmt: skip
    """The bare work of the receivables pass: read the overdue lines, charge each its
    penalty since its due date or its last accrual, store each contract's aging; on a month
    end (any day with *daily*) also the interest pass (:func:`floor_interest`)."""
    lines = ReceivableRepository.stored.table
    aging_table = metadata.tables["contract_aging"]
    update = (
        sa.update(lines)
        .where(lines.c.id == sa.bindparam("line_id"))
        .values(penalty=sa.bindparam("penalty", type_=lines.c.penalty.type),
                penalty_exact=sa.bindparam("exact"), penalty_through=sa.bindparam("through"),
                version=lines.c.version + 1)
    )  # fmt: skip
    with engine.begin() as connection:
        by_contract: dict[str, list[Any]] = {}
        for row in connection.execute(_overdue_query(on)).all():
            owed = sum((getattr(row, p) - getattr(row, f"paid_{p}") for p in PARTS), Decimal(0))
            if owed + row.penalty - row.paid_penalty > 0:  # SQLite's filter adds floats
                by_contract.setdefault(row.contract_id, []).append(row)
        updates, aging = [], []
        for contract_id, rows in by_contract.items():
            owed = [sum((getattr(row, p) - getattr(row, f"paid_{p}") for p in PARTS), Decimal(0))
                    for row in rows]  # fmt: skip
            for row, base in zip(rows, owed, strict=True):
                if base <= 0 or (on - row.due_date).days <= grace:
                    continue
                days = (on - max(row.penalty_through or row.due_date, row.due_date)).days
                if days <= 0:
                    continue
                exact = row.penalty_exact or Decimal(0)
                total = exact + base * rate * days
                added = total.quantize(CENT, ROUND_HALF_UP) - exact.quantize(CENT, ROUND_HALF_UP)
                updates.append({"line_id": row.id, "penalty": row.penalty + added,
                                "exact": total, "through": on})  # fmt: skip
            late = (on - rows[0].due_date).days
            if late > grace:
                aging.append({"contract_id": contract_id, "as_of": on,
                              "days_past_due": late, "bucket": _bucket(late),
                              "overdue": sum(owed, Decimal(0)), "currency": "CNY"})  # fmt: skip
        for at in range(0, len(updates), CHUNK):
            connection.execute(update, updates[at : at + CHUNK])
        connection.execute(sa.delete(aging_table))
        for at in range(0, len(aging), CHUNK):
            connection.execute(sa.insert(aging_table), aging[at : at + CHUNK])
        if daily or (on + timedelta(days=1)).month != on.month:
            floor_interest(connection, on)


def _interest_query(on: date) -> sa.Select[Any]:
    """Lines of serviced loans whose interest is unpaid and falls due within a month of the
    next day (a fresh book has booked no interest before)."""
    r = ReceivableRepository.stored.table.c
    c = ContractRepository.stored.table.c
    return (
        sa.select(r.id, r.contract_id, r.due_date, r.interest, r.paid_interest)
        .join(ContractRepository.stored.table, c.id == r.contract_id)
        .where(c.state.in_(SERVICED), c.business_type != "operating_lease",
               r.written_off_on.is_(None), r.paid_interest < r.interest,
               r.due_date <= on + timedelta(days=32))
        .order_by(r.contract_id, r.sequence)
    )  # fmt: skip


def _earned(interest: Decimal, paid: Decimal, due_date: date, on: date) -> Decimal:
    """A monthly line's interest earned by *on*, spread evenly over its month, less what is
    paid, rounded half-up to the cent."""
    start = add_months(due_date, -1)
    if on <= start:
        return Decimal(0)
    share = min(Decimal((on - start).days) / Decimal((due_date - start).days), Decimal(1))
    return max((interest * share).quantize(CENT, ROUND_HALF_UP) - paid, Decimal(0))


def floor_interest(connection: sa.Connection, on: date) -> None:
    """The bare work of a day's interest (a month end's, or any day's when daily): each
    line's interest earned and unpaid stored, and one ``interest_accrued`` event per contract
    inserted into the outbox (no queue place, no audit entry)."""
    lines = ReceivableRepository.stored.table
    update = (
        sa.update(lines)
        .where(lines.c.id == sa.bindparam("line_id"))
        .values(interest_accrued=sa.bindparam("accrued"))
    )
    accrued: dict[str, Decimal] = {}
    updates = []
    for row in connection.execute(_interest_query(on)):
        earned = _earned(row.interest, row.paid_interest, row.due_date, on)
        if earned:
            updates.append({"line_id": row.id, "accrued": earned})
            accrued[row.contract_id] = accrued.get(row.contract_id, Decimal(0)) + earned
    occurred = evening(on)
    events = [{"idempotency_key": f"interest_accrued:{contract_id}:{on.isoformat()}",
               "event_type": "domain_event", "name": "interest_accrued", "subject": "contract",
               "subject_id": contract_id, "occurred_at": occurred, "business_date": on,
               "actor_id": "end_of_day",
               "payload": {"contract_id": contract_id, "currency": "CNY", "accrued": str(amount),
                           "released": "0", "through": on.isoformat()}}
              for contract_id, amount in accrued.items()]  # fmt: skip
    for at in range(0, len(updates), CHUNK):
        connection.execute(update, updates[at : at + CHUNK])
    for at in range(0, len(events), CHUNK):
        connection.execute(sa.insert(OutboxRow), events[at : at + CHUNK])


# --- leasekit -----------------------------------------------------------------------------


class StepClock:
    """When each step of a close began (told by the close's *started*)."""

    def __init__(self) -> None:
        self.began: dict[str, float] = {}

    def started(self, step: str, total: int) -> None:
        self.began[step] = time.perf_counter()

    def seconds(self, step: str, ended: float) -> float:
        """How long *step* ran: until the next step began, or *ended*."""
        later = [at for at in self.began.values() if at > self.began[step]]
        return min(later, default=ended) - self.began[step]


def worker_environment(url: str, folder: Path, partition_size: int | None, on: date,
                       daily: bool = False) -> dict[str, str]:  # fmt: skip
    """What ``leasekit worker`` needs to work this database as the close's runtime does,
    running the leasekit imported here."""
    source = str(Path(leasekit.__file__).resolve().parents[1])
    keep = {name: value for name, value in os.environ.items()
            if not name.upper().startswith("LEASEKIT_")}  # fmt: skip
    adapters = {f"LEASEKIT_ADAPTERS__{kind.upper()}": id_ for kind, id_ in DEMO_ADAPTERS.items()}
    eod = {} if partition_size is None else {"LEASEKIT_EOD__PARTITION_SIZE": str(partition_size)}
    if daily:
        eod["LEASEKIT_EOD__INTEREST_ACCRUAL"] = "daily"
    return keep | adapters | eod | {
        "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])),
        "LEASEKIT_DATABASE_URL": url, "LEASEKIT_DATA_DIR": str(folder),
        "LEASEKIT_SECRET_KEY": SECRET, "LEASEKIT_BUSINESS_DATE": on.isoformat(),
        "LEASEKIT_ADAPTER_OPTIONS": json.dumps(DEMO_ADAPTER_OPTIONS),
        "LEASEKIT_EOD__WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
    }  # fmt: skip


def start_workers(url: str, folder: Path, count: int, partition_size: int | None, on: date,
                  daily: bool = False) -> list[subprocess.Popen[bytes]]:  # fmt: skip
    """*count* ``leasekit worker`` processes, returned once each has registered."""
    command = [sys.executable, "-c", "from leasekit.cli import cli; cli()", "worker"]
    environment = worker_environment(url, folder, partition_size, on, daily)
    with (folder / "workers.log").open("ab") as log:
        workers = [subprocess.Popen(command, stdout=log, stderr=log, env=environment)
                   for _ in range(count)]  # fmt: skip
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                ready = connection.exec_driver_sql("SELECT count(*) FROM procrastinate_workers")
                if ready.scalar_one() >= count:
                    return workers
            if any(worker.poll() is not None for worker in workers):
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    stop_workers(workers)
    raise SystemExit("the workers did not start:\n" + (folder / "workers.log").read_text())


def stop_workers(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def leasekit_close(runtime: Any, runner: Any, steps: StepClock) -> dict[str, Any]:
    """The close's summary: each step's counts by its name."""
    from leasekit.services.end_of_day import close_business_day

    closed = close_business_day(runtime.services, runner=runner, started=steps.started)
    return closed.summary


# --- what a run left ----------------------------------------------------------------------


def outcome(engine: sa.Engine, on: date) -> dict[str, Any]:
    """The penalties accrued for business date *on* and the aging rows, the interest booked
    on the lines and by ``interest_accrued`` events, with digests of each line's, each
    contract's and each event's figures: what the floor and leasekit must agree on."""
    r = ReceivableRepository.stored.table.c
    aging = metadata.tables["contract_aging"].c
    with engine.connect() as connection:
        lines = connection.execute(
            sa.select(r.id, r.penalty, r.penalty_exact, r.version)
            .where(r.penalty_through == on).order_by(r.id)
        ).all()  # fmt: skip
        rows = connection.execute(
            sa.select(aging.contract_id, aging.days_past_due, aging.bucket, aging.overdue)
            .order_by(aging.contract_id)
        ).all()  # fmt: skip
        earning = connection.execute(
            sa.select(r.id, r.interest_accrued).where(r.interest_accrued > 0).order_by(r.id)
        ).all()
        events = connection.execute(
            sa.select(OutboxRow.subject_id, OutboxRow.payload)
            .where(OutboxRow.name == "interest_accrued").order_by(OutboxRow.subject_id)
        ).all()  # fmt: skip
    penalty = sum((line.penalty for line in lines), Decimal(0))
    line_text = "\n".join(f"{x.id} {x.penalty} {x.penalty_exact} {x.version}" for x in lines)
    aging_text = "\n".join(f"{x.contract_id} {x.days_past_due} {x.bucket} {x.overdue}"
                           for x in rows)  # fmt: skip
    interest_text = "\n".join(f"{x.id} {x.interest_accrued}" for x in earning)
    event_text = "\n".join(f"{x.subject_id} {x.payload['accrued']} {x.payload['released']}"
                           for x in events)  # fmt: skip
    texts = (line_text, aging_text, interest_text, event_text)
    return {
        "penalty": f"{penalty:.2f}", "lines": len(lines),
        "buckets": dict(sorted(Counter(row.bucket for row in rows).items())),
        "overdue": f"{sum((row.overdue for row in rows), Decimal(0)):.2f}",
        "interest": f"{sum((x.interest_accrued for x in earning), Decimal(0)):.2f}",
        "interest_events": len(events),
        "digest": hashlib.sha256("\n--\n".join(texts).encode()).hexdigest()[:16],
    }  # fmt: skip


def delivery_rate(runtime: Any) -> dict[str, Any]:
    """How fast the events the close recorded go out to their subscribers (the voucher
    engine, the ledger ...): the relay's passes on this thread for up to
    ``DELIVERY_SECONDS``; what was delivered, and what is left."""
    delivered, started = 0, time.perf_counter()
    while time.perf_counter() - started < DELIVERY_SECONDS:
        went = runtime.relay.run_pass(100)
        if not went:
            break
        delivered += went
    seconds = time.perf_counter() - started
    with runtime.engine.connect() as connection:
        count = sa.select(sa.func.count())
        events = connection.scalar(count.select_from(OutboxRow)) or 0
        queued = connection.scalar(count.select_from(OutboxPendingRow)) or 0
        pending = connection.scalar(
            count.select_from(DeliveryRow).where(DeliveryRow.status == "pending")
        ) or 0  # fmt: skip
    return {"delivered": delivered, "seconds": seconds, "events": events,
            "left": pending, "queued": queued}  # fmt: skip


def _profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    stats.sort_stats("cumulative").print_stats(r"leasekit/(services|store|domain|jobs)", 14)
    return out.getvalue()


def phase(which: str, url: str, folder: Path, workers: int, partition_size: int | None,
          profile: bool, on: date, daily: bool = False) -> None:  # fmt: skip
    """One close of business date *on* of the database at *url* from this process; prints
    what it measured as JSON."""
    runtime = (
        runtime_for(folder, url, on, partition_size, deliver=False, daily=daily)
        if which == "leasekit"
        else None
    )
    engine = runtime.engine if runtime is not None else create_engine(url)
    with engine.connect() as connection:  # open the pool's connection before timing
        connection.exec_driver_sql("SELECT 1")
    started_workers = (
        start_workers(url, folder, workers, partition_size, on, daily) if workers else []
    )
    runner: Any = None
    if runtime is not None:
        from leasekit.jobs import run_queued
        from leasekit.services.end_of_day import run_inline

        runner = (
            run_queued(url, engine, heartbeat_seconds=HEARTBEAT_SECONDS) if workers else run_inline
        )
    settings = settings_for(folder, url, partition_size, daily)
    rate, grace = settings.eod.penalty_daily_rate, settings.funds.grace_days
    steps = StepClock()
    summary: dict[str, Any] = {}
    before = reset_peak()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        if runtime is not None:
            summary = leasekit_close(runtime, runner, steps)
        else:
            floor_close(engine, rate, grace, on, daily)
        if profiler is not None:
            profiler.disable()
        ended = time.perf_counter()
    finally:
        stop_workers(started_workers)
    peak = peak_mb()
    found = outcome(engine, on)
    receivables = steps.seconds("receivables", ended) if steps.began else ended - started
    delivery = delivery_rate(runtime) if runtime is not None else {}
    if runtime is not None:
        runtime.close()
    else:
        engine.dispose()
    print(json.dumps({
        "seconds": ended - started, "receivables_seconds": receivables, "before_mb": before,
        "steps": {step: steps.seconds(step, ended) for step in steps.began},
        "delivery": delivery,
        "peak_mb": peak, "maxrss_mb": maxrss_mb(),
        "workers_maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "summary_penalty": summary.get("receivables", {}).get("penalty"),
        "summary_interest": summary.get("interest", {}).get("interest_accrued"), "outcome": found,
        "profile": "" if profiler is None else _profile_text(profiler),
    }))  # fmt: skip


def run_phase(which: str, seeded: str, on: date, *, workers: int = 0,
              partition_size: int | None, profile: bool = False, daily: bool = False
              ) -> dict[str, Any]:  # fmt: skip
    """*which* on a fresh copy of the seeded database, in a process of its own."""
    with copy_of(seeded) as (url, folder):
        command = [sys.executable, __file__, "--phase", which, "--db", url,
                   "--folder", str(folder), "--workers", str(workers)]  # fmt: skip
        if on == MONTH_END:
            command.append("--month-end")
        if daily:
            command.append("--daily-interest")
        if partition_size is not None:
            command += ["--partition-size", str(partition_size)]
        if profile:
            command.append("--profile")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
            raise SystemExit(f"the {which} run ({workers} workers) failed")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


# --- the report ---------------------------------------------------------------------------


class Row:
    """One close measured: its label and numbers, as the final table shows them."""

    def __init__(self, size: int, where: str, how: str, run: dict[str, Any],
                 floor: dict[str, Any] | None, workers: int) -> None:  # fmt: skip
        self.size, self.where, self.how, self.run = size, where, how, run
        self.floor, self.workers = floor, workers

    def cells(self) -> list[str]:
        run, seconds = self.run, self.run["seconds"]
        ratio = "" if self.floor is None else f"{seconds / self.floor['seconds']:.2f}×"
        per_worker = self.size / self.run["receivables_seconds"] / max(self.workers, 1)
        peak = max(run["maxrss_mb"], run["workers_maxrss_mb"])
        return [
            f"{self.size:,}", self.where, self.how, f"{seconds:.2f}", ratio,
            f"{self.size / seconds:,.0f}", f"{seconds / self.size * 1e6:.0f}",
            "" if self.floor is None else f"{per_worker:,.0f}", f"{peak:,.0f}",
        ]  # fmt: skip


def report(rows: Sequence[Row]) -> None:
    table = Table(title="Close of business (one business date, each on a fresh copy)")
    for header in ("contracts", "database", "close", "seconds", "/ floor", "contracts/s",
                   "µs/contract", "receivables/s/worker", "peak RSS MB"):  # fmt: skip
        table.add_column(header, justify="left" if header in ("database", "close") else "right")
    for row in rows:
        table.add_row(*row.cells())
    Console(width=140).print(table)


def agrees(floor: dict[str, Any], run: dict[str, Any], label: str) -> bool:
    """Whether *run* left what the floor left (and leasekit's summary says so too)."""
    mine, theirs = floor["outcome"], run["outcome"]
    said = (run["summary_penalty"], run["summary_interest"] or "0")
    same = (
        mine == theirs
        and Decimal(said[0]) == Decimal(mine["penalty"])
        and Decimal(said[1]) == Decimal(mine["interest"])
    )
    if not same:
        print(f"CORRECTNESS FAILURE ({label}): floor {mine}, leasekit {theirs}, leasekit's "
              f"summary says penalty {said[0]}, interest {said[1]}")  # fmt: skip
    return same


def _print_profile(text: str) -> None:
    keep = [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(("Ordered", "List", "function",
                                                             "/"))]  # fmt: skip
    print("\nleasekit's close in one process (cProfile: by own time, then leasekit's by "
          "cumulative time):")  # fmt: skip
    print("\n".join(keep))


def one_size(size: int, postgres: str | None, partition_size: int | None,
             profile: bool, on: date, daily: bool = False) -> tuple[list[Row], bool]:  # fmt: skip
    """Seed a book of *size* as it stands on *on*, close that date every way; the rows
    measured and whether all agreed."""
    where = "PostgreSQL" if postgres else "SQLite"
    with (
        tempfile.TemporaryDirectory(prefix="bench-end-of-day-") as scratch,
        fresh_database(Path(scratch), postgres) as database,
    ):
        started = time.perf_counter()
        bulk = seed(Path(scratch), database, size, on)
        print(f"\n{size:,} contracts on {database_title(database)}: seeded in "
              f"{time.perf_counter() - started:.1f} s (bulk {size / max(bulk, 1e-9):,.0f} "
              f"contracts/s), database {database_mb(database):,.0f} MB")  # fmt: skip
        floor = run_phase("floor", database, on, partition_size=partition_size, daily=daily)
        ways = [("leasekit, in process", 0)]
        if postgres:
            ways += [("leasekit, 1 worker", 1), ("leasekit, 2 workers", 2)]
        rows, ok = [Row(size, where, "floor (Core)", floor, None, 1)], True
        for how, workers in ways:
            run = run_phase("leasekit", database, on, workers=workers,
                            partition_size=partition_size, daily=daily)  # fmt: skip
            rows.append(Row(size, where, how, run, floor, max(workers, 1)))
            ok = agrees(floor, run, f"{size:,} {where} {how}") and ok
        print(f"what both left: {floor['outcome']}")
        for row in rows:
            print(f"  {row.how}: {row.run['seconds']:.2f} s, receivables step "
                  f"{row.run['receivables_seconds']:.2f} s, peak RSS {row.run['maxrss_mb']:.0f} MB"
                  f" (growth in the call {row.run['peak_mb'] - row.run['before_mb']:.0f} MB)"
                  + (f", workers' peak {row.run['workers_maxrss_mb']:.0f} MB"
                     if "worker" in row.how else ""))  # fmt: skip
            if row.run["steps"]:
                print(
                    "    steps: "
                    + ", ".join(
                        f"{step} {seconds:.2f} s" for step, seconds in row.run["steps"].items()
                    )
                )
                if row.run["outcome"]["interest_events"]:
                    interest = row.run["steps"]["interest"]
                    print(f"    interest step: {row.size / interest:,.0f} contracts/s, "
                          f"{row.run['outcome']['interest_events']:,} events")  # fmt: skip
                if row.run["delivery"]["delivered"]:
                    print(delivered(row.run["delivery"]))
        if postgres:
            one, two = rows[-2].run["seconds"], rows[-1].run["seconds"]
            print(f"  2 workers / 1 worker: {one / two:.2f}× faster")
        if profile:
            run = run_phase("leasekit", database, on, partition_size=partition_size, profile=True,
                            daily=daily)  # fmt: skip
            _print_profile(run["profile"])
    return rows, ok


def delivered(delivery: dict[str, Any]) -> str:
    """What :func:`delivery_rate` found, as a line."""
    rate = delivery["delivered"] / max(delivery["seconds"], 1e-9)
    return (f"    delivering the close's {delivery['events']:,} events afterwards: "
            f"{delivery['delivered']:,} deliveries in {delivery['seconds']:.1f} s "
            f"({rate:,.0f}/s), {delivery['left']:,} deliveries and {delivery['queued']:,} "
            "events not fanned out yet left")  # fmt: skip


def _sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or any(not 1 <= size <= 2_000_000 for size in sizes):
        raise argparse.ArgumentTypeError("sizes between 1 and 2,000,000, comma-separated")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 100_000],
                        help="book sizes, comma-separated (10000,100000)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="one book of 2,000 contracts")
    parser.add_argument("--partition-size", type=int,
                        help="contracts per partition (leasekit's default, 5,000)")  # fmt: skip
    parser.add_argument("--month-end", action="store_true",
                        help=f"close {MONTH_END}, a month end, when interest is booked, instead "
                             f"of {BUSINESS_DATE}")  # fmt: skip
    parser.add_argument("--daily-interest", action="store_true",
                        help="book interest on the date closed, whichever it is "
                             "(LEASEKIT_EOD__INTEREST_ACCRUAL=daily)")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="also profile leasekit's close in one process (cProfile)")  # fmt: skip
    parser.add_argument(
        "--postgres", metavar="URL",
        help="a PostgreSQL server on which to create (and drop) the books' databases; "
             "SQLite if not given",
    )  # fmt: skip
    parser.add_argument("--phase", choices=("floor", "leasekit"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    on = MONTH_END if args.month_end else BUSINESS_DATE
    if args.phase:
        phase(args.phase, args.db, args.folder, args.workers, args.partition_size, args.profile,
              on, args.daily_interest)  # fmt: skip
        return 0
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python "
        f"{sys.version.split()[0]}, SQLAlchemy {sa.__version__}, {os.cpu_count()} cores; "
        f"business date {on}" + (", interest booked daily" if args.daily_interest else "")
    )
    rows: list[Row] = []
    ok = True
    for size in [2_000] if args.quick else args.sizes:
        measured, agreed = one_size(
            size, args.postgres, args.partition_size, args.profile, on, args.daily_interest
        )
        rows += measured
        ok = ok and agreed
    print()
    report(rows)
    print("/ floor: leasekit's seconds over the floor's in the same run (target within 10×); "
          "receivables/s/worker: contracts over the receivables step's seconds, per worker "
          "process (target ≥ 10,000/s); peak RSS: the largest of the close's process and its "
          "workers (ru_maxrss; target < 2 GB)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
