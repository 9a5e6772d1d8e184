"""The transactional outbox, and delivery of its events to each subscriber on its own.

Events are written to ``outbox`` in the transaction that makes the change they describe
(:meth:`leasekit.store.uow.SqlUnitOfWork.record`), with their id in the ``outbox_pending``
queue, so an event exists if and only if its change was committed. :class:`OutboxRelay` then
works in two steps, each its own short transaction:

1. **fan-out**: each queued event gets one ``event_deliveries`` row per subscriber that wants
   it (every plugin that receives events, the notifier, each in-process handler of that event
   name), and leaves the queue;
2. **delivery**: deliveries are claimed, handed to their subscriber, and marked delivered only
   after the subscriber returned, so a crash in between delivers again (at least once; every
   event carries its idempotency key so receivers drop the repeat). A
   :class:`~leasekit.domain.events.BatchSubscriber` gets what was claimed for it in one call;
   if that call fails, each of its events is handed over again on its own, so that only the
   event at fault fails.

Each delivery stands alone: a subscriber that fails is retried with exponential backoff and,
after ``max_attempts``, **parked** for an administrator to retry or discard; it never delays
another subscriber. Order holds per subject per subscriber, across crashes: a delivery is only
claimed when no earlier delivery of the same subject to the same subscriber is still pending.

Claims are leases (``claimed_until``) taken by compare-and-set, with ``FOR UPDATE SKIP LOCKED``
on PostgreSQL so that relays in many processes do not queue behind each other. A relay names
itself (``worker_id``): it releases its claims when it stops and reclaims them when it starts
again, so a process killed mid-delivery is not waiting out its own lease after a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from leasekit.domain.events import BatchSubscriber, DomainEvent, EventSubscriber, StateChanged
from leasekit.errors import ConflictError, NotFoundError, ValidationError
from leasekit.services.storage import Delivery, DeliveryQuery, DeliveryStatus, Page
from leasekit.store.database import begin_writing
from leasekit.store.repository import repository
from leasekit.store.schema import COUNTER, Base
from leasekit.store.types import CanonicalText

__all__ = [
    "EVENT_TYPES",
    "DeliveryRepository",
    "DeliveryRow",
    "OutboxPendingRow",
    "OutboxRelay",
    "OutboxRow",
    "RelayPolicy",
    "outbox_values",
]

logger = logging.getLogger(__name__)

EVENT_TYPES: Final[dict[str, type[DomainEvent]]] = {
    "domain_event": DomainEvent,
    "state_changed": StateChanged,
}
"""Event classes by their name in ``outbox.event_type``: delivery rebuilds the class recorded."""
_TYPE_NAMES: Final = {cls: name for name, cls in EVENT_TYPES.items()}
_MAX_ERROR: Final = 2000
FAN_OUT_CHUNK: Final = 1000
"""Events fanned out per transaction by :meth:`OutboxRelay.run_pass`: a close's hundred
thousand events took 7.1 s in chunks of 1,000 against 10.7 s in chunks of 100 (SQLite)."""


class OutboxRow(Base):
    """A committed event, as it will be delivered; never changed once written."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(unique=True)
    event_type: Mapped[str]
    name: Mapped[str]
    subject: Mapped[str]
    subject_id: Mapped[str]
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[dt.datetime]
    business_date: Mapped[dt.date]
    actor_id: Mapped[str | None]


class OutboxPendingRow(Base):
    """Events not fanned out to their subscribers yet: the relay's queue."""

    __tablename__ = "outbox_pending"

    event_id: Mapped[int] = mapped_column(
        COUNTER, ForeignKey("outbox.id"), primary_key=True, autoincrement=False
    )


class DeliveryRow(Base):
    """One event for one subscriber, from pending to delivered (or parked, then retried or
    discarded by an administrator)."""

    __tablename__ = "event_deliveries"

    id: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(COUNTER, ForeignKey("outbox.id"))
    subscriber: Mapped[str] = mapped_column(String(200))
    subject_key: Mapped[str]
    """``<subject>:<subject_id>``: order is kept per subject and subscriber."""
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("event_id", "subscriber"),
        Index(None, "status", "next_attempt_at", "id"),
        Index(None, "subscriber", "subject_key", "event_id"),
    )


def outbox_values(event: DomainEvent, payload: CanonicalText) -> dict[str, object]:
    """The column values of the outbox row for *event*, its *payload* serialised."""
    return {
        "idempotency_key": event.idempotency_key,
        "event_type": _TYPE_NAMES.get(type(event), "domain_event"),
        "name": event.name,
        "subject": event.subject,
        "subject_id": event.subject_id,
        "payload": payload,
        "occurred_at": event.occurred_at,
        "business_date": event.business_date,
        "actor_id": event.actor_id,
    }


_EVENT_COLUMNS: Final = (
    OutboxRow.id,
    OutboxRow.idempotency_key,
    OutboxRow.event_type,
    OutboxRow.name,
    OutboxRow.subject,
    OutboxRow.subject_id,
    OutboxRow.payload,
    OutboxRow.occurred_at,
    OutboxRow.business_date,
    OutboxRow.actor_id,
)


def _to_event(row: sa.RowMapping) -> DomainEvent:
    event_class = EVENT_TYPES.get(row["event_type"], DomainEvent)
    return event_class(
        name=row["name"],
        subject=row["subject"],
        subject_id=row["subject_id"],
        payload=row["payload"],
        occurred_at=row["occurred_at"],
        business_date=row["business_date"],
        actor_id=row["actor_id"],
        idempotency_key=row["idempotency_key"],
    )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]


def _one_at_a_time(query: sa.Select[Any], connection: sa.Connection) -> sa.Select[Any]:
    """On PostgreSQL, lock the queue rows read, waiting for another relay that holds them:
    events are fanned out one batch after another, so a subject's deliveries exist in the
    order of its events. (SQLite's writer lock, taken first, does the same.)"""
    if connection.dialect.name == "postgresql":
        return query.with_for_update()
    return query


def _skip_locked(query: sa.Select[Any], connection: sa.Connection) -> sa.Select[Any]:
    """On PostgreSQL, lock the candidate rows and skip those another relay is taking. SQLite
    has one writer at a time; the compare-and-set in each claim keeps relays apart there."""
    if connection.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _waits_behind_an_earlier() -> sa.Exists:
    """A delivery whose subject has an earlier event still pending for the same subscriber:
    it waits, so that each subscriber sees one subject's events in order. Events of one
    subject are committed one after another (their object's compare-and-set sees to it), so
    their ids are their order."""
    earlier = aliased(DeliveryRow)
    return (
        sa.select(earlier.id)
        .where(
            earlier.subscriber == DeliveryRow.subscriber,
            earlier.subject_key == DeliveryRow.subject_key,
            earlier.status == DeliveryStatus.PENDING,
            earlier.event_id < DeliveryRow.event_id,
        )
        .exists()
    )


@attrs.frozen
class RelayPolicy:
    """How a relay claims and retries (``LEASEKIT_OUTBOX__*`` settings)."""

    worker_id: str = attrs.field(factory=lambda: f"relay-{uuid.uuid4().hex[:8]}")
    """Who holds a claim; a restarted process with the same id takes its claims back."""
    lease: dt.timedelta = dt.timedelta(seconds=60)
    """How long a claim holds; longer than any delivery should take."""
    max_attempts: int = 10
    """Failures after which a delivery is parked for an administrator."""
    first_backoff: dt.timedelta = dt.timedelta(seconds=1)
    max_backoff: dt.timedelta = dt.timedelta(minutes=5)

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait before attempt ``attempts + 1``: doubling from the first, up to the most."""
        doubled: dt.timedelta = self.first_backoff * 2 ** max(attempts - 1, 0)
        return min(doubled, self.max_backoff)


@attrs.frozen
class _Claimed:
    delivery_id: int
    subscriber: str
    attempts: int
    event: DomainEvent


@attrs.frozen
class _Outcome:
    claimed: _Claimed
    error: BaseException | None = None


class OutboxRelay:
    """Fans events out to *subscribers* and delivers them (see the module docstring).

    *source* is an engine or a session factory bound to one; *now* is the clock used for
    claims, backoff and delivery times (injectable so that tests can move time).
    """

    def __init__(
        self,
        source: Engine,
        subscribers: Iterable[EventSubscriber],
        *,
        policy: RelayPolicy | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._engine = source
        self._subscribers = {subscriber.name: subscriber for subscriber in subscribers}
        self._policy = policy or RelayPolicy()
        self._now = now

    @property
    def policy(self) -> RelayPolicy:
        return self._policy

    def run_pass(self, limit: int = 100) -> int:
        """Fan out what is queued, then deliver up to *limit* deliveries; how many went out."""
        while self.fan_out(FAN_OUT_CHUNK) == FAN_OUT_CHUNK:
            pass
        return self.deliver_pending(limit)

    def fan_out(self, limit: int = 500) -> int:
        """Give up to *limit* queued events a delivery per interested subscriber; how many
        events left the queue."""
        now = self._now()
        with self._engine.begin() as connection:
            begin_writing(connection)
            queued = sa.select(OutboxPendingRow.event_id).order_by(OutboxPendingRow.event_id)
            ids = (
                connection.execute(_one_at_a_time(queued.limit(limit), connection)).scalars().all()
            )
            if not ids:
                return 0
            events = connection.execute(
                sa.select(OutboxRow.id, OutboxRow.name, OutboxRow.subject, OutboxRow.subject_id)
                .where(OutboxRow.id.in_(ids))
                .order_by(OutboxRow.id)
            ).all()
            rows = [
                self._delivery_values(event, name, now)
                for event in events
                for name, subscriber in self._subscribers.items()
                if subscriber.wants(event.name)
            ]
            if rows:
                connection.execute(sa.insert(DeliveryRow), rows)
            connection.execute(
                sa.delete(OutboxPendingRow).where(OutboxPendingRow.event_id.in_(ids))
            )
            return len(ids)

    @staticmethod
    def _delivery_values(event: Any, subscriber: str, now: dt.datetime) -> dict[str, object]:
        return {
            "event_id": event.id,
            "subscriber": subscriber,
            "subject_key": f"{event.subject}:{event.subject_id}",
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }

    def deliver_pending(self, limit: int = 100) -> int:
        """Claim up to *limit* due deliveries, hand each to its subscriber, record each
        outcome; return how many were delivered. A subscriber's failure is recorded on its
        delivery (and logged), never raised: one bad receiver cannot stop the others."""
        claimed = self._claim(limit)
        outcomes = [
            outcome
            for name, items in _by_subscriber(claimed).items()
            for outcome in self._deliver_claimed(self._subscribers.get(name), items)
        ]
        if outcomes:
            self._record(outcomes)
        return sum(outcome.error is None for outcome in outcomes)

    def next_due(self) -> dt.datetime | None:
        """When the next delivery can be claimed (its retry is due and any claim on it has
        run out), so a worker can sleep until then; None when nothing is pending."""
        ready = sa.case(
            (DeliveryRow.claimed_until > DeliveryRow.next_attempt_at, DeliveryRow.claimed_until),
            else_=DeliveryRow.next_attempt_at,
        )
        with self._engine.connect() as connection:
            due: dt.datetime | None = connection.scalar(
                sa.select(sa.func.min(ready)).where(
                    DeliveryRow.status == DeliveryStatus.PENDING, ~_waits_behind_an_earlier()
                )
            )
        return due

    def release_claims(self) -> int:
        """Give up every claim this relay's worker id holds (on a clean stop, and on start
        after a crash); how many there were."""
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.claimed_by == self._policy.worker_id)
                .values(claimed_by=None, claim_token=None, claimed_until=None)
            )
        return result.rowcount

    def _claim(self, limit: int) -> list[_Claimed]:
        """The deliveries due longest whose subject has nothing older pending for the same
        subscriber, marked as ours; with their events, in order.

        Due longest, not oldest event first: the ``(status, next_attempt_at, id)`` index
        yields them in that order, so a claim reads as far as it claims however many wait,
        where ordering by event would sort every pending delivery on each claim (a month end's
        million). Order per subject is kept by :func:`_waits_behind_an_earlier`."""
        now, token = self._now(), uuid.uuid4().hex
        claimable = sa.and_(
            DeliveryRow.status == DeliveryStatus.PENDING,
            DeliveryRow.next_attempt_at <= now,
            sa.or_(DeliveryRow.claimed_until.is_(None), DeliveryRow.claimed_until < now),
        )
        blocked = _waits_behind_an_earlier()
        with self._engine.begin() as connection:
            candidates = sa.select(DeliveryRow.id).where(claimable, ~blocked)
            oldest_due = candidates.order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            query = _skip_locked(oldest_due.limit(limit), connection)
            ids = connection.execute(query).scalars().all()
            if not ids:
                return []
            connection.execute(
                sa.update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), claimable)
                .values(
                    claimed_by=self._policy.worker_id,
                    claim_token=token,
                    claimed_until=now + self._policy.lease,
                )
            )
            rows = connection.execute(
                sa.select(
                    DeliveryRow.id.label("delivery_id"),
                    DeliveryRow.subscriber,
                    DeliveryRow.attempts,
                    *_EVENT_COLUMNS,
                )
                .join(OutboxRow, OutboxRow.id == DeliveryRow.event_id)
                .where(DeliveryRow.claim_token == token)
                .order_by(DeliveryRow.event_id)
            ).mappings()
            return [
                _Claimed(row["delivery_id"], row["subscriber"], row["attempts"], _to_event(row))
                for row in rows
            ]

    def _deliver_claimed(
        self, subscriber: EventSubscriber | None, claimed: Sequence[_Claimed]
    ) -> list[_Outcome]:
        """Hand *claimed* (all for *subscriber*) over: together to a subscriber that takes
        batches, unless that fails; else one by one."""
        if isinstance(subscriber, BatchSubscriber) and len(claimed) > 1:
            try:
                subscriber.deliver_many([item.event for item in claimed])
            except Exception:
                logger.warning(
                    "delivering a batch of %d events to %s failed; delivering each on its own",
                    len(claimed),
                    subscriber.name,
                    exc_info=True,
                )
            else:
                return [_Outcome(item) for item in claimed]
        return [self._deliver_one(subscriber, item) for item in claimed]

    def _deliver_one(self, subscriber: EventSubscriber | None, claimed: _Claimed) -> _Outcome:
        try:
            if subscriber is None:
                raise LookupError(f"no subscriber {claimed.subscriber!r} is installed")
            subscriber.deliver(claimed.event)
        except Exception as exc:
            logger.warning(
                "delivering event %s to %s failed (attempt %d)",
                claimed.event.idempotency_key,
                claimed.subscriber,
                claimed.attempts + 1,
                exc_info=True,
            )
            return _Outcome(claimed, exc)
        return _Outcome(claimed)

    def _record(self, outcomes: Sequence[_Outcome]) -> None:
        """Every outcome of one pass in one transaction: delivered, retried later, or parked.

        Marking delivered does not check the claim: if it expired meanwhile and another relay
        delivered too, the event went out twice, which idempotency keys absorb.
        """
        now = self._now()
        delivered = [o.claimed.delivery_id for o in outcomes if o.error is None]
        with self._engine.begin() as connection:
            if delivered:
                connection.execute(
                    sa.update(DeliveryRow)
                    .where(DeliveryRow.id.in_(delivered))
                    .values(
                        status=DeliveryStatus.DELIVERED,
                        attempts=DeliveryRow.attempts + 1,
                        last_error=None,
                        delivered_at=now,
                        claimed_by=None,
                        claim_token=None,
                        claimed_until=None,
                    )
                )
            for outcome in outcomes:
                if outcome.error is not None:
                    connection.execute(self._failure(outcome, now))

    def _failure(self, outcome: _Outcome, now: dt.datetime) -> sa.Update:
        attempts = outcome.claimed.attempts + 1
        parked = attempts >= self._policy.max_attempts
        if parked:
            logger.error(
                "event %s is parked for %s after %d attempts",
                outcome.claimed.event.idempotency_key,
                outcome.claimed.subscriber,
                attempts,
            )
        return (
            sa.update(DeliveryRow)
            .where(DeliveryRow.id == outcome.claimed.delivery_id)
            .values(
                status=DeliveryStatus.PARKED if parked else DeliveryStatus.PENDING,
                attempts=attempts,
                last_error=_error_text(outcome.error or RuntimeError()),
                next_attempt_at=now + self._policy.backoff(attempts),
                claimed_by=None,
                claim_token=None,
                claimed_until=None,
            )
        )


def _by_subscriber(claimed: Iterable[_Claimed]) -> dict[str, list[_Claimed]]:
    """*claimed* by subscriber, each subscriber's in the order claimed."""
    grouped: dict[str, list[_Claimed]] = {}
    for item in claimed:
        grouped.setdefault(item.subscriber, []).append(item)
    return grouped


_DELIVERY_COLUMNS: Final = (
    DeliveryRow.id,
    DeliveryRow.subscriber,
    DeliveryRow.status,
    DeliveryRow.attempts,
    DeliveryRow.next_attempt_at,
    DeliveryRow.last_error,
    DeliveryRow.delivered_at,
    OutboxRow.idempotency_key,
    OutboxRow.name.label("event_name"),
    OutboxRow.subject,
    OutboxRow.subject_id,
    OutboxRow.occurred_at,
)


def _delivery(row: sa.RowMapping) -> Delivery:
    return Delivery(
        id=str(row["id"]),
        subscriber=row["subscriber"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        event_key=row["idempotency_key"],
        event_name=row["event_name"],
        subject=row["subject"],
        subject_id=row["subject_id"],
        occurred_at=row["occurred_at"],
    )


_DELIVERY_KEY: Final = re.compile("[0-9]{1,18}")
"""A delivery id as the table stores it: a bigint, so at most 18 decimal digits."""


def _delivery_key(delivery_id: str) -> int:
    """The row id *delivery_id* names; anything that could not be one is not found."""
    if _DELIVERY_KEY.fullmatch(delivery_id) is None:
        raise NotFoundError("delivery", delivery_id)
    return int(delivery_id)


@repository("event_log")
class EventLog:
    """Committed events read back in the order they were written, for clients that follow
    them (a status stream)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def last_position(self) -> int:
        """The position of the newest event; 0 when there is none."""
        return int(self._session.scalar(sa.select(sa.func.max(OutboxRow.id))) or 0)

    def after(
        self, subjects: Sequence[str], position: int, limit: int
    ) -> list[tuple[int, DomainEvent]]:
        """Up to *limit* events about *subjects* past *position*, oldest first, each with
        its own position."""
        return self._page(OutboxRow.subject.in_(subjects), position, limit)

    def named_after(
        self, names: Collection[str], position: int, limit: int
    ) -> list[tuple[int, DomainEvent]]:
        """Up to *limit* events named one of *names* past *position*, oldest first, each
        with its own position."""
        return self._page(OutboxRow.name.in_(sorted(names)), position, limit)

    def _page(self, which: Any, position: int, limit: int) -> list[tuple[int, DomainEvent]]:
        statement = (
            sa.select(*_EVENT_COLUMNS)
            .where(OutboxRow.id > position, which)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        rows = self._session.execute(statement).mappings()
        return [(int(row["id"]), _to_event(row)) for row in rows]


@repository("deliveries")
class DeliveryRepository:
    """Deliveries as administrators see them: listed, and parked ones retried or discarded."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _select(self) -> Any:
        query: Any = sa.select(*_DELIVERY_COLUMNS)
        return query.join(OutboxRow, OutboxRow.id == DeliveryRow.event_id)

    def get(self, delivery_id: str) -> Delivery:
        row = (
            self._session.connection()
            .execute(self._select().where(DeliveryRow.id == _delivery_key(delivery_id)))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundError("delivery", delivery_id)
        return _delivery(row)

    def page(
        self, query: DeliveryQuery, *, after: str | None = None, limit: int = 50
    ) -> Page[Delivery]:
        criteria = []
        if query.status is not None:
            criteria.append(DeliveryRow.status == query.status)
        if query.subscriber is not None:
            criteria.append(DeliveryRow.subscriber == query.subscriber)
        if after is not None:
            if _DELIVERY_KEY.fullmatch(after) is None:
                raise ValidationError.single("after", "not a cursor this server gave")
            criteria.append(DeliveryRow.id > int(after))
        rows = (
            self._session.connection()
            .execute(self._select().where(*criteria).order_by(DeliveryRow.id).limit(limit + 1))
            .mappings()
            .all()
        )
        items = [_delivery(row) for row in rows[:limit]]
        return Page(items, items[-1].id if len(rows) > limit else None)

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each status."""
        rows = self._session.connection().execute(
            sa.select(DeliveryRow.status, sa.func.count()).group_by(DeliveryRow.status)
        )
        return {str(status): int(count) for status, count in rows}

    def settle_parked(self, delivery_id: str, status: DeliveryStatus, at: dt.datetime) -> None:
        """Send a parked delivery back to pending (due at *at*, attempts counted afresh) or
        mark it discarded; a delivery that is not parked is a conflict."""
        values: dict[str, object] = {"status": status}
        if status is DeliveryStatus.PENDING:
            values |= {"attempts": 0, "next_attempt_at": at}
        result = self._session.connection().execute(
            sa.update(DeliveryRow)
            .where(
                DeliveryRow.id == _delivery_key(delivery_id),
                DeliveryRow.status == DeliveryStatus.PARKED,
            )
            .values(values)
        )
        if result.rowcount != 1:
            current = self.get(delivery_id)
            raise ConflictError(f"delivery {delivery_id} is {current.status}, not parked")
