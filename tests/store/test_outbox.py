"""The outbox relay: committed events fanned out to each subscriber and delivered to it on its
own, in order per subject, at least once; failures retried with backoff and parked after a
limit without delaying anyone else; claims that survive neither their lease nor a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.events import DomainEvent, StateChanged
from leasekit.errors import ConflictError
from leasekit.services.storage import DeliveryQuery, DeliveryStatus
from leasekit.store.outbox import OutboxRelay, RelayPolicy
from leasekit.store.uow import SqlUnitOfWork
from leasekit.store.worker import BackgroundWorker

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]


class Receiver:
    """A subscriber that collects what it is given; fails for the subjects it is told to,
    until told otherwise."""

    def __init__(self, name: str = "receiver", events: Iterable[str] | None = None) -> None:
        self.name = name
        self.events = None if events is None else frozenset(events)
        self.received: list[DomainEvent] = []
        self.failing: set[str] = set()
        self._lock = threading.Lock()

    def wants(self, event_name: str) -> bool:
        return self.events is None or event_name in self.events

    def deliver(self, event: DomainEvent) -> None:
        if event.subject_id in self.failing or "*" in self.failing:
            raise RuntimeError(f"receiver down for {event.subject_id}")
        with self._lock:
            self.received.append(event)

    @property
    def keys(self) -> list[str]:
        return [event.idempotency_key for event in self.received]


class BatchReceiver(Receiver):
    """A :class:`Receiver` that also takes batches, noting each batch's size; a batch with
    an event of a failing subject fails whole, having kept nothing."""

    def __init__(self, name: str = "receiver") -> None:
        super().__init__(name)
        self.batches: list[int] = []

    def deliver_many(self, events: Sequence[DomainEvent]) -> None:
        if any(event.subject_id in self.failing for event in events):
            raise RuntimeError("one of the batch is bad")
        self.batches.append(len(events))
        with self._lock:
            self.received.extend(events)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def record(uow_factory: UowFactory, *events: DomainEvent) -> None:
    with uow_factory() as uow:
        for event in events:
            uow.record(event)
        uow.commit()


def relay(engine: Engine, *subscribers: Receiver, **options: object) -> OutboxRelay:
    return OutboxRelay(engine, subscribers, **options)  # type: ignore[arg-type]


def statuses(engine: Engine) -> dict[tuple[str, str], tuple[str, int]]:
    """(subscriber, event key) → (status, attempts) of every delivery."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT d.subscriber, o.idempotency_key, d.status, d.attempts "
                "FROM event_deliveries d JOIN outbox o ON o.id = d.event_id"
            )
        ).all()
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


def test_events_are_delivered_once_in_the_order_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    events = [build.event(f"app-{n % 3}") for n in range(7)]
    record(uow_factory, *events[:4])
    record(uow_factory, *events[4:])
    receiver = Receiver()
    outbox = relay(engine, receiver)
    while outbox.run_pass():
        pass
    assert receiver.keys == [event.idempotency_key for event in events]
    assert outbox.run_pass() == 0


def test_an_event_arrives_as_it_was_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    changed = build.state_changed("app-9", reason="income not proven")
    record(uow_factory, changed)
    receiver = Receiver()
    relay(engine, receiver).run_pass()
    [delivered] = receiver.received
    assert delivered == changed
    assert isinstance(delivered, StateChanged)
    assert delivered.reason == "income not proven"


def test_each_subscriber_gets_only_the_events_it_wants(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    submitted = build.event("app-1", name="application_submitted")
    revised = build.event("app-1", name="application_revised")
    record(uow_factory, submitted, revised)
    everything, picky = Receiver("all"), Receiver("picky", events=["application_submitted"])
    outbox = relay(engine, everything, picky)
    while outbox.run_pass():
        pass
    assert everything.received == [submitted, revised]
    assert picky.received == [submitted]


def test_limit_caps_one_run(uow_factory: UowFactory, build: Build, engine: Engine) -> None:
    record(uow_factory, *(build.event(f"app-{n}") for n in range(5)))
    receiver = Receiver()
    outbox = relay(engine, receiver)
    assert outbox.run_pass(limit=2) == 2
    assert outbox.run_pass(limit=2) == 2
    assert outbox.run_pass(limit=2) == 1


def test_a_failed_delivery_is_retried_after_its_backoff(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event("app-1")
    record(uow_factory, event)
    receiver, clock = Receiver(), Clock()
    receiver.failing.add("app-1")
    policy = RelayPolicy(first_backoff=timedelta(seconds=10))
    outbox = relay(engine, receiver, policy=policy, now=clock)
    assert outbox.run_pass() == 0
    assert statuses(engine)[("receiver", event.idempotency_key)] == ("pending", 1)
    receiver.failing.clear()
    assert outbox.run_pass() == 0, "not before its backoff"
    assert outbox.next_due() == clock.now + timedelta(seconds=10)
    clock.now += timedelta(seconds=10)
    assert outbox.run_pass() == 1
    assert receiver.received == [event]
    assert statuses(engine)[("receiver", event.idempotency_key)] == ("delivered", 2)


def test_backoff_doubles_up_to_its_ceiling() -> None:
    policy = RelayPolicy(first_backoff=timedelta(seconds=1), max_backoff=timedelta(seconds=5))
    assert [policy.backoff(n).seconds for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_a_failure_holds_back_its_subject_but_not_others(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    first, second, other = build.event("app-1"), build.event("app-1"), build.event("app-2")
    record(uow_factory, first, second, other)
    receiver, clock = Receiver(), Clock()
    receiver.failing.add("app-1")
    outbox = relay(engine, receiver, now=clock)
    outbox.run_pass()
    assert receiver.received == [other]
    receiver.failing.clear()
    clock.now += timedelta(minutes=10)
    while outbox.run_pass():
        pass
    assert receiver.received == [other, first, second], "app-1's events in their order"


def test_one_failing_subscriber_never_delays_another(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    events = [build.event("app-1") for _ in range(3)]
    record(uow_factory, *events)
    down, up = Receiver("sms"), Receiver("ledger")
    down.failing.add("*")
    outbox = relay(engine, down, up)
    while outbox.run_pass():
        pass
    assert up.received == events
    assert down.received == []


def test_a_subscriber_that_takes_batches_gets_what_was_claimed_for_it_in_one_call(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    events = [build.event(f"app-{n}") for n in range(5)] + [build.event("app-0")]
    record(uow_factory, *events)
    batched, single = BatchReceiver("vouchers"), Receiver("sms")
    outbox = relay(engine, batched, single)
    assert outbox.run_pass() == 10, "the first five subjects' events, to each subscriber"
    assert batched.batches == [5]
    assert outbox.run_pass() == 2, "app-0's second event waited for its first"
    assert batched.keys == single.keys == [event.idempotency_key for event in events]
    assert batched.batches == [5], "a batch of one goes to deliver"


def test_a_failed_batch_is_delivered_event_by_event_so_only_the_bad_one_fails(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    events = [build.event(f"app-{n}") for n in range(4)]
    record(uow_factory, *events)
    receiver = BatchReceiver()
    receiver.failing.add("app-2")
    outbox = relay(engine, receiver)
    assert outbox.run_pass() == 3
    assert receiver.batches == []
    assert receiver.received == [events[0], events[1], events[3]]
    assert statuses(engine)[("receiver", events[2].idempotency_key)] == ("pending", 1)


def test_a_subscriber_that_keeps_failing_is_parked_and_an_admin_retry_delivers_once(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    first, second = build.event("app-1"), build.event("app-1")
    record(uow_factory, first, second)
    down, up, clock = Receiver("sms"), Receiver("ledger"), Clock()
    down.failing.add("*")
    policy = RelayPolicy(max_attempts=3, first_backoff=timedelta(seconds=1))
    outbox = relay(engine, down, up, policy=policy, now=clock)
    for _ in range(10):
        outbox.run_pass()
        clock.now += timedelta(minutes=1)
    assert up.received == [first, second]
    assert statuses(engine)[("sms", first.idempotency_key)] == ("parked", 3)
    assert statuses(engine)[("sms", second.idempotency_key)] == ("parked", 3), (
        "a parked delivery no longer holds back the subject's later events"
    )
    down.failing.clear()
    with uow_factory() as uow:
        parked = uow.deliveries.page(DeliveryQuery(DeliveryStatus.PARKED, "sms")).items
        assert [d.event_key for d in parked] == [first.idempotency_key, second.idempotency_key]
        uow.deliveries.settle_parked(parked[0].id, DeliveryStatus.PENDING, clock.now)
        uow.deliveries.settle_parked(parked[1].id, DeliveryStatus.DISCARDED, clock.now)
        with pytest.raises(ConflictError, match="not parked"):
            uow.deliveries.settle_parked(parked[1].id, DeliveryStatus.PENDING, clock.now)
        uow.commit()
    while outbox.run_pass():
        pass
    assert down.received == [first], "retried once; the discarded one never"
    assert outbox.run_pass() == 0


def test_a_delivery_to_a_subscriber_no_longer_installed_fails_and_is_parked(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event("app-1")
    record(uow_factory, event)
    clock = Clock()
    relay(engine, Receiver("gone"), now=clock).fan_out()
    outbox = relay(engine, Receiver("other"), policy=RelayPolicy(max_attempts=1), now=clock)
    outbox.run_pass()
    assert statuses(engine)[("gone", event.idempotency_key)] == ("parked", 1)


def _crash(_: DomainEvent) -> None:
    raise KeyboardInterrupt  # not an Exception: the relay dies without recording anything


def test_a_claim_expires_so_a_crashed_relay_does_not_hold_its_deliveries(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event()
    record(uow_factory, event)
    clock = Clock()
    dying = Receiver()
    dying.deliver = _crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        relay(engine, dying, policy=RelayPolicy("host-a"), now=clock).run_pass()
    receiver = Receiver()
    other = relay(engine, receiver, policy=RelayPolicy("host-b"), now=clock)
    clock.now += timedelta(seconds=59)
    assert other.run_pass() == 0, "the lease still holds"
    clock.now += timedelta(seconds=2)
    assert other.run_pass() == 1
    assert receiver.received == [event]


def test_a_restarted_relay_takes_back_its_own_claims_at_once(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    event = build.event()
    record(uow_factory, event)
    dying = Receiver()
    dying.deliver = _crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        relay(engine, dying, policy=RelayPolicy("host-a")).run_pass()
    receiver = Receiver()
    restarted = relay(engine, receiver, policy=RelayPolicy("host-a"))
    assert restarted.run_pass() == 0, "claimed, until the restart gives it back"
    assert restarted.release_claims() == 1
    assert restarted.run_pass() == 1
    assert receiver.received == [event]


def test_order_per_subject_holds_across_a_crash(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    first, second = build.event("app-1"), build.event("app-1")
    record(uow_factory, first)
    record(uow_factory, second)
    dying = Receiver()
    dying.deliver = _crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        relay(engine, dying, policy=RelayPolicy("host-a")).run_pass(limit=1)
    receiver = Receiver()
    other = relay(engine, receiver, policy=RelayPolicy("host-b"))
    assert other.run_pass() == 0, "the second waits behind the first, claimed by the dead"
    other.release_claims()
    relay(engine, receiver, policy=RelayPolicy("host-a")).release_claims()
    while other.run_pass():
        pass
    assert receiver.received == [first, second]


def _deliver_concurrently(engine: Engine, relays: int, receiver: Receiver) -> None:
    start = threading.Barrier(relays)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        outbox = relay(engine, receiver, policy=RelayPolicy(f"relay-{number}"))
        try:
            start.wait()
            while outbox.run_pass(limit=7):
                pass
        except BaseException as exc:  # handed to the main thread, which asserts none
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


def test_relays_running_side_by_side_deliver_each_event_once(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """Real threads and connections; on PostgreSQL the claims use SKIP LOCKED as well."""
    events = [build.event(f"app-{n % 13}") for n in range(120)]
    for start in range(0, len(events), 20):
        record(uow_factory, *events[start : start + 20])
    receiver = Receiver()
    _deliver_concurrently(engine, 4, receiver)
    assert sorted(receiver.keys) == sorted(e.idempotency_key for e in events)
    assert len(receiver.keys) == len(events)
    for subject in {event.subject_id for event in events}:
        mine = [e.idempotency_key for e in events if e.subject_id == subject]
        assert [e.idempotency_key for e in receiver.received if e.subject_id == subject] == mine
    assert {status for status, _ in statuses(engine).values()} == {"delivered"}


def test_the_worker_delivers_when_woken_and_chains_the_audit_log(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    worker = BackgroundWorker(relay(engine, receiver), engine, batch=2)
    try:
        events = [build.event(f"app-{n}") for n in range(5)]
        record(uow_factory, *events)
        worker.wake()
        assert worker.drain(timeout=30)
        assert receiver.received == events, "batch after batch until one comes back short"
        with engine.connect() as connection:
            chained = connection.execute(sa.text("SELECT count(*) FROM audit_chain")).scalar()
        assert chained == 5
    finally:
        worker.stop(timeout=30)


def test_stopping_the_worker_delivers_what_is_pending(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    worker = BackgroundWorker(relay(engine, receiver), engine)
    event = build.event("app-1")
    record(uow_factory, event)
    worker.stop(timeout=30)
    assert receiver.received == [event]
    assert not worker.drain(timeout=0.1), "the thread has ended; nothing answers any more"


def test_a_failing_pass_leaves_the_worker_running(
    uow_factory: UowFactory, build: Build, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = Receiver()
    outbox = relay(engine, receiver)
    worker = BackgroundWorker(outbox, engine)
    try:
        calls = iter([RuntimeError("database gone"), None])

        def flaky(limit: int = 100) -> int:
            failure = next(calls, None)
            if failure is not None:
                raise failure
            return OutboxRelay.run_pass(outbox, limit)

        monkeypatch.setattr(outbox, "run_pass", flaky)
        event = build.event("app-1")
        record(uow_factory, event)
        assert worker.drain(timeout=30)
        assert receiver.received == []
        assert worker.drain(timeout=30)
        assert receiver.received == [event]
    finally:
        worker.stop(timeout=30)


def test_the_worker_retries_on_its_own_when_the_backoff_ends(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    receiver = Receiver()
    event = build.event("app-1")
    receiver.failing.add(event.subject_id)
    policy = RelayPolicy(first_backoff=timedelta(milliseconds=50))
    worker = BackgroundWorker(relay(engine, receiver, policy=policy), engine, retry_every=60)
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
