"""The audit log: entries appended by commands, chained by SHA-256 shortly after; any change,
deletion or truncation is found and named by ``verify`` (truncation with a checkpoint)."""

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

from leasekit.store.audit import (
    GENESIS_HASH,
    AuditReport,
    Checkpoint,
    chain_head,
    chain_pending,
    checkpoint,
    count_entries,
    verify,
    verify_checkpoint,
)
from leasekit.store.types import UtcDateTime
from leasekit.store.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]
KEY = b"an installation's secret key"


def record_events(uow_factory: UowFactory, build: Build, count: int, engine: Engine) -> None:
    """*count* commands of one event each, then the chainer's pass."""
    for n in range(count):
        with uow_factory() as uow:
            uow.record(build.state_changed(f"app-{n}", reason=f"reason {n}"))
            uow.commit()
    chain_all(engine)


def chain_all(engine: Engine) -> None:
    while chain_pending(engine):
        pass


def execute(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert verify(engine) == AuditReport(ok=True, checked=0)


def test_an_intact_chain_verifies(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 5, engine)
    assert verify(engine) == AuditReport(ok=True, checked=5)
    assert chain_head(engine)[0] == 5


def test_entries_wait_for_the_chainer_and_are_not_lost(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Writing an entry takes no lock on the chain; it is linked by the next pass."""
    with uow_factory() as uow:
        uow.record(build.event("app-1"))
        uow.commit()
    assert (count_entries(engine), chain_head(engine)[0]) == (1, 0)
    assert verify(engine) == AuditReport(ok=True, checked=0, unchained=1)
    with uow_factory() as uow:
        [entry] = uow.audit.for_subject("application", "app-1")
    assert entry.seq is None
    assert chain_pending(engine) == 1
    assert chain_pending(engine) == 0
    assert verify(engine) == AuditReport(ok=True, checked=1)


def test_each_hash_covers_the_previous_hash_and_the_entry(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Recomputed here from the documented recipe, independently of the code under test."""
    record_events(uow_factory, build, 2, engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.seq, e.at, e.actor_id, e.action, e.subject, e.subject_id, e.details, "
                "c.prev_hash, c.hash FROM audit_chain c JOIN audit_log e ON e.id = c.entry_id "
                "ORDER BY c.seq"
            )
        ).all()
    with uow_factory() as uow:
        entries = [*uow.audit.for_subject("application", "app-0")]
        entries += uow.audit.for_subject("application", "app-1")
    times = {entry.seq: entry.at for entry in entries}
    previous = GENESIS_HASH
    for seq, _, actor, action, subject, subject_id, details, prev_hash, digest in rows:
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


def test_the_token_that_acted_is_part_of_the_entry(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    with uow_factory() as uow:
        uow.token_id = "token-1"
        uow.record(build.event("app-1"))
        uow.commit()
    chain_all(engine)
    with uow_factory() as uow:
        [entry] = uow.audit.for_subject("application", "app-1")
    assert entry.token_id == "token-1"
    execute(engine, "UPDATE audit_log SET token_id = 'token-2'")
    assert verify(engine).first_broken == 1


def test_events_committed_together_are_chained_in_the_order_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 1, engine)
    with uow_factory() as uow:
        for n in range(3):
            uow.record(build.state_changed(f"batch-{n}"))
        uow.commit()
    chain_all(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.seq, e.subject_id, c.prev_hash, c.hash FROM audit_chain c "
                "JOIN audit_log e ON e.id = c.entry_id ORDER BY c.seq"
            )
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


def _entry_of(engine: Engine, seq: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT entry_id FROM audit_chain WHERE seq = :seq"), {"seq": seq}
            ).scalar_one()
        )


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
    record_events(uow_factory, build, 4, engine)
    entry = _entry_of(engine, 3)
    execute(engine, f"UPDATE audit_log SET {column} = :value WHERE id = :id", value=value, id=entry)
    report = verify(engine)
    assert (report.ok, report.first_broken, report.checked) == (False, 3, 2)
    assert report.reason is not None
    assert "entry 3" in report.reason


def test_a_changed_time_is_named(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 3, engine)
    backdate = sa.text("UPDATE audit_log SET at = :at WHERE id = :id").bindparams(
        sa.bindparam("at", type_=UtcDateTime())
    )
    with engine.begin() as connection:
        connection.execute(
            backdate, {"at": datetime(2025, 12, 31, 23, 59, tzinfo=UTC), "id": _entry_of(engine, 2)}
        )
    assert verify(engine).first_broken == 2


def test_a_rewritten_link_with_a_fresh_hash_breaks_the_next_link(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 3, engine)
    execute(engine, "UPDATE audit_chain SET hash = :fake WHERE seq = 2", fake="f" * 64)
    report = verify(engine)
    assert report.first_broken == 2


def test_a_deleted_entry_is_named(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record_events(uow_factory, build, 4, engine)
    execute(engine, "DELETE FROM audit_chain WHERE seq = 2")
    report = verify(engine)
    assert (report.ok, report.first_broken) == (False, 2)
    assert report.reason == "entry 2 is missing"


def test_an_entry_deleted_with_its_link_leaves_a_gap(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 3, engine)
    entry = _entry_of(engine, 2)
    execute(engine, "DELETE FROM audit_chain WHERE seq = 2")
    execute(engine, "DELETE FROM audit_log WHERE id = :id", id=entry)
    assert verify(engine).first_broken == 2


def test_deleting_the_newest_entries_is_noticed(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 4, engine)
    execute(engine, "DELETE FROM audit_chain WHERE seq >= 3")
    report = verify(engine)
    assert (report.ok, report.first_broken, report.checked) == (False, 3, 2)


def test_a_chain_head_that_does_not_match_is_noticed(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 2, engine)
    execute(engine, "UPDATE audit_chain_head SET hash = :fake", fake="0" * 64)
    report = verify(engine)
    assert (report.ok, report.first_broken) == (False, 2)


def test_an_entry_written_around_the_chainer_is_noticed(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 2, engine)
    execute(
        engine,
        "INSERT INTO audit_log (at, action, subject, subject_id, details) "
        "VALUES (:at, 'forged', 'application', 'x', '{}')",
        at="2026-01-01 00:00:00",
    )
    report = verify(engine)
    assert not report.ok
    assert report.reason == "1 entries were written outside the chain"


def _truncate_and_rewind(engine: Engine, keep: int) -> None:
    """What an attacker with the database does: cut the newest links, and set the head back
    to the last one kept, so that the shorter chain is consistent again."""
    with engine.begin() as connection:
        cut = (
            connection.execute(
                sa.text("SELECT entry_id FROM audit_chain WHERE seq > :keep"), {"keep": keep}
            )
            .scalars()
            .all()
        )
        connection.execute(sa.text("DELETE FROM audit_chain WHERE seq > :keep"), {"keep": keep})
        for entry in cut:
            connection.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": entry})
    with engine.begin() as connection:
        digest = connection.execute(
            sa.text("SELECT hash FROM audit_chain WHERE seq = :keep"), {"keep": keep}
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE audit_chain_head SET seq = :keep, hash = :hash"),
            {"keep": keep, "hash": digest},
        )


def test_a_checkpoint_catches_truncation_that_verify_alone_cannot(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 5, engine)
    mark = checkpoint(engine, KEY)
    assert (mark.seq, mark.hash) == chain_head(engine)
    assert verify_checkpoint(engine, Checkpoint.parse(str(mark)), KEY).ok
    _truncate_and_rewind(engine, keep=3)
    assert verify(engine).ok, "the shortened chain is consistent in itself"
    report = verify_checkpoint(engine, mark, KEY)
    assert (report.ok, report.first_broken) == (False, 4)
    assert report.reason == "entries from 4 to 5 were removed since the checkpoint"


def test_a_checkpoint_stays_valid_as_the_log_grows(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 2, engine)
    mark = checkpoint(engine, KEY)
    record_events(uow_factory, build, 3, engine)
    assert verify_checkpoint(engine, mark, KEY) == AuditReport(ok=True, checked=5)


def test_a_forged_or_foreign_checkpoint_is_refused(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    record_events(uow_factory, build, 2, engine)
    mark = checkpoint(engine, KEY)
    assert not verify_checkpoint(engine, mark, b"another key").ok
    forged = Checkpoint(mark.seq, "f" * 64, mark.signature)
    assert "signature" in (verify_checkpoint(engine, forged, KEY).reason or "")
    with pytest.raises(ValueError, match="not a leasekit audit checkpoint"):
        Checkpoint.parse("hello")


def test_concurrent_writers_and_chainers_form_one_unbroken_chain(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Writers and chainers in real threads: writers never wait for each other on the chain,
    and chainers running side by side never fork it."""
    writers, per_writer = 4, 10
    start = threading.Barrier(writers + 2)
    errors: list[BaseException] = []
    done = threading.Event()

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

    def chain() -> None:
        try:
            start.wait()
            while not done.is_set():
                chain_pending(engine, limit=7)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    chainers = [threading.Thread(target=chain) for _ in range(2)]
    for thread in [*threads, *chainers]:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    for thread in chainers:
        thread.join(timeout=120)
    chain_all(engine)
    assert errors == []
    total = writers * per_writer * 2
    assert verify(engine) == AuditReport(ok=True, checked=total)
    with engine.connect() as connection:
        seqs = connection.execute(sa.text("SELECT seq FROM audit_chain ORDER BY seq")).scalars()
        assert list(seqs) == list(range(1, total + 1))
