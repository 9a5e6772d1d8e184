"""Partners: the dealers and brokers that bring business, and what their state allows.

A partner's lifecycle (:data:`PARTNER_LIFECYCLE`) decides what it and its dealer users may
do: the machine grants each :class:`PartnerCapability` in a set of states
(:data:`PARTNER_CAPABILITIES`), so that "a frozen partner receives no disbursements" is a
table row, not a scattered ``if``, and :meth:`Partner.may` answers from it. The services read
the partner's state in the transaction of each request, so a change takes effect on the next
request of every user of that partner; a partner without ``view_portfolio`` (blacklisted,
rejected) bars its users from every request (:func:`admits_users`).

A partner's kind (:class:`PartnerKind`: a franchised new-car dealer, a used-car dealer, a broker,
a fleet dealer) is given at onboarding and decides which documents its onboarding file must
hold before it may be approved (:mod:`leasekit.domain.partner_onboarding`).

A partner's profile (representative, contacts, addresses, brands, bank accounts:
:mod:`leasekit.domain.partner_profiles`) is given at onboarding and replaced whole by
:meth:`Partner.revise`, each change a :class:`PartnerRevision` that explains it.

The states, from most to least freedom: ``prospect``, ``applied`` and ``under_review`` are
onboarding; ``active`` trades fully; ``watch`` trades under closer monitoring but gets no new
or larger limit; ``suspended`` stops new business; ``frozen`` also stops disbursements and
uploads while something (fraud, say) is investigated; ``exit_review`` winds down and
``exited`` has left; ``rejected`` never started and ``blacklisted`` is barred.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.customers import CustomerKind, validate_id_number
from leasekit.domain.identity import ORIGINATORS, SENIOR_REVIEWERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Stateful, StateMachine, row
from leasekit.domain.partner_profiles import (
    ONBOARDING_REASON,
    PROFILE_FIELDS,
    BankAccount,
    Contact,
    PartnerProfile,
    PartnerRevision,
    PostalAddress,
    checked_profile,
    no_change,
    profile_changes,
    revision_reason,
)
from leasekit.domain.validation import Checks, choice, country_code
from leasekit.errors import PartnerRestrictedError

__all__ = [
    "PARTNER_CAPABILITIES",
    "PARTNER_LIFECYCLE",
    "Partner",
    "PartnerAction",
    "PartnerCapability",
    "PartnerKind",
    "PartnerRating",
    "PartnerState",
    "admits_users",
]


class PartnerKind(StrEnum):
    """What kind of business a partner is; it decides the documents its onboarding needs."""

    NEW_CAR_DEALER = "new_car_dealer"
    """A franchised dealer selling new vehicles of the brands that authorise it."""
    USED_CAR_DEALER = "used_car_dealer"
    """A dealer in used vehicles."""
    BROKER = "broker"
    """Introduces customers and holds no stock of its own."""
    FLEET_DEALER = "fleet_dealer"
    """Sells and leases vehicles to companies' fleets."""


class PartnerState(StrEnum):
    PROSPECT = "prospect"
    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    ACTIVE = "active"
    WATCH = "watch"
    SUSPENDED = "suspended"
    FROZEN = "frozen"
    EXIT_REVIEW = "exit_review"
    EXITED = "exited"
    REJECTED = "rejected"
    BLACKLISTED = "blacklisted"


class PartnerAction(StrEnum):
    APPLY = "apply"
    START_REVIEW = "start_review"
    RETURN = "return"
    APPROVE = "approve"
    REJECT = "reject"
    WATCH = "watch"
    CLEAR_WATCH = "clear_watch"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    START_EXIT = "start_exit"
    CANCEL_EXIT = "cancel_exit"
    EXIT = "exit"
    BLACKLIST = "blacklist"
    LIFT_BLACKLIST = "lift_blacklist"


class PartnerCapability(StrEnum):
    """What a partner (and so its dealer users) may do; :meth:`Partner.may` answers by state."""

    CREATE_CUSTOMERS = "create_customers"
    """Register customers."""
    REGISTER_VEHICLES = "register_vehicles"
    """Register vehicles."""
    SUBMIT_APPLICATIONS = "submit_applications"
    """Create and submit new applications."""
    USE_CREDIT_LIMIT = "use_credit_limit"
    """Take exposure from its credit limit: new financed business."""
    GET_NEW_LIMIT = "get_new_limit"
    """Have a limit increase or a temporary limit requested or approved."""
    RECEIVE_DISBURSEMENTS = "receive_disbursements"
    """Be paid for vehicles financed."""
    EARN_COMMISSION = "earn_commission"
    """Accrue commission on financed business."""
    UPLOAD_DOCUMENTS = "upload_documents"
    """Upload onboarding and application documents."""
    VIEW_PORTFOLIO = "view_portfolio"
    """See its own applications, contracts and customers."""


_P = PartnerState
_A = PartnerAction

_ONBOARDING: Final = frozenset({_P.APPLIED, _P.UNDER_REVIEW})
_TRADING: Final = frozenset({_P.ACTIVE, _P.WATCH})

PARTNER_CAPABILITIES: Final[Mapping[PartnerCapability, frozenset[PartnerState]]] = {
    # A dealer in onboarding prepares its file, customers and stock so that it can submit on
    # the day it is approved; nobody stopped from new business registers more of it.
    PartnerCapability.CREATE_CUSTOMERS: _ONBOARDING | _TRADING,
    PartnerCapability.REGISTER_VEHICLES: _ONBOARDING | _TRADING,
    PartnerCapability.SUBMIT_APPLICATIONS: _TRADING,
    PartnerCapability.USE_CREDIT_LIMIT: _TRADING,
    # Watch is the step before a sanction: the partner keeps trading, its limit does not grow.
    PartnerCapability.GET_NEW_LIMIT: frozenset({_P.ACTIVE}),
    # A partner leaving still gets paid for deals it signed before; a suspended or frozen one
    # does not.
    PartnerCapability.RECEIVE_DISBURSEMENTS: _TRADING | {_P.EXIT_REVIEW},
    # Commission on business already financed accrues through a suspension; it is withheld
    # while fraud is investigated.
    PartnerCapability.EARN_COMMISSION: _TRADING | {_P.SUSPENDED, _P.EXIT_REVIEW},
    # A suspended or leaving partner still sends the papers of deals under way (late
    # documents are a common reason to suspend); a frozen one sends nothing while the papers
    # it sent are investigated.
    PartnerCapability.UPLOAD_DOCUMENTS: _ONBOARDING | _TRADING | {_P.SUSPENDED, _P.EXIT_REVIEW},
    # Every state whose users may sign in at all (a prospect's users apply on its behalf):
    # a rejected partner never started, a blacklisted one is barred.
    PartnerCapability.VIEW_PORTFOLIO: frozenset(_P) - {_P.REJECTED, _P.BLACKLISTED},
}
"""The states in which a partner has each capability; a blacklisted partner has none."""

_REVIEW: Final = (Role.OFFICER, Role.MANAGER)
# Post-loan supervision sees overdue rates first and may restrict a partner at once.
_SUPERVISION: Final = (*SENIOR_REVIEWERS, Role.POST_LOAN_SUPERVISOR)
# Monitoring rules (:mod:`leasekit.domain.partner_monitoring`) put partners on watch and
# suspend them as the system; clearing and reinstating stay with people.
_MONITORS: Final = (*_SUPERVISION, Role.SYSTEM)
_SANCTIONERS: Final = (Role.DIRECTOR, Role.POST_LOAN_SUPERVISOR)

PARTNER_LIFECYCLE: Final = StateMachine(
    "partner",
    _P.PROSPECT,
    (
        row(_A.APPLY, [_P.PROSPECT], _P.APPLIED, ORIGINATORS, "partner_applied"),
        row(_A.START_REVIEW, [_P.APPLIED], _P.UNDER_REVIEW, _REVIEW, "partner_review_started"),
        row(_A.RETURN, [_P.UNDER_REVIEW], _P.APPLIED, _REVIEW, "partner_returned", True),
        row(_A.APPROVE, [_P.UNDER_REVIEW], _P.ACTIVE, SENIOR_REVIEWERS, "partner_approved"),
        row(_A.REJECT, [_P.UNDER_REVIEW], _P.REJECTED, SENIOR_REVIEWERS, "partner_rejected", True),
        row(_A.WATCH, [_P.ACTIVE], _P.WATCH, _MONITORS, "partner_put_on_watch", True),
        row(_A.CLEAR_WATCH, [_P.WATCH], _P.ACTIVE, _SUPERVISION, "partner_watch_cleared"),
        row(
            _A.SUSPEND,
            [_P.ACTIVE, _P.WATCH],
            _P.SUSPENDED,
            _MONITORS,
            "partner_suspended",
            True,
        ),
        row(_A.REINSTATE, [_P.SUSPENDED], _P.ACTIVE, SENIOR_REVIEWERS, "partner_reinstated"),
        # A leaving partner under suspicion is frozen too: it would still be paid otherwise.
        row(
            _A.FREEZE,
            [_P.ACTIVE, _P.WATCH, _P.SUSPENDED, _P.EXIT_REVIEW],
            _P.FROZEN,
            _SANCTIONERS,
            "partner_frozen",
            True,
        ),
        # Unfreezing lands in suspended, like lifting a blacklist: trading again, or starting
        # an exit that pays out again, is a separate, deliberate move.
        row(_A.UNFREEZE, [_P.FROZEN], _P.SUSPENDED, _SANCTIONERS, "partner_unfrozen", True),
        row(
            _A.START_EXIT,
            [_P.ACTIVE, _P.WATCH, _P.SUSPENDED],
            _P.EXIT_REVIEW,
            SENIOR_REVIEWERS,
            "partner_exit_started",
            True,
        ),
        row(
            _A.CANCEL_EXIT, [_P.EXIT_REVIEW], _P.ACTIVE, SENIOR_REVIEWERS, "partner_exit_cancelled"
        ),
        row(_A.EXIT, [_P.EXIT_REVIEW], _P.EXITED, [Role.DIRECTOR], "partner_exited"),
        # Fraud can surface at any time, even after the partner has left.
        row(
            _A.BLACKLIST,
            set(_P) - {_P.REJECTED, _P.BLACKLISTED},
            _P.BLACKLISTED,
            _SANCTIONERS,
            "partner_blacklisted",
            True,
        ),
        # Lifting lands in suspended: trading again is a separate, deliberate reinstatement.
        row(
            _A.LIFT_BLACKLIST,
            [_P.BLACKLISTED],
            _P.SUSPENDED,
            [Role.DIRECTOR],
            "partner_blacklist_lifted",
            True,
        ),
    ),
    final=frozenset({_P.REJECTED}),
    actions_enum=PartnerAction,
    grants={str(c): frozenset(map(str, states)) for c, states in PARTNER_CAPABILITIES.items()},
)


class PartnerRating(StrEnum):
    """The company's internal grade of a partner, A best; it sets limits and pricing."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


def _rating(value: PartnerRating | str | None) -> PartnerRating | None:
    return None if value is None else PartnerRating(value)


@attrs.define
class Partner(Stateful):
    """A dealer or broker. ``registration_number`` is its company code (a USCC in China);
    ``kind`` is fixed at onboarding; ``name`` and the fields after ``created_at`` are its
    profile (:class:`PartnerProfile`)."""

    id: str
    name: str
    country: str
    registration_number: str
    kind: PartnerKind = attrs.field(converter=PartnerKind)
    rating: PartnerRating | None = attrs.field(converter=_rating)
    state: PartnerState = attrs.field(converter=PartnerState)
    created_at: datetime
    legal_representative: str | None = None
    contacts: tuple[Contact, ...] = ()
    registered_address: PostalAddress | None = None
    business_address: PostalAddress | None = None
    brands: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    bank_accounts: tuple[BankAccount, ...] = ()
    branch: str | None = None
    version: int = 0

    lifecycle: ClassVar[StateMachine[PartnerState]] = PARTNER_LIFECYCLE

    @classmethod
    def onboard(
        cls,
        *,
        name: str,
        registration_number: str,
        actor: Actor,
        at: datetime,
        country: str = "CN",
        kind: PartnerKind | str = PartnerKind.NEW_CAR_DEALER,
        rating: PartnerRating | str | None = None,
        profile: PartnerProfile | None = None,
    ) -> Partner:
        """A new partner of *kind* in state ``prospect``, its company code checked like a
        customer's (its credit limit is an account of its own,
        :mod:`leasekit.domain.credit_limits`), with *profile*, whose name is *name*."""
        ensure_may_create(actor, "partner")
        checks = Checks()
        given = profile if profile is not None else PartnerProfile(name=name)
        valid_profile = checks.run(lambda: checked_profile(attrs.evolve(given, name=name)))
        valid_country = checks.run(lambda: country_code(country))
        number = None
        if valid_country is not None:
            number = checks.run(
                lambda: validate_id_number(
                    valid_country, CustomerKind.COMPANY, registration_number, "registration_number"
                )
            )
        valid_kind = checks.run(lambda: choice(PartnerKind, kind, "kind"))
        valid_rating = None
        if rating is not None:
            valid_rating = checks.run(lambda: choice(PartnerRating, rating, "rating"))
        if (
            valid_profile is None
            or valid_country is None
            or number is None
            or valid_kind is None
            or checks.errors
        ):
            raise checks.error()
        return cls(
            id=new_id(),
            country=valid_country,
            registration_number=number,
            kind=valid_kind,
            rating=valid_rating,
            state=PartnerState.PROSPECT,
            created_at=require_utc(at),
            **_fields(valid_profile),
        )

    def onboarding_revision(self, actor: Actor) -> PartnerRevision:
        """Revision 0 of the history: the profile the partner was onboarded with."""
        return PartnerRevision.new(
            self.id,
            self.version,
            profile_changes(None, self.profile),
            reason=ONBOARDING_REASON,
            actor=actor,
            at=self.created_at,
        )

    @property
    def profile(self) -> PartnerProfile:
        """The fields the back office may change after onboarding, as they stand."""
        return PartnerProfile(**{field: getattr(self, field) for field in PROFILE_FIELDS})

    def revise(
        self, profile: PartnerProfile, *, reason: str, actor: Actor, at: datetime
    ) -> PartnerRevision:
        """Replace the profile with *profile*, checked whole, and return the revision that
        explains the change: numbered with the version storing it gives the partner (the
        version after this one), its fields' before and after. A revision that changes
        nothing is refused; so is one without a reason."""
        checks = Checks()
        valid = checks.run(lambda: checked_profile(profile))
        why = checks.run(lambda: revision_reason(reason))
        if valid is None or why is None or checks.errors:
            raise checks.error()
        changes = profile_changes(self.profile, valid)
        if not changes:
            raise no_change()
        for field, value in _fields(valid).items():
            setattr(self, field, value)
        return PartnerRevision.new(
            self.id, self.version + 1, changes, reason=why, actor=actor, at=at
        )

    def regrade(self, grade: PartnerRating | None) -> bool:
        """Take *grade*, rated or overridden (:mod:`leasekit.domain.partner_ratings`), as the
        partner's grade; whether that changed it."""
        changed = self.rating is not grade
        self.rating = grade
        return changed

    @property
    def partner_id(self) -> str:
        """A partner belongs to itself: its dealer users see it and nothing of other partners."""
        return self.id

    @property
    def blacklisted(self) -> bool:
        return self.state is PartnerState.BLACKLISTED

    def may(self, capability: PartnerCapability | str) -> bool:
        """Whether the partner's current state grants *capability*."""
        return PARTNER_LIFECYCLE.grants_in(PartnerCapability(capability), self.state)

    def require(self, capability: str) -> None:
        """Refuse work the partner's state does not allow (a suspended dealer submitting)."""
        if not self.may(capability):
            raise PartnerRestrictedError(self.name, str(self.state), str(capability))


def _fields(profile: PartnerProfile) -> dict[str, Any]:
    return {field: getattr(profile, field) for field in PROFILE_FIELDS}


def admits_users(state: str) -> bool:
    """Whether a partner in *state* lets its users make any request at all: a partner that
    may not even see its portfolio (blacklisted, rejected) bars them at once."""
    return PARTNER_LIFECYCLE.grants_in(PartnerCapability.VIEW_PORTFOLIO, state)
