"""The unit of work: one transaction, its repositories, and the events it records.

Events passed to :meth:`SqlUnitOfWork.record` are written at :meth:`~SqlUnitOfWork.commit`,
to the outbox (with their place in the fan-out queue) and to the audit log, in the same
transaction as the changes they describe: either all of it is committed or none of it. None of
these writes takes a lock another writer waits for: the outbox and the log are appended to,
and chaining the log happens afterwards (:mod:`leasekit.store.audit`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from leasekit.domain.events import DomainEvent
from leasekit.errors import ConflictError
from leasekit.services.storage import AuditRecord
from leasekit.store import tables  # noqa: F401 - loads every feature's repositories
from leasekit.store.audit import AuditAction, entries_for
from leasekit.store.audit import append as append_audit_entries
from leasekit.store.database import inserted_ids
from leasekit.store.outbox import OutboxPendingRow, OutboxRow, outbox_values
from leasekit.store.repository import REPOSITORIES, repository
from leasekit.store.types import CanonicalText

__all__ = ["SqlUnitOfWork", "audit_details", "session_factory", "unit_of_work_factory"]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions as the store uses them: no autoflush (repositories write with statements)
    and no expiry on commit (what was read stays readable after the transaction)."""
    return sessionmaker(engine, autoflush=False, expire_on_commit=False)


def audit_details(event: DomainEvent, payload: CanonicalText) -> CanonicalText:
    """What the audit log keeps of an event besides actor, action (its name) and subject:
    its payload (from/to state, action and reason for a transition), its business date and
    the idempotency key that ties the entry to the outbox row; as canonical JSON, around the
    *payload*'s text made for the outbox row ("payload" sorts after the other keys)."""
    head = CanonicalText.of_flat(
        {"business_date": event.business_date.isoformat(), "idempotency_key": event.idempotency_key}
    )
    return CanonicalText(f'{head[:-1]},"payload":{payload}}}')


@repository("audit")
class AuditTrailRepository:
    """Read access to the audit log; writing happens only through ``uow.record``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def for_subject(self, subject: str, subject_id: str) -> list[AuditRecord]:
        return entries_for(self._session, subject, subject_id)


class SqlUnitOfWork:
    """:class:`leasekit.services.storage.UnitOfWork` on SQLAlchemy.

    Use once per command: ``with factory() as uow: ...; uow.commit()``. Leaving the block
    without committing rolls back.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self._events: list[DomainEvent] = []
        self._repositories: dict[str, object] = {}
        self.token_id: str | None = None

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is not reentrant; open a new one")
        self._session = self._sessions()
        self._events = []
        self._repositories = {}
        return self

    def __getattr__(self, name: str) -> Any:
        """``uow.<name>``: the repository registered under *name* (see
        :func:`~leasekit.store.repository.repository`), made on first use on this session."""
        if name.startswith("_") or name not in REPOSITORIES:
            raise AttributeError(f"a unit of work has no repository {name!r}")
        if name not in self._repositories:
            self._repositories[name] = REPOSITORIES[name](self._active())
        return self._repositories[name]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._active(), None
        self._events = []
        self._repositories = {}
        try:
            session.rollback()
        finally:
            session.close()

    def _active(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its with block")
        return self._session

    def record(self, event: DomainEvent) -> None:
        self._active()
        self._events.append(event)

    def commit(self) -> None:
        session = self._active()
        events, self._events = self._events, []
        if events:
            self._write_events(session, events)
        session.commit()

    def rollback(self) -> None:
        self._events = []
        self._active().rollback()

    def _write_events(self, session: Session, events: list[DomainEvent]) -> None:
        """Outbox rows and their queue places, then audit entries: four statements. Each
        payload is serialised once, for its outbox row and its audit entry alike."""
        connection = session.connection()
        payloads = [CanonicalText.of_flat(event.payload) for event in events]
        rows = list(map(outbox_values, events, payloads))
        try:
            ids = inserted_ids(connection, OutboxRow.id, rows)
        except IntegrityError as exc:
            keys = ", ".join(event.idempotency_key for event in events)
            raise ConflictError(f"an idempotency key was used before: one of {keys}") from exc
        connection.execute(sa.insert(OutboxPendingRow), [{"event_id": id_} for id_ in ids])
        append_audit_entries(
            session,
            [
                AuditAction(
                    at=event.occurred_at,
                    actor_id=event.actor_id,
                    action=event.name,
                    subject=event.subject,
                    subject_id=event.subject_id,
                    details=audit_details(event, payload),
                    token_id=self.token_id,
                )
                for event, payload in zip(events, payloads, strict=True)
            ],
        )


def unit_of_work_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """What services hold as ``ctx.uow_factory``: each call is a fresh unit of work."""
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions)
