"""What every use case gets from the composition root, and the helpers that keep reads honest:
objects a dealer may not see read as missing, and lists are confined and paged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Final, Protocol, TypeVar

import attrs

from leasekit.domain.access import visible_to
from leasekit.domain.approvals import ApprovalRules
from leasekit.domain.bookings import Accounting, default_accounting
from leasekit.domain.clock import Clock
from leasekit.domain.contract_documents import ContractRenderer
from leasekit.domain.contracts import Contract, Contracting
from leasekit.domain.credit_limits import LimitPolicy
from leasekit.domain.debit_runs import CollectionRules
from leasekit.domain.disbursements import PayoutRules
from leasekit.domain.end_of_day import CloseRules
from leasekit.domain.face_photos import FacePolicy, PhotoInspector
from leasekit.domain.identity import BACK_OFFICE, Actor
from leasekit.domain.partner_monitoring import PartnerOversight
from leasekit.domain.partner_onboarding import RequiredDocuments
from leasekit.domain.plans import PlanConvention
from leasekit.errors import (
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Currency
from leasekit.plugins import Adapters, ApplicationVoter
from leasekit.services.calls import CallPolicy
from leasekit.services.sheets import SheetLimits
from leasekit.services.storage import UnitOfWork

if TYPE_CHECKING:
    from leasekit.services.end_of_day import EndOfDayStep

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ServiceContext",
    "back_office_lists",
    "back_office_only",
    "page_size",
    "scoped",
    "visible_contract",
    "visible_or_not_found",
]

T = TypeVar("T")
P = TypeVar("P")
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200


def _no_renderer(document: object) -> bytes:
    raise ConfigurationError("no contract renderer is configured")


@attrs.frozen
class ServiceContext:
    """The ports a use case may touch: storage, adapters and the clock, nothing global."""

    uow_factory: Callable[[], UnitOfWork]
    adapters: Adapters
    clock: Clock
    currency: Currency
    """The company's book currency: amounts given without one are in it."""
    max_upload_bytes: int
    secret_key: bytes = attrs.field(repr=False, default=b"")
    """The installation's secret: derives enrolment secrets and signs audit checkpoints."""
    limit_policy: LimitPolicy = attrs.field(factory=LimitPolicy)
    """Who approves which change of a partner's credit limit."""
    partner_oversight: PartnerOversight = attrs.field(factory=PartnerOversight)
    """How partners are rated and monitored."""
    required_documents: RequiredDocuments = attrs.field(factory=RequiredDocuments)
    """The documents each kind of partner supplies before it is approved."""
    import_limits: SheetLimits = attrs.field(factory=SheetLimits)
    """How large a file of changes to partners may be."""
    approval_rules: ApprovalRules = attrs.field(factory=ApprovalRules)
    """How approval tasks are claimed and who may approve how much."""
    party_calls: CallPolicy = attrs.field(factory=CallPolicy)
    """How long pre-approval waits for each external party, and how often it asks again."""
    voters: tuple[ApplicationVoter, ...] = ()
    """The plugins that vote on applications (``leasekit_evaluate_application``)."""
    pricing: PlanConvention = attrs.field(factory=PlanConvention)
    """The APR and rounding conventions applications' plans are computed by."""
    face_policy: FacePolicy = attrs.field(factory=FacePolicy)
    """How strict the face photo's checks are."""
    inspect_photo: PhotoInspector | None = None
    payout_rules: PayoutRules = attrs.field(factory=PayoutRules)
    """How the payout queue is worked: claims and the documents a payout needs."""
    contracting: Contracting = attrs.field(factory=Contracting)
    """How contracts are numbered and what company they name."""
    collection: CollectionRules = attrs.field(factory=CollectionRules)
    """The creditor accounts debits go to, when they are tried again, the order payments pay
    in, and the fee for a returned debit."""
    accounting: Accounting = attrs.field(factory=default_accounting)
    """The chart of accounts and the voucher templates in force, which book business
    events (:mod:`leasekit.services.accounting`)."""
    close_rules: CloseRules = attrs.field(factory=CloseRules)
    """How the close of business works the book (:mod:`leasekit.services.end_of_day`)."""
    end_of_day_steps: tuple[EndOfDayStep, ...] = ()
    """The plugins' steps of the close (``leasekit_end_of_day_steps``), after the built-in
    ones."""
    render_contract: ContractRenderer = attrs.field(default=_no_renderer)
    """Renders a contract document as PDF bytes (:mod:`leasekit.render`)."""
    """Reads a face photo (:func:`leasekit.builtin.faces.inspect_photo`, set by the runtime:
    image decoding stays out of the core); without it a photo cannot be checked."""
    after_commit: Callable[[], None] = lambda: None
    """Called after each command's unit of work closes; the runtime wakes its background
    worker with it, so events are delivered promptly without the caller waiting for them."""

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A unit of work; once its block commits, :attr:`after_commit` runs.

        Delivery failures never undo a committed command: the outbox keeps the events and the
        next delivery retries them.
        """
        with self.uow_factory() as uow:
            yield uow
        self.after_commit()

    def moment(self) -> tuple[datetime, date]:
        """Wall-clock time and business date of one command, read once so they agree."""
        return self.clock.now(), self.clock.business_date()


def visible_or_not_found(actor: Actor, obj: T, kind: str, key: str) -> T:
    """*obj* if *actor* may see it; otherwise the same error as for a missing object, so that
    a dealer cannot learn which ids exist at other partners."""
    if not visible_to(actor, obj):
        raise NotFoundError(kind, key)
    return obj


def visible_contract(uow: UnitOfWork, actor: Actor, contract_id: str) -> Contract:
    """The contract, if *actor* may see it; a dealer's question about another's is a 404."""
    return visible_or_not_found(actor, uow.contracts.get(contract_id), "contract", contract_id)


class _PartnerQuery(Protocol):
    @property
    def partner_id(self) -> str | None: ...


Q = TypeVar("Q", bound=_PartnerQuery)


def scoped(actor: Actor, query: Q) -> Q:
    """*query* confined to the actor's own partner if it is a dealer user; asking for another
    partner's records is an input error, not an empty list that hides the mistake."""
    if not actor.is_dealer:
        return query
    if query.partner_id not in (None, actor.partner_id):
        raise ValidationError.single("partner_id", "a dealer user sees its own partner's only")
    return attrs.evolve(query, partner_id=actor.partner_id)  # type: ignore[misc]


def back_office_only(actor: Actor, what: str) -> None:
    """Refuse a dealer user (403) a read of what the company keeps to itself about partners
    and people: the blacklist, review flags, document defects, grades and the figures behind
    them."""
    if actor.role not in BACK_OFFICE:
        raise PermissionDeniedError(what, "read", actor.role.value)


def back_office_lists(what: str) -> Callable[[Actor, P], P]:
    """A lister's confinement that admits back-office staff only (:func:`back_office_only`)."""

    def confine(actor: Actor, query: P) -> P:
        back_office_only(actor, what)
        return query

    return confine


def page_size(limit: int | None) -> int:
    """The number of records a page holds: :data:`DEFAULT_PAGE_SIZE` unless asked, at most
    :data:`MAX_PAGE_SIZE`, so that no request reads a whole table."""
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError.single("limit", f"from 1 to {MAX_PAGE_SIZE}")
    return limit
