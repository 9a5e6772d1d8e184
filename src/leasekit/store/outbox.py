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
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from leasekit.domain.events import DomainEvent, StateChanged
from leasekit.store.tables import OutboxRow

__all__ = ["DEFAULT_LEASE", "EVENT_TYPES", "OutboxRelay", "outbox_values"]

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
