"""Drafting financing applications and moving them through their lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import attrs

from leasekit.domain.applications import Application, BusinessType, RequestedTerms
from leasekit.domain.customers import Customer
from leasekit.domain.identity import Actor
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import FieldError, NotFoundError, ValidationError
from leasekit.money import Money, currency
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.partners import load_partner_reference
from leasekit.services.ports import UnitOfWork

__all__ = [
    "DraftApplication",
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


def _requested_terms(ctx: ServiceContext, command: DraftApplication) -> RequestedTerms:
    try:
        cur = currency(command.currency) if command.currency else ctx.currency
    except ValueError as exc:
        raise ValidationError.single("currency", str(exc)) from None
    residual = command.residual_value
    return RequestedTerms(
        vehicle_price=Money(command.vehicle_price, cur),
        down_payment=Money(command.down_payment, cur),
        term_months=command.term_months,
        annual_rate=command.annual_rate,
        residual_value=None if residual is None else Money(residual, cur),
    )


def _references(
    uow: UnitOfWork, actor: Actor, command: DraftApplication
) -> tuple[Customer, Vehicle]:
    """The customer and vehicle a draft names, every missing one reported as its field."""
    errors: list[FieldError] = []
    customer = _reference(
        lambda: uow.customers.get(command.customer_id), actor, "customer_id", errors
    )
    vehicle = _reference(lambda: uow.vehicles.get(command.vehicle_id), actor, "vehicle_id", errors)
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


def create_draft(
    ctx: ServiceContext,
    actor: Actor,
    command: DraftApplication,
    *,
    idempotency_key: str | None = None,
) -> Application:
    """A new draft application for a partner that may bring business."""
    retry = Retry.of(idempotency_key, "create_draft", command)
    with ctx.unit_of_work() as uow:
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.applications.get(earlier)
        partner = load_partner_reference(uow, actor, command.partner_id)
        customer, vehicle = _references(uow, actor, command)
        application = Application.draft(
            partner=partner,
            customer=customer,
            vehicle=vehicle,
            business_type=command.business_type,
            requested=_requested_terms(ctx, command),
            actor=actor,
            at=ctx.clock.now(),
        )
        uow.applications.add(application)
        retry.remember(uow, actor, "application", application.id, application.created_at)
        uow.record(
            ctx.event(
                actor,
                "application_created",
                "application",
                application.id,
                {"partner_id": application.partner_id},
            )
        )
        uow.commit()
    return application


def update_draft(
    ctx: ServiceContext, actor: Actor, application_id: str, command: DraftApplication
) -> Application:
    """Replace what a draft (or a returned application) asks for; the partner stays."""
    with ctx.unit_of_work() as uow:
        application = _load(uow, actor, application_id)
        if command.partner_id != application.partner_id:
            raise ValidationError.single("partner_id", "an application cannot change partner")
        customer, vehicle = _references(uow, actor, command)
        at, business_date = ctx.moment()
        event = application.revise(
            customer=customer,
            vehicle=vehicle,
            business_type=command.business_type,
            requested=_requested_terms(ctx, command),
            actor=actor,
            at=at,
            business_date=business_date,
        )
        uow.applications.update(application)
        uow.record(event)
        uow.commit()
    return application


def transition_application(
    ctx: ServiceContext,
    actor: Actor,
    application_id: str,
    action: str,
    reason: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> Application:
    """Apply a lifecycle *action*; submitting also needs the partner to be in good standing.
    A retry with the same idempotency key returns the application without acting again."""
    retry = Retry.of(idempotency_key, "transition_application", (application_id, action, reason))
    with ctx.unit_of_work() as uow:
        application = _load(uow, actor, application_id)
        if retry.earlier(uow, actor) is not None:
            return application
        partner = uow.partners.get(application.partner_id)
        at, business_date = ctx.moment()
        event = application.apply(
            action, actor, at=at, business_date=business_date, reason=reason, partner=partner
        )
        uow.applications.update(application)
        retry.remember(uow, actor, "application", application.id, at)
        uow.record(event)
        uow.commit()
    return application


def get_application(ctx: ServiceContext, actor: Actor, application_id: str) -> Application:
    with ctx.uow_factory() as uow:
        return _load(uow, actor, application_id)


def list_applications(
    ctx: ServiceContext, actor: Actor, *, state: str | None = None
) -> list[Application]:
    with ctx.uow_factory() as uow:
        return uow.applications.all(partner_id=actor.partner_id, state=state)


def _load(uow: UnitOfWork, actor: Actor, application_id: str) -> Application:
    application = uow.applications.get(application_id)
    return visible_or_not_found(actor, application, "application", application_id)
