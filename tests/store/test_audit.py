"""The audit log is a hash chain: any change or deletion is found and named by ``verify``."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.store.audit import GENESIS_HASH, AuditReport, chain_head, verify
from leasekit.store.types import UtcDateTime
from leasekit.store.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]


def record_events(uow_factory: UowFactory, build: Build, count: int) -> None:
    for n in range(count):
        with uow_factory() as uow:
            uow.record(build.state_changed(f"app-{n}", reason=f"reason {n}"))
            uow.commit()


def execute(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert verify(engine) == AuditReport(ok=True, checked=0)


def test_an_intact_chain_verifies(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 5)
    assert verify(engine) == AuditReport(ok=True, checked=5)
    assert chain_head(engine)[0] == 5


def test_each_hash_covers_the_previous_hash_and_the_entry(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Recomputed here from the documented recipe, independently of the code under test."""
    record_events(uow_factory, build, 2)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT seq, actor_id, action, subject, subject_id, details, prev_hash, hash "
                "FROM audit_log ORDER BY seq"
            )
        ).all()
    with uow_factory() as uow:
        entries = [*uow.audit.for_subject("application", "app-0")]
        entries += uow.audit.for_subject("application", "app-1")
    times = {entry.seq: entry.at for entry in entries}
    previous = GENESIS_HASH
    for seq, actor, action, subject, subject_id, details, prev_hash, digest in rows:
        body = {
            "seq": seq,
            "at": times[seq].isoformat(timespec="microseconds"),
            "actor_id": actor,
            "action": action,
            "subject": subject,
            "subject_id": subject_id,
            "details": json.loads(details),
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert prev_hash == previous
        assert digest == hashlib.sha256((previous + text).encode()).hexdigest()
        previous = digest


def test_events_committed_together_are_chained_in_the_order_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 1)
    with uow_factory() as uow:
        for n in range(3):
            uow.record(build.state_changed(f"batch-{n}"))
        uow.commit()
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT seq, subject_id, prev_hash, hash FROM audit_log ORDER BY seq")
        ).all()
    assert [(seq, subject_id) for seq, subject_id, _, _ in rows] == [
        (1, "app-0"),
        (2, "batch-0"),
        (3, "batch-1"),
        (4, "batch-2"),
    ]
    assert [prev for _, _, prev, _ in rows[1:]] == [digest for _, _, _, digest in rows[:-1]]
    assert chain_head(engine) == (4, rows[-1].hash)
    assert verify(engine) == AuditReport(ok=True, checked=4)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("details", '{"payload":{"from":"draft","to":"approved"}}'),
        ("actor_id", "someone-else"),
        ("action", "application_approved"),
        ("subject_id", "app-99"),
    ],
)
def test_a_changed_entry_is_named(
    uow_factory: UowFactory, build: Build, engine: Engine, column: str, value: str
) -> None:
    record_events(uow_factory, build, 4)
    execute(engine, f"UPDATE audit_log SET {column} = :value WHERE seq = 3", value=value)
    report = verify(engine)
    assert (report.ok, report.first_broken, report.checked) == (False, 3, 2)
    assert report.reason is not None
    assert "entry 3" in report.reason


def test_a_changed_time_is_named(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 3)
    backdate = sa.text("UPDATE audit_log SET at = :at WHERE seq = 2").bindparams(
        sa.bindparam("at", type_=UtcDateTime())
    )
    with engine.begin() as connection:
        connection.execute(backdate, {"at": datetime(2025, 12, 31, 23, 59, tzinfo=UTC)})
    assert verify(engine).first_broken == 2


def test_a_rewritten_entry_with_a_fresh_hash_breaks_the_next_link(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 3)
    execute(engine, "UPDATE audit_log SET hash = :fake WHERE seq = 2", fake="f" * 64)
    report = verify(engine)
    assert report.first_broken == 2


def test_a_deleted_entry_is_named(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 4)
    execute(engine, "DELETE FROM audit_log WHERE seq = 2")
    report = verify(engine)
    assert (report.ok, report.first_broken) == (False, 2)
    assert report.reason == "entry 2 is missing"


def test_deleting_the_newest_entries_is_noticed(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 4)
    execute(engine, "DELETE FROM audit_log WHERE seq >= 3")
    report = verify(engine)
    assert (report.ok, report.first_broken, report.checked) == (False, 3, 2)


def test_a_chain_head_that_does_not_match_is_noticed(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 2)
    execute(engine, "UPDATE audit_chain_head SET hash = :fake", fake="0" * 64)
    report = verify(engine)
    assert (report.ok, report.first_broken) == (False, 2)


def test_concurrent_appends_form_one_unbroken_chain(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Writers in real threads, each committing events; the head serialises their appends."""
    writers, per_writer = 4, 10
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                with uow_factory() as uow:
                    uow.record(build.event(f"app-{writer}-{n}"))
                    uow.record(build.event(f"app-{writer}-{n}"))
                    uow.commit()
        except BaseException as exc:  # handed to the main thread, which asserts none
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    total = writers * per_writer * 2
    assert verify(engine) == AuditReport(ok=True, checked=total)
    with engine.connect() as connection:
        seqs = connection.execute(sa.text("SELECT seq FROM audit_log ORDER BY seq")).scalars()
        assert list(seqs) == list(range(1, total + 1))
