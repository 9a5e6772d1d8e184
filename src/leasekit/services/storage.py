"""What the use cases need from storage, as Protocols, so that services stay free of SQLAlchemy.

A command runs in one unit of work (:mod:`leasekit.services.commands` opens it): it loads
aggregates through the repositories, calls domain methods, records the events they return,
and the runner commits once. Leaving the block without ``commit()`` rolls everything back,
events included. Repositories never commit.

``update`` is a compare-and-set on the entity's ``version``: it raises ``StaleVersionError``
when someone else changed the row since it was read, and bumps ``entity.version`` on success.
``get`` raises ``NotFoundError(kind, id)``. A write that breaks a uniqueness or reference rule
of the database raises ``ValidationError`` on the field concerned (or ``ConflictError``);
services check first where a friendlier error is wanted, the database is the backstop for
races. Lists are pages of records (the entity's fields as plain values), in id order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import TracebackType
from typing import Any, Generic, NamedTuple, Protocol, Self, TypeAlias, TypeVar

import attrs

from leasekit.domain.accounting_periods import Books
from leasekit.domain.applications import Application
from leasekit.domain.approvals import ApprovalTask, ApprovalTaskState, Tier
from leasekit.domain.blacklist import BlacklistEntry
from leasekit.domain.bookings import UnmappedEvent, UnmappedState
from leasekit.domain.contracts import Contract, Payment, Receivable
from leasekit.domain.credit_limits import CreditLimit, LimitMovement, LimitRequest
from leasekit.domain.customers import Customer
from leasekit.domain.debit_runs import DebitOrderItem, DebitRun, ResultImport
from leasekit.domain.disbursements import Disbursement
from leasekit.domain.document_defects import DocumentDefect
from leasekit.domain.documents import Document, DocumentKind, OwnerKind
from leasekit.domain.end_of_day import AgingBucket, CloseState, PartitionState, PenaltyState
from leasekit.domain.events import DomainEvent
from leasekit.domain.exception_requests import (
    ExceptionKind,
    ExceptionRequest,
    ExceptionRequestState,
)
from leasekit.domain.face_photos import FacePhotoHash
from leasekit.domain.funds import PostedAllocation
from leasekit.domain.mandates import Mandate
from leasekit.domain.partner_figures import BookCounts
from leasekit.domain.partner_imports import PartnerImport
from leasekit.domain.partner_onboarding import OnboardingDocument
from leasekit.domain.partner_profiles import PartnerRevision
from leasekit.domain.partner_ratings import RatingOverride, RatingRecord
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.plans import PlanRow
from leasekit.domain.pre_approvals import PreApproval
from leasekit.domain.products import Product, ProductVersion
from leasekit.domain.refunds import Refund
from leasekit.domain.review_flags import ReviewCause, ReviewFlag
from leasekit.domain.rules import RuleSetVersion
from leasekit.domain.settlement_quotes import SettlementQuote
from leasekit.domain.statement_entries import StatementEntry, StatementImport
from leasekit.domain.users import User
from leasekit.domain.vehicles import Vehicle
from leasekit.domain.voucher_templates import Booking, TemplateVersion
from leasekit.domain.vouchers import Side, Voucher
from leasekit.money import Currency, Money

__all__ = [
    "AccountMovement",
    "AgingRow",
    "ApiToken",
    "ApplicationRepository",
    "ApprovalTaskQuery",
    "ApprovalTaskRepository",
    "AuditRecord",
    "AuditTrail",
    "BlacklistRepository",
    "ClaimableRepository",
    "CloseRecord",
    "ContractFacts",
    "ContractRepository",
    "Credential",
    "CreditLimitRepository",
    "CustomerRepository",
    "Delivery",
    "DeliveryQuery",
    "DeliveryRepository",
    "DeliveryStatus",
    "DisbursementRepository",
    "DocumentDefectRepository",
    "EndOfDayRepository",
    "Enrolment",
    "EnrolmentRepository",
    "EventLog",
    "ExceptionRequestQuery",
    "ExceptionRequestRepository",
    "FacePhotoHashRepository",
    "GradeExposure",
    "IdempotencyRepository",
    "IdempotentRequest",
    "InterestLine",
    "InterestUpdate",
    "LedgerKey",
    "LedgerLine",
    "LedgerReports",
    "LimitMovementRepository",
    "LimitRequestRepository",
    "OverdueLine",
    "Page",
    "PartitionRecord",
    "PartnerBook",
    "PartnerImportRepository",
    "PartnerRepository",
    "PartnerRevisionRepository",
    "PaymentRepository",
    "PenaltyUpdate",
    "PreApprovalRepository",
    "ProductRepository",
    "ProductVersionRepository",
    "RatingOverrideRepository",
    "RatingRecordRepository",
    "ReceivableRepository",
    "Record",
    "RefundRepository",
    "Repository",
    "ReviewFlagRepository",
    "RuleSetRepository",
    "SavedTemplate",
    "SessionCredential",
    "SessionRepository",
    "SignInSession",
    "TemplatesFingerprint",
    "TokenRepository",
    "UnitOfWork",
    "UnmappedEventRepository",
    "UnmappedQuery",
    "UserRepository",
    "VehicleRepository",
    "VoucherLineView",
    "VoucherQuery",
    "VoucherRepository",
    "VoucherSummary",
    "VoucherTemplateRepository",
    "VoucherView",
    "hash_secret",
]

E = TypeVar("E")
T = TypeVar("T")

Record: TypeAlias = dict[str, Any]
"""An entity's fields as plain values (Money as ``{"amount", "currency"}``), read for a list
without building the entity."""


def hash_secret(secret: str) -> str:
    """The form a token or enrolment secret is stored and looked up in: SHA-256, hex.

    Secrets are long random strings, so a plain hash is enough (no salt or slow hash: there
    is no dictionary to guess from) and a stolen table reveals no usable secret.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@attrs.frozen
class Page(Generic[T]):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[T]
    next_after: str | None


@attrs.frozen
class ApiToken:
    """A user's API token as listed: never its text, which exists only when it is issued."""

    id: str
    user_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@attrs.frozen
class Credential:
    """Who a live token belongs to, as authentication needs it, from one query."""

    token_id: str
    user_id: str
    role: str
    partner_id: str | None
    user_state: str
    partner_state: str | None
    """Read with the token, so a sanction on the partner bars its users on their next
    request."""


@attrs.frozen
class Enrolment:
    """A one-time secret a new user exchanges for a first token."""

    id: str
    user_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


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
    """One entry of the audit log as services read it back; ``seq`` is its place in the
    hash chain, None for a moment after it was written."""

    id: int
    seq: int | None
    at: datetime
    actor_id: str | None
    token_id: str | None
    action: str
    subject: str
    subject_id: str
    details: Mapping[str, Any]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"
    """Failed too often; waits for an administrator to retry or discard it."""
    DISCARDED = "discarded"


@attrs.frozen
class Delivery:
    """One event for one subscriber, as an administrator sees it."""

    id: str
    subscriber: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    event_key: str
    event_name: str
    subject: str
    subject_id: str
    occurred_at: datetime


class Repository(Protocol[E]):
    """Get, add, compare-and-set update and paged listing of one kind of entity."""

    def get(self, entity_id: str) -> E:
        """The entity; ``NotFoundError(kind, entity_id)`` if there is none."""
        ...

    def add(self, entity: E) -> None:
        """Insert a new entity (its ``version`` as given, normally 0)."""
        ...

    def add_many(self, entities: Iterable[E]) -> None:
        """Insert new entities in one statement."""
        ...

    def get_many(self, entity_ids: Collection[str]) -> dict[str, E]:
        """The entities of *entity_ids* that exist, by id, read in one query."""
        ...

    def update(self, entity: E) -> None:
        """Store *entity* if its ``version`` is still current, then increment the version."""
        ...

    def page(
        self, query: object | None = None, *, after: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """Records matching an attrs *query* (``<column>`` equals, ``<column>_from``/``_to``
        bound a time by UTC days, ``q`` is a name prefix), ids after *after*."""
        ...


class UserRepository(Repository[User], Protocol):
    def find_by_username(self, username: str) -> User | None: ...

    def any(self) -> bool:
        """Whether any user exists besides the built-in system account."""
        ...


class TokenRepository(Protocol):
    """API tokens; stored as hashes (:func:`hash_secret`), revoked but never deleted."""

    def add(self, token: ApiToken, token_hash: str) -> None: ...

    def credential(self, token_hash: str) -> Credential | None:
        """Who the live (unrevoked) token with this hash belongs to."""
        ...

    def get(self, token_id: str) -> ApiToken: ...

    def revoke(self, token_id: str, at: datetime) -> bool:
        """Revoke from *at* on; False if it was revoked already (the first time stays)."""
        ...

    def revoke_all(self, user_id: str, at: datetime) -> int: ...

    def list_for_user(self, user_id: str) -> list[ApiToken]: ...


@attrs.frozen
class SignInSession:
    """A person's session in the workbench: stored by the hash of its secret (the cookie),
    tied to the token they signed in with, so revoking that token ends it too."""

    id: str
    user_id: str
    token_id: str
    language: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None


@attrs.frozen
class SessionCredential:
    """A live session and who it speaks for, read in one query on every page."""

    session: SignInSession
    credential: Credential
    display_name: str
    """The person's name, for the page's header."""


class SessionRepository(Protocol):
    """Workbench sessions; ended, never deleted, so the audit log can name them."""

    def add(self, session: SignInSession, secret_hash: str) -> None: ...

    def credential(self, secret_hash: str) -> SessionCredential | None:
        """The unended session with this secret's hash, if its token is live."""
        ...

    def touch(self, session_id: str, at: datetime) -> None:
        """Record activity at *at* (idle expiry counts from the last one)."""
        ...

    def set_language(self, session_id: str, language: str) -> None: ...

    def end(self, session_id: str, user_id: str, at: datetime) -> bool:
        """End *user_id*'s session; False if it had ended already (or is not theirs)."""
        ...


class EnrolmentRepository(Protocol):
    def add(self, enrolment: Enrolment, secret_hash: str) -> None: ...

    def find_by_hash(self, secret_hash: str) -> Enrolment | None: ...

    def use(self, enrolment_id: str, at: datetime) -> bool:
        """Mark it used; False if it was used already (two requests racing with it)."""
        ...

    def withdraw_open(self, user_id: str, at: datetime) -> None: ...


class IdempotencyRepository(Protocol):
    """Idempotency keys, per user; written in the transaction of the command they guard."""

    def find(self, user_id: str, key: str) -> IdempotentRequest | None: ...

    def add(self, request: IdempotentRequest) -> None:
        """Remember *request*; ``ConflictError`` if a concurrent request took the key first."""
        ...


class CustomerRepository(Repository[Customer], Protocol):
    def find_registered(self, customer: Customer) -> Customer | None:
        """The customer the same owner registered with *customer*'s country and id number."""
        ...


class VehicleRepository(Repository[Vehicle], Protocol):
    def find_registered(self, vin: str) -> Vehicle | None:
        """The record that holds *vin* now, if any."""
        ...


@attrs.frozen
class GradeExposure:
    """What the partners of one grade (None: not graded yet) hold of their credit limits,
    added up in one currency."""

    grade: PartnerRating | None
    partners: int
    limit: Money
    """Their limits on the business date (a temporary addition counts while in force)."""
    used: Money
    frozen: Money

    def plus(self, other: GradeExposure) -> GradeExposure:
        """Both added up (of the same grade and currency)."""
        return GradeExposure(
            self.grade,
            self.partners + other.partners,
            self.limit + other.limit,
            self.used + other.used,
            self.frozen + other.frozen,
        )


class PartnerRepository(Repository[Partner], Protocol):
    def find_by_registration_number(self, country: str, number: str) -> Partner | None: ...

    def exposure_by_grade(self, on: date) -> list[GradeExposure]:
        """Every partner's credit limit added up by its grade and currency, on *on*."""
        ...

    def get_for_update(self, partner_id: str) -> Partner:
        """The partner, locked until the transaction ends."""
        ...

    def ids_in_states(self, states: Iterable[str]) -> list[str]:
        """Every partner in one of *states*, by id."""
        ...


class RuleSetRepository(Repository[RuleSetVersion], Protocol):
    def latest_number(self, name: str) -> int: ...

    def published(self, name: str) -> list[RuleSetVersion]: ...


class PreApprovalRepository(Repository[PreApproval], Protocol):
    def latest_for(self, application_id: str) -> PreApproval | None:
        """The application's newest assessment (of its latest submission)."""
        ...


class PartnerBook(Protocol):
    def counts(self, partner_id: str, since: date, as_of: date, currency: Currency) -> BookCounts:
        """What the partner's records from *since* through *as_of* add up to."""
        ...


class RatingRecordRepository(Repository[RatingRecord], Protocol):
    def latest(self, partner_id: str) -> RatingRecord | None: ...

    def scheduled_on(self, partner_id: str, as_of: date) -> RatingRecord | None: ...


class RatingOverrideRepository(Repository[RatingOverride], Protocol):
    def in_force(self, partner_id: str, on: date) -> RatingOverride | None:
        """The partner's latest approved override still in force on *on*."""
        ...


class PartnerRevisionRepository(Protocol):
    """A partner's profile history: appended to, never changed."""

    def add(self, revision: PartnerRevision) -> None: ...

    def history(
        self, partner_id: str, *, after: int | None = None, limit: int = 50
    ) -> Page[Record]:
        """One page of the partner's revisions after revision *after*, oldest first."""
        ...


class ProductRepository(Repository[Product], Protocol):
    def find_by_code(self, code: str) -> Product | None: ...

    def get_for_update(self, product_id: str) -> Product: ...


class ProductVersionRepository(Repository[ProductVersion], Protocol):
    """Versions of products' terms; an update stores a move, never the terms."""


class PartnerImportRepository(Repository[PartnerImport], Protocol):
    """Applied imports, one per file: a second with the same ``sha256`` is refused."""

    def find_by_sha256(self, sha256: str) -> PartnerImport | None: ...


class CreditLimitRepository(Repository[CreditLimit], Protocol):
    def get_for_update(self, partner_id: str) -> CreditLimit:
        """The account, locked against other writers until the unit of work ends."""
        ...

    def temporary_ended_by(self, on: date) -> list[str]:
        """The partners whose temporary addition is no longer in force on *on*."""
        ...


class LimitMovementRepository(Repository[LimitMovement], Protocol):
    def for_reference(self, partner_id: str, reference: str) -> list[LimitMovement]:
        """A reference's movements, oldest first."""
        ...


class LimitRequestRepository(Repository[LimitRequest], Protocol): ...


class PartnerBusiness(Protocol):
    def count_in_states(self, partner_id: str, states: Iterable[str]) -> int:
        """How many of the partner's records are in one of *states*."""
        ...


class ApplicationRepository(Repository[Application], PartnerBusiness, Protocol):
    def list_for_partner(self, partner_id: str, states: Iterable[str]) -> list[Application]:
        """A partner's applications in any of *states*, oldest first."""
        ...

    def count_for_phone(self, phone: str, besides: str) -> int:
        """Applications other than *besides*, at any partner, whose customer gave this phone
        number (drafts aside)."""
        ...

    def count_for_identity(
        self, country: str, id_number: str, besides: str, *, other_than: str | None = None
    ) -> int:
        """Other applications, at any partner (or at partners *other_than* this one), of a
        customer with this id number."""
        ...

    def count_for_vin(self, vin: str, besides: str) -> int:
        """Other applications, at any partner, for a vehicle with this VIN."""
        ...


class PlanRowRepository(Protocol):
    """The rows of applications' plans, stored beside them."""

    def replace(self, application_id: str, rows: Sequence[PlanRow]) -> None:
        """Make *rows* the application's plan rows, those before dropped."""
        ...

    def for_application(self, application_id: str) -> list[PlanRow]:
        """The application's plan rows, by number; empty for an unpriced application."""
        ...


class BlacklistRepository(Repository[BlacklistEntry], Protocol):
    def hits(
        self,
        *,
        id_numbers: Iterable[tuple[str, str]] = (),
        phones: Iterable[str] = (),
        vins: Iterable[str] = (),
        partner_ids: Iterable[str] = (),
    ) -> list[BlacklistEntry]:
        """The entries on the list for any of the identifiers (id numbers as
        ``(country, number)``, every one in its normal form), from one query."""
        ...


class ReviewFlagRepository(Repository[ReviewFlag], Protocol):
    def open_for_partner(self, partner_id: str, cause: ReviewCause) -> list[ReviewFlag]:
        """The open flags of one cause on a partner's applications."""
        ...

    def for_application(self, application_id: str) -> list[ReviewFlag]:
        """Every flag ever raised on an application, open or cleared."""
        ...


class DocumentRepository(Repository[Document], Protocol):
    def of_owners(
        self, owners: Iterable[tuple[OwnerKind, str]], kind: DocumentKind | None, limit: int
    ) -> list[Document]:
        """The newest *limit* documents of *kind* (None: of any kind) attached to any of
        *owners* (``(owner kind, owner id)``), newest first."""
        ...

    def latest_of(self, owner_kind: str, owner_id: str, kind: str) -> Document | None:
        """The owner's newest document of *kind*, if any."""
        ...


class FacePhotoHashRepository(Protocol):
    """Face photos' perceptual hashes, added once per document, never changed."""

    def add(self, photo: FacePhotoHash) -> None: ...

    def for_document(self, document_id: str) -> FacePhotoHash | None: ...

    def near(self, value: int, distance: int, *, besides_application: str) -> list[str]:
        """The other applications with a photo whose hash is within *distance* bits of
        *value*."""
        ...


class DocumentDefectRepository(Repository[DocumentDefect], Protocol):
    def onboarding_documents(
        self, partner_id: str, kinds: Iterable[DocumentKind], limit: int
    ) -> dict[DocumentKind, list[OnboardingDocument]]:
        """The partner's own documents of *kinds* by kind, each with whether it has an open
        defect: the newest *limit* of a kind without one and the newest *limit* with one."""
        ...

    def count_for_partner(self, partner_id: str, since: datetime | None = None) -> int:
        """How many defects were recorded on the partner's documents, at or after *since*."""
        ...


@attrs.frozen
class ApprovalTaskQuery:
    """A queue of approval tasks; every field left out matches all."""

    tier: Tier | None = None
    state: ApprovalTaskState | None = None
    tag: str | None = None
    """One of the task's tags."""
    partner_id: str | None = None
    product_code: str | None = None
    application_id: str | None = None
    assignee: str | None = None
    locked_by: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    """Opened on or before this day: the oldest cases first come to light with it."""


class ClaimableRepository(Repository[E], Protocol):
    """Work a reviewer claims for a lease (approval tasks, payouts)."""

    def claims_run_out(self, at: datetime) -> list[str]:
        """The claimed items whose lease ran out by *at*."""
        ...


class ApprovalTaskRepository(ClaimableRepository[ApprovalTask], Protocol):
    def list_for_application(self, application_id: str) -> list[ApprovalTask]: ...

    def page(  # type: ignore[override]
        self, query: ApprovalTaskQuery | None = None, *, after: str | None = None, limit: int = 50
    ) -> Page[Record]:
        """A queue: the tasks *query* matches, in id (so age) order."""
        ...

    def count_by_age(self, query: ApprovalTaskQuery, bounds: Sequence[datetime]) -> list[int]:
        """How many open or claimed tasks *query* matches were opened in each span *bounds*
        (instants, newest first) cut time into: after the first, between each two, before
        the last (``len(bounds) + 1`` counts)."""
        ...


class PayerFacts(NamedTuple):
    """What a payer may quote of a contract: its number, its customer's and dealer's names."""

    number: str
    customer_name: str
    partner_name: str


class ContractFacts(NamedTuple):
    """What voucher templates read of a contract: its business type, its partner, its
    product's code (None for a contract on no product) and its partner's branch (None if
    the partner names none)."""

    id: str
    business_type: str
    partner_id: str
    product: str | None
    branch: str | None


class OpenAmount(NamedTuple):
    """What one unpaid line still owes, read without building the line."""

    contract_id: str
    due_date: date
    outstanding: Decimal


class ContractRepository(Repository[Contract], PartnerBusiness, Protocol):
    def list_for_application(self, application_id: str) -> list[Contract]: ...

    def payer_facts(self, contract_ids: Collection[str]) -> dict[str, PayerFacts]:
        """The number and names of each of *contract_ids*, read as columns, not contracts."""
        ...

    def booking_facts(self, contract_ids: Collection[str]) -> dict[str, ContractFacts]:
        """What templates read of each of *contract_ids* that exists, read as columns."""
        ...

    def next_sequence(self, company: str, year: int) -> int:
        """The next number's sequence in *company*'s *year*, from 1, without gaps: taken in
        the caller's transaction and given back if it rolls back."""
        ...


class EventLog(Protocol):
    """Committed events read back in the order they were written."""

    def last_position(self) -> int: ...

    def after(
        self, subjects: Sequence[str], position: int, limit: int
    ) -> list[tuple[int, DomainEvent]]:
        """Up to *limit* events about *subjects* past *position*, oldest first, each with
        its own position."""
        ...

    def named_after(
        self, names: Collection[str], position: int, limit: int
    ) -> list[tuple[int, DomainEvent]]:
        """Up to *limit* events named one of *names* past *position*, oldest first, each
        with its own position."""
        ...


class DisbursementRepository(ClaimableRepository[Disbursement], Protocol):
    def for_contract(self, contract_id: str) -> list[Disbursement]:
        """Every payout of a contract, the rejected ones included, oldest first."""
        ...

    def contract_numbers(self, item_ids: Collection[str]) -> dict[str, str]:
        """The contract number of each of the payouts *item_ids* that exist, in one query."""
        ...


class ReceivableRepository(Repository[Receivable], Protocol):
    def list_for_contract(self, contract_id: str) -> list[Receivable]:
        """In schedule order."""
        ...

    def schedule(self, contract_id: str, *, after: int | None, limit: int) -> Page[Receivable]:
        """Up to *limit* lines of one contract after line *after*, in schedule order."""
        ...

    def list_due(self, on_or_before: date) -> list[Receivable]: ...

    def unpaid_due(
        self, on_or_before: date, currency: str, contract_states: Collection[str]
    ) -> Iterator[Receivable]:
        """Lines of contracts in *contract_states* and *currency* due by a date and not paid
        in full (nor written off), by contract and then in schedule order, streamed: read
        them once, before the transaction ends."""
        ...

    def open_amounts(
        self, on_or_before: date, currency: str, contract_states: Collection[str]
    ) -> Iterator[OpenAmount]:
        """What each line :meth:`unpaid_due` gives still owes, in the same order and as
        streamed, without building the lines."""
        ...

    def open_principal(
        self, currency: str, contract_states: Collection[str]
    ) -> Iterator[tuple[str, Decimal]]:
        """(contract id, principal still owed) of every line of those contracts still owed,
        in contract order, streamed: the book's outstanding principal."""
        ...


class PaymentRepository(Repository[Payment], Protocol):
    def list_for_contract(self, contract_id: str) -> list[Payment]: ...

    def find_by_reference(self, reference: str) -> list[Payment]: ...

    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's payments, oldest first."""
        ...

    def with_credit(self, contract_id: str) -> list[Payment]:
        """The contract's payments that still hold credit (unallocated money), oldest first."""
        ...

    def credit_of(self, contract_ids: Collection[str]) -> dict[str, Money]:
        """Each contract's credit (the unallocated money of its payments), where it has any,
        read in one query."""
        ...


class AllocationRepository(Protocol):
    """Allocations are append-only: no update; an undone one is a reversing row."""

    def add_many(self, allocations: Iterable[PostedAllocation]) -> None: ...

    def of_payment(self, payment_id: str) -> list[PostedAllocation]:
        """Every allocation of the payment, reversals included, in the order posted."""
        ...

    def of_contract(self, contract_id: str) -> list[PostedAllocation]:
        """Every allocation of the contract's payments, reversals included, in the order
        posted."""
        ...

    def of_payments(self, payment_ids: Collection[str]) -> list[Record]: ...


class MandateRepository(Repository[Mandate], Protocol):
    def active_for(self, contract_ids: Collection[str]) -> dict[str, Mandate]:
        """The active mandate of each of *contract_ids* that has one, in one query."""
        ...

    def latest_for(self, contract_ids: Collection[str]) -> dict[str, Mandate]:
        """Each contract's newest mandate, whatever its state."""
        ...


class RefundRepository(Repository[Refund], Protocol):
    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's refunds, oldest first, each with what it took."""
        ...

    def of_payment(self, payment_id: str) -> list[Refund]:
        """The refunds that took credit from the payment, oldest first."""
        ...


class SettlementQuoteRepository(Repository[SettlementQuote], Protocol):
    def for_contract(self, contract_id: str, *, after: str | None, limit: int) -> Page[Record]:
        """A page of the contract's quotes, oldest first."""
        ...

    def count_for(self, contract_id: str) -> int:
        """How many quotes the contract has had."""
        ...

    def open_for(self, contract_id: str) -> SettlementQuote | None:
        """The contract's open quote, if it has one."""
        ...

    def open_in(self, currency: str) -> list[SettlementQuote]:
        """Every open quote in *currency*, expired or not."""
        ...


class DebitRunRepository(Repository[DebitRun], Protocol):
    def find(self, account_id: str, business_date: date) -> DebitRun | None: ...


class DebitItemRepository(Repository[DebitOrderItem], Protocol):
    def of_run(self, run_id: str, *, after: str | None, limit: int) -> Page[Record]: ...

    def all_of_run(self, run_id: str) -> list[DebitOrderItem]: ...

    def by_trace(self, traces: Collection[str]) -> dict[str, DebitOrderItem]:
        """The newest debit of each trace id."""
        ...

    def for_contracts(self, contract_ids: Collection[str]) -> list[DebitOrderItem]:
        """Every debit of the contracts, oldest first."""
        ...

    def take_sequences(self, account_id: str, count: int) -> int:
        """Reserve *count* trace sequences of the account (held until commit); the first."""
        ...


class ResultImportRepository(Repository[ResultImport], Protocol):
    def by_hash(self, sha256: str) -> ResultImport | None: ...


class StatementEntryRepository(Repository[StatementEntry], Protocol):
    def known(self, account: str, line_ids: Collection[str]) -> set[str]:
        """Which of *line_ids* the account's earlier imports brought already."""
        ...


class StatementImportRepository(Repository[StatementImport], Protocol):
    def by_hash(self, sha256: str) -> StatementImport | None: ...


@attrs.frozen
class ExceptionRequestQuery:
    """Which exception requests to list: in a state, of a kind, touching a contract (the one
    it is about or the one a reversal re-applies to), about a payment."""

    state: ExceptionRequestState | None = None
    kind: ExceptionKind | None = None
    contract_id: str | None = None
    payment_id: str | None = None


class ExceptionRequestRepository(Repository[ExceptionRequest], Protocol):
    def page(  # type: ignore[override]
        self,
        query: ExceptionRequestQuery | None = None,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[Record]:
        """A page of requests matching *query*, oldest first."""
        ...

    def expired_by(self, at: datetime) -> list[str]:
        """Ids of the requests still waiting on an approval or on execution whose approval
        window ended before *at*, oldest first."""
        ...


@attrs.frozen
class VoucherQuery:
    """Which vouchers to list: those with a line of a contract, of an event type, or of a
    business date."""

    contract_id: str | None = None
    event_type: str | None = None
    business_date: date | None = None
    sync: SyncStatus | None = None
    """Those whose synchronisation with the ledger is pending, synced or failed."""


class SyncStatus(StrEnum):
    """Where a voucher stands with the ledger."""

    PENDING = "pending"
    """Not yet tried, or on its way."""
    SYNCED = "synced"
    FAILED = "failed"
    """Tried and refused or unanswered; tried again with backoff until it is parked."""


@attrs.frozen
class LedgerSyncState:
    """A voucher's last synchronisation with the ledger."""

    voucher_id: str
    status: SyncStatus = attrs.field(converter=SyncStatus)
    ledger_reference: str | None = None
    attempts: int = 0
    last_error: str | None = None
    synced_at: datetime | None = None


@attrs.frozen
class VoucherSummary:
    """A voucher as a list shows it: without its lines."""

    id: str
    business_date: date
    description: str
    created_by: str
    created_at: datetime
    source_key: str | None
    reverses: str | None
    event_type: str | None
    """The business event that produced it; None for one posted by hand."""
    template: str | None
    template_version: int | None
    corrects_period: str | None
    """The closed month whose event it books late, in the open period."""
    sync: SyncStatus
    """Where it stands with the ledger."""


@attrs.frozen
class VoucherLineView:
    """A voucher line as read back, with the dimensions its template gave it."""

    line_no: int
    account: str
    side: Side = attrs.field(converter=Side)
    amount: Money
    memo: str
    contract_id: str | None = None
    partner_id: str | None = None
    product: str | None = None
    branch: str | None = None

    @property
    def dimensions(self) -> dict[str, str]:
        """The dimensions the line carries, by name (``contract``, ``partner`` ...)."""
        given = {"contract": self.contract_id, "partner": self.partner_id,
                 "product": self.product, "branch": self.branch}  # fmt: skip
        return {name: value for name, value in given.items() if value is not None}


@attrs.frozen
class VoucherView(VoucherSummary):
    """A posted voucher, where it came from, its lines with their dimensions, and its
    synchronisation with the ledger."""

    lines: tuple[VoucherLineView, ...]
    ledger: LedgerSyncState


@attrs.frozen
class UnmappedQuery:
    """Which unmapped events to list."""

    state: UnmappedState | None = None


class VoucherRepository(Protocol):
    """The journal: append-only, so there is no update and no delete."""

    def add(self, voucher: Voucher, dimensions: Sequence[Mapping[str, str]] = ()) -> None:
        """Post *voucher*, each line with its *dimensions* (contract, partner, product,
        branch), none if not given."""
        ...

    def add_booking(self, booking: Booking, event_type: str) -> None:
        """Post what a template booked, with its template and the lines' dimensions."""
        ...

    def page(self, query: VoucherQuery, *, after: str | None, limit: int) -> Page[Record]: ...

    def view(self, voucher_id: str) -> VoucherView: ...

    def views(self, voucher_ids: Sequence[str]) -> list[VoucherView]:
        """Those of *voucher_ids* that exist, in the order given, read a few thousand at once."""
        ...

    def trial_balance(self, currency_code: str) -> dict[str, Decimal]:
        """Debits less credits per account over every voucher in one currency."""
        ...

    def get(self, voucher_id: str) -> Voucher: ...

    def find_by_source_key(self, source_key: str) -> Voucher | None: ...

    def find_reversal(self, voucher_id: str) -> Voucher | None: ...

    def list_for_date(self, business_date: date) -> list[Voucher]: ...

    def add_bookings(self, bookings: Sequence[tuple[Booking, str]]) -> None:
        """Post many of what templates booked, each with its event type, in two statements."""
        ...

    @property
    def bulk_writes_wait(self) -> bool:
        """Whether :meth:`add_bookings` spends its time waiting on a database server, so that
        a bulk run gains by booking the next chunk meanwhile; not when the database works in
        this process (SQLite), where the two would only take turns."""
        ...

    def known_keys(self, keys: Collection[str]) -> set[str]:
        """Those of the event *keys* that have a voucher or wait in the unmapped queue."""
        ...


@attrs.frozen
class SavedTemplate:
    """A voucher template version saved through the API, with who saved it and when."""

    id: str
    template: TemplateVersion
    created_by: str
    created_at: datetime


class TemplatesFingerprint(NamedTuple):
    """What changes whenever a template version is saved: how many there are and the
    newest id (ids grow with time), read in one cheap query."""

    saved: int
    last_id: str | None


class VoucherTemplateRepository(Protocol):
    """Saved voucher template versions: append-only, a name's version numbers unique."""

    def begin_saving(self) -> None:
        """Before a save reads what it adds to: SQLite's write lock is taken now, so that
        saves there run one after the other; PostgreSQL runs them side by side and its
        unique index refuses the second of one version."""
        ...

    def add(self, saved: SavedTemplate) -> None:
        """Store *saved*; a ConflictError naming the template and version when someone
        else saved that version at the same moment."""
        ...

    def get(self, saved_id: str) -> SavedTemplate: ...

    def fingerprint(self) -> TemplatesFingerprint: ...

    def in_order(self) -> list[TemplateVersion]:
        """Every saved version, in the order they were saved."""
        ...

    def of_name(self, name: str) -> list[SavedTemplate]:
        """The saved versions of *name*, oldest first."""
        ...


class LedgerKey(NamedTuple):
    """A line's place in a ledger, which orders lines by business date and then as posted."""

    business_date: date
    voucher_id: str
    line_no: int


class LedgerLine(NamedTuple):
    """A journal line as a report shows it, with what its voucher says of it."""

    business_date: date
    voucher_id: str
    line_no: int
    event_type: str | None
    description: str
    account: str
    side: str
    currency: str
    amount: Decimal
    memo: str
    contract_id: str | None

    @property
    def key(self) -> LedgerKey:
        return LedgerKey(self.business_date, self.voucher_id, self.line_no)


class AccountMovement(NamedTuple):
    """What an account moved in a period, and its balance (debits less credits) before."""

    account: str
    opening: Decimal
    debits: Decimal
    credits: Decimal


class LedgerReports(Protocol):
    """The journal read for reports: totals summed exactly, lines streamed in ledger order."""

    def movements(self, currency: str, start: date, end: date) -> list[AccountMovement]:
        """Each account with lines in *currency* up to *end*, by code."""
        ...

    def balances_before(
        self, account: str, currency: str, keys: Sequence[LedgerKey]
    ) -> list[Decimal]:
        """Debits less credits of *account* over its lines before each of *keys*, in one
        pass."""
        ...

    def lines(
        self,
        account: str,
        currency: str,
        start: date,
        end: date,
        *,
        after: LedgerKey | None = None,
        limit: int | None = None,
    ) -> Iterator[LedgerLine]:
        """The account's lines in the period, after *after*, up to *limit* (or streamed)."""
        ...

    def for_contract(self, contract_id: str) -> Iterator[LedgerLine]:
        """The lines carrying the contract's dimension, by currency, account, ledger order."""
        ...


class UnmappedEventRepository(Repository[UnmappedEvent], Protocol):
    def find_by_event_key(self, event_key: str) -> UnmappedEvent | None: ...

    def open_through(self, before: date) -> int:
        """How many events dated before *before* wait in the queue."""
        ...


class BooksRepository(Protocol):
    """How far the books are closed."""

    def get(self) -> Books: ...

    def for_posting(self) -> Books:
        """The books, held against a concurrent close until the unit of work ends."""
        ...

    def close(self, books: Books, expected_version: int) -> None: ...


class VoucherSyncRepository(Protocol):
    """Each voucher's last synchronisation with the ledger; none yet means pending."""

    def states(self, voucher_ids: Collection[str]) -> dict[str, LedgerSyncState]: ...

    def record(self, outcomes: Iterable[LedgerSyncState], at: datetime) -> None: ...

    def synced_balances(self, currency_code: str) -> dict[tuple[str, str | None], Decimal]:
        """Debits less credits per (account, contract) over the synced vouchers."""
        ...

    def counts(self) -> dict[SyncStatus, int]: ...


@attrs.frozen
class DeliveryQuery:
    """Which deliveries to list."""

    status: DeliveryStatus | None = None
    subscriber: str | None = None


class DeliveryRepository(Protocol):
    """Event deliveries, for administrators."""

    def get(self, delivery_id: str) -> Delivery: ...

    def page(
        self, query: DeliveryQuery, *, after: str | None = None, limit: int = 50
    ) -> Page[Delivery]: ...

    def counts(self) -> dict[str, int]: ...

    def settle_parked(self, delivery_id: str, status: DeliveryStatus, at: datetime) -> None:
        """Back to pending (due at *at*) or discarded; ``ConflictError`` unless parked."""
        ...


class AuditTrail(Protocol):
    """Reading the audit log inside a unit of work."""

    def for_subject(self, subject: str, subject_id: str) -> Sequence[AuditRecord]:
        """Every entry about one object, oldest first."""
        ...


class CloseRecord(NamedTuple):
    """One business date's close: running until every step has finished."""

    business_date: date
    state: CloseState
    started_at: datetime
    closed_at: datetime | None
    summary: dict[str, Any]


class PartitionRecord(NamedTuple):
    """One step's share of a close: contracts with ids from *low* to *high* (excluded; None
    for the last), and what the step counted when it finished it."""

    step: str
    low: str
    high: str | None
    state: PartitionState
    result: dict[str, Any]
    done_at: datetime | None


class OverdueLine(NamedTuple):
    """What the close reads of a line past its due date and still owed."""

    line_id: str
    contract_id: str
    due_date: date
    currency: str
    owed: Decimal
    """Fee, interest and principal still unpaid: what penalty accrues on."""
    penalty: Decimal
    """The penalty charged so far."""
    penalty_exact: Decimal
    penalty_through: date | None


class InterestLine(NamedTuple):
    """What the close reads of a line whose interest it books as earned, or has booked."""

    line_id: str
    contract_id: str
    due_date: date
    currency: str
    interest: Decimal
    paid_interest: Decimal
    accrued: Decimal
    """Earned and unpaid as the close last booked it."""
    earning: bool
    """Whether the line still earns: its contract is being collected, it is not written off
    and it is not an operating lease's (whose rent is income when paid)."""


class InterestUpdate(NamedTuple):
    line_id: str
    accrued: Decimal


class PenaltyUpdate(NamedTuple):
    line_id: str
    penalty: Decimal
    """The line's charged penalty with the close's addition."""
    exact: Decimal
    through: date


class AgingRow(NamedTuple):
    """A contract with something overdue after a close."""

    contract_id: str
    as_of: date
    days_past_due: int
    bucket: AgingBucket
    overdue: Decimal
    currency: str


class EndOfDayRepository(Protocol):
    """Closes and their partitions (:mod:`leasekit.services.end_of_day`)."""

    def close_of(self, business_date: date) -> CloseRecord | None: ...

    def newest_close(self) -> CloseRecord | None: ...

    def open_close(self, business_date: date, at: datetime) -> CloseRecord: ...

    def finish_close(self, business_date: date, at: datetime, summary: dict[str, Any]) -> bool: ...

    def partitions(self, business_date: date, step: str) -> list[PartitionRecord]: ...

    def add_partitions(
        self, business_date: date, step: str, ranges: Sequence[tuple[str, str | None]]
    ) -> None: ...

    def take_partition(
        self, business_date: date, step: str, low: str
    ) -> PartitionRecord | None: ...

    def finish_partition(
        self, business_date: date, step: str, low: str, result: dict[str, Any], at: datetime
    ) -> None: ...

    def contract_ids(self, states: Collection[str], *, every: int = 1) -> list[str]: ...

    def overdue_lines(
        self, low: str, high: str | None, before: date, states: Collection[str]
    ) -> Iterator[OverdueLine]: ...

    def holding_credit(self, low: str, high: str | None, states: Collection[str]) -> list[str]: ...

    def accrue_penalties(self, updates: Sequence[PenaltyUpdate]) -> None: ...

    def closed_span(self, since: datetime) -> tuple[date, date] | None: ...

    def penalty_states(self, line_ids: Collection[str]) -> dict[str, PenaltyState]: ...

    def set_penalty_states(self, states: dict[str, PenaltyState]) -> None: ...

    def interest_lines(
        self, low: str, high: str | None, until: date, states: Collection[str]
    ) -> Iterator[InterestLine]: ...

    def book_interest(self, updates: Sequence[InterestUpdate]) -> None: ...

    def replace_aging(self, low: str, high: str | None, rows: Sequence[AgingRow]) -> None: ...

    def buckets_on(self, as_of: date) -> dict[str, AgingBucket]: ...

    def aging_of(self, contract_id: str) -> AgingRow | None: ...


class UnitOfWork(Protocol):
    """One transaction and the repositories that work inside it."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def tokens(self) -> TokenRepository: ...

    @property
    def enrolments(self) -> EnrolmentRepository: ...

    @property
    def sign_ins(self) -> SessionRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def vehicles(self) -> VehicleRepository: ...

    @property
    def partners(self) -> PartnerRepository: ...

    @property
    def partner_revisions(self) -> PartnerRevisionRepository: ...

    @property
    def partner_book(self) -> PartnerBook: ...

    @property
    def rule_sets(self) -> RuleSetRepository: ...

    @property
    def pre_approvals(self) -> PreApprovalRepository: ...

    @property
    def partner_ratings(self) -> RatingRecordRepository: ...

    @property
    def rating_overrides(self) -> RatingOverrideRepository: ...

    @property
    def partner_imports(self) -> PartnerImportRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def product_versions(self) -> ProductVersionRepository: ...

    @property
    def credit_limits(self) -> CreditLimitRepository: ...

    @property
    def limit_movements(self) -> LimitMovementRepository: ...

    @property
    def limit_requests(self) -> LimitRequestRepository: ...

    @property
    def applications(self) -> ApplicationRepository: ...

    @property
    def plan_rows(self) -> PlanRowRepository: ...

    @property
    def blacklist(self) -> BlacklistRepository: ...

    @property
    def review_flags(self) -> ReviewFlagRepository: ...

    @property
    def documents(self) -> DocumentRepository: ...

    @property
    def face_photo_hashes(self) -> FacePhotoHashRepository: ...

    @property
    def document_defects(self) -> DocumentDefectRepository: ...

    @property
    def approval_tasks(self) -> ApprovalTaskRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def receivables(self) -> ReceivableRepository: ...

    @property
    def disbursements(self) -> DisbursementRepository: ...

    @property
    def event_log(self) -> EventLog: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def allocations(self) -> AllocationRepository: ...

    @property
    def mandates(self) -> MandateRepository: ...

    @property
    def settlement_quotes(self) -> SettlementQuoteRepository: ...

    @property
    def refunds(self) -> RefundRepository: ...

    @property
    def end_of_day(self) -> EndOfDayRepository: ...

    @property
    def debit_runs(self) -> DebitRunRepository: ...

    @property
    def debit_items(self) -> DebitItemRepository: ...

    @property
    def result_imports(self) -> ResultImportRepository: ...

    @property
    def statement_entries(self) -> StatementEntryRepository: ...

    @property
    def statement_imports(self) -> StatementImportRepository: ...

    @property
    def exception_requests(self) -> ExceptionRequestRepository: ...

    @property
    def vouchers(self) -> VoucherRepository: ...

    @property
    def unmapped_events(self) -> UnmappedEventRepository: ...

    @property
    def books(self) -> BooksRepository: ...

    @property
    def voucher_syncs(self) -> VoucherSyncRepository: ...

    @property
    def voucher_templates(self) -> VoucherTemplateRepository: ...

    @property
    def ledger_reports(self) -> LedgerReports: ...

    @property
    def deliveries(self) -> DeliveryRepository: ...

    @property
    def audit(self) -> AuditTrail: ...

    token_id: str | None
    """The credential the acting user presented; every audit entry of this work names it."""

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
