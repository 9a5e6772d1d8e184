"""The unit of work: one transaction, its repositories, and the events it records.

Events passed to :meth:`SqlUnitOfWork.record` are written at :meth:`~SqlUnitOfWork.commit`,
to the outbox and to the audit log, in the same transaction as the changes they describe:
either all of it is committed or none of it. Writing them last means the audit chain head,
which every recording transaction must hold (see :mod:`leasekit.store.audit`), is held only
for the instant before ``COMMIT``, and is always the last lock a transaction takes, so
transactions cannot deadlock over it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from leasekit.domain.events import DomainEvent
from leasekit.errors import ConflictError
from leasekit.store.audit import AuditAction
from leasekit.store.audit import append as append_audit_entries
from leasekit.store.outbox import outbox_values
from leasekit.store.repositories import (
    ApplicationRepository,
    ApprovalTaskRepository,
    AuditTrailRepository,
    ContractRepository,
    CustomerRepository,
    DocumentRepository,
    ExceptionRequestRepository,
    IdempotencyRepository,
    PartnerRepository,
    PaymentRepository,
    ReceivableRepository,
    TokenRepository,
    UserRepository,
    VehicleRepository,
    VoucherRepository,
)
from leasekit.store.tables import OutboxRow
from leasekit.store.types import JsonValue

__all__ = ["SqlUnitOfWork", "audit_details", "session_factory", "unit_of_work_factory"]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions as the store uses them: no autoflush (repositories write with statements)
    and no expiry on commit (what was read stays readable after the transaction)."""
    return sessionmaker(engine, autoflush=False, expire_on_commit=False)


def audit_details(event: DomainEvent) -> dict[str, JsonValue]:
    """What the audit log keeps of an event besides actor, action (its name) and subject:
    its payload (from/to state, action and reason for a transition), its business date and
    the idempotency key that ties the entry to the outbox row."""
    return {
        "business_date": event.business_date.isoformat(),
        "idempotency_key": event.idempotency_key,
        "payload": dict(event.payload),
    }


class SqlUnitOfWork:
    """:class:`leasekit.services.ports.UnitOfWork` on SQLAlchemy.

    Use once per command: ``with factory() as uow: ...; uow.commit()``. Leaving the block
    without committing rolls back.
    """

    users: UserRepository
    tokens: TokenRepository
    idempotency: IdempotencyRepository
    customers: CustomerRepository
    vehicles: VehicleRepository
    partners: PartnerRepository
    applications: ApplicationRepository
    documents: DocumentRepository
    approval_tasks: ApprovalTaskRepository
    contracts: ContractRepository
    receivables: ReceivableRepository
    payments: PaymentRepository
    vouchers: VoucherRepository
    exception_requests: ExceptionRequestRepository
    audit: AuditTrailRepository

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self._events: list[DomainEvent] = []

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work is not reentrant; open a new one")
        session = self._sessions()
        self._session = session
        self._events = []
        self.users = UserRepository(session)
        self.tokens = TokenRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.customers = CustomerRepository(session)
        self.vehicles = VehicleRepository(session)
        self.partners = PartnerRepository(session)
        self.applications = ApplicationRepository(session)
        self.documents = DocumentRepository(session)
        self.approval_tasks = ApprovalTaskRepository(session)
        self.contracts = ContractRepository(session)
        self.receivables = ReceivableRepository(session)
        self.payments = PaymentRepository(session)
        self.vouchers = VoucherRepository(session)
        self.exception_requests = ExceptionRequestRepository(session)
        self.audit = AuditTrailRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._active(), None
        self._events = []
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
            _write_events(session, events)
        session.commit()

    def rollback(self) -> None:
        self._events = []
        self._active().rollback()


def _write_events(session: Session, events: list[DomainEvent]) -> None:
    """Outbox rows, then audit entries, each in one statement, inside the current transaction."""
    try:
        session.connection().execute(
            sa.insert(OutboxRow), [outbox_values(event) for event in events]
        )
    except IntegrityError as exc:
        keys = ", ".join(event.idempotency_key for event in events)
        raise ConflictError(f"an idempotency key was used before: one of {keys}") from exc
    append_audit_entries(
        session,
        [
            AuditAction(
                at=event.occurred_at,
                actor_id=event.actor_id,
                action=event.name,
                subject=event.subject,
                subject_id=event.subject_id,
                details=audit_details(event),
            )
            for event in events
        ],
    )


def unit_of_work_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """What services hold as ``ctx.uow_factory``: each call is a fresh unit of work."""
    sessions = session_factory(engine)
    return lambda: SqlUnitOfWork(sessions)
