"""The outbox relay: committed events delivered in order, at least once, each relay's rows
claimed so that relays running side by side do not deliver the same event twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.events import DomainEvent, StateChanged
from leasekit.store.outbox import OutboxRelay, OutboxWorker
from leasekit.store.uow import SqlUnitOfWork, session_factory

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]


class Receiver:
    """Collects what it is given; fails for the subjects it is told to, until told otherwise."""

    def __init__(self) -> None:
        self.received: list[DomainEvent] = []
        self.failing: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, event: DomainEvent) -> None:
        if event.subject_id in self.failing:
            raise RuntimeError(f"receiver down for {event.subject_id}")
        with self._lock:
            self.received.append(event)

    @property
    def keys(self) -> list[str]:
        return [event.idempotency_key for event in self.received]


def record(uow_factory: UowFactory, *events: DomainEvent) -> None:
    with uow_factory() as uow:
        for event in events:
            uow.record(event)
        uow.commit()


def outbox_state(engine: Engine, key: str) -> tuple[int, str | None, bool]:
    """(attempts, last_error, delivered) of the row for *key*."""
    with engine.connect() as connection:
        attempts, error, delivered_at = connection.execute(
            sa.text(
                "SELECT attempts, last_error, delivered_at FROM outbox WHERE idempotency_key = :k"
            ),
            {"k": key},
        ).one()
    return attempts, error, delivered_at is not None


def test_events_are_delivered_once_in_the_order_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    events = [build.event(f"app-{n}") for n in range(5)]
    record(uow_factory, *events[:3])
    record(uow_factory, *events[3:])
    receiver = Receiver()
    relay = OutboxRelay(engine, receiver)
    assert relay.deliver_pending() == 5
    assert receiver.received == events
    assert relay.deliver_pending() == 0
    assert receiver.received == events
    assert outbox_state(engine, events[0].idempotency_key) == (1, None, True)


def test_an_event_arrives_as_it_was_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    plain, change = build.event(), build.state_changed(reason="complete")
    record(uow_factory, plain, change)
    receiver = Receiver()
    OutboxRelay(session_factory(engine), receiver).deliver_pending()
    assert receiver.received == [plain, change]
    delivered = receiver.received[1]
    assert isinstance(delivered, StateChanged)
    assert (delivered.from_state, delivered.to_state, delivered.reason) == (
        "draft",
        "submitted",
        "complete",
    )
    assert type(receiver.received[0]) is DomainEvent


def test_limit_caps_one_run(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record(uow_factory, *(build.event(f"app-{n}") for n in range(5)))
    receiver = Receiver()
    relay = OutboxRelay(engine, receiver)
    assert relay.deliver_pending(limit=2) == 2
    assert relay.deliver_pending(limit=2) == 2
    assert relay.deliver_pending(limit=2) == 1
    assert len(set(receiver.keys)) == 5


def test_a_failed_delivery_stays_pending_and_is_retried(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event("app-1")
    record(uow_factory, event)
    receiver = Receiver()
    receiver.failing.add("app-1")
    relay = OutboxRelay(engine, receiver)
    assert relay.deliver_pending() == 0
    assert outbox_state(engine, event.idempotency_key) == (
        1,
        "RuntimeError: receiver down for app-1",
        False,
    )
    assert relay.deliver_pending() == 0
    assert outbox_state(engine, event.idempotency_key)[0] == 2
    receiver.failing.clear()
    assert relay.deliver_pending() == 1
    assert receiver.received == [event]
    assert outbox_state(engine, event.idempotency_key) == (3, None, True)


def test_a_failure_holds_back_its_subject_but_not_others(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    first, other, second = build.event("app-1"), build.event("app-2"), build.event("app-1")
    record(uow_factory, first, other, second)
    receiver = Receiver()
    receiver.failing.add("app-1")
    relay = OutboxRelay(engine, receiver)
    assert relay.deliver_pending() == 1
    assert receiver.received == [other]
    assert outbox_state(engine, second.idempotency_key) == (0, None, False)
    receiver.failing.clear()
    assert relay.deliver_pending() == 2
    assert receiver.received == [other, first, second]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_claim_expires_so_a_crashed_relay_does_not_hold_its_rows(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event()
    record(uow_factory, event)
    clock = Clock()

    def crash(_: DomainEvent) -> None:
        raise KeyboardInterrupt  # not an Exception: the relay dies without recording anything

    with pytest.raises(KeyboardInterrupt):
        OutboxRelay(engine, crash, lease=timedelta(minutes=5), now=clock).deliver_pending()
    receiver = Receiver()
    other = OutboxRelay(engine, receiver, lease=timedelta(minutes=5), now=clock)
    clock.now += timedelta(minutes=4)
    assert other.deliver_pending() == 0
    clock.now += timedelta(minutes=2)
    assert other.deliver_pending() == 1
    assert receiver.received == [event]


def _deliver_concurrently(engine: Engine, relays: int) -> Receiver:
    receiver = Receiver()
    start = threading.Barrier(relays)
    errors: list[BaseException] = []

    def run() -> None:
        relay = OutboxRelay(engine, receiver)
        try:
            start.wait()
            while relay.deliver_pending(limit=7):
                pass
        except BaseException as exc:  # handed to the main thread, which asserts none
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return receiver


def test_relays_running_side_by_side_deliver_each_event_once(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Real threads and connections; on PostgreSQL the claim uses SKIP LOCKED as well."""
    events = [build.event(f"app-{n % 13}") for n in range(120)]
    for start in range(0, len(events), 20):
        record(uow_factory, *events[start : start + 20])
    receiver = _deliver_concurrently(engine, relays=4)
    assert sorted(receiver.keys) == sorted(e.idempotency_key for e in events)
    assert len(receiver.keys) == len(events)
    with engine.connect() as connection:
        pending = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        ).scalar_one()
    assert pending == 0


def test_the_worker_delivers_when_woken_and_only_then(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    worker = OutboxWorker(OutboxRelay(engine, receiver), batch=2)
    try:
        events = [build.event(f"app-{n}") for n in range(5)]
        record(uow_factory, *events)
        assert receiver.received == [], "nothing asked for a pass yet"
        worker.wake()
        assert worker.drain(timeout=30)
        assert receiver.received == events, "batch after batch until one comes back short"
    finally:
        worker.stop(timeout=30)


def test_stopping_the_worker_delivers_what_is_pending(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    worker = OutboxWorker(OutboxRelay(engine, receiver))
    event = build.event("app-1")
    record(uow_factory, event)
    worker.stop(timeout=30)
    assert receiver.received == [event]
    assert not worker.drain(timeout=0.1), "the thread has ended; nothing answers any more"


def test_a_failing_pass_leaves_the_worker_running(
    uow_factory: UowFactory, build: Build, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    relay = OutboxRelay(engine, receiver)
    worker = OutboxWorker(relay)
    try:
        calls = iter([RuntimeError("database gone"), None])

        def flaky(limit: int = 100) -> int:
            failure = next(calls, None)
            if failure is not None:
                raise failure
            return OutboxRelay.deliver_pending(relay, limit)

        monkeypatch.setattr(relay, "deliver_pending", flaky)
        event = build.event("app-1")
        record(uow_factory, event)
        assert worker.drain(timeout=30)
        assert receiver.received == []
        assert worker.drain(timeout=30)
        assert receiver.received == [event]
    finally:
        worker.stop(timeout=30)


def test_the_worker_retries_on_its_own_without_a_wake_up(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    event = build.event("app-1")
    receiver.failing.add(event.subject_id)
    worker = OutboxWorker(OutboxRelay(engine, receiver), retry_every=0.01)
    try:
        record(uow_factory, event)
        worker.wake()
        assert worker.drain(timeout=30)
        assert receiver.received == [], "the receiver was down"
        receiver.failing.clear()
        for _ in range(3000):
            if receiver.received:
                break
            threading.Event().wait(0.01)
        assert receiver.received == [event], "retried with nobody asking"
    finally:
        worker.stop(timeout=30)
