"""Financing applications: a customer, a vehicle and the terms a partner asks for.

An application moves along :data:`APPLICATION_LIFECYCLE` from a dealer's draft to a running
contract. While it is a draft, or returned for more documents, its originator may revise it;
afterwards its terms are what the reviewers approved.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_act, ensure_may_create, visible_to
from leasekit.domain.business import BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.customers import Customer
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import (
    ORIGINATORS,
    REVIEWERS,
    SENIOR_REVIEWERS,
    Actor,
    Role,
    new_id,
)
from leasekit.domain.lifecycle import MAX_REASON, Stateful, StateMachine, row
from leasekit.domain.partners import Partner, PartnerCapability
from leasekit.domain.plans import (
    Conditions,
    Party,
    Plan,
    PlanConvention,
    PlanSummary,
    party_errors,
    plan_for,
)
from leasekit.domain.products import ProductTerms, ProductVersion
from leasekit.domain.validation import Checks, choice, is_whole_number, money_amount, text
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import (
    FieldError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money

__all__ = [
    "APPLICATION_LIFECYCLE",
    "REVISABLE_STATES",
    "UNDECIDED_STATES",
    "Application",
    "ApplicationAction",
    "ApplicationState",
    "BusinessType",
    "Pricing",
    "RequestedTerms",
]


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PRE_APPROVED = "pre_approved"
    DECLINED = "declined"
    IN_REVIEW = "in_review"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    CONTRACTED = "contracted"
    SIGNED = "signed"
    DISBURSEMENT_REQUESTED = "disbursement_requested"
    DISBURSED = "disbursed"
    ACTIVE = "active"
    SETTLED = "settled"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ApplicationAction(StrEnum):
    SUBMIT = "submit"
    PRE_APPROVE = "pre_approve"
    DECLINE = "decline"
    START_REVIEW = "start_review"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    RESUBMIT = "resubmit"
    CONTRACT = "contract"
    SIGN = "sign"
    REQUEST_DISBURSEMENT = "request_disbursement"
    REJECT_DISBURSEMENT = "reject_disbursement"
    DISBURSE = "disburse"
    ACTIVATE = "activate"
    SETTLE = "settle"
    CLOSE = "close"
    CANCEL = "cancel"


_S = ApplicationState
_A = ApplicationAction
_BRINGS_BUSINESS: Final = PartnerCapability.SUBMIT_APPLICATIONS
_BOOKKEEPING: Final = (Role.FINANCE, Role.SYSTEM)
_WORKFLOW: Final = (Role.SYSTEM,)

APPLICATION_LIFECYCLE: Final = StateMachine(
    "application",
    _S.DRAFT,
    (
        row(_A.SUBMIT, [_S.DRAFT], _S.SUBMITTED, ORIGINATORS, "application_submitted",
            requires=_BRINGS_BUSINESS),
        # The automatic pre-check (rules, bureau, anti-fraud) decides the first gate.
        row(_A.PRE_APPROVE, [_S.SUBMITTED], _S.PRE_APPROVED, [Role.SYSTEM],
            "application_pre_approved"),
        row(_A.DECLINE, [_S.SUBMITTED], _S.DECLINED, [Role.SYSTEM], "application_declined", True),
        # The approval workflow starts the review, opening the first tier's task.
        row(_A.START_REVIEW, [_S.PRE_APPROVED], _S.IN_REVIEW, [Role.SYSTEM],
            "application_review_started"),
        # Decided through approval tasks, which enforce tiers and authority; the system
        # approves what settings let it approve without people.
        row(_A.APPROVE, [_S.IN_REVIEW], _S.APPROVED, [*REVIEWERS, Role.SYSTEM],
            "application_approved"),
        row(_A.REJECT, [_S.IN_REVIEW], _S.REJECTED, REVIEWERS, "application_rejected", True),
        row(_A.RETURN, [_S.IN_REVIEW], _S.RETURNED, REVIEWERS, "application_returned", True),
        row(_A.RESUBMIT, [_S.RETURNED], _S.SUBMITTED, ORIGINATORS, "application_resubmitted",
            requires=_BRINGS_BUSINESS),
        # From here the application follows its contract: drawn up when it is approved,
        # signed, queued for payout and paid out as the contract is, by the workflow.
        row(_A.CONTRACT, [_S.APPROVED], _S.CONTRACTED, _WORKFLOW, "application_contracted"),
        row(_A.SIGN, [_S.CONTRACTED], _S.SIGNED, _WORKFLOW, "application_signed"),
        row(_A.REQUEST_DISBURSEMENT, [_S.SIGNED], _S.DISBURSEMENT_REQUESTED, _WORKFLOW,
            "application_disbursement_requested"),
        row(_A.REJECT_DISBURSEMENT, [_S.DISBURSEMENT_REQUESTED], _S.SIGNED, _WORKFLOW,
            "application_disbursement_rejected", True),
        row(_A.DISBURSE, [_S.DISBURSEMENT_REQUESTED], _S.DISBURSED, _WORKFLOW,
            "application_disbursed"),
        row(_A.ACTIVATE, [_S.DISBURSED], _S.ACTIVE, _WORKFLOW, "application_activated"),
        row(_A.SETTLE, [_S.ACTIVE], _S.SETTLED, _BOOKKEEPING, "application_settled"),
        row(_A.CLOSE, [_S.SETTLED], _S.CLOSED, _BOOKKEEPING, "application_closed"),
        # Early on, the dealer may withdraw its own application; once the company has invested
        # review work or drawn up a contract, only a senior reviewer may cancel, with a reason.
        row(_A.CANCEL, [_S.DRAFT, _S.SUBMITTED, _S.PRE_APPROVED, _S.RETURNED], _S.CANCELLED,
            [*ORIGINATORS, *SENIOR_REVIEWERS], "application_cancelled"),
        row(_A.CANCEL,
            [_S.IN_REVIEW, _S.APPROVED, _S.CONTRACTED, _S.SIGNED, _S.DISBURSEMENT_REQUESTED],
            _S.CANCELLED, SENIOR_REVIEWERS, "application_cancelled", True),
    ),
    final=frozenset({_S.DECLINED, _S.REJECTED, _S.CLOSED, _S.CANCELLED}),
    actions_enum=ApplicationAction,
)  # fmt: skip

MAX_TERM_MONTHS: Final = 120
REVISABLE_STATES: Final = frozenset({ApplicationState.DRAFT, ApplicationState.RETURNED})
"""States in which the originator may still change what is asked for."""
UNDECIDED_STATES: Final = frozenset(
    {_S.DRAFT, _S.SUBMITTED, _S.PRE_APPROVED, _S.IN_REVIEW, _S.RETURNED}
)
"""Open applications: the company has not yet made its credit decision on them."""
_REVISERS: Final = frozenset({Role.DEALER_USER, Role.OFFICER})


def _amount_errors(terms: RequestedTerms) -> list[FieldError]:
    """Every amount in the price's currency and its decimals, and in sensible proportion."""
    checks = Checks()
    cur = terms.vehicle_price.currency
    price = checks.run(lambda: money_amount(terms.vehicle_price, "vehicle_price"))
    down = checks.run(lambda: money_amount(terms.down_payment, "down_payment", cur))
    if price is not None and price.amount <= 0:
        checks.add("vehicle_price", "must be positive")
    if down is not None and down.amount < 0:
        checks.add("down_payment", "must not be negative")
    if price is not None and down is not None and down >= price:
        checks.add("down_payment", "must be less than the vehicle price")
    if terms.residual_value is not None:
        value = terms.residual_value
        residual = checks.run(lambda: money_amount(value, "residual_value", cur))
        if residual is not None and residual.amount < 0:
            checks.add("residual_value", "must not be negative")
        financed = price - down if price is not None and down is not None else None
        if residual is not None and financed is not None and residual >= financed:
            checks.add("residual_value", "must be less than the amount financed")
    return checks.errors


def _term_errors(terms: RequestedTerms) -> list[FieldError]:
    errors: list[FieldError] = []
    if not is_whole_number(terms.term_months) or not 1 <= terms.term_months <= MAX_TERM_MONTHS:
        errors.append(FieldError("term_months", f"must be from 1 to {MAX_TERM_MONTHS} months"))
    if not isinstance(terms.annual_rate, Decimal) or not terms.annual_rate.is_finite():
        errors.append(FieldError("annual_rate", "must be an exact decimal, never a float"))
    elif not 0 <= terms.annual_rate < 1:
        errors.append(
            FieldError("annual_rate", "must be a fraction from 0 to below 1 (0.0599 for 5.99%)")
        )
    return errors


@attrs.frozen
class RequestedTerms:
    """What the partner asks for; amounts in one currency, the rate a yearly fraction."""

    vehicle_price: Money
    down_payment: Money
    term_months: int
    annual_rate: Decimal
    """Nominal yearly rate as a fraction: ``Decimal("0.0599")`` is 5.99 %."""
    residual_value: Money | None = None
    """Balloon or guaranteed residual at the end; None when the term amortises fully."""

    def __attrs_post_init__(self) -> None:
        errors = _amount_errors(self) + _term_errors(self)
        if errors:
            raise ValidationError(errors)

    @property
    def amount_financed(self) -> Money:
        return self.vehicle_price - self.down_payment


def _visible_or_error(actor: Actor, obj: object, field: str, kind: str) -> list[FieldError]:
    """Linking to an object the actor cannot see reads as "no such object", as in services."""
    return [] if visible_to(actor, obj) else [FieldError(field, f"no such {kind}")]


def _link_errors(
    actor: Actor, customer: Customer, vehicle: Vehicle, parties: Sequence[Party]
) -> list[FieldError]:
    faults = party_errors(customer.id, parties)
    return (
        _visible_or_error(actor, customer, "customer_id", "customer")
        + _visible_or_error(actor, vehicle, "vehicle_id", "vehicle")
        + [FieldError("parties", fault) for fault in faults]
    )


def _party_tuple(parties: Iterable[Party]) -> tuple[Party, ...]:
    return tuple(parties)


@attrs.frozen
class Pricing:
    """What an application is priced with: a product version on sale to *partner*, one of
    its schedule methods (its first when None), the day and the company's convention."""

    version: ProductVersion
    partner: Partner
    schedule_method: str | None
    priced_on: date
    convention: PlanConvention

    @property
    def method(self) -> str:
        return self.schedule_method or self.version.terms.schedule_methods[0]

    def errors(self, business_type: BusinessType, requested: RequestedTerms) -> list[FieldError]:
        """Why the version cannot price *requested*, each fault on the field at fault: a
        product of another business type or one the partner may not sell (``product_code``),
        a term outside the product (named with the range it allows)."""
        version, faults = self.version, []
        if version.business_type is not business_type:
            faults.append(
                FieldError(
                    "product_code",
                    f"the product is a {version.business_type} product, not {business_type}",
                )
            )
        sellable = version.sellable_by(self.partner)
        if not sellable:
            faults.append(FieldError("product_code", sellable.reason or "not on sale"))
        return faults + self.recheck(requested)

    def recheck(self, terms: RequestedTerms) -> list[FieldError]:
        """The terms' faults against the version alone, as an approver's conditions are
        checked: the version the application was priced with, on sale or not."""
        return self.version.check(terms, self.schedule_method)

    def plan(self, terms: RequestedTerms) -> Plan:
        return _cached_plan(self.version.terms, terms, self.method, self.priced_on,
                            self.convention)  # fmt: skip


@functools.lru_cache(maxsize=16)
def _cached_plan(
    terms: ProductTerms,
    requested: RequestedTerms,
    method: str,
    priced_on: date,
    convention: PlanConvention,
) -> Plan:
    """:func:`plan_for`, which is pure: the service reads the rows of the plan an
    application's change just computed without computing it twice."""
    return plan_for(terms, requested, method, priced_on, convention)


@attrs.define
class Application(Stateful):
    """A request to finance one vehicle for one customer, brought by one partner.

    An application priced with a product holds the version (:attr:`product_version_id`),
    the schedule method and the totals of its plan; one drafted without a product (or before
    the catalogue existed) has none of them. An approver's :attr:`conditions` replace the
    requested terms in the plan while :attr:`requested` stays as asked.
    """

    id: str
    partner_id: str
    customer_id: str
    vehicle_id: str
    business_type: BusinessType = attrs.field(converter=BusinessType)
    requested: RequestedTerms
    state: ApplicationState = attrs.field(converter=ApplicationState)
    created_by: str
    """The user id of the originator, so the audit trail starts with a person."""
    created_at: datetime
    product_version_id: str | None = None
    schedule_method: str | None = None
    plan: PlanSummary | None = None
    conditions: Conditions | None = None
    parties: tuple[Party, ...] = attrs.field(default=(), converter=_party_tuple)
    """Co-applicants and guarantors besides the main customer; stored in their own table."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[ApplicationState]] = APPLICATION_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("partner_id",)

    @classmethod
    def draft(
        cls,
        *,
        partner: Partner,
        customer: Customer,
        vehicle: Vehicle,
        business_type: BusinessType | str,
        requested: RequestedTerms,
        actor: Actor,
        at: datetime,
        pricing: Pricing | None = None,
        parties: Sequence[Party] = (),
    ) -> Application:
        """A new draft for *partner*, which must be allowed to bring business.

        Dealer users draft only for their own partner and only with customers and vehicles
        they can see. With *pricing*, the product must be of the draft's business type and
        on sale to the partner, and the terms within it; the plan is computed.
        """
        ensure_may_create(actor, "application")
        ensure_may_act(actor, partner, "application", "create")
        partner.require(PartnerCapability.SUBMIT_APPLICATIONS)
        kind = _checked(actor, customer, vehicle, business_type, requested, pricing, parties)
        application = cls(
            id=new_id(),
            partner_id=partner.id,
            customer_id=customer.id,
            vehicle_id=vehicle.id,
            business_type=kind,
            requested=requested,
            state=ApplicationState.DRAFT,
            created_by=actor.user_id,
            created_at=require_utc(at),
            parties=parties,
        )
        application._price(pricing)
        return application

    def revise(
        self,
        *,
        customer: Customer,
        vehicle: Vehicle,
        business_type: BusinessType | str,
        requested: RequestedTerms,
        actor: Actor,
        at: datetime,
        business_date: date,
        pricing: Pricing | None = None,
        parties: Sequence[Party] = (),
    ) -> DomainEvent:
        """Replace what is asked for, allowed only in :data:`REVISABLE_STATES`.

        The parties are replaced too, conditions an approver imposed before the application
        was returned are dropped, and the plan recomputed with *pricing* (the version on
        sale at revision time: a revision is priced again as a new request would be).
        """
        ensure_may_act(actor, self, APPLICATION_LIFECYCLE.name, "revise")
        if self.state not in REVISABLE_STATES:
            raise IllegalTransitionError(
                APPLICATION_LIFECYCLE.name, str(self.state), "revise", self._actions()
            )
        if actor.role not in _REVISERS:
            raise PermissionDeniedError(APPLICATION_LIFECYCLE.name, "revise", actor.role.value)
        kind = _checked(actor, customer, vehicle, business_type, requested, pricing, parties)
        self.customer_id, self.vehicle_id = customer.id, vehicle.id
        self.business_type, self.requested = kind, requested
        self.parties, self.conditions = tuple(parties), None
        self._price(pricing)
        return DomainEvent.new(
            "application_revised",
            APPLICATION_LIFECYCLE.name,
            self.id,
            {"partner_id": self.partner_id, "state": str(self.state)},
            occurred_at=at,
            business_date=business_date,
            actor_id=actor.user_id,
        )

    @property
    def terms(self) -> RequestedTerms:
        """The terms the plan is computed from: the approver's conditions, if any were
        imposed, else the requested terms."""
        conditions = self.conditions
        if conditions is None:
            return self.requested
        cur = self.requested.vehicle_price.currency
        residual = conditions.residual_value
        return RequestedTerms(
            vehicle_price=self.requested.vehicle_price,
            down_payment=Money(conditions.down_payment, cur),
            term_months=conditions.term_months,
            annual_rate=conditions.annual_rate,
            residual_value=None if residual is None else Money(residual, cur),
        )

    def impose_conditions(
        self,
        *,
        terms: RequestedTerms,
        reason: str,
        pricing: Pricing,
        actor: Actor,
        at: datetime,
        business_date: date,
    ) -> DomainEvent:
        """An approver's changed *terms* (a larger down payment, a shorter term), in review
        only: checked against the version the application was priced with, the plan
        recomputed; :attr:`requested` stays as the partner asked."""
        ensure_may_act(actor, self, APPLICATION_LIFECYCLE.name, "impose_conditions")
        if self.state is not ApplicationState.IN_REVIEW:
            raise IllegalTransitionError(
                APPLICATION_LIFECYCLE.name, str(self.state), "impose_conditions", self._actions()
            )
        if actor.role not in REVIEWERS:
            raise PermissionDeniedError(
                APPLICATION_LIFECYCLE.name, "impose_conditions", actor.role.value
            )
        checks = Checks()
        why = checks.run(lambda: text(reason, "reason", MAX_REASON))
        if terms.vehicle_price != self.requested.vehicle_price:
            checks.add("vehicle_price", "conditions change the terms, never the price")
        if pricing.version.id != self.product_version_id:
            checks.add(
                "product_code", "conditions keep the version the application was priced with"
            )
        checks.errors += pricing.recheck(terms)
        if why is None or checks.errors:
            raise checks.error()
        residual = terms.residual_value
        self.conditions = Conditions(
            down_payment=terms.down_payment.amount,
            term_months=terms.term_months,
            annual_rate=terms.annual_rate,
            residual_value=None if residual is None else residual.amount,
            reason=why,
            imposed_by=actor.user_id,
            imposed_at=require_utc(at),
        )
        self._price(pricing)
        return DomainEvent.new(
            "application_conditions_imposed",
            APPLICATION_LIFECYCLE.name,
            self.id,
            {
                "partner_id": self.partner_id,
                "reason": why,
                "down_payment": str(terms.down_payment.amount),
                "term_months": terms.term_months,
                "annual_rate": str(terms.annual_rate),
                "residual_value": None if residual is None else str(residual.amount),
            },
            occurred_at=at,
            business_date=business_date,
            actor_id=actor.user_id,
        )

    def priced_plan(self, pricing: Pricing) -> Plan:
        """The whole plan of :attr:`terms` under *pricing*, rows included: what the service
        stores beside the application after a change priced it."""
        return pricing.plan(self.terms)

    def _price(self, pricing: Pricing | None) -> None:
        """Record the version, the method and the plan's totals (none without *pricing*)."""
        if pricing is None:
            self.product_version_id = self.schedule_method = self.plan = None
            return
        self.product_version_id = pricing.version.id
        self.schedule_method = pricing.method
        self.plan = self.priced_plan(pricing).summary

    def _actions(self) -> tuple[str, ...]:
        return APPLICATION_LIFECYCLE.actions_from(self.state)


def _checked(
    actor: Actor,
    customer: Customer,
    vehicle: Vehicle,
    business_type: BusinessType | str,
    requested: RequestedTerms,
    pricing: Pricing | None,
    parties: Sequence[Party],
) -> BusinessType:
    """The business type, once every link, party and product fault is gathered."""
    checks = Checks()
    kind = checks.run(lambda: choice(BusinessType, business_type, "business_type"))
    checks.errors += _link_errors(actor, customer, vehicle, parties)
    if kind is not None and pricing is not None:
        checks.errors += pricing.errors(kind, requested)
    if kind is None or checks.errors:
        raise checks.error()
    return kind
