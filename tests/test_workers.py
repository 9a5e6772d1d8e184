"""The close of business on PostgreSQL, done by ``leasekit worker`` processes, one of them
killed in the middle of a partition, leaves the book exactly as a close in one process does.

Two schemas hold the same book (rows copied); one closes the day in this process, the other
through four workers. A row of one partition is held locked from here, so the worker that
takes that partition is caught inside its transaction; it is killed (``SIGKILL``), the lock
released, and the coordinator sends the stalled job back to the queue for another worker."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from leasekit.demo import DEMO_ADAPTERS
from leasekit.domain.end_of_day import CloseState
from leasekit.jobs import run_queued
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import Runtime, build_runtime
from leasekit.services.end_of_day import close_business_day
from leasekit.settings import load_settings
from leasekit.store.schema import metadata
from leasekit.testing.book import taken_over_book

from .test_walkthrough import clean_environment, leasekit_executable

pytestmark = pytest.mark.postgres

BUSINESS_DATE = date(2024, 4, 1)
CONTRACTS = 24
PARTITION_SIZE = 4
COMPARED = {
    "receivables": None,
    "contract_aging": None,
    "eod_partitions": ("business_date", "step", "low", "high", "state", "result"),
    "eod_closes": ("business_date", "state", "summary"),
}
"""What the close writes, without the moments it wrote it at."""


def _schema(postgres_url: str) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def first(postgres_url: str) -> Iterator[str]:
    yield from _schema(postgres_url)


@pytest.fixture
def second(postgres_url: str) -> Iterator[str]:
    yield from _schema(postgres_url)


def _url(postgres_url: str, schema: str) -> str:
    scoped = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


def _environment(url: str, root: Path) -> dict[str, str]:
    adapters = {f"LEASEKIT_ADAPTERS__{kind.upper()}": id_ for kind, id_ in DEMO_ADAPTERS.items()}
    return clean_environment() | adapters | {
        "LEASEKIT_DATABASE_URL": url,
        "LEASEKIT_DATA_DIR": str(root),
        "LEASEKIT_SECRET_KEY": "k" * 32,
        "LEASEKIT_BUSINESS_DATE": BUSINESS_DATE.isoformat(),
        "LEASEKIT_EOD__PARTITION_SIZE": str(PARTITION_SIZE),
        "LEASEKIT_EOD__WORKER_HEARTBEAT_SECONDS": "1",
    }  # fmt: skip


def _runtime(url: str, root: Path) -> Runtime:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in _environment(url, root).items():
            monkeypatch.setenv(name, value)
        return build_runtime(load_settings(), create_plugin_manager(load_entrypoints=False))


def _copy(source: Runtime, target: Runtime) -> None:
    """*target*'s tables (migrated alike) holding exactly *source*'s rows."""
    with source.engine.connect() as reading, target.engine.begin() as writing:
        for table in reversed(metadata.sorted_tables):
            writing.execute(sa.delete(table))
        for table in metadata.sorted_tables:
            rows = [dict(row) for row in reading.execute(sa.select(table)).mappings()]
            if rows:
                writing.execute(sa.insert(table), rows)


def _contents(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    with runtime.engine.connect() as connection:
        for name, columns in COMPARED.items():
            table = metadata.tables[name]
            chosen = [table.c[c] for c in columns] if columns else list(table.c)
            order = [c for c in chosen if c.name != "summary" and c.name != "result"]
            found[name] = [
                tuple(r) for r in connection.execute(sa.select(*chosen).order_by(*order))
            ]
    return found


def _blocked_worker(url: str, deadline: float) -> int:
    """The process id of the leasekit connection waiting on a lock in the test database."""
    with psycopg.connect(sa.make_url(url).set(query={}).render_as_string(hide_password=False),
                         autocommit=True) as conn:  # fmt: skip
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND application_name LIKE 'leasekit-%'"
            ).fetchall()
            if waiting:
                return int(waiting[0][0].removeprefix("leasekit-"))
            time.sleep(0.1)
    raise AssertionError("no worker took the locked partition")


def test_four_workers_one_killed_close_the_day_as_one_process_does(
    postgres_url: str, first: str, second: str, tmp_path: Path
) -> None:
    alone, shared = _url(postgres_url, first), _url(postgres_url, second)
    one = _runtime(alone, tmp_path)
    many = _runtime(shared, tmp_path)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with one.services.unit_of_work() as uow:
            ids = taken_over_book(uow, CONTRACTS, priced_on=date(2024, 1, 10),
                                  at=datetime(2024, 1, 10, 9, tzinfo=UTC))  # fmt: skip
            uow.commit()
        _copy(one, many)
        close_business_day(one.services)

        command = [*leasekit_executable(), "worker"]
        environment = _environment(shared, tmp_path)
        with (tmp_path / "workers.log").open("ab") as log:
            workers = [subprocess.Popen(command, stdout=log, stderr=log, env=environment)
                       for _ in range(4)]  # fmt: skip
        held = psycopg.connect(sa.make_url(shared).set(drivername="postgresql")
                               .render_as_string(hide_password=False))  # fmt: skip
        held.execute("SELECT id FROM receivables WHERE contract_id = %s FOR UPDATE",
                      (sorted(ids)[2 * PARTITION_SIZE],))  # fmt: skip
        outcome: list[object] = []
        runner = run_queued(shared, many.engine, heartbeat_seconds=1)

        def close() -> None:
            try:
                outcome.append(close_business_day(many.services, runner=runner))
            except Exception as exc:  # shown by the assertion below
                outcome.append(exc)

        coordinator = threading.Thread(target=close)
        coordinator.start()
        victim = _blocked_worker(shared, time.monotonic() + 120)
        assert victim in {worker.pid for worker in workers}
        os.kill(victim, signal.SIGKILL)
        held.rollback()
        held.close()
        coordinator.join(timeout=180)
        assert not coordinator.is_alive(), (tmp_path / "workers.log").read_text()
        [closed] = outcome
        assert closed.state is CloseState.CLOSED  # type: ignore[attr-defined]
        assert _contents(one)["contract_aging"], "the day had overdue contracts to age"
        assert _contents(many) == _contents(one)
        assert many.services.clock.business_date() == date(2024, 4, 2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        one.close()
        many.close()
