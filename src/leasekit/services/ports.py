"""What the use cases need from storage, as Protocols, so that services stay free of SQLAlchemy.

A use case opens one unit of work per command, loads aggregates through its repositories,
calls domain methods, records the events they return and commits once::

    with ctx.uow_factory() as uow:
        application = uow.applications.get(application_id)
        event = application.apply("submit", actor, at=now, business_date=today)
        uow.applications.update(application)
        uow.record(event)
        uow.commit()

Leaving the block without ``commit()`` rolls everything back, events included. Repositories
never commit. ``update`` is a compare-and-set on the entity's ``version``: it raises
``ConflictError`` when someone else changed the row since it was read (re-read and retry) and
bumps ``entity.version`` on success. ``get`` raises ``NotFoundError(kind, id)``. A write that
breaks a uniqueness or reference rule of the database raises ``ConflictError``; check first
where a friendlier error is wanted, the database is the backstop for races.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import attrs

from leasekit.domain.applications import Application
from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.contracts import Contract, Payment, Receivable
from leasekit.domain.customers import Customer
from leasekit.domain.documents import Document
from leasekit.domain.events import DomainEvent
from leasekit.domain.exception_requests import ExceptionRequest
from leasekit.domain.identity import User
from leasekit.domain.partners import Partner
from leasekit.domain.vehicles import Vehicle
from leasekit.domain.vouchers import Voucher

__all__ = [
    "ApiToken",
    "ApplicationRepository",
    "ApprovalTaskRepository",
    "AuditRecord",
    "AuditTrail",
    "ContractRepository",
    "CustomerRepository",
    "DocumentRepository",
    "ExceptionRequestRepository",
    "IdempotencyRepository",
    "IdempotentRequest",
    "InsertOnlyRepository",
    "PartnerRepository",
    "PaymentRepository",
    "ReceivableRepository",
    "Repository",
    "TokenRepository",
    "UnitOfWork",
    "UserRepository",
    "VehicleRepository",
    "VoucherRepository",
    "hash_token",
]

E = TypeVar("E")


def hash_token(token: str) -> str:
    """The form a login token is stored and looked up in: SHA-256, hex.

    Tokens are long random strings, so a plain hash is enough (no salt or slow hash: there is
    no dictionary to guess from) and a stolen table reveals no usable token.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@attrs.frozen
class ApiToken:
    """A user's login token as stored: only its hash, never the text."""

    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@attrs.frozen
class IdempotentRequest:
    """A retried command's first outcome: which object the request with this key made."""

    user_id: str
    key: str
    request_hash: str
    """Fingerprint of the request, so a key reused for a different request is caught."""
    subject: str
    subject_id: str
    created_at: datetime


@attrs.frozen
class AuditRecord:
    """One entry of the audit log as services read it back."""

    seq: int
    at: datetime
    actor_id: str | None
    action: str
    subject: str
    subject_id: str
    details: Mapping[str, Any]


class InsertOnlyRepository(Protocol[E]):
    """Get and add for records that are never changed once written."""

    def get(self, entity_id: str) -> E:
        """The entity; ``NotFoundError(kind, entity_id)`` if there is none."""
        ...

    def add(self, entity: E) -> None:
        """Insert a new entity (its ``version`` as given, normally 0)."""
        ...


class Repository(InsertOnlyRepository[E], Protocol):
    """Get, add and compare-and-set update of one kind of entity."""

    def update(self, entity: E) -> None:
        """Store *entity* if its ``version`` is still current, then increment the version."""
        ...


class UserRepository(Repository[User], Protocol):
    def find_by_username(self, username: str) -> User | None: ...

    def all(self) -> list[User]: ...


class TokenRepository(Protocol):
    """Login tokens; looked up by hash (:func:`hash_token`), revoked but never deleted."""

    def add(self, token: ApiToken) -> None: ...

    def find_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token with this hash, revoked or not."""
        ...

    def revoke(self, token_id: str, at: datetime) -> None:
        """Revoke the token from *at* on; revoking twice keeps the first time."""
        ...

    def list_for_user(self, user_id: str) -> list[ApiToken]: ...


class IdempotencyRepository(Protocol):
    """Idempotency keys, per user; written in the transaction of the command they guard."""

    def find(self, user_id: str, key: str) -> IdempotentRequest | None: ...

    def add(self, request: IdempotentRequest) -> None:
        """Remember *request*; ``ConflictError`` if a concurrent request took the key first."""
        ...


class CustomerRepository(Repository[Customer], Protocol):
    def all(self, *, partner_id: str | None = None) -> list[Customer]:
        """Oldest first; only those of *partner_id* when given."""
        ...

    def find_by_id_number(self, country: str, id_number: str) -> list[Customer]:
        """Customers registered with this official number (one per partner at most, usually)."""
        ...


class VehicleRepository(Repository[Vehicle], Protocol):
    def all(self, *, partner_id: str | None = None) -> list[Vehicle]: ...

    def find_by_vin(self, vin: str) -> list[Vehicle]: ...


class PartnerRepository(Repository[Partner], Protocol):
    def all(self, *, state: str | None = None) -> list[Partner]: ...

    def find_by_registration_number(self, country: str, number: str) -> Partner | None:
        """The partner onboarded with this company code, if any (there is one at most)."""
        ...


class ApplicationRepository(Repository[Application], Protocol):
    def all(
        self, *, partner_id: str | None = None, state: str | None = None
    ) -> list[Application]: ...


class DocumentRepository(InsertOnlyRepository[Document], Protocol):
    def list_for_owner(self, owner_kind: str, owner_id: str) -> list[Document]:
        """Oldest upload first."""
        ...


class ApprovalTaskRepository(Repository[ApprovalTask], Protocol):
    def list_for_application(self, application_id: str) -> list[ApprovalTask]: ...

    def all(self, *, state: str | None = None, tier: str | None = None) -> list[ApprovalTask]: ...


class ContractRepository(Repository[Contract], Protocol):
    def all(self, *, partner_id: str | None = None, state: str | None = None) -> list[Contract]: ...

    def list_for_application(self, application_id: str) -> list[Contract]: ...


class ReceivableRepository(Repository[Receivable], Protocol):
    def add_many(self, lines: Iterable[Receivable]) -> None:
        """Insert a whole schedule in one statement."""
        ...

    def list_for_contract(self, contract_id: str) -> list[Receivable]:
        """In schedule order."""
        ...

    def list_due(self, on_or_before: date) -> list[Receivable]: ...


class PaymentRepository(Repository[Payment], Protocol):
    def list_for_contract(self, contract_id: str) -> list[Payment]: ...

    def find_by_reference(self, reference: str) -> list[Payment]: ...


class ExceptionRequestRepository(Repository[ExceptionRequest], Protocol):
    def all(self, *, state: str | None = None) -> list[ExceptionRequest]: ...

    def list_for_payment(self, payment_id: str) -> list[ExceptionRequest]: ...


class VoucherRepository(Protocol):
    """The journal: append-only, so there is no update and no delete."""

    def add(self, voucher: Voucher) -> None:
        """Post *voucher*; ``ConflictError`` if its source key or reversal target is taken."""
        ...

    def get(self, voucher_id: str) -> Voucher: ...

    def find_by_source_key(self, source_key: str) -> Voucher | None: ...

    def find_reversal(self, voucher_id: str) -> Voucher | None: ...

    def list_for_date(self, business_date: date) -> list[Voucher]: ...


class AuditTrail(Protocol):
    """Reading the audit log inside a unit of work."""

    def for_subject(self, subject: str, subject_id: str) -> Sequence[AuditRecord]:
        """Every entry about one object, oldest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction and the repositories that work inside it."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def vehicles(self) -> VehicleRepository: ...

    @property
    def partners(self) -> PartnerRepository: ...

    @property
    def applications(self) -> ApplicationRepository: ...

    @property
    def documents(self) -> DocumentRepository: ...

    @property
    def approval_tasks(self) -> ApprovalTaskRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def receivables(self) -> ReceivableRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def vouchers(self) -> VoucherRepository: ...

    @property
    def exception_requests(self) -> ExceptionRequestRepository: ...

    @property
    def audit(self) -> AuditTrail: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and release the connection."""
        ...

    def commit(self) -> None:
        """Write the recorded events (outbox and audit log) and commit everything at once."""
        ...

    def rollback(self) -> None:
        """Undo everything since the last commit, including recorded events."""
        ...

    def record(self, event: DomainEvent) -> None:
        """Have *event* written to the outbox and the audit log when the work is committed."""
        ...
