"""Drafting financing applications, revising them, moving them through their lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeVar

import attrs

from leasekit.domain.applications import (
    APPLICATION_LIFECYCLE,
    Application,
    ApplicationAction,
    ApplicationState,
    BusinessType,
    Pricing,
    RequestedTerms,
)
from leasekit.domain.customers import Customer
from leasekit.domain.identity import ORIGINATORS, Actor
from leasekit.domain.partners import Partner
from leasekit.domain.plans import MAX_PARTIES, Party, PlanRow, PlanSummary
from leasekit.domain.products import MAX_CODE
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import (
    ConflictError,
    DomainError,
    FieldError,
    NotFoundError,
    ValidationError,
)
from leasekit.money import Money, currency
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import ServiceContext, scoped, visible_or_not_found
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record, UnitOfWork

__all__ = [
    "ApplicationPlan",
    "ApplicationQuery",
    "DraftApplication",
    "ImposeConditions",
    "Revision",
    "create_draft",
    "get_application",
    "get_application_plan",
    "impose_conditions",
    "list_applications",
    "revise_application",
    "transition_application",
    "update_draft",
]

T = TypeVar("T")


@attrs.frozen
class DraftApplication:
    """What a partner asks for, as entered: amounts in *currency* (the book currency if
    omitted), the rate a yearly fraction (``0.0599`` for 5.99 %)."""

    partner_id: str
    customer_id: str
    vehicle_id: str
    business_type: BusinessType
    vehicle_price: Decimal
    down_payment: Decimal
    term_months: int
    annual_rate: Decimal
    residual_value: Decimal | None = None
    currency: str | None = None
    product_code: str | None = attrs.field(
        default=None,
        metadata={
            "description": "The product the application is priced with (``NCL-36``); its "
            "version on sale now prices it. Without one the application has no plan.",
            "max_length": MAX_CODE,
        },
    )
    schedule_method: str | None = attrs.field(
        default=None,
        metadata={
            "description": "One of the product's schedule methods; its first if omitted.",
            "max_length": 40,
        },
    )
    parties: tuple[Party, ...] = attrs.field(
        default=(),
        metadata={
            "description": f"Co-applicants and guarantors besides the customer, at most "
            f"{MAX_PARTIES}, each a registered customer listed once.",
        },
    )


@attrs.frozen
class ImposeConditions:
    """An approver's changed terms for an application in review, and why; each term left
    out stays as it is (a ``residual_value`` of 0 removes the residual)."""

    id: str
    reason: str
    down_payment: Decimal | None = None
    term_months: int | None = None
    annual_rate: Decimal | None = None
    residual_value: Decimal | None = None
    expected_version: int | None = None


@attrs.frozen
class ApplicationPlan:
    """An application's plan: the product version and method it was priced with, its totals
    and every installment."""

    application_id: str
    product_version_id: str
    summary: PlanSummary
    rows: tuple[PlanRow, ...]


@attrs.frozen
class Revision:
    """A draft's new terms, for the application at the version the caller last saw."""

    id: str
    draft: DraftApplication
    expected_version: int | None = None


@attrs.frozen
class ApplicationQuery:
    """Which applications to list; every field left out matches all."""

    partner_id: str | None = None
    state: ApplicationState | None = None
    customer_id: str | None = None
    vehicle_id: str | None = None
    business_type: BusinessType | None = None
    created_from: date | None = None
    created_to: date | None = None


def _requested_terms(work: Work, request: DraftApplication) -> RequestedTerms:
    try:
        cur = currency(request.currency) if request.currency else work.ctx.currency
    except ValueError as exc:
        raise ValidationError.single("currency", str(exc)) from None
    residual = request.residual_value
    return RequestedTerms(
        vehicle_price=Money(request.vehicle_price, cur),
        down_payment=Money(request.down_payment, cur),
        term_months=request.term_months,
        annual_rate=request.annual_rate,
        residual_value=None if residual is None else Money(residual, cur),
    )


def _references(
    uow: UnitOfWork, actor: Actor, request: DraftApplication
) -> tuple[Customer, Vehicle]:
    """The customer and vehicle a draft names, every missing one reported as its field."""
    errors: list[FieldError] = []
    customer = _reference(
        lambda: uow.customers.get(request.customer_id), actor, "customer_id", errors
    )
    vehicle = _reference(lambda: uow.vehicles.get(request.vehicle_id), actor, "vehicle_id", errors)
    if customer is None or vehicle is None:
        raise ValidationError(errors)
    return customer, vehicle


def _reference(
    load: Callable[[], T], actor: Actor, field: str, errors: list[FieldError]
) -> T | None:
    """What *load* finds if the actor may see it; otherwise None and an error on *field*."""
    kind = field.removesuffix("_id")
    try:
        return visible_or_not_found(actor, load(), kind, field)
    except NotFoundError:
        errors.append(FieldError(field, f"no such {kind}"))
        return None


def _pricing(work: Work, partner: Partner, request: DraftApplication) -> Pricing | None:
    """What prices the draft: the version of its product on sale now, or None without a
    product (a schedule method then is a fault: there is nothing to choose it from)."""
    if request.product_code is None:
        if request.schedule_method is not None:
            raise ValidationError.single("schedule_method", "needs a product_code")
        return None
    product = work.uow.products.find_by_code(request.product_code.strip().upper())
    if product is None:
        raise ValidationError.single("product_code", "no such product")
    if product.current_version_id is None:
        raise ValidationError.single(
            "product_code", f"product {product.code} is {product.state}: it is not on sale"
        )
    return Pricing(
        version=work.uow.product_versions.get(product.current_version_id),
        partner=partner,
        schedule_method=request.schedule_method,
        priced_on=work.business_date,
        convention=work.ctx.pricing,
    )


def _parties(uow: UnitOfWork, actor: Actor, parties: tuple[Party, ...]) -> None:
    """Each party a customer the actor can see; a missing one a fault on its place. Those
    past the most an application lists are not looked up: the list is refused as too long."""
    errors: list[FieldError] = []
    for index, party in enumerate(parties[: MAX_PARTIES + 1]):
        field = f"parties[{index}].customer_id"
        try:
            visible_or_not_found(actor, uow.customers.get(party.customer_id), "customer", field)
        except NotFoundError:
            errors.append(FieldError(field, "no such customer"))
    if errors:
        raise ValidationError(errors)


def _store_plan(work: Work, application: Application, pricing: Pricing | None) -> None:
    """The rows of the plan the change computed, in place of those before."""
    rows = () if pricing is None else application.priced_plan(pricing).rows
    work.uow.plan_rows.replace(application.id, rows)


def _load(uow: UnitOfWork, actor: Actor, application_id: str) -> Application:
    application = uow.applications.get(application_id)
    return visible_or_not_found(actor, application, "application", application_id)


@command(
    "create_draft",
    subject="application",
    creates="application",
    reload=lambda uow, application_id: uow.applications.get(application_id),
)
def create_draft(work: Work, request: DraftApplication) -> Application:
    """Draft an application.

    For a partner that may bring business. The customer and the vehicle must be registered
    first and visible to the caller; a missing one is a fault on ``customer_id`` or
    ``vehicle_id``. Amounts are decimal strings (``"238000.00"``), never JSON numbers, and
    the rate a yearly fraction (``"0.0599"``).

    With a ``product_code`` the application is priced with the product's version on sale
    today: the product must be of the application's business type and one the partner may
    sell, and each term within it (a fault names the field and the range the product
    allows); the plan (schedule and totals, APR by the company's convention) is computed
    and stored. ``parties`` lists co-applicants and guarantors.
    """
    partner = load_partner_reference(work.uow, work.actor, request.partner_id)
    customer, vehicle = _references(work.uow, work.actor, request)
    _parties(work.uow, work.actor, request.parties)
    pricing = _pricing(work, partner, request)
    application = Application.draft(
        partner=partner,
        customer=customer,
        vehicle=vehicle,
        business_type=request.business_type,
        requested=_requested_terms(work, request),
        actor=work.actor,
        at=work.at,
        pricing=pricing,
        parties=request.parties,
    )
    work.uow.applications.add(application)
    _store_plan(work, application, pricing)
    work.event(
        "application_created",
        "application",
        application.id,
        {"partner_id": application.partner_id},
    )
    return application


@command(
    "revise_application",
    subject="application",
    roles=ORIGINATORS,
    reload=lambda uow, application_id: uow.applications.get(application_id),
)
def revise_application(work: Work, request: Revision) -> Application:
    """Replace what a draft (or a returned application) asks for; the partner stays.

    The parties are replaced and the plan computed again, priced with the version of the
    product on sale at revision time."""
    application = at_version(
        "application", request.id, _load(work.uow, work.actor, request.id),
        request.expected_version,
    )  # fmt: skip
    if request.draft.partner_id != application.partner_id:
        raise ValidationError.single("partner_id", "an application cannot change partner")
    customer, vehicle = _references(work.uow, work.actor, request.draft)
    _parties(work.uow, work.actor, request.draft.parties)
    partner = load_partner_reference(work.uow, work.actor, application.partner_id)
    pricing = _pricing(work, partner, request.draft)
    event = application.revise(
        customer=customer,
        vehicle=vehicle,
        business_type=request.draft.business_type,
        requested=_requested_terms(work, request.draft),
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
        pricing=pricing,
        parties=request.draft.parties,
    )
    work.uow.applications.update(application)
    _store_plan(work, application, pricing)
    work.record(event)
    return application


def _imposed_terms(application: Application, request: ImposeConditions) -> RequestedTerms:
    """The application's terms with the changes the approver asked for."""
    terms = application.terms
    cur = terms.vehicle_price.currency
    residual = request.residual_value
    if residual is None:
        residual_value = terms.residual_value
    else:
        residual_value = Money(residual, cur) if residual else None
    down = terms.down_payment if request.down_payment is None else Money(request.down_payment, cur)
    return RequestedTerms(
        vehicle_price=terms.vehicle_price,
        down_payment=down,
        term_months=terms.term_months if request.term_months is None else request.term_months,
        annual_rate=terms.annual_rate if request.annual_rate is None else request.annual_rate,
        residual_value=residual_value,
    )


def impose_conditions(work: Work, request: ImposeConditions) -> Application:
    """Impose conditions on an application in review, as part of *work*: the approval
    workflow's ``approve_with_conditions`` (so only the holder of the application's task
    imposes them).

    An approver's changed terms (a larger down payment, a shorter term, another rate or
    residual value), with a reason: checked against the product version the application was
    priced with, the plan computed again and stored. The requested terms stay as the partner
    asked; ``conditions`` holds the terms imposed.
    """
    application = at_version(
        "application", request.id, _load(work.uow, work.actor, request.id),
        request.expected_version,
    )  # fmt: skip
    if application.product_version_id is None:
        raise ConflictError(f"application {application.id} was priced with no product")
    pricing = Pricing(
        version=work.uow.product_versions.get(application.product_version_id),
        partner=work.uow.partners.get(application.partner_id),
        schedule_method=application.schedule_method,
        priced_on=work.business_date,
        convention=work.ctx.pricing,
    )
    event = application.impose_conditions(
        terms=_imposed_terms(application, request),
        reason=request.reason,
        pricing=pricing,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    work.uow.applications.update(application)
    _store_plan(work, application, pricing)
    work.record(event)
    return application


def update_draft(
    ctx: ServiceContext,
    actor: Actor,
    application_id: str,
    draft: DraftApplication,
    *,
    expected_version: int | None = None,
) -> Application:
    """:func:`revise_application` with the revision's parts as arguments."""
    return revise_application(ctx, actor, Revision(application_id, draft, expected_version))


def _through_tasks(work: Work, application: Application) -> None:
    """A credit decision is made on the application's approval task, never here."""
    raise DomainError(
        "decide the application on its approval task (POST /approval-tasks/{id}/transitions), "
        "which enforces tiers and authority"
    )


transition_application = transition_command(
    "application",
    APPLICATION_LIFECYCLE,
    lambda uow: uow.applications,
    before={
        ApplicationAction.APPROVE: _through_tasks,
        ApplicationAction.REJECT: _through_tasks,
        ApplicationAction.RETURN: _through_tasks,
    },
)
"""Apply a lifecycle action; submitting also needs the partner to be in good standing."""


def get_application(ctx: ServiceContext, actor: Actor, application_id: str) -> Application:
    """Get an application.

    Another partner's application reads as missing, like a missing one."""
    with ctx.uow_factory() as uow:
        return _load(uow, actor, application_id)


def get_application_plan(ctx: ServiceContext, actor: Actor, application_id: str) -> ApplicationPlan:
    """Get an application's plan.

    Its totals and every installment (due date, payment, principal, interest, balance), as
    the calculator computed them when the application was last priced. An application
    without a product has no plan: 404."""
    with ctx.uow_factory() as uow:
        application = _load(uow, actor, application_id)
        if application.plan is None or application.product_version_id is None:
            raise NotFoundError("plan", application_id)
        rows = uow.plan_rows.for_application(application_id)
    return ApplicationPlan(
        application.id, application.product_version_id, application.plan, tuple(rows)
    )


list_applications: Lister[ApplicationQuery, Record] = lister(
    "list_applications",
    ApplicationQuery,
    lambda uow: uow.applications,
    scoped,
    """List applications.

    A dealer user sees its own partner's applications; back-office staff see all.
    ``?state=submitted`` keeps those in one state; ``created_from``/``created_to`` bound the
    day they were drafted (UTC).""",
)
