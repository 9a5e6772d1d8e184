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
    RequestedTerms,
)
from leasekit.domain.customers import Customer
from leasekit.domain.identity import ORIGINATORS, Actor
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import (
    DomainError,
    FieldError,
    NotFoundError,
    StaleVersionError,
    ValidationError,
)
from leasekit.money import Money, currency
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, scoped, visible_or_not_found
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record, UnitOfWork

__all__ = [
    "ApplicationQuery",
    "DraftApplication",
    "Revision",
    "create_draft",
    "get_application",
    "list_applications",
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
    """
    partner = load_partner_reference(work.uow, work.actor, request.partner_id)
    customer, vehicle = _references(work.uow, work.actor, request)
    application = Application.draft(
        partner=partner,
        customer=customer,
        vehicle=vehicle,
        business_type=request.business_type,
        requested=_requested_terms(work, request),
        actor=work.actor,
        at=work.at,
    )
    work.uow.applications.add(application)
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
    """Replace what a draft (or a returned application) asks for; the partner stays."""
    application = _load(work.uow, work.actor, request.id)
    if request.expected_version not in (None, application.version):
        raise StaleVersionError(
            "application", request.id, request.expected_version or 0, application.version
        )
    if request.draft.partner_id != application.partner_id:
        raise ValidationError.single("partner_id", "an application cannot change partner")
    customer, vehicle = _references(work.uow, work.actor, request.draft)
    event = application.revise(
        customer=customer,
        vehicle=vehicle,
        business_type=request.draft.business_type,
        requested=_requested_terms(work, request.draft),
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    work.uow.applications.update(application)
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
