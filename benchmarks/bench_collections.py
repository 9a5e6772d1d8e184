"""What do collections cost over the bare work they do, on a book of active contracts?

A fresh database (a SQLite file, or with ``--postgres URL`` a database created on that
PostgreSQL server and dropped afterwards) is migrated and given N active US-dollar contracts,
each with its partner's customer, vehicle and approved application, a six-month schedule (two
lines due by the run's date) and an active NACHA mandate. A handful of contracts is written through
``leasekit.testing.book.taken_over_contract``; the rest are copies of their rows, varied by
id, number, VIN, id number and debtor, bulk-inserted with SQLAlchemy Core (executemany in
chunks of 5,000). Then, on copies of that database:

* **debit run**: ``services.debit_runs.start_debit_run`` on a runtime built as the server
  builds it, against a bare baseline: one Core query for the due lines joined to their
  contracts and active mandates, grouped per contract, the NACHA file written by
  ``leasekit.bankfiles.debit_file`` and the items inserted with Core executemany. Each runs
  in a process of its own on a fresh copy (a copied file; on PostgreSQL a database created
  from the seeded one as its template), so both see the same book and each one's peak
  memory is its own (``ru_maxrss``).
* **reconciliation**: ``domain.reconciliation.reconcile`` on M statement lines against one
  open item per contract, against a plain dictionary matcher written here.

It prints numbers; the exit code is 1 only when leasekit and a baseline disagree.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import math
import os
import pstats
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, cast

import sqlalchemy as sa

from leasekit.bankfiles import debit_file
from leasekit.demo import DEMO_ADAPTER_OPTIONS, DEMO_ADAPTERS, DEMO_FUNDS
from leasekit.domain.clock import FixedClock
from leasekit.domain.debit_runs import DebitRun, creditor_accounts, trace_number
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.reconciliation import IncomingLine, OpenItem, reconcile
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager
from leasekit.ports import DebitBatch, DebitItem
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings
from leasekit.store.contracts import ContractRepository, ReceivableRepository
from leasekit.store.database import create_engine
from leasekit.store.funds import DebitItemRepository, DebitRunRepository, MandateRepository
from leasekit.store.origination import ApplicationRepository
from leasekit.store.parties import CustomerRepository, VehicleRepository
from leasekit.store.schema import search_key
from leasekit.testing.book import (
    Debtor,
    book_partner,
    months_before,
    serial_id_number,
    serial_vin,
    taken_over_contract,
)

CHUNK: Final = 5_000
"""Rows per executemany, and contracts per seeding transaction."""
TEMPLATES: Final = 25
"""Contracts written through the unit of work, each at its own price; the rest copy them."""
PER_PARTNER: Final = 100_000
"""Contracts per dealer (resident id numbers repeat every 100,000 serials)."""
TERM: Final = 6
BUSINESS_DATE: Final = date(2026, 6, 15)
NOW: Final = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
ACCOUNT_ID: Final = "us"
ACCOUNT: Final = creditor_accounts(
    cast(Mapping[str, Mapping[str, str]], DEMO_FUNDS["creditor_accounts"])
)[ACCOUNT_ID]
ROUTING: Final = "011000015"
COLLECTED_FROM: Final = ("active", "terminated")


def clock() -> FixedClock:
    return FixedClock(now=NOW, business_date=BUSINESS_DATE)


def maxrss_mb() -> float:
    """This process's peak resident set so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status(field: str) -> float | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return None if found is None else int(found.group(1)) / 1024


def reset_peak() -> float:
    """Start measuring the peak resident set afresh (Linux: ``clear_refs`` 5 resets
    ``VmHWM``); the resident set now, in MB. Elsewhere the peak stays the process's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return maxrss_mb()
    return _status("VmRSS") or maxrss_mb()


def peak_mb() -> float:
    return _status("VmHWM") or maxrss_mb()


# --- the book -----------------------------------------------------------------------------


def settings_for(folder: Path, url: str) -> Any:
    return load_settings(
        database_url=url,
        data_dir=folder,
        adapters=DEMO_ADAPTERS,
        adapter_options=DEMO_ADAPTER_OPTIONS,
        funds=DEMO_FUNDS,
        secret_key="bench-collections: a scratch database's key",
    )


def runtime_for(folder: Path, url: str) -> Any:
    plugins = create_plugin_manager(load_entrypoints=False, blocked=())
    return build_runtime(settings_for(folder, url), plugins, clock=clock())


# --- where the book lives -----------------------------------------------------------------


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _admin(url: str) -> sa.Engine:
    """An engine on *url*'s server that may create and drop databases (no transaction)."""
    return sa.create_engine(
        sa.make_url(create_engine(url).url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


@contextlib.contextmanager
def fresh_database(folder: Path, postgres: str | None) -> Iterator[str]:
    """The URL of an empty database: a file in *folder*, or a database created on the
    *postgres* server for this run and dropped after it."""
    if postgres is None:
        yield f"sqlite:///{folder / 'book.db'}"
        return
    name = f"bench_book_{uuid.uuid4().hex[:12]}"
    admin = _admin(postgres)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.make_url(create_engine(postgres).url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def copy_of(url: str) -> Iterator[tuple[str, Path]]:
    """A fresh copy of the seeded database at *url*, and a scratch folder beside it."""
    with tempfile.TemporaryDirectory(prefix="bench-collections-") as scratch:
        folder = Path(scratch)
        if is_sqlite(url):
            copy = folder / "book.db"
            shutil.copyfile(sa.make_url(url).database or "", copy)
            yield f"sqlite:///{copy}", folder
            return
        seeded = sa.make_url(url)
        name = f"{seeded.database}_copy"
        admin = _admin(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{seeded.database}"')
        try:
            yield seeded.set(database=name).render_as_string(hide_password=False), folder
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def database_title(url: str) -> str:
    """The database the benchmark runs on, with what a commit waits for there."""
    if is_sqlite(url):
        return f"SQLite {sqlite3.sqlite_version} (WAL), a file in {tempfile.gettempdir()}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar_one()
            commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    finally:
        engine.dispose()
    return f"PostgreSQL {version}, synchronous_commit={commit}, a database of its own"


def database_mb(url: str) -> float:
    if is_sqlite(url):
        return Path(sa.make_url(url).database or "").stat().st_size / 2**20
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            size = connection.exec_driver_sql("SELECT pg_database_size(current_database())")
            return float(size.scalar_one()) / 2**20
    finally:
        engine.dispose()


def debtor(serial: int) -> Debtor:
    return Debtor(f"Customer {serial}", DebitScheme.NACHA, f"{serial:012d}", ROUTING)


class Template:
    """One contract as the unit of work wrote it, as column values per table."""

    def __init__(self, uow: Any, made: Any) -> None:
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
        self.lines = [ReceivableRepository.stored.mapper.columns(line) for line in made.lines]
        self.mandate = MandateRepository.stored.mapper.columns(made.mandate)
        self.due = sum(
            (line.outstanding.amount for line in made.lines if line.due_date <= BUSINESS_DATE),
            Decimal(0),
        )


class Book:
    """What the benchmarks need to know of the seeded contracts."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.numbers: list[str] = []
        self.dues: list[Decimal] = []


def copied_parties(
    serial: int, template: Any, partner_id: str, number: str
) -> dict[str, dict[str, Any]]:
    """The customer, vehicle, application and contract rows of contract *serial*, copied
    from *template*'s (its ``customer``, ``vehicle``, ``application`` and ``contract``) with
    ids, names, VIN, id number and contract *number* of their own."""
    customer_id, vehicle_id, application_id, contract_id = (new_id() for _ in range(4))
    name = f"Customer {serial}"
    customer = template.customer | {
        "id": customer_id, "name": name, "name_key": search_key(name),
        "id_number": serial_id_number(serial), "partner_id": partner_id,
    }  # fmt: skip
    vehicle = template.vehicle | {"id": vehicle_id, "vin": str(serial_vin(serial)),
                                  "partner_id": partner_id}  # fmt: skip
    application = template.application | {
        "id": application_id, "customer_id": customer_id, "vehicle_id": vehicle_id,
        "partner_id": partner_id,
    }  # fmt: skip
    signers = cast(list[dict[str, Any]], template.contract["signers"])
    signer = signers[0] | {"customer_id": customer_id, "name": name}
    contract = template.contract | {
        "id": contract_id, "number": number, "application_id": application_id,
        "customer_id": customer_id, "vehicle_id": vehicle_id, "partner_id": partner_id,
        "signers": [signer],
    }  # fmt: skip
    return {"customer": customer, "vehicle": vehicle, "application": application,
            "contract": contract}  # fmt: skip


def _copy(serial: int, template: Template, partner_id: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of contract *serial*, copied from *template* with ids and numbers of its own."""
    rows = copied_parties(serial, template, partner_id, f"BK-{serial:07d}")
    contract_id = rows["contract"]["id"]
    lines = [line | {"id": new_id(), "contract_id": contract_id} for line in template.lines]
    mandate = template.mandate | {
        "id": new_id(), "contract_id": contract_id, "reference": f"MD-BK-{serial:07d}",
        "debtor_name": rows["customer"]["name"], "account": f"{serial:012d}",
    }  # fmt: skip
    return {
        "customers": [rows["customer"]], "vehicles": [rows["vehicle"]],
        "applications": [rows["application"]], "contracts": [rows["contract"]],
        "receivables": lines, "mandates": [mandate],
    }  # fmt: skip


_TABLES: Final[dict[str, Any]] = {
    "customers": CustomerRepository, "vehicles": VehicleRepository,
    "applications": ApplicationRepository, "contracts": ContractRepository,
    "receivables": ReceivableRepository, "mandates": MandateRepository,
}  # fmt: skip
"""The tables a contract's rows go to, in the order their foreign keys need."""
_ORDER: Final = tuple(_TABLES)


def seed(folder: Path, url: str, count: int) -> tuple[Book, float]:
    """A migrated database holding *count* contracts; the book and the bulk part's seconds."""
    runtime = runtime_for(folder, url)
    book = Book()
    try:
        with runtime.services.uow_factory() as uow:
            partners = [
                book_partner(uow, f"Dealer {n}", f"91110000MA{n:08d}", NOW).id
                for n in range(math.ceil(count / PER_PARTNER))
            ]
            templates = []
            for serial in range(min(TEMPLATES, count)):
                made = taken_over_contract(
                    uow, uow.partners.get(partners[0]), number=f"BK-{serial:07d}",
                    serial=serial, customer_name=f"Customer {serial}",
                    price=Money(Decimal(12_000 + 250 * serial), "USD"), term_months=TERM,
                    annual_rate=Decimal("0.06"), priced_on=months_before(BUSINESS_DATE, 2),
                    at=NOW, debtor=debtor(serial),
                )  # fmt: skip
                templates.append(Template(uow, made))
                book.ids.append(made.contract.id)
                book.numbers.append(made.contract.number)
                book.dues.append(templates[-1].due)
            uow.commit()
    finally:
        # Its background worker would wait on SQLite's write lock while the bulk inserts hold it.
        runtime.close()
    engine = create_engine(url)
    try:
        tables = {name: repository.stored.table for name, repository in _TABLES.items()}
        started = time.perf_counter()
        for first in range(len(templates), count, CHUNK):
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _ORDER}
            for serial in range(first, min(first + CHUNK, count)):
                template = templates[serial % len(templates)]
                for name, made_rows in _copy(
                    serial, template, partners[serial // PER_PARTNER]
                ).items():
                    rows[name] += made_rows
                book.ids.append(rows["contracts"][-1]["id"])
                book.numbers.append(rows["contracts"][-1]["number"])
                book.dues.append(template.due)
            with engine.begin() as connection:
                for name in _ORDER:
                    for at in range(0, len(rows[name]), CHUNK):
                        connection.execute(sa.insert(tables[name]), rows[name][at : at + CHUNK])
        seconds = time.perf_counter() - started
        with engine.connect() as connection:
            if is_sqlite(url):
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    finally:
        engine.dispose()
    return book, seconds


def template_book(folder: Path, database: str, count: int) -> Book:
    """The book :func:`seed` would give for *count* contracts (the templates written, the
    other contracts' ids, numbers and dues as their copies would have them), without the
    bulk rows: all the reconciliation part reads of it."""
    book, _ = seed(folder, database, min(TEMPLATES, count))
    templates = len(book.ids)
    for serial in range(templates, count):
        book.ids.append(new_id())
        book.numbers.append(f"BK-{serial:07d}")
        book.dues.append(book.dues[serial % templates])
    return book


# --- debit runs ---------------------------------------------------------------------------


def items_digest(engine: sa.Engine) -> tuple[int, str, str]:
    """How many debits the database holds, their total, and a digest of who owes what."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT contract_id, amount FROM debit_items ORDER BY contract_id")
        ).all()
    total = sum((Decimal(str(amount)) for _, amount in rows), Decimal(0))
    text = "\n".join(f"{contract_id} {Decimal(str(amount)):.2f}" for contract_id, amount in rows)
    return len(rows), f"{total:.2f}", hashlib.sha256(text.encode()).hexdigest()[:16]


def baseline_run(engine: sa.Engine, folder: Path) -> None:
    """The bare work of a run: one query, grouped per contract, the file, the item rows."""
    items, runs = DebitItemRepository.stored.table, DebitRunRepository.stored.table
    r = ReceivableRepository.stored.table.c
    c = ContractRepository.stored.table.c
    m = MandateRepository.stored.table.c
    owed = (r.paid_principal + r.paid_interest + r.paid_fee + r.paid_penalty
            < r.principal + r.interest + r.fee + r.penalty)  # fmt: skip
    query = (
        sa.select(
            r.contract_id, r.id, r.sequence, r.principal, r.interest, r.fee, r.penalty,
            r.paid_principal, r.paid_interest, r.paid_fee, r.paid_penalty, c.number,
            m.id.label("mandate_id"), m.reference, m.debtor_name, m.account, m.agent,
            m.account_type, m.signed_on,
        )
        .join(ContractRepository.stored.table, c.id == r.contract_id)
        .join(MandateRepository.stored.table,
              sa.and_(m.contract_id == r.contract_id, m.state == "active",
                      m.scheme == str(ACCOUNT.scheme)))
        .where(r.due_date <= BUSINESS_DATE, r.written_off_on.is_(None), owed,
               r.currency == ACCOUNT.currency, c.state.in_(COLLECTED_FROM))
        .order_by(r.contract_id, r.sequence)
    )  # fmt: skip
    run = DebitRun.start(ACCOUNT, business_date=BUSINESS_DATE, collection_date=BUSINESS_DATE,
                         created_by="system", at=NOW)  # fmt: skip
    with engine.begin() as connection:
        grouped: dict[str, list[Any]] = {}
        for row in connection.execute(query):
            grouped.setdefault(row.contract_id, []).append(row)
        debits, rows = [], []
        for n, (contract_id, lines) in enumerate(grouped.items(), start=1):
            head = lines[0]
            amount = sum(
                (line.principal + line.interest + line.fee + line.penalty - line.paid_principal
                 - line.paid_interest - line.paid_fee - line.paid_penalty for line in lines),
                Decimal(0),
            )  # fmt: skip
            trace = trace_number(ACCOUNT, n)
            sequences = ", ".join(str(line.sequence) for line in lines)
            debits.append(DebitItem(
                item_id=trace, debtor_name=head.debtor_name, debtor_account=head.account,
                amount=Money(amount, ACCOUNT.currency), mandate_reference=head.reference,
                remittance=f"{head.number} installments {sequences}", debtor_agent=head.agent,
                mandate_signed_on=head.signed_on, account_type=head.account_type,
                first_collection=True,
            ))  # fmt: skip
            rows.append({
                "id": new_id(), "version": 0, "run_id": run.id, "account_id": ACCOUNT.id,
                "trace": trace, "contract_id": contract_id, "mandate_id": head.mandate_id,
                "currency": ACCOUNT.currency, "amount": amount,
                "receivable_ids": [line.id for line in lines], "collection_date": BUSINESS_DATE,
                "state": "in_flight", "payment_id": None, "return_code": None,
                "return_reason": None, "created_at": NOW,
            })  # fmt: skip
        batch = DebitBatch(
            batch_id=run.batch_id, creditor_name=ACCOUNT.name, creditor_account=ACCOUNT.account,
            collection_date=BUSINESS_DATE, items=debits, scheme=ACCOUNT.scheme,
            creditor_id=ACCOUNT.creditor_id, creditor_agent=ACCOUNT.agent,
        )  # fmt: skip
        with (folder / f"{run.id}.ach").open("wb") as file:
            file.writelines(debit_file(batch, created_at=NOW))
        run.item_count = len(rows)
        run.total = Money(sum((row["amount"] for row in rows), Decimal(0)), ACCOUNT.currency)
        connection.execute(sa.insert(runs), [DebitRunRepository.stored.mapper.columns(run)])
        for at in range(0, len(rows), CHUNK):
            connection.execute(sa.insert(items), rows[at : at + CHUNK])


_ITEM_COLUMNS: Final = (
    "id", "version", "run_id", "account_id", "trace", "contract_id", "mandate_id", "currency",
    "amount", "receivable_ids", "collection_date", "state", "payment_id", "return_code",
    "return_reason", "created_at",
)  # fmt: skip
"""The columns the baseline writes by hand for an item: exactly the mapper's."""


def leasekit_run(runtime: Any) -> None:
    from leasekit.services.debit_runs import StartDebitRun, start_debit_run

    run = start_debit_run(runtime.services, Actor.system(), StartDebitRun(ACCOUNT_ID))
    assert run.file is not None or run.item_count == 0


def phase(which: str, url: str, folder: Path, profile: bool) -> None:
    """One run on the database at *url*, in this process; prints what it measured as JSON."""
    if which == "statement":
        statement_phase(url, folder, profile)
        return
    runtime = runtime_for(folder, url) if which == "leasekit" else None
    engine = runtime.engine if runtime is not None else create_engine(url)
    with engine.connect() as connection:  # open the pool's connection before timing
        connection.exec_driver_sql("SELECT 1")
    if set(_ITEM_COLUMNS) != set(DebitItemRepository.stored.mapper.column_names):
        raise SystemExit("the baseline's item rows no longer have the mapper's columns")
    before = reset_peak()
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    if runtime is not None:
        leasekit_run(runtime)
    else:
        baseline_run(engine, folder)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    peak = peak_mb()
    count, total, digest = items_digest(engine)
    top = ""
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(8)
        stats.sort_stats("cumulative").print_stats(r"leasekit/(services|store|domain)", 12)
        top = out.getvalue()
    if runtime is not None:
        runtime.close()
    else:
        engine.dispose()
    print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": peak, "count": count,
                      "total": total, "digest": digest, "profile": top}))  # fmt: skip


def run_phase(
    which: str, seeded: str, profile: bool, statement: bytes | None = None
) -> dict[str, Any]:
    """*which* on a fresh copy of the seeded database, in a process of its own."""
    with copy_of(seeded) as (url, folder):
        if statement is not None:
            (folder / STATEMENT_FILE).write_bytes(statement)
        command = [sys.executable, __file__, "--phase", which, "--db", url,
                   "--folder", str(folder)]  # fmt: skip
        if profile:
            command.append("--profile")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the {which} run failed")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


# --- reconciliation -----------------------------------------------------------------------

STATEMENT_FILE: Final = "statement.xml"


def camt053(lines: Sequence[IncomingLine]) -> bytes:
    """*lines* as the demo account's camt.053 statement for the business date, each line's
    reference in the remittance text, its payer as the debtor party."""
    from leasekit.demo import DEMO_US_ACCOUNT, company_statement

    entries = [
        (str(n + 1), f"{line.amount.amount}", line.payer_name, line.payer_account,
         line.reference or "transfer")
        for n, line in enumerate(lines)
    ]  # fmt: skip
    return company_statement(DEMO_US_ACCOUNT, BUSINESS_DATE, entries)


def statement_phase(url: str, folder: Path, profile: bool) -> None:
    """``services.reconciliation.import_statement`` on the statement in *folder*."""
    from leasekit.services.reconciliation import import_statement

    runtime = runtime_for(folder, url)
    content = (folder / STATEMENT_FILE).read_bytes()
    profiler = cProfile.Profile() if profile else None
    before = reset_peak()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report, applied = import_statement(
        runtime.services, Actor.system(), [content], filename=STATEMENT_FILE
    )
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    top = ""
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(8)
        stats.sort_stats("cumulative").print_stats(r"leasekit/(services|store|domain)", 12)
        top = out.getvalue()
    peak = peak_mb()
    with runtime.engine.connect() as connection:
        payments = connection.exec_driver_sql("SELECT count(*) FROM payments").scalar_one()
    runtime.close()
    print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": peak,
                      "applied": applied, "credits": report.credits, "matched": report.matched,
                      "queued": report.queued, "payments": payments,
                      "profile": top}))  # fmt: skip


_SEPARATORS: Final = re.compile(r"[\W_]+")


def plain_match(
    lines: Sequence[IncomingLine], items: Sequence[OpenItem]
) -> dict[str, tuple[str, str, Decimal]]:
    """The hash join: the normalized reference to its item, else (amount, payer account)."""
    by_reference: dict[str, OpenItem] = {}
    by_payer: dict[tuple[Decimal, str], OpenItem] = {}
    for item in items:
        for reference in (item.contract_number, *item.references):
            by_reference[_SEPARATORS.sub("", reference.casefold())] = item
        for account in item.payer_accounts:
            by_payer[item.amount_due.amount, _SEPARATORS.sub("", account.casefold())] = item
    matched = {}
    for line in lines:
        rule = "reference"
        found = by_reference.get(_SEPARATORS.sub("", line.reference.casefold()))
        if found is None:
            rule = "amount_and_payer"
            account = _SEPARATORS.sub("", line.payer_account.casefold())
            found = by_payer.get((line.amount.amount, account))
        if found is not None:
            paid = min(line.amount.amount, found.amount_due.amount)
            matched[line.line_id] = (found.key, rule, paid)
    return matched


def statement(book: Book, count: int) -> tuple[list[IncomingLine], list[OpenItem]]:
    """One open item per contract, and *count* lines: six in ten quote the contract number
    (written three ways, one in four of them paying half), three in ten quote nothing but
    pay the amount due from the mandate's account, one in ten is for nobody."""
    items = [
        OpenItem(key=key, contract_number=number, amount_due=Money(due, "USD"),
                 due_on=BUSINESS_DATE, references=(f"MD-{number}",),
                 payer_accounts=(f"{serial:012d}",), payer_names=(f"Customer {serial}",))
        for serial, (key, number, due) in enumerate(zip(book.ids, book.numbers, book.dues,
                                                        strict=True))
    ]  # fmt: skip
    lines = []
    for n in range(count):
        serial, kind = n % len(items), n % 10
        item = items[serial]
        line_id, due = f"L{n:08d}", item.amount_due
        if kind < 6:
            reference = (item.contract_number, item.contract_number.lower().replace("-", " "),
                         item.contract_number.replace("-", ""))[n % 3]  # fmt: skip
            paid = Money((due.amount / 2).quantize(Decimal("0.01")), "USD") if n % 4 == 0 else due
            lines.append(IncomingLine(line_id, paid, BUSINESS_DATE, reference, "", ""))
        elif kind < 9:
            lines.append(IncomingLine(line_id, due, BUSINESS_DATE, "", f"Customer {serial}",
                                      item.payer_accounts[0]))  # fmt: skip
        else:
            lines.append(IncomingLine(line_id, Money("123.45", "USD"), BUSINESS_DATE,
                                      f"INV {n}", "Someone Else", f"99{n:010d}"))  # fmt: skip
    return lines, items


def leasekit_match(
    lines: Sequence[IncomingLine], items: Sequence[OpenItem]
) -> dict[str, tuple[str, str, Decimal]]:
    result = reconcile(lines, items)
    assert not result.ambiguous, result.ambiguous[:3]
    return {
        match.line_id: (match.keys[0], str(match.rule), match.allocated.amount)
        for match in result.matched
    }


def best_of(repeats: int, calls: dict[str, Any]) -> dict[str, float]:
    """Each call's best time over *repeats* rounds, interleaved."""
    best = dict.fromkeys(calls, math.inf)
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


# --- the report ---------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out = [" | ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def _profile(title: str, text: str) -> None:
    """The tables of a pstats report, without its preamble."""
    print(f"\n{title} (cProfile: by own time, then leasekit's by cumulative time):")
    keep = [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(("Ordered", "List", "function",
                                                             "Sat", "Sun", "/"))]  # fmt: skip
    print("\n".join(keep))


def debit_runs(seeded: str, repeats: int, profile: bool) -> bool:
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "leasekit": []}
    for _ in range(repeats):
        for which in results:
            results[which].append(run_phase(which, seeded, profile=False))
    best = {which: min(runs, key=lambda run: run["seconds"]) for which, runs in results.items()}
    base, lk = best["baseline"], best["leasekit"]
    same = (base["count"], base["total"], base["digest"]) == (
        lk["count"],
        lk["total"],
        lk["digest"],
    )
    rows = [
        [which, f"{run['seconds']:.2f}", f"{run['count']:,}", run["total"],
         f"{run['peak_mb']:.0f}", f"{run['peak_mb'] - run['before_mb']:.0f}"]
        for which, run in best.items()
    ]  # fmt: skip
    print(f"\nDebit run, NACHA, best of {repeats} (each on a fresh copy, in its own process)")
    print(table(["", "seconds", "debits", "total USD", "peak RSS MB", "RSS growth MB"], rows))
    ratio = lk["seconds"] / base["seconds"]
    verdict = "meets" if ratio <= 4 else f"misses it by {ratio / 4:.1f}×"
    print(f"leasekit / baseline: {ratio:.2f}× (target ≤ 4×: {verdict})")
    print("peak RSS: the run's process's peak resident set during the timed call (VmHWM, reset "
          "just before it; imports, runtime and connection already made); growth: that peak "
          "minus the resident set at the start of the call")  # fmt: skip
    if not same:
        print(f"CORRECTNESS FAILURE: baseline {base['count']} debits {base['total']} "
              f"({base['digest']}), leasekit {lk['count']} debits {lk['total']} "
              f"({lk['digest']})")  # fmt: skip
        return False
    if profile:
        _profile("leasekit's debit run", run_phase("leasekit", seeded, profile=True)["profile"])
    return True


def reconciliation(book: Book, count: int, repeats: int, profile: bool) -> bool:
    lines, items = statement(book, count)
    mine, theirs = plain_match(lines, items), leasekit_match(lines, items)
    if mine != theirs:
        differ = sorted(set(mine.items()) ^ set(theirs.items()))[:5]
        print(f"CORRECTNESS FAILURE in reconciliation: {len(mine)} plain matches, "
              f"{len(theirs)} leasekit matches; first differences {differ}")  # fmt: skip
        return False
    best = best_of(repeats, {"plain hash join": lambda: plain_match(lines, items),
                             "leasekit reconcile": lambda: reconcile(lines, items)})  # fmt: skip
    rules: dict[str, int] = {}
    for _, rule, _ in mine.values():
        rules[rule] = rules.get(rule, 0) + 1
    print(f"\nReconciliation: {count:,} lines against {len(items):,} open items, "
          f"best of {repeats}; matched {len(mine):,} ({rules}), "
          f"{count - len(mine):,} unmatched, identical in both")  # fmt: skip
    rows = [[name, f"{seconds:.3f}", f"{count / seconds:,.0f}"] for name, seconds in best.items()]
    print(table(["", "seconds", "lines/s"], rows))
    speed = best["plain hash join"] / best["leasekit reconcile"]
    verdict = "meets" if speed >= 1 / 3 else f"misses it by {1 / 3 / speed:.1f}×"
    print(f"leasekit speed / hash join's: {speed:.2f}× (target ≥ 0.33×: {verdict})")
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(reconcile, lines, items)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(8)
        stats.sort_stats("cumulative").print_stats(r"leasekit/domain", 8)
        _profile("leasekit's reconcile", out.getvalue())
    return True


def statement_import(seeded: str, book: Book, count: int, profile: bool) -> bool:
    """``import_statement`` end to end on *count* lines: parse, match, pay, queue."""
    lines, items = statement(book, count)
    expected = len(plain_match(lines, items))
    run = run_phase("statement", seeded, profile=False, statement=camt053(lines))
    print(f"\nimport_statement end to end (camt.053, {count:,} lines, against every contract "
          f"of the book): {run['seconds']:.2f} s = {count / run['seconds']:,.0f} lines/s; "
          f"{run['matched']:,} matched, {run['queued']:,} queued, {run['payments']:,} "
          f"payments; peak RSS {run['peak_mb']:.0f} MB (growth "
          f"{run['peak_mb'] - run['before_mb']:.0f})")  # fmt: skip
    if profile:
        profiled = run_phase("statement", seeded, profile=True, statement=camt053(lines))
        _profile("leasekit's import_statement", profiled["profile"])
    if not run["applied"] or run["matched"] != expected or run["payments"] != expected:
        print(f"CORRECTNESS FAILURE: the import matched {run['matched']} lines and made "
              f"{run['payments']} payments; the hash join matches {expected}")  # fmt: skip
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=20_000, help="book size (20,000)")
    parser.add_argument("--quick", action="store_true", help="2,000 contracts, one repeat")
    parser.add_argument("--lines", type=int, help="statement lines (as many as contracts)")
    parser.add_argument("--repeats", type=int, help="debit runs of each kind (2; 1 from 100k)")
    parser.add_argument(
        "--statement-lines", type=int, default=2_000,
        help="lines of the statement imported end to end (2,000; 0: none)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--postgres", metavar="URL",
        help="a PostgreSQL server on which to create (and drop) the book's databases; "
             "SQLite if not given",
    )  # fmt: skip
    parser.add_argument(
        "--reconciliation-only", action="store_true",
        help="only the reconciliation part, on a book of the templates' values (no bulk rows)",
    )  # fmt: skip
    parser.add_argument(
        "--phase", choices=("baseline", "leasekit", "statement"), help=argparse.SUPPRESS
    )
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        phase(args.phase, args.db, args.folder, args.profile)
        return 0
    count = 2_000 if args.quick else args.contracts
    if not 1 <= count <= 1_000_000:
        parser.error("--contracts must be between 1 and 1,000,000")
    lines = args.lines or count
    if lines > count:
        parser.error("--lines must not exceed --contracts (each line pays a contract once)")
    repeats = args.repeats or (1 if args.quick or count >= 100_000 else 2)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python "
          f"{sys.version.split()[0]}, SQLAlchemy {sa.__version__}, {os.cpu_count()} cores; "
          f"{count:,} contracts")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="bench-collections-") as scratch,
        fresh_database(Path(scratch), args.postgres) as database,
    ):
        folder = Path(scratch)
        if args.reconciliation_only:
            book = template_book(folder, database, count)
            ok = reconciliation(book, lines, 3 if count < 100_000 else 2, args.profile)
            return 0 if ok else 1
        print(database_title(database))
        started = time.perf_counter()
        book, bulk = seed(folder, database, count)
        total = time.perf_counter() - started
        receivables = count * TERM
        bulked = count - min(TEMPLATES, count)
        print(f"\nSeeding: {count:,} contracts ({receivables:,} receivables, "
              f"{count:,} mandates) in {total:.1f} s with migration and templates; bulk part "
              f"{bulked:,} contracts in {bulk:.1f} s = {bulked / max(bulk, 1e-9):,.0f} contracts/s"
              f" (database {database_mb(database):,.0f} MB)")  # fmt: skip
        ok = debit_runs(database, repeats, args.profile)
        ok = reconciliation(book, lines, 3 if count < 100_000 else 2, args.profile) and ok
        statement_lines = min(args.statement_lines, count, 200 if args.quick else count)
        if statement_lines > 0:
            ok = statement_import(database, book, statement_lines, args.profile) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
