"""Onboarding partners (dealers) and moving them through their lifecycle."""

from __future__ import annotations

from decimal import Decimal

import attrs

from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.errors import NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.ports import UnitOfWork

__all__ = [
    "OnboardPartner",
    "get_partner",
    "list_partners",
    "load_partner_reference",
    "onboard_partner",
    "transition_partner",
]


@attrs.frozen
class OnboardPartner:
    name: str
    registration_number: str
    credit_limit: Decimal
    country: str = "CN"
    rating: PartnerRating | None = None


def onboard_partner(
    ctx: ServiceContext,
    actor: Actor,
    command: OnboardPartner,
    *,
    idempotency_key: str | None = None,
) -> Partner:
    """A new partner in state ``prospect``; one partner per company code."""
    retry = Retry.of(idempotency_key, "onboard_partner", command)
    with ctx.unit_of_work() as uow:
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.partners.get(earlier)
        partner = Partner.onboard(
            name=command.name,
            registration_number=command.registration_number,
            credit_limit=Money(command.credit_limit, ctx.currency),
            country=command.country,
            rating=command.rating,
            actor=actor,
            at=ctx.clock.now(),
        )
        existing = uow.partners.find_by_registration_number(
            partner.country, partner.registration_number
        )
        if existing is not None:
            raise ValidationError.single(
                "registration_number", f"already onboarded as partner {existing.id}"
            )
        uow.partners.add(partner)
        retry.remember(uow, actor, "partner", partner.id, partner.created_at)
        uow.record(ctx.event(actor, "partner_onboarded", "partner", partner.id, {}))
        uow.commit()
    return partner


def transition_partner(
    ctx: ServiceContext,
    actor: Actor,
    partner_id: str,
    action: str,
    reason: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> Partner:
    """Apply a lifecycle *action* (``apply``, ``approve``, ``suspend``, ``blacklist`` ...);
    a retry with the same idempotency key returns the partner without acting again."""
    retry = Retry.of(idempotency_key, "transition_partner", (partner_id, action, reason))
    with ctx.unit_of_work() as uow:
        partner = visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
        if retry.earlier(uow, actor) is not None:
            return partner
        at, business_date = ctx.moment()
        event = partner.apply(action, actor, at=at, business_date=business_date, reason=reason)
        uow.partners.update(partner)
        retry.remember(uow, actor, "partner", partner.id, at)
        uow.record(event)
        uow.commit()
    return partner


def get_partner(ctx: ServiceContext, actor: Actor, partner_id: str) -> Partner:
    with ctx.uow_factory() as uow:
        partner = uow.partners.get(partner_id)
    return visible_or_not_found(actor, partner, "partner", partner_id)


def list_partners(ctx: ServiceContext, actor: Actor) -> list[Partner]:
    """Every partner for the back office; a dealer user sees its own partner only."""
    with ctx.uow_factory() as uow:
        if actor.partner_id is not None:
            return [uow.partners.get(actor.partner_id)]
        return uow.partners.all()


def load_partner_reference(uow: UnitOfWork, actor: Actor, partner_id: str) -> Partner:
    """The partner a command names, as a field error if it does not exist for the actor."""
    try:
        return visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
    except NotFoundError:
        raise ValidationError.single("partner_id", f"no partner {partner_id!r}") from None
