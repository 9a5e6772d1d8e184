"""What does booking business events as vouchers cost over writing the same rows bare?

A fresh database (a SQLite file, or with ``--postgres URL`` a database created on that
PostgreSQL server and dropped afterwards) is given M active US-dollar contracts as
``bench_collections.seed`` writes them. N money events over those contracts are generated in
a fixed mix (payouts, payments received and allocated, credit applied, reversals, returned
debit and early settlement fees) with amounts that vary by event, streamed, never held whole.
Then, each on a fresh copy of the seeded database:

* **leasekit**: ``services.voucher_batches.book_events`` on a runtime built as the server
  builds it: per chunk, the key check, the contracts, product versions and products read,
  the templates in force choosing and booking each event, the vouchers and lines written.
* **Core executemany** (the floor): the same voucher and line rows, booked beforehand
  outside the clock, inserted chunk by chunk with SQLAlchemy Core, one transaction per chunk;
  only the inserts and commits are timed.
* **COPY** (PostgreSQL only): the same rows with psycopg's ``cursor.copy``.

Every run is checked: one SQL query finds any voucher whose debits differ from its credits
(exactly: in cents on SQLite, which keeps amounts as text), and each run's vouchers, lines
and per-account totals must equal leasekit's. The ratio printed is floor time / leasekit
time (the target is ≥ 0.5). It prints numbers; the exit code is 1 only on a wrong book.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from bench_collections import (
    BUSINESS_DATE,
    NOW,
    copy_of,
    database_title,
    fresh_database,
    is_sqlite,
    peak_mb,
    reset_peak,
    runtime_for,
    seed,
)
from leasekit.domain.bookings import Accounting
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.voucher_templates import Booking, EventFacts
from leasekit.services.accounting import facts_with
from leasekit.services.voucher_batches import book_events
from leasekit.store.database import create_engine
from leasekit.store.ledger import VoucherLineRow, VoucherRow, _line_columns, _voucher_columns

CHUNK: Final = 2_000
MIX: Final = (
    "payment_received", "payment_allocated", "payment_received", "payment_allocated",
    "return_fee_charged", "payment_received", "payment_allocated", "credit_applied",
    "payment_reversed", "contract_disbursed", "payment_received", "payment_allocated",
    "settlement_fee_charged",
)  # fmt: skip
"""One round of events, repeated: receipts and allocations most, the rest now and then."""
SUBJECTS: Final = {
    "contract_disbursed": "contract", "return_fee_charged": "receivable",
    "settlement_fee_charged": "receivable",
}  # fmt: skip
_CENT: Final = Decimal("0.01")


# --- the events ---------------------------------------------------------------------------


def _amounts(name: str, n: int) -> dict[str, str]:
    """The amount fields of event *n* of kind *name*, varied by *n*."""
    base = Decimal(150 + n % 850) + Decimal(n % 97) * _CENT
    part = (base / 4).quantize(_CENT)
    parts = {"penalty": n % 3, "fee": part / 10, "interest": part, "principal": base - part}
    parts = {k: Decimal(v).quantize(_CENT) for k, v in parts.items()}
    paid = sum(parts.values(), Decimal(0))
    credit = Decimal(n % 5) * 10
    if name == "contract_disbursed":
        fees = Decimal(n % 4) * 100
        return {"payout_amount": str(base * 40), "principal": str(base * 40 + fees),
                "financed_fees": str(fees), "vehicle_price": str(base * 50),
                "down_payment": str(base * 10), "upfront_fees": "0"}  # fmt: skip
    if name in {"payment_received", "return_fee_charged", "settlement_fee_charged"}:
        return {"amount": str(paid + credit if name == "payment_received" else base / 10)}
    if name == "payment_allocated":
        return {"amount": str(paid + credit), "credit": str(credit),
                **{k: str(v) for k, v in parts.items()}}  # fmt: skip
    if name == "credit_applied":
        return {"credit": "0", **{k: str(v) for k, v in parts.items()}}
    return {"amount": str(paid + credit), "credit": str(credit),
            **{k: str(-v) for k, v in parts.items()}}  # fmt: skip


def events(count: int, contracts: Sequence[str]) -> Iterator[DomainEvent]:
    """*count* money events over *contracts*, the same each time they are generated."""
    for n in range(count):
        name = MIX[n % len(MIX)]
        contract_id = contracts[n % len(contracts)]
        subject = SUBJECTS.get(name, "payment")
        subject_id = contract_id if subject == "contract" else f"{subject[:3]}-{n:09d}"
        payload: dict[str, Any] = {**_amounts(name, n), "currency": "USD"}
        if subject != "contract":
            payload["contract_id"] = contract_id
        if name.startswith("payment_"):
            payload["source"] = "direct_debit" if n % 3 == 0 else "transfer"
        yield DomainEvent.new(
            name, subject, subject_id, payload, occurred_at=NOW + timedelta(microseconds=n),
            business_date=BUSINESS_DATE, actor_id=None, idempotency_key=f"bench-{n:09d}",
        )  # fmt: skip


# --- checking a book ----------------------------------------------------------------------


def unbalanced(engine: sa.Engine) -> int:
    """Vouchers whose debits differ from their credits, or that have no line: one query."""
    cents = "CAST(ROUND(l.amount * 100) AS INTEGER)" if engine.dialect.name == "sqlite" else (
        "l.amount"
    )  # fmt: skip
    query = f"""
        SELECT count(*) FROM vouchers v LEFT JOIN (
            SELECT l.voucher_id, SUM(CASE l.side WHEN 'debit' THEN {cents} ELSE -{cents} END)
                AS net
            FROM voucher_lines l GROUP BY l.voucher_id
        ) n ON n.voucher_id = v.id
        WHERE n.net IS NULL OR n.net <> 0"""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(query).scalar_one())


def digest(engine: sa.Engine) -> tuple[int, int, tuple[tuple[str, str, str], ...]]:
    """Vouchers, lines, and each account's total per side (exact, in Python)."""
    with engine.connect() as connection:
        vouchers = connection.execute(sa.select(sa.func.count()).select_from(VoucherRow)).scalar()
        totals: dict[tuple[str, str], Decimal] = {}
        lines = 0
        rows = connection.execution_options(yield_per=50_000).execute(
            sa.select(VoucherLineRow.account, VoucherLineRow.side, VoucherLineRow.amount)
        )
        for account, side, amount in rows:
            totals[account, side] = totals.get((account, side), Decimal(0)) + amount
            lines += 1
    return int(vouchers or 0), lines, tuple((a, s, str(t)) for (a, s), t in sorted(totals.items()))


# --- the runs -----------------------------------------------------------------------------


class Run:
    """One way of writing the book, timed, with its peak memory and the book it wrote."""

    def __init__(self, name: str, seconds: float, before: float, peak: float, url: str) -> None:
        self.name, self.seconds, self.before, self.peak = name, seconds, before, peak
        engine = create_engine(url)
        try:
            self.unbalanced = unbalanced(engine)
            self.digest = digest(engine)
        finally:
            engine.dispose()


def leasekit_run(url: str, folder: Path, count: int, chunk: int, profile: bool) -> Run:
    runtime = runtime_for(folder, url)
    # Delivering the chunks' vouchers_posted events to the ledger is the ledger subscriber's
    # work, not booking's; running beside the run, it would hold SQLite's write lock against it.
    runtime.worker.stop()
    try:
        contracts = contract_ids(runtime.engine)
        profiler = cProfile.Profile() if profile else None
        before = reset_peak()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = book_events(runtime.services, events(count, contracts), chunk=chunk)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
        peak = peak_mb()
    finally:
        runtime.close()
    if report.unmapped or report.booked + report.zero != count:
        raise SystemExit(f"leasekit booked {report}; every event should book")
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(r"leasekit/(services|store|domain)", 30)
        print("\nleasekit's book_events (cProfile, by own time):")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    return Run("leasekit book_events", seconds, before, peak, url)


def contract_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT id FROM contracts ORDER BY id").scalars())


def booked_rows(
    url: str, folder: Path, count: int, chunk: int
) -> Iterator[tuple[list[dict[str, object]], list[dict[str, object]]]]:
    """The voucher and line rows leasekit writes for each chunk, booked here by the same
    templates on facts whose contract context is read once: the floor's input, made off the
    clock."""
    runtime = runtime_for(folder, url)
    try:
        accounting: Accounting = runtime.services.accounting
        with runtime.services.uow_factory() as uow:
            contracts = uow.contracts.booking_facts(contract_ids(runtime.engine))
    finally:
        runtime.close()
    actor = Actor.system()
    stream = events(count, list(contracts))
    while chunk_events := list(islice(stream, chunk)):
        headers: list[dict[str, object]] = []
        lines: list[dict[str, object]] = []
        for event in chunk_events:
            named = event.payload.get("contract_id", event.subject_id)
            facts: EventFacts = facts_with(event, contracts[str(named)])
            booked = accounting.templates_in("USD").book(facts, actor=actor, at=NOW)
            if not isinstance(booked, Booking):
                continue
            headers.append(_voucher_columns(booked.voucher, booked, event.name))
            lines += [
                _line_columns(booked.voucher.id, number, line, dims)
                for number, (line, dims) in enumerate(
                    zip(booked.voucher.lines, booked.dimensions, strict=True), start=1
                )
            ]
        yield headers, lines


def floor_run(
    name: str, url: str, folder: Path, count: int, chunk: int, write: Callable[..., None]
) -> Run:
    """*write* each chunk's rows in a transaction of its own; only *write* is timed."""
    engine = create_engine(url)
    seconds = 0.0
    before = reset_peak()
    try:
        for headers, lines in booked_rows(url, folder, count, chunk):
            started = time.perf_counter()
            with engine.begin() as connection:
                write(connection, headers, lines)
            seconds += time.perf_counter() - started
        peak = peak_mb()
    finally:
        engine.dispose()
    return Run(name, seconds, before, peak, url)


def executemany(connection: sa.Connection, headers: list[Any], lines: list[Any]) -> None:
    connection.execute(sa.insert(VoucherRow), headers)
    connection.execute(sa.insert(VoucherLineRow), lines)


def copy(connection: sa.Connection, headers: list[Any], lines: list[Any]) -> None:
    """The rows through PostgreSQL's COPY, the fastest way in."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    for table, rows in (("vouchers", headers), ("voucher_lines", lines)):
        if not rows:
            continue
        columns = list(rows[0])
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
            for row in rows:
                out.write_row([row[column] for column in columns])


# --- the report ---------------------------------------------------------------------------


def report(runs: Sequence[Run], count: int) -> bool:
    leasekit = runs[0]
    rows = []
    for run in runs:
        same = run.digest == leasekit.digest
        ratio = run.seconds / leasekit.seconds
        rows.append([
            run.name, f"{run.seconds:.2f}", f"{count / run.seconds:,.0f}",
            f"{run.digest[0]:,}", f"{run.digest[1]:,}", str(run.unbalanced),
            "yes" if same else "NO", "" if run is leasekit else f"{ratio:.2f}",
            f"{run.peak:.0f}", f"{run.peak - run.before:.0f}",
        ])  # fmt: skip
    headers = ["", "seconds", "events/s", "vouchers", "lines", "unbalanced", "same book",
               "floor/leasekit", "peak RSS MB", "RSS growth MB"]  # fmt: skip
    print_table(f"{count:,} events booked as vouchers", headers, rows)
    floor = runs[1]
    ratio = floor.seconds / leasekit.seconds
    verdict = "meets" if ratio >= 0.5 else f"misses it by {0.5 / ratio:.1f}×"
    print(f"Core executemany / leasekit: {ratio:.2f} (target ≥ 0.5: {verdict})")
    started = time.perf_counter()
    for _ in events(count, [f"c-{n}" for n in range(100)]):
        pass
    making = time.perf_counter() - started
    booking = leasekit.seconds - making
    print(f"Of leasekit's time, about {making:.2f} s is this script making the events it books "
          f"(timed apart); without it the ratio is {floor.seconds / booking:.2f}")  # fmt: skip
    print("peak RSS: the process's peak resident set during the run (VmHWM, reset just before "
          "it); growth: that peak minus the resident set at its start. The floors' peaks "
          "include booking their rows off the clock.")  # fmt: skip
    ok = all(run.unbalanced == 0 and run.digest == leasekit.digest for run in runs)
    if not ok:
        print("CORRECTNESS FAILURE: a run wrote an unbalanced voucher or a different book")
    return ok


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events (1,000,000)")
    parser.add_argument("--contracts", type=int, default=10_000, help="contracts (10,000)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help=f"events per chunk ({CHUNK:,})")
    parser.add_argument("--quick", action="store_true", help="2,000 events over 100 contracts")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--postgres", metavar="URL",
        help="a PostgreSQL server on which to create (and drop) the databases; SQLite if not",
    )  # fmt: skip
    args = parser.parse_args(argv)
    count, contracts = (2_000, 100) if args.quick else (args.events, args.contracts)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python "
          f"{sys.version.split()[0]}, SQLAlchemy {sa.__version__}, {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f}); {count:,} events over {contracts:,} "
          f"contracts, chunks of {args.chunk:,}")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="bench-vouchers-") as scratch,
        fresh_database(Path(scratch), args.postgres) as database,
    ):
        print(database_title(database))
        seed(Path(scratch), database, contracts)
        runs = []
        with copy_of(database) as (url, folder):
            runs.append(leasekit_run(url, folder, count, args.chunk, args.profile))
        with copy_of(database) as (url, folder):
            runs.append(floor_run("Core executemany", url, folder, count, args.chunk,
                                  executemany))  # fmt: skip
        if not is_sqlite(database):
            with copy_of(database) as (url, folder):
                runs.append(floor_run("COPY", url, folder, count, args.chunk, copy))
        ok = report(runs, count)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
