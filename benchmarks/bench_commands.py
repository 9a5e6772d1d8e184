"""What does a leasekit command cost over the bare database write it makes?

Run it with ``python benchmarks/bench_commands.py`` (``--quick`` for a smoke run,
``--postgres URL`` to run against PostgreSQL as well as SQLite). It prints a table and is never
a pass/fail timing test: the exit code is 0 whatever the speed.

One command, registering a customer, is timed three ways on the same database:

* **bare insert**: the customers row alone, inserted and committed with SQLAlchemy Core, one
  transaction per customer. The floor: what any application writing this record pays.
* **leasekit, no delivery**: ``services.customers.register_customer`` with the outbox relay
  switched off: id-number validation, the duplicate check, the unit of work, and the outbox
  row and hash-chained audit entry written in the same transaction.
* **leasekit, background delivery**: as the runtime runs it: each commit wakes the outbox
  worker thread, which delivers to the plugins in batches. Each round ends by waiting for the
  worker to finish, so the time covers delivery too.
* **leasekit, inline delivery**: delivery on the caller's thread right after each commit (two
  more short transactions per command: claim and mark delivered), for comparison.

The ratios say how many bare inserts one command costs, measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from stdnum.cn import ric

import leasekit
from leasekit.domain.clock import FixedClock
from leasekit.domain.customers import CustomerKind
from leasekit.domain.identity import Actor, Role
from leasekit.money import currency
from leasekit.plugins import as_hooks, create_plugin_manager
from leasekit.services import customers
from leasekit.services.context import ServiceContext
from leasekit.store.database import create_engine, upgrade
from leasekit.store.outbox import OutboxRelay, OutboxWorker
from leasekit.store.tables import CustomerRow
from leasekit.store.uow import unit_of_work_factory
from leasekit.testing.fakes import Fakes

CLOCK = FixedClock(now=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), business_date=date(2026, 3, 2))
OFFICER = Actor("officer", Role.OFFICER)


def id_numbers() -> Iterator[str]:
    """Distinct valid resident identity numbers, so no command fails its duplicate check."""
    for day in range(1, 29):
        for sequence in range(1000):
            body = f"11010519850{day % 9 + 1}{day:02d}{sequence:03d}"
            yield body + ric.calc_check_digit(body + "0")


def relay(engine: sa.Engine) -> OutboxRelay:
    return OutboxRelay(engine, as_hooks(create_plugin_manager(load_entrypoints=False)).publish)


def context(engine: sa.Engine, after_commit: Callable[[], object]) -> ServiceContext:
    def committed() -> None:
        after_commit()

    return ServiceContext(
        uow_factory=unit_of_work_factory(engine),
        adapters=Fakes.create(CLOCK).adapters(),
        clock=CLOCK,
        currency=currency("CNY"),
        max_upload_bytes=1 << 20,
        after_commit=committed,
    )


def bare_insert(engine: sa.Engine, numbers: Iterator[str]) -> Callable[[], None]:
    def insert() -> None:
        with engine.begin() as connection:
            connection.execute(
                sa.insert(CustomerRow).values(
                    id=uuid.uuid4().hex,
                    version=0,
                    kind="individual",
                    name="Zhang Wei",
                    country="CN",
                    id_number=next(numbers),
                    partner_id=None,
                    created_at=CLOCK.now(),
                )
            )

    return insert


def command(ctx: ServiceContext, numbers: Iterator[str]) -> Callable[[], None]:
    def register() -> None:
        customers.register_customer(
            ctx,
            OFFICER,
            customers.RegisterCustomer(CustomerKind.INDIVIDUAL, "Zhang Wei", next(numbers)),
        )

    return register


class Timing(NamedTuple):
    caller: float
    """Seconds per command that the caller waits."""
    done: float
    """Seconds per command until its events are delivered too (background work included)."""


def per_call(
    function: Callable[[], None], calls: int, rounds: int, settle: Callable[[], object]
) -> Timing:
    """Medians over *rounds* of the mean seconds per call, without and with *settle*
    (waiting for background work) at the end of the round."""
    caller, done = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        returned = time.perf_counter()
        settle()
        caller.append((returned - start) / calls)
        done.append((time.perf_counter() - start) / calls)
    return Timing(statistics.median(caller), statistics.median(done))


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


def measure(url: str, calls: int, rounds: int) -> dict[str, Timing]:
    engine = create_engine(url)
    upgrade(engine)
    numbers = id_numbers()
    worker = OutboxWorker(relay(engine))
    nothing: Callable[[], object] = lambda: None  # noqa: E731
    ways = {
        "bare insert": (bare_insert(engine, numbers), nothing),
        "leasekit, no delivery": (command(context(engine, nothing), numbers), nothing),
        "leasekit, background delivery": (
            command(context(engine, worker.wake), numbers),
            worker.drain,
        ),
        "leasekit, inline delivery": (
            command(context(engine, relay(engine).deliver_pending), numbers),
            nothing,
        ),
    }
    for way, settle in ways.values():  # warm caches and the connection pool
        way()
        settle()
    try:
        return {name: per_call(way, calls, rounds, settle) for name, (way, settle) in ways.items()}
    finally:
        worker.stop()
        engine.dispose()


def report(database: str, results: dict[str, Timing]) -> None:
    floor = results["bare insert"].done
    print(f"\n{database}")
    print(f"{'way':<32}{'caller waits':>14}{'all delivered':>15}{'× bare insert':>15}")
    print(f"{'':<32}{'ms/command':>14}{'ms/command':>15}{'(delivered)':>15}")
    for name, timing in results.items():
        print(
            f"{name:<32}{timing.caller * 1000:>14.3f}{timing.done * 1000:>15.3f}"
            f"{timing.done / floor:>15.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean little")
    parser.add_argument("--postgres", metavar="URL", help="also run against this database")
    args = parser.parse_args(argv)
    calls, rounds = (50, 1) if args.quick else (300, 5)
    print(f"leasekit {leasekit.__version__}, Python {platform.python_version()}, "
          f"{calls} commands × {rounds} rounds per way")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite (file, WAL)", measure(f"sqlite:///{Path(folder) / 'b.db'}", calls, rounds))
    if args.postgres:
        with scratch_schema(args.postgres) as url:
            report("PostgreSQL (a scratch schema)", measure(url, calls, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
