"""Repositories: aggregates in and out of the tables, inside a session they never commit.

Each aggregate's row ↔ domain mapping lives in two functions next to its repository
(``_<aggregate>_columns`` and ``_<aggregate>_from_row``) and nowhere else. Reads load rows
with ``populate_existing``, so a row changed by an ``UPDATE`` statement earlier in the same
session is never served stale from the identity map; writes are plain ``INSERT``/``UPDATE``
statements, so nothing is flushed behind the caller's back. Bulk writes (schedule lines,
journal lines) are one executemany ``INSERT``.

``update`` is compare-and-set: ``UPDATE ... SET version = version + 1 WHERE id = :id AND
version = :read_version``. A row count of zero means the row changed or vanished since it was
read: ``ConflictError`` or ``NotFoundError``. This works the same on SQLite, which has no row
locks, and on PostgreSQL. A write breaking a database rule (a taken username, a reference to
nothing) raises ``ConflictError``; on PostgreSQL the transaction is then unusable, so the
caller abandons the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from leasekit.domain.applications import Application, RequestedTerms
from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.contracts import Contract, Payment, Receivable
from leasekit.domain.customers import Customer
from leasekit.domain.documents import Document
from leasekit.domain.exception_requests import ExceptionRequest
from leasekit.domain.identity import User
from leasekit.domain.partners import Partner
from leasekit.domain.vehicles import Vehicle
from leasekit.domain.vouchers import JournalLine, Voucher
from leasekit.errors import ConflictError, NotFoundError
from leasekit.money import Money
from leasekit.services.ports import ApiToken, AuditRecord, IdempotentRequest
from leasekit.store import audit
from leasekit.store.tables import (
    ApiTokenRow,
    ApplicationRow,
    ApprovalTaskRow,
    ContractRow,
    CustomerRow,
    DocumentRow,
    EntityRow,
    ExceptionRequestRow,
    IdempotencyKeyRow,
    PartnerRow,
    PaymentRow,
    ReceivableRow,
    UserRow,
    VehicleRow,
    VoucherLineRow,
    VoucherRow,
)

__all__ = [
    "ApplicationRepository",
    "ApprovalTaskRepository",
    "AuditTrailRepository",
    "ContractRepository",
    "CustomerRepository",
    "DocumentRepository",
    "ExceptionRequestRepository",
    "IdempotencyRepository",
    "InsertOnlyRepository",
    "PartnerRepository",
    "PaymentRepository",
    "ReceivableRepository",
    "SqlRepository",
    "TokenRepository",
    "UserRepository",
    "VehicleRepository",
    "VoucherRepository",
]


class _Versioned(Protocol):
    id: str
    version: int


E = TypeVar("E", bound=_Versioned)
R = TypeVar("R", bound=EntityRow)
Columns = dict[str, Any]

_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
"""PostgreSQL's serialization failure and deadlock: the transaction lost a race, and like a
failed compare-and-set, the answer is to re-read and retry."""


def _optional_money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _optional_amount(money: Money | None) -> Decimal | None:
    return None if money is None else money.amount


def _conflict(kind: str, key: object, exc: IntegrityError) -> ConflictError:
    """A database rule broken by a write, as the error services understand."""
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return ConflictError(f"cannot store {kind} {key!r}: {detail}")


def _write(
    session: Session,
    kind: str,
    key: object,
    statement: sa.Executable,
    rows: Sequence[Columns] | None = None,
) -> int:
    """Execute an INSERT or UPDATE (executemany with *rows*); return the row count."""
    try:
        return session.connection().execute(statement, rows).rowcount
    except IntegrityError as exc:
        raise _conflict(kind, key, exc) from exc
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            raise ConflictError(
                f"{kind} {key!r} is being changed by a concurrent transaction; try again"
            ) from exc
        raise


class InsertOnlyRepository(Generic[E, R]):
    """Get, add and ordered listing for one entity table.

    Subclasses pass the entity's kind (named in errors), its row class, its two mapping
    functions and the columns that order a listing; they add only their own queries.
    """

    def __init__(
        self,
        session: Session,
        kind: str,
        row_type: type[R],
        to_columns: Callable[[E], Columns],
        from_row: Callable[[R], E],
        order_by: Sequence[InstrumentedAttribute[Any]],
    ) -> None:
        self._session = session
        self._kind = kind
        self._row_type = row_type
        self._to_columns = to_columns
        self._from_row = from_row
        self._order_by = (*order_by, row_type.id)

    def get(self, entity_id: str) -> E:
        row = self._session.get(self._row_type, entity_id, populate_existing=True)
        if row is None:
            raise NotFoundError(self._kind, entity_id)
        return self._from_row(row)

    def add(self, entity: E) -> None:
        statement = sa.insert(self._row_type).values(self._row_values(entity))
        _write(self._session, self._kind, entity.id, statement)

    def _row_values(self, entity: E) -> Columns:
        """Every column of *entity*'s new row, id and version included."""
        return {**self._to_columns(entity), "id": entity.id, "version": entity.version}

    def _select(self, *criteria: sa.ColumnElement[bool]) -> list[E]:
        """Entities matching *criteria*, in listing order (ties broken by id, so stable)."""
        query = (
            sa.select(self._row_type)
            .where(*criteria)
            .order_by(*self._order_by)
            .execution_options(populate_existing=True)
        )
        return [self._from_row(row) for row in self._session.scalars(query)]


class SqlRepository(InsertOnlyRepository[E, R]):
    """An entity table whose rows change: adds the compare-and-set ``update``."""

    def update(self, entity: E) -> None:
        table = self._row_type
        columns = {**self._to_columns(entity), "version": entity.version + 1}
        statement = (
            sa.update(table)
            .where(table.id == entity.id, table.version == entity.version)
            .values(columns)
        )
        if _write(self._session, self._kind, entity.id, statement) != 1:
            raise self._lost_update(entity)
        entity.version += 1

    def _lost_update(self, entity: E) -> Exception:
        """Why a compare-and-set matched no row: gone, or changed since it was read."""
        current = self._session.scalar(
            sa.select(self._row_type.version).where(self._row_type.id == entity.id)
        )
        if current is None:
            return NotFoundError(self._kind, entity.id)
        return ConflictError(
            f"{self._kind} {entity.id!r} was changed by someone else (now version {current}, "
            f"read at version {entity.version}); reload it and try again"
        )


def _filters(*pairs: tuple[InstrumentedAttribute[Any], object]) -> list[sa.ColumnElement[bool]]:
    """``column == value`` for each filter given, skipping those left at None."""
    return [column == value for column, value in pairs if value is not None]


# --- users and tokens ----------------------------------------------------------------------


def _user_columns(user: User) -> Columns:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": str(user.role),
        "partner_id": user.partner_id,
        "active": user.active,
        "created_at": user.created_at,
    }


def _user_from_row(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        partner_id=row.partner_id,
        active=row.active,
        created_at=row.created_at,
        version=row.version,
    )


class UserRepository(SqlRepository[User, UserRow]):
    def __init__(self, session: Session) -> None:
        order = (UserRow.created_at,)
        super().__init__(session, "user", UserRow, _user_columns, _user_from_row, order)

    def find_by_username(self, username: str) -> User | None:
        found = self._select(UserRow.username == username)
        return found[0] if found else None

    def all(self) -> list[User]:
        return self._select()


def _token_from_row(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        token_hash=row.token_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class TokenRepository:
    """Tokens are immutable apart from revocation, so they carry no version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: ApiToken) -> None:
        statement = sa.insert(ApiTokenRow).values(
            id=token.id,
            user_id=token.user_id,
            token_hash=token.token_hash,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
        )
        _write(self._session, "api token", token.id, statement)

    def find_by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._session.scalars(
            sa.select(ApiTokenRow)
            .where(ApiTokenRow.token_hash == token_hash)
            .execution_options(populate_existing=True)
        ).one_or_none()
        return None if row is None else _token_from_row(row)

    def revoke(self, token_id: str, at: datetime) -> None:
        statement = (
            sa.update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        if _write(self._session, "api token", token_id, statement) == 0:
            found = self._session.scalar(
                sa.select(ApiTokenRow.id).where(ApiTokenRow.id == token_id)
            )
            if found is None:
                raise NotFoundError("api token", token_id)

    def list_for_user(self, user_id: str) -> list[ApiToken]:
        rows = self._session.scalars(
            sa.select(ApiTokenRow)
            .where(ApiTokenRow.user_id == user_id)
            .order_by(ApiTokenRow.created_at, ApiTokenRow.id)
            .execution_options(populate_existing=True)
        )
        return [_token_from_row(row) for row in rows]


class IdempotencyRepository:
    """Idempotency keys; immutable once written, so no version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, user_id: str, key: str) -> IdempotentRequest | None:
        row = self._session.get(IdempotencyKeyRow, (user_id, key), populate_existing=True)
        if row is None:
            return None
        return IdempotentRequest(
            user_id=row.user_id,
            key=row.key,
            request_hash=row.request_hash,
            subject=row.subject,
            subject_id=row.subject_id,
            created_at=row.created_at,
        )

    def add(self, request: IdempotentRequest) -> None:
        statement = sa.insert(IdempotencyKeyRow).values(
            user_id=request.user_id,
            key=request.key,
            request_hash=request.request_hash,
            subject=request.subject,
            subject_id=request.subject_id,
            created_at=request.created_at,
        )
        _write(self._session, "idempotency key", request.key, statement)


# --- customers, vehicles, partners -------------------------------------------------------


def _customer_columns(customer: Customer) -> Columns:
    return {
        "kind": str(customer.kind),
        "name": customer.name,
        "country": customer.country,
        "id_number": customer.id_number,
        "partner_id": customer.partner_id,
        "created_at": customer.created_at,
    }


def _customer_from_row(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        kind=row.kind,
        name=row.name,
        country=row.country,
        id_number=row.id_number,
        partner_id=row.partner_id,
        created_at=row.created_at,
        version=row.version,
    )


class CustomerRepository(SqlRepository[Customer, CustomerRow]):
    def __init__(self, session: Session) -> None:
        order = (CustomerRow.created_at,)
        super().__init__(
            session, "customer", CustomerRow, _customer_columns, _customer_from_row, order
        )

    def all(self, *, partner_id: str | None = None) -> list[Customer]:
        return self._select(*_filters((CustomerRow.partner_id, partner_id)))

    def find_by_id_number(self, country: str, id_number: str) -> list[Customer]:
        return self._select(CustomerRow.country == country, CustomerRow.id_number == id_number)


def _vehicle_columns(vehicle: Vehicle) -> Columns:
    return {
        "vin": vehicle.vin.value,
        "make": vehicle.make,
        "model": vehicle.model,
        "year": vehicle.year,
        "condition": str(vehicle.condition),
        "partner_id": vehicle.partner_id,
        "created_at": vehicle.created_at,
    }


def _vehicle_from_row(row: VehicleRow) -> Vehicle:
    return Vehicle(
        id=row.id,
        vin=row.vin,
        make=row.make,
        model=row.model,
        year=row.year,
        condition=row.condition,
        partner_id=row.partner_id,
        created_at=row.created_at,
        version=row.version,
    )


class VehicleRepository(SqlRepository[Vehicle, VehicleRow]):
    def __init__(self, session: Session) -> None:
        order = (VehicleRow.created_at,)
        super().__init__(session, "vehicle", VehicleRow, _vehicle_columns, _vehicle_from_row, order)

    def all(self, *, partner_id: str | None = None) -> list[Vehicle]:
        return self._select(*_filters((VehicleRow.partner_id, partner_id)))

    def find_by_vin(self, vin: str) -> list[Vehicle]:
        return self._select(VehicleRow.vin == vin)


def _partner_columns(partner: Partner) -> Columns:
    return {
        "name": partner.name,
        "country": partner.country,
        "registration_number": partner.registration_number,
        "currency": partner.credit_limit.currency.code,
        "credit_limit": partner.credit_limit.amount,
        "rating": None if partner.rating is None else str(partner.rating),
        "state": str(partner.state),
        "created_at": partner.created_at,
    }


def _partner_from_row(row: PartnerRow) -> Partner:
    return Partner(
        id=row.id,
        name=row.name,
        country=row.country,
        registration_number=row.registration_number,
        credit_limit=Money(row.credit_limit, row.currency),
        rating=row.rating,
        state=row.state,
        created_at=row.created_at,
        version=row.version,
    )


class PartnerRepository(SqlRepository[Partner, PartnerRow]):
    def __init__(self, session: Session) -> None:
        order = (PartnerRow.created_at,)
        super().__init__(session, "partner", PartnerRow, _partner_columns, _partner_from_row, order)

    def all(self, *, state: str | None = None) -> list[Partner]:
        return self._select(*_filters((PartnerRow.state, state)))

    def find_by_registration_number(self, country: str, number: str) -> Partner | None:
        found = self._select(
            PartnerRow.country == country, PartnerRow.registration_number == number
        )
        return found[0] if found else None


# --- origination ----------------------------------------------------------------------


def _application_columns(application: Application) -> Columns:
    terms = application.requested
    return {
        "partner_id": application.partner_id,
        "customer_id": application.customer_id,
        "vehicle_id": application.vehicle_id,
        "business_type": str(application.business_type),
        "currency": terms.vehicle_price.currency.code,
        "vehicle_price": terms.vehicle_price.amount,
        "down_payment": terms.down_payment.amount,
        "residual_value": _optional_amount(terms.residual_value),
        "term_months": terms.term_months,
        "annual_rate": terms.annual_rate,
        "state": str(application.state),
        "created_by": application.created_by,
        "created_at": application.created_at,
    }


def _application_from_row(row: ApplicationRow) -> Application:
    terms = RequestedTerms(
        vehicle_price=Money(row.vehicle_price, row.currency),
        down_payment=Money(row.down_payment, row.currency),
        term_months=row.term_months,
        annual_rate=row.annual_rate,
        residual_value=_optional_money(row.residual_value, row.currency),
    )
    return Application(
        id=row.id,
        partner_id=row.partner_id,
        customer_id=row.customer_id,
        vehicle_id=row.vehicle_id,
        business_type=row.business_type,
        requested=terms,
        state=row.state,
        created_by=row.created_by,
        created_at=row.created_at,
        version=row.version,
    )


class ApplicationRepository(SqlRepository[Application, ApplicationRow]):
    def __init__(self, session: Session) -> None:
        order = (ApplicationRow.created_at,)
        super().__init__(
            session,
            "application",
            ApplicationRow,
            _application_columns,
            _application_from_row,
            order,
        )

    def all(self, *, partner_id: str | None = None, state: str | None = None) -> list[Application]:
        return self._select(
            *_filters(
                (ApplicationRow.partner_id, partner_id),
                (ApplicationRow.state, state),
            )
        )


def _document_columns(document: Document) -> Columns:
    return {
        "owner_kind": str(document.owner_kind),
        "owner_id": document.owner_id,
        "kind": str(document.kind),
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "storage_key": document.storage_key,
        "partner_id": document.partner_id,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at,
    }


def _document_from_row(row: DocumentRow) -> Document:
    return Document(
        id=row.id,
        owner_kind=row.owner_kind,
        owner_id=row.owner_id,
        kind=row.kind,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        storage_key=row.storage_key,
        partner_id=row.partner_id,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        version=row.version,
    )


class DocumentRepository(InsertOnlyRepository[Document, DocumentRow]):
    """Document records are added, never edited: the bytes they describe cannot change."""

    def __init__(self, session: Session) -> None:
        order = (DocumentRow.uploaded_at,)
        super().__init__(
            session, "document", DocumentRow, _document_columns, _document_from_row, order
        )

    def list_for_owner(self, owner_kind: str, owner_id: str) -> list[Document]:
        return self._select(DocumentRow.owner_kind == owner_kind, DocumentRow.owner_id == owner_id)


def _approval_task_columns(task: ApprovalTask) -> Columns:
    return {
        "application_id": task.application_id,
        "tier": str(task.tier),
        "state": str(task.state),
        "assignee": task.assignee,
        "locked_by": task.locked_by,
        "locked_at": task.locked_at,
        "decision": None if task.decision is None else str(task.decision),
        "tags": list(task.tags),
        "created_at": task.created_at,
    }


def _approval_task_from_row(row: ApprovalTaskRow) -> ApprovalTask:
    return ApprovalTask(
        id=row.id,
        application_id=row.application_id,
        tier=row.tier,
        state=row.state,
        assignee=row.assignee,
        locked_by=row.locked_by,
        locked_at=row.locked_at,
        decision=row.decision,
        tags=row.tags,
        created_at=row.created_at,
        version=row.version,
    )


class ApprovalTaskRepository(SqlRepository[ApprovalTask, ApprovalTaskRow]):
    def __init__(self, session: Session) -> None:
        order = (ApprovalTaskRow.created_at,)
        super().__init__(
            session,
            "approval task",
            ApprovalTaskRow,
            _approval_task_columns,
            _approval_task_from_row,
            order,
        )

    def list_for_application(self, application_id: str) -> list[ApprovalTask]:
        return self._select(ApprovalTaskRow.application_id == application_id)

    def all(self, *, state: str | None = None, tier: str | None = None) -> list[ApprovalTask]:
        return self._select(*_filters((ApprovalTaskRow.state, state), (ApprovalTaskRow.tier, tier)))


# --- contracts and money in -----------------------------------------------------------


def _contract_columns(contract: Contract) -> Columns:
    return {
        "application_id": contract.application_id,
        "partner_id": contract.partner_id,
        "customer_id": contract.customer_id,
        "vehicle_id": contract.vehicle_id,
        "business_type": str(contract.business_type),
        "currency": contract.principal.currency.code,
        "principal": contract.principal.amount,
        "annual_rate": contract.annual_rate,
        "term_months": contract.term_months,
        "residual_value": _optional_amount(contract.residual_value),
        "start_date": contract.start_date,
        "state": str(contract.state),
        "created_at": contract.created_at,
    }


def _contract_from_row(row: ContractRow) -> Contract:
    return Contract(
        id=row.id,
        application_id=row.application_id,
        partner_id=row.partner_id,
        customer_id=row.customer_id,
        vehicle_id=row.vehicle_id,
        business_type=row.business_type,
        principal=Money(row.principal, row.currency),
        annual_rate=row.annual_rate,
        term_months=row.term_months,
        residual_value=_optional_money(row.residual_value, row.currency),
        start_date=row.start_date,
        state=row.state,
        created_at=row.created_at,
        version=row.version,
    )


class ContractRepository(SqlRepository[Contract, ContractRow]):
    def __init__(self, session: Session) -> None:
        order = (ContractRow.created_at,)
        super().__init__(
            session, "contract", ContractRow, _contract_columns, _contract_from_row, order
        )

    def all(self, *, partner_id: str | None = None, state: str | None = None) -> list[Contract]:
        return self._select(
            *_filters((ContractRow.partner_id, partner_id), (ContractRow.state, state))
        )

    def list_for_application(self, application_id: str) -> list[Contract]:
        return self._select(ContractRow.application_id == application_id)


def _receivable_columns(line: Receivable) -> Columns:
    return {
        "contract_id": line.contract_id,
        "sequence": line.sequence,
        "due_date": line.due_date,
        "currency": line.principal.currency.code,
        "principal": line.principal.amount,
        "interest": line.interest.amount,
        "fee": line.fee.amount,
        "paid_principal": line.paid_principal.amount,
        "paid_interest": line.paid_interest.amount,
        "paid_fee": line.paid_fee.amount,
    }


def _receivable_from_row(row: ReceivableRow) -> Receivable:
    return Receivable(
        id=row.id,
        contract_id=row.contract_id,
        sequence=row.sequence,
        due_date=row.due_date,
        principal=Money(row.principal, row.currency),
        interest=Money(row.interest, row.currency),
        fee=Money(row.fee, row.currency),
        paid_principal=Money(row.paid_principal, row.currency),
        paid_interest=Money(row.paid_interest, row.currency),
        paid_fee=Money(row.paid_fee, row.currency),
        version=row.version,
    )


class ReceivableRepository(SqlRepository[Receivable, ReceivableRow]):
    """Schedule lines; a whole schedule is inserted in one executemany statement."""

    def __init__(self, session: Session) -> None:
        order = (ReceivableRow.contract_id, ReceivableRow.sequence)
        super().__init__(
            session, "receivable", ReceivableRow, _receivable_columns, _receivable_from_row, order
        )

    def add_many(self, lines: Iterable[Receivable]) -> None:
        rows = [self._row_values(line) for line in lines]
        if rows:
            _write(
                self._session, "receivable", rows[0]["contract_id"], sa.insert(ReceivableRow), rows
            )

    def list_for_contract(self, contract_id: str) -> list[Receivable]:
        return self._select(ReceivableRow.contract_id == contract_id)

    def list_due(self, on_or_before: date) -> list[Receivable]:
        """Lines falling due up to a business date (paid ones included; the caller filters)."""
        return self._select(ReceivableRow.due_date <= on_or_before)


def _payment_columns(payment: Payment) -> Columns:
    return {
        "contract_id": payment.contract_id,
        "currency": payment.amount.currency.code,
        "amount": payment.amount.amount,
        "received_on": payment.received_on,
        "reference": payment.reference,
        "state": str(payment.state),
        "created_at": payment.created_at,
    }


def _payment_from_row(row: PaymentRow) -> Payment:
    return Payment(
        id=row.id,
        contract_id=row.contract_id,
        amount=Money(row.amount, row.currency),
        received_on=row.received_on,
        reference=row.reference,
        state=row.state,
        created_at=row.created_at,
        version=row.version,
    )


class PaymentRepository(SqlRepository[Payment, PaymentRow]):
    def __init__(self, session: Session) -> None:
        order = (PaymentRow.received_on, PaymentRow.created_at)
        super().__init__(session, "payment", PaymentRow, _payment_columns, _payment_from_row, order)

    def list_for_contract(self, contract_id: str) -> list[Payment]:
        return self._select(PaymentRow.contract_id == contract_id)

    def find_by_reference(self, reference: str) -> list[Payment]:
        return self._select(PaymentRow.reference == reference)


def _exception_request_columns(request: ExceptionRequest) -> Columns:
    return {
        "kind": str(request.kind),
        "contract_id": request.contract_id,
        "payment_id": request.payment_id,
        "currency": request.amount.currency.code,
        "amount": request.amount.amount,
        "reason": request.reason,
        "requested_by": request.requested_by,
        "level1_approved_by": request.level1_approved_by,
        "approved_by": request.approved_by,
        "state": str(request.state),
        "created_at": request.created_at,
    }


def _exception_request_from_row(row: ExceptionRequestRow) -> ExceptionRequest:
    return ExceptionRequest(
        id=row.id,
        kind=row.kind,
        contract_id=row.contract_id,
        payment_id=row.payment_id,
        amount=Money(row.amount, row.currency),
        reason=row.reason,
        requested_by=row.requested_by,
        level1_approved_by=row.level1_approved_by,
        approved_by=row.approved_by,
        state=row.state,
        created_at=row.created_at,
        version=row.version,
    )


class ExceptionRequestRepository(SqlRepository[ExceptionRequest, ExceptionRequestRow]):
    def __init__(self, session: Session) -> None:
        order = (ExceptionRequestRow.created_at,)
        super().__init__(
            session,
            "exception request",
            ExceptionRequestRow,
            _exception_request_columns,
            _exception_request_from_row,
            order,
        )

    def all(self, *, state: str | None = None) -> list[ExceptionRequest]:
        return self._select(*_filters((ExceptionRequestRow.state, state)))

    def list_for_payment(self, payment_id: str) -> list[ExceptionRequest]:
        return self._select(ExceptionRequestRow.payment_id == payment_id)


# --- the ledger ---------------------------------------------------------------------------


def _voucher_columns(voucher: Voucher) -> Columns:
    return {
        "id": voucher.id,
        "business_date": voucher.business_date,
        "description": voucher.description,
        "created_by": voucher.created_by,
        "created_at": voucher.created_at,
        "source_key": voucher.source_key,
        "reverses": voucher.reverses,
    }


def _voucher_line_columns(voucher_id: str, line_no: int, line: JournalLine) -> Columns:
    return {
        "voucher_id": voucher_id,
        "line_no": line_no,
        "account": line.account,
        "side": str(line.side),
        "currency": line.amount.currency.code,
        "amount": line.amount.amount,
        "memo": line.memo,
    }


def _voucher_from_rows(row: VoucherRow, lines: Iterable[VoucherLineRow]) -> Voucher:
    """The voucher as posted; the domain checks again that it balances."""
    return Voucher(
        id=row.id,
        business_date=row.business_date,
        description=row.description,
        lines=tuple(
            JournalLine(
                account=line.account,
                side=line.side,
                amount=Money(line.amount, line.currency),
                memo=line.memo,
            )
            for line in lines
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        source_key=row.source_key,
        reverses=row.reverses,
    )


class VoucherRepository:
    """The journal is append-only: vouchers are added and read, never updated or deleted.

    Correcting one means adding its :meth:`~leasekit.domain.vouchers.Voucher.reversal`.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, voucher: Voucher) -> None:
        _write(
            self._session,
            "voucher",
            voucher.id,
            sa.insert(VoucherRow).values(_voucher_columns(voucher)),
        )
        lines = [
            _voucher_line_columns(voucher.id, number, line)
            for number, line in enumerate(voucher.lines, start=1)
        ]
        _write(self._session, "voucher", voucher.id, sa.insert(VoucherLineRow), lines)

    def get(self, voucher_id: str) -> Voucher:
        found = self._load(VoucherRow.id == voucher_id)
        if not found:
            raise NotFoundError("voucher", voucher_id)
        return found[0]

    def find_by_source_key(self, source_key: str) -> Voucher | None:
        """The voucher an event already produced, so a replay can skip posting."""
        found = self._load(VoucherRow.source_key == source_key)
        return found[0] if found else None

    def find_reversal(self, voucher_id: str) -> Voucher | None:
        found = self._load(VoucherRow.reverses == voucher_id)
        return found[0] if found else None

    def list_for_date(self, business_date: date) -> list[Voucher]:
        return self._load(VoucherRow.business_date == business_date)

    def _load(self, criterion: sa.ColumnElement[bool]) -> list[Voucher]:
        """Vouchers matching *criterion* with their lines: two queries, however many match."""
        vouchers = self._session.scalars(
            sa.select(VoucherRow)
            .where(criterion)
            .order_by(VoucherRow.created_at, VoucherRow.id)
            .execution_options(populate_existing=True)
        ).all()
        if not vouchers:
            return []
        lines: dict[str, list[VoucherLineRow]] = {row.id: [] for row in vouchers}
        line_rows = self._session.scalars(
            sa.select(VoucherLineRow)
            .where(VoucherLineRow.voucher_id.in_(lines))
            .order_by(VoucherLineRow.voucher_id, VoucherLineRow.line_no)
            .execution_options(populate_existing=True)
        )
        for line in line_rows:
            lines[line.voucher_id].append(line)
        return [_voucher_from_rows(row, lines[row.id]) for row in vouchers]


# --- audit trail -----------------------------------------------------------------------


class AuditTrailRepository:
    """Read access to the audit log; writing happens only through ``uow.record``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def for_subject(self, subject: str, subject_id: str) -> list[AuditRecord]:
        return [
            AuditRecord(
                seq=entry.seq,
                at=entry.at,
                actor_id=entry.actor_id,
                action=entry.action,
                subject=entry.subject,
                subject_id=entry.subject_id,
                details=entry.details,
            )
            for entry in audit.entries_for(self._session, subject, subject_id)
        ]
