"""The transactional outbox and the relay that empties it.

Events are written to ``outbox`` in the transaction that makes the change they describe
(:meth:`leasekit.store.uow.SqlUnitOfWork.record`), so an event exists if and only if its
change was committed. :class:`OutboxRelay` delivers them afterwards, at least once: a row is
marked delivered only after ``deliver`` returned, so a crash in between delivers it again,
and every event carries its idempotency key so receivers can drop the repeat.

Rows are claimed before delivery with a compare-and-set on ``claim_token``/``claimed_until``
(portable; on PostgreSQL the candidates are also locked with ``FOR UPDATE SKIP LOCKED`` so
relays do not queue behind each other). A claim is a lease: a relay that died mid-batch
holds its rows only until ``claimed_until``, then another relay takes them over.

Order: a relay delivers its batch in the order the events were recorded. When delivery
fails, later events of the same subject in that batch are held back until the failed one
goes through, so one object's events never overtake each other within a relay; events of
other subjects carry on. Relays running side by side deliver disjoint batches, so across
relays the order is only approximately that of recording.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from leasekit.domain.events import DomainEvent, StateChanged
from leasekit.store.tables import OutboxRow

__all__ = ["DEFAULT_LEASE", "EVENT_TYPES", "OutboxRelay", "OutboxWorker", "outbox_values"]

logger = logging.getLogger(__name__)

DEFAULT_LEASE: Final = dt.timedelta(minutes=5)
"""How long a claim holds; longer than any delivery should take."""
EVENT_TYPES: Final[dict[str, type[DomainEvent]]] = {
    "domain_event": DomainEvent,
    "state_changed": StateChanged,
}
"""Event classes by their name in ``outbox.event_type``: delivery rebuilds the class recorded."""
_TYPE_NAMES: Final = {cls: name for name, cls in EVENT_TYPES.items()}
_MAX_ERROR: Final = 2000
_Query = TypeVar("_Query", bound=sa.Select[Any])


def outbox_values(event: DomainEvent) -> dict[str, object]:
    """The column values of a new, undelivered outbox row for *event*."""
    return {
        "idempotency_key": event.idempotency_key,
        "event_type": _TYPE_NAMES.get(type(event), "domain_event"),
        "name": event.name,
        "subject": event.subject,
        "subject_id": event.subject_id,
        "payload": dict(event.payload),
        "occurred_at": event.occurred_at,
        "business_date": event.business_date,
        "actor_id": event.actor_id,
        "attempts": 0,
    }


def _to_event(row: OutboxRow) -> DomainEvent:
    event_class = EVENT_TYPES.get(row.event_type, DomainEvent)
    return event_class(
        name=row.name,
        subject=row.subject,
        subject_id=row.subject_id,
        payload=row.payload,
        occurred_at=row.occurred_at,
        business_date=row.business_date,
        actor_id=row.actor_id,
        idempotency_key=row.idempotency_key,
    )


@attrs.frozen
class _Claimed:
    id: int
    event: DomainEvent


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _claimable(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Undelivered rows that nobody holds a live claim on."""
    return sa.and_(
        OutboxRow.delivered_at.is_(None),
        sa.or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
    )


def _lock_candidates(query: _Query, session: Session) -> _Query:
    """On PostgreSQL, lock the candidate rows and skip those another relay is claiming.

    SQLite has a single writer and no row locks; the compare-and-set in the claim is what
    keeps two relays apart there (and is kept on PostgreSQL too).
    """
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]


class OutboxRelay:
    """Delivers committed events to *deliver*, oldest first, at least once.

    *source* is an engine or a session factory bound to one. *now* is the clock used for
    claims and delivery times (injectable so tests can expire a lease).
    """

    def __init__(
        self,
        source: Engine | sessionmaker[Session],
        deliver: Callable[[DomainEvent], None],
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self._sessions = sessionmaker(source) if isinstance(source, Engine) else source
        self._deliver = deliver
        self._lease = lease
        self._now = now

    def deliver_pending(self, limit: int = 100) -> int:
        """Deliver up to *limit* pending events; return how many were delivered.

        A failing delivery is recorded on its row (``attempts`` + 1, ``last_error``) and the
        row stays pending for the next run; the exception is logged, not raised, so one bad
        receiver cannot stop the others' events.
        """
        token = uuid.uuid4().hex
        held: set[tuple[str, str]] = set()
        delivered = 0
        for claimed in self._claim(token, limit):
            subject = (claimed.event.subject, claimed.event.subject_id)
            if subject in held:
                self._release(claimed.id, token)
            elif self._deliver_one(claimed, token):
                delivered += 1
            else:
                held.add(subject)
        return delivered

    def _claim(self, token: str, limit: int) -> Sequence[_Claimed]:
        """Mark up to *limit* of the oldest claimable rows as ours; return them in order."""
        now = self._now()
        with self._sessions.begin() as session:
            candidates = sa.select(OutboxRow.id).where(_claimable(now)).order_by(OutboxRow.id)
            ids = session.scalars(_lock_candidates(candidates.limit(limit), session)).all()
            if not ids:
                return []
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id.in_(ids), _claimable(now))
                .values(claim_token=token, claimed_until=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            rows = session.scalars(
                sa.select(OutboxRow)
                .where(OutboxRow.claim_token == token)
                .order_by(OutboxRow.id)
                .execution_options(populate_existing=True)
            ).all()
            return [_Claimed(row.id, _to_event(row)) for row in rows]

    def _deliver_one(self, claimed: _Claimed, token: str) -> bool:
        try:
            self._deliver(claimed.event)
        except Exception as exc:
            logger.warning(
                "delivering event %s failed; it stays pending",
                claimed.event.idempotency_key,
                exc_info=True,
            )
            self._record_failure(claimed.id, token, exc)
            return False
        self._mark_delivered(claimed.id)
        return True

    def _mark_delivered(self, row_id: int) -> None:
        """Done, even if our claim expired meanwhile: a second delivery is then already due."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.delivered_at.is_(None))
                .values(
                    delivered_at=self._now(),
                    attempts=OutboxRow.attempts + 1,
                    last_error=None,
                    claim_token=None,
                    claimed_until=None,
                )
                .execution_options(synchronize_session=False)
            )

    def _record_failure(self, row_id: int, token: str, exc: Exception) -> None:
        with self._sessions.begin() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.claim_token == token)
                .values(
                    attempts=OutboxRow.attempts + 1,
                    last_error=_error_text(exc),
                    claim_token=None,
                    claimed_until=None,
                )
                .execution_options(synchronize_session=False)
            )

    def _release(self, row_id: int, token: str) -> None:
        """Give a held-back row up without counting an attempt."""
        with self._sessions.begin() as session:
            session.execute(
                sa.update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.claim_token == token)
                .values(claim_token=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )


class OutboxWorker:
    """Runs an :class:`OutboxRelay` on a thread of its own, woken after each command.

    Delivery then never adds to a command's latency (on SQLite it costs two more committed
    transactions, more than the command itself), and a burst of commands is delivered in
    batches. Without a wake-up it still makes a pass every *retry_every* seconds, so an event
    whose receiver was down goes out once it is back. :meth:`drain` waits until everything
    pending when it was called has been attempted; :meth:`stop` does a last pass and ends the
    thread, so a process that closes its runtime leaves nothing undelivered that could have
    gone out.
    """

    def __init__(self, relay: OutboxRelay, *, batch: int = 100, retry_every: float = 30.0) -> None:
        self._relay = relay
        self._batch = batch
        self._retry_every = retry_every
        self._changed = threading.Condition()
        self._requested = 0
        """Passes asked for (each wake-up, drain or stop asks for one)."""
        self._completed = 0
        """The highest request a finished pass covered."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="leasekit-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a delivery pass soon; returns at once."""
        self._request()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until a pass that started after this call has finished; False on timeout."""
        wanted = self._request()
        with self._changed:
            return self._changed.wait_for(lambda: self._completed >= wanted, timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Deliver what is pending, then end the thread."""
        with self._changed:
            self._stopping = True
        self._request()
        self._thread.join(timeout)

    def _request(self) -> int:
        with self._changed:
            self._requested += 1
            self._changed.notify_all()
            return self._requested

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._requested > self._completed, self._retry_every)
                covered, stopping = self._requested, self._stopping
            self._deliver_all()
            with self._changed:
                self._completed = covered
                self._changed.notify_all()
            if stopping:
                return

    def _deliver_all(self) -> None:
        """Deliver batch after batch until one comes back short (nothing more to deliver, or
        only failures, which wait for the next pass)."""
        try:
            while self._relay.deliver_pending(self._batch) == self._batch:
                pass
        except Exception:
            logger.exception("outbox delivery failed; events stay pending")
