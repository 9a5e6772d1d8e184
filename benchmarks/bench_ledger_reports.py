"""How do the accounting reports fare on a large journal, in time and in memory?

A fresh database (a SQLite file, or with ``--postgres URL`` a database created on that server
and dropped afterwards) is migrated and given N balanced two-line vouchers (2N lines) over a
year of business dates, debiting one of a few asset accounts and crediting one of a few
others, bulk-inserted with SQLAlchemy Core. Then, through the repository the services use
(``uow.ledger_reports``) and the services themselves:

* **trial balance** of the last quarter (opening balances from the rest of the year);
* **ledger page**: the first and a deep page (50 lines) of the busiest account's ledger;
* **ledger CSV**: the busiest account's whole year written as CSV, streamed.

Each report runs in a process of its own so that its peak memory (``ru_maxrss``) is its own;
the seeding process's is printed too. The exit code is 1 when the trial balance does not
balance.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from leasekit.domain.bookings import default_accounting
from leasekit.domain.identity import Actor
from leasekit.store.database import create_engine, upgrade
from leasekit.store.ledger import VoucherLineRow, VoucherRow

DEBITS = ("1100", "1110", "1200")
CREDITS = ("2900", "4100", "4200")
YEAR_END = dt.date(2026, 12, 31)
CHUNK = 10_000


def _vouchers(count: int) -> Iterator[tuple[dict[str, object], list[dict[str, object]]]]:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for n in range(count):
        voucher_id = f"{n:026d}"
        day = YEAR_END - dt.timedelta(days=364 - n * 365 // count)
        amount = Decimal(n % 9_973 + 1).scaleb(-2)
        header = {
            "id": voucher_id,
            "business_date": day,
            "description": "Payment received",
            "created_by": "bench",
            "created_at": at,
            "source_key": None,
            "reverses": None,
            "event_type": "payment_received",
            "template": None,
            "template_version": None,
        }
        line = {
            "currency": "CNY",
            "amount": amount,
            "memo": "",
            "contract_id": f"c{n % 5000}",
            "partner_id": None,
            "product": None,
            "branch": None,
            "voucher_id": voucher_id,
        }
        yield header, [
            line | {"line_no": 1, "account": DEBITS[n % 3], "side": "debit"},
            line | {"line_no": 2, "account": CREDITS[n % 3], "side": "credit"},
        ]  # fmt: skip


def seed(url: str, count: int) -> None:
    engine = create_engine(url)
    upgrade(engine)
    headers: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []
    with engine.begin() as connection:
        for header, pair in _vouchers(count):
            headers.append(header)
            lines.extend(pair)
            if len(headers) == CHUNK:
                connection.execute(sa.insert(VoucherRow), headers)
                connection.execute(sa.insert(VoucherLineRow), lines)
                headers, lines = [], []
        if headers:
            connection.execute(sa.insert(VoucherRow), headers)
            connection.execute(sa.insert(VoucherLineRow), lines)
    engine.dispose()


class _Context:
    """What the reports read of a ServiceContext: the unit of work and the chart."""

    def __init__(self, url: str) -> None:
        from leasekit.store.uow import unit_of_work_factory

        self.uow_factory = unit_of_work_factory(create_engine(url))
        self.accounting = default_accounting("Bench", "CNY")


def report(url: str, which: str) -> dict[str, object]:
    from leasekit.services import accounting_reports as reports

    ctx = _Context(url)
    finance = Actor.system()
    year = reports.Period(YEAR_END - dt.timedelta(days=364), YEAR_END)
    started = time.perf_counter()
    result: dict[str, object] = {}
    if which == "trial balance":
        quarter = reports.Period(YEAR_END - dt.timedelta(days=90), YEAR_END)
        balance = reports.trial_balance(ctx, finance, quarter)  # type: ignore[arg-type]
        result = {"balanced": balance.balanced, "accounts": len(balance.accounts)}
    elif which == "ledger page":
        first = reports.account_ledger(ctx, finance, "1100", year)  # type: ignore[arg-type]
        result = {"first page s": round(time.perf_counter() - started, 3)}
        deep = first.next_after
        for _ in range(20):
            page = reports.account_ledger(ctx, finance, "1100", year, after=deep)  # type: ignore[arg-type]
            deep = page.next_after
        result["21st page lines"] = len(page.lines)
    elif which == "ledger csv":
        rows = reports.ledger_csv_rows(ctx, finance, "1100", year)  # type: ignore[arg-type]
        size = sum(len(chunk) for chunk in reports.csv_chunks(rows))
        result = {"bytes": size}
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["peak MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return result


@contextlib.contextmanager
def database(folder: Path, postgres: str | None) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{folder / 'journal.db'}"
        return
    name = f"bench_journal_{uuid.uuid4().hex[:12]}"
    server = sa.make_url(create_engine(postgres).url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vouchers", type=int, default=500_000, help="two lines each")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to use")
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        print(json.dumps(report(args.url, args.report)))
        return 0
    with tempfile.TemporaryDirectory() as scratch, database(Path(scratch), args.postgres) as url:
        started = time.perf_counter()
        seed(url, args.vouchers)
        seeded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"{2 * args.vouchers:,} lines seeded in {time.perf_counter() - started:.1f} s "
              f"(peak {seeded} MiB)")  # fmt: skip
        failed = False
        for which in ("trial balance", "ledger page", "ledger csv"):
            answer = subprocess.run(
                [sys.executable, __file__, "--report", which, "--url", url],
                check=True, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            result = json.loads(answer.stdout)
            failed |= result.get("balanced") is False
            print(f"{which}: {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
