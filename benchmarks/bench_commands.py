"""What does a leasekit command cost over the bare database write it makes?

Run it with ``python benchmarks/bench_commands.py`` (``--quick`` for a smoke run,
``--postgres URL`` to run against PostgreSQL as well as SQLite). It prints a table and is never
a pass/fail timing test: the exit code is 0 whatever the speed.

One command, registering a customer, is timed four ways on the same database, wired by
``leasekit.runtime.build_runtime`` as the server and the CLI wire it:

* **bare insert**: the customers row alone, every column as the repository writes it,
  inserted and committed with SQLAlchemy Core, one transaction per customer. The floor: what
  any application writing this record pays.
* **command, no delivery**: ``services.customers.register_customer`` with nothing woken after
  the commit: role check, id-number validation, the duplicate check, the unit of work, and the
  outbox row, its queue place and the audit entry written in the same transaction.
* **command, runtime**: the runtime's own services: each commit wakes the background worker
  thread, which fans events out, delivers them and chains the audit log in batches. Each
  round ends by waiting for the worker, so "all delivered" covers that work too.
* **command, inline delivery**: the worker's work (a relay pass, then chaining the audit log)
  done on the caller's thread right after each commit, for comparison.

Before timing starts, the customers table holds :data:`BOOK` customers, inserted in bulk: the
command's duplicate check reads that table, so an empty one would flatter it. Rounds are
interleaved across the four ways and the best round of each is kept. The ratios say how many
bare inserts one command costs, measured in the same run. The project's target is that the
command, as the runtime runs it, costs its caller at most :data:`TARGET_RATIO` bare inserts.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import leasekit
from leasekit.demo import resident_id
from leasekit.domain.customers import CustomerKind
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import Runtime, build_runtime
from leasekit.services import customers
from leasekit.services.context import ServiceContext
from leasekit.settings import load_settings
from leasekit.store.audit import chain_pending
from leasekit.store.database import create_engine
from leasekit.store.parties import CustomerRow
from leasekit.store.schema import search_key

POSTGRES_URL_VARIABLE = "LEASEKIT_BENCH_POSTGRES_URL"
"""Where ``--postgres`` comes from when not given (``tox -e bench`` passes it through)."""
BOOK = 20_000
"""Customers in the table before timing starts: the command's duplicate check reads it."""
SEED_BATCH = 5_000
TARGET_RATIO = 5.0
RUNTIME_WAY = "command, runtime"
OFFICER = Actor("officer", Role.OFFICER)
NAME = "Zhang Wei"

Call = Callable[[], object]


def id_numbers() -> Iterator[str]:
    """Distinct valid resident identity numbers (a thousand sequence numbers per birth date,
    one date after another), so no command fails its duplicate check."""
    born = date(1960, 1, 1)
    while True:
        for sequence in range(1000):
            yield resident_id(f"110105{born:%Y%m%d}{sequence:03d}")
        born += timedelta(days=1)


def open_runtime(url: str, folder: Path) -> Runtime:
    """The runtime the server would build on *url*, minus plugins from entry points, and with
    the worker's timer pass pushed out of the run: only commits wake it."""
    settings = load_settings(
        database_url=url,
        data_dir=folder,
        secret_key="bench",
        disable_plugin_autoload=True,
        outbox={"retry_seconds": 3600},
    )
    return build_runtime(settings, create_plugin_manager(load_entrypoints=False, blocked=()))


# -- the table: a book of customers, in bulk --------------------------------------------------


def customer_row(name: str, id_number: str) -> dict[str, object]:
    """The customers row as ``CustomerRepository.add`` writes it, ``name_key`` included."""
    return {
        "id": new_id(),
        "version": 0,
        "kind": CustomerKind.INDIVIDUAL.value,
        "name": name,
        "name_key": search_key(name),
        "country": "CN",
        "id_number": id_number,
        "partner_id": None,
        "created_at": datetime.now(UTC),
    }


def book(count: int) -> Iterator[dict[str, object]]:
    """*count* customers with Shanghai numbers (the commands use Beijing's: no collision)."""
    born = date(1950, 1, 1)
    for index in range(count):
        day, sequence = divmod(index, 1000)
        number = resident_id(f"310101{born + timedelta(days=day):%Y%m%d}{sequence:03d}")
        yield customer_row(f"Customer {index:06d}", number)


def insert_customers(engine: sa.Engine, count: int) -> list[str]:
    """Bulk inserts in batches, in one transaction; the ids in order."""
    ids = []
    rows = book(count)
    with engine.begin() as connection:
        while batch := [row for _, row in zip(range(SEED_BATCH), rows, strict=False)]:
            connection.execute(sa.insert(CustomerRow), batch)
            ids.extend(str(row["id"]) for row in batch)
    tidy_up(engine)
    return sorted(ids)


def tidy_up(engine: sa.Engine) -> None:
    """Do now what the database would soon do by itself after a bulk load, so that no timed
    round pays for it: fold SQLite's write-ahead log into the file; vacuum and analyze on
    PostgreSQL (the planner then knows the table's size)."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE customers"
            )


# -- the four ways ---------------------------------------------------------------------------


def bare_insert(engine: sa.Engine, numbers: Iterator[str]) -> Call:
    """The row ``register_customer`` writes, alone, in a transaction of its own."""
    insert = sa.insert(CustomerRow)

    def run() -> None:
        with engine.begin() as connection:
            connection.execute(insert, customer_row(NAME, next(numbers)))

    return run


def register(ctx: ServiceContext, numbers: Iterator[str]) -> Call:
    def run() -> None:
        customers.register_customer(
            ctx, OFFICER, customers.RegisterCustomer(CustomerKind.INDIVIDUAL, NAME, next(numbers))
        )

    return run


def inline_work(runtime: Runtime) -> Callable[[], None]:
    """What the background worker does after a wake-up, on the calling thread instead."""

    def run() -> None:
        while runtime.deliver_outbox():
            pass
        while chain_pending(runtime.engine):
            pass

    return run


class Way(NamedTuple):
    name: str
    call: Call
    settle: Call
    """Waits for the work the call left to other threads; timed in "all delivered"."""


def ways(runtime: Runtime) -> list[Way]:
    numbers = id_numbers()
    services = runtime.services
    nothing: Call = lambda: None  # noqa: E731
    quiet = attrs.evolve(services, after_commit=nothing)
    inline = attrs.evolve(services, after_commit=inline_work(runtime))
    return [
        Way("bare insert", bare_insert(runtime.engine, numbers), nothing),
        Way("command, no delivery", register(quiet, numbers), nothing),
        Way(RUNTIME_WAY, register(services, numbers), runtime.wait_for_delivery),
        Way("command, inline delivery", register(inline, numbers), nothing),
    ]


# -- timing ----------------------------------------------------------------------------------


class Round(NamedTuple):
    caller: float
    """Seconds per command that the caller waits."""
    done: float
    """Seconds per command until its events are delivered and its audit entry chained."""


def run_round(way: Way, calls: int) -> Round:
    start = time.perf_counter()
    for _ in range(calls):
        way.call()
    returned = time.perf_counter()
    way.settle()
    return Round((returned - start) / calls, (time.perf_counter() - start) / calls)


class Result(NamedTuple):
    name: str
    best: Round
    spread: float
    """Median round ÷ best round ("all delivered"): the run's noise gauge."""
    statements: tuple[float, float]
    """SQL statements per command on the caller's thread, and on the worker's."""


def count_statements(engine: sa.Engine, way: Way, calls: int) -> tuple[float, float]:
    """Statements per command issued by the caller and by other threads (the worker),
    counted in an untimed round so the listener costs the timed rounds nothing."""
    caller = threading.get_ident()
    counts = [0, 0]

    def seen(*_: object) -> None:
        counts[threading.get_ident() != caller] += 1

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        run_round(way, calls)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return counts[0] / calls, counts[1] / calls


def measure(url: str, folder: Path, calls: int, rounds: int) -> list[Result]:
    """Interleaved rounds of every way (A, B, C, D, A, B, ...), best round of each kept; the
    backlog a way leaves (events of "no delivery") is cleared, untimed, before the next."""
    runtime = open_runtime(url, folder)
    try:
        insert_customers(runtime.engine, BOOK)
        chosen = ways(runtime)
        statements = []
        for way in chosen:  # warms caches and the pool, and counts statements
            statements.append(count_statements(runtime.engine, way, 20))
            runtime.wait_for_delivery()
        times: list[list[Round]] = [[] for _ in chosen]
        for _ in range(rounds):
            for way, kept in zip(chosen, times, strict=True):
                kept.append(run_round(way, calls))
                runtime.wait_for_delivery()
        return [
            Result(
                way.name,
                Round(min(r.caller for r in kept), min(r.done for r in kept)),
                statistics.median(r.done for r in kept) / min(r.done for r in kept),
                counted,
            )
            for way, kept, counted in zip(chosen, times, statements, strict=True)
        ]
    finally:
        runtime.close()


# -- PostgreSQL scratch schema ---------------------------------------------------------------


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """*url* confined to a new PostgreSQL schema, dropped afterwards, so the benchmark never
    touches the tables of the database it is pointed at."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_durability(url: str) -> str:
    """What a commit waits for on this server: it sets the floor every ratio divides by."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.scalar(sa.text("SHOW server_version"))
            commit = connection.scalar(sa.text("SHOW synchronous_commit"))
    finally:
        engine.dispose()
    return f"PostgreSQL {version}, synchronous_commit={commit}"


# -- report ----------------------------------------------------------------------------------


def report(database: str, results: list[Result]) -> None:
    floor = results[0].best
    print(f"\n{database}")
    print(
        f"{'way':<28}{'caller waits':>14}{'all delivered':>15}{'× bare':>9}{'× bare':>12}"
        f"{'SQL statements':>18}"
    )
    print(
        f"{'':<28}{'ms/command':>14}{'ms/command':>15}{'(caller)':>9}{'(delivered)':>12}"
        f"{'caller + worker':>18}"
    )
    for result in results:
        caller, worker = result.statements
        print(
            f"{result.name:<28}{result.best.caller * 1000:>14.3f}{result.best.done * 1000:>15.3f}"
            f"{result.best.caller / floor.caller:>8.2f}×{result.best.done / floor.done:>11.2f}×"
            f"{caller:>11.1f} + {worker:.1f}"
        )
    runtime = next(result for result in results if result.name == RUNTIME_WAY)
    ratio = runtime.best.caller / floor.caller
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met (exit code stays 0)"
    print(
        f"register_customer as the runtime runs it costs its caller {ratio:.2f} bare inserts; "
        f"target ≤ {TARGET_RATIO:g}×: {verdict}"
    )
    spread = max(result.spread for result in results)
    print(
        f"timing noise: the median round was up to {spread:.2f}× slower than the best "
        "(close to 1× on a quiet machine)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean little")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(POSTGRES_URL_VARIABLE) or None,
        help=f"also run against this database [{POSTGRES_URL_VARIABLE}]",
    )
    args = parser.parse_args(argv)
    calls, rounds = (30, 2) if args.quick else (200, 15)
    print(
        f"leasekit {leasekit.__version__}, Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}; {rounds} interleaved rounds of {calls} commands per way, "
        f"best round kept; {BOOK:,} customers in the table before timing"
    )
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        report("SQLite (file, WAL)", measure(url, Path(folder), calls, rounds))
    if args.postgres:
        with tempfile.TemporaryDirectory() as folder, scratch_schema(args.postgres) as url:
            title = f"{postgres_durability(url)} (a scratch schema)"
            report(title, measure(url, Path(folder), calls, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
