"""Onboarding partners (dealers), moving them through their lifecycle, and finding them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from leasekit.domain.identity import Actor
from leasekit.domain.partners import (
    PARTNER_LIFECYCLE,
    Partner,
    PartnerCapability,
    PartnerRating,
    PartnerState,
)
from leasekit.errors import NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, page_size, visible_or_not_found
from leasekit.services.storage import Page, Record, UnitOfWork

__all__ = [
    "OnboardPartner",
    "PartnerQuery",
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


@attrs.frozen
class PartnerQuery:
    """Which partners to list; every field left out matches all."""

    state: PartnerState | None = None
    rating: PartnerRating | None = None
    q: str | None = attrs.field(
        default=None, metadata={"description": "The start of the name, in any case."}
    )
    created_from: date | None = None
    created_to: date | None = None
    id: str | None = None


@command(
    "onboard_partner",
    subject="partner",
    creates="partner",
    reload=lambda uow, partner_id: uow.partners.get(partner_id),
)
def onboard_partner(work: Work, request: OnboardPartner) -> Partner:
    """A new partner in state ``prospect``; one partner per company code."""
    partner = Partner.onboard(
        name=request.name,
        registration_number=request.registration_number,
        credit_limit=Money(request.credit_limit, work.ctx.currency),
        country=request.country,
        rating=request.rating,
        actor=work.actor,
        at=work.at,
    )
    existing = work.uow.partners.find_by_registration_number(
        partner.country, partner.registration_number
    )
    if existing is not None:
        raise ValidationError.single(
            "registration_number", f"already onboarded as partner {existing.id}"
        )
    work.uow.partners.add(partner)
    work.event("partner_onboarded", "partner", partner.id, {})
    return partner


transition_partner = transition_command("partner", PARTNER_LIFECYCLE, lambda uow: uow.partners)
"""Apply a lifecycle action (``apply``, ``approve``, ``suspend``, ``blacklist`` ...)."""


def get_partner(ctx: ServiceContext, actor: Actor, partner_id: str) -> Partner:
    with ctx.uow_factory() as uow:
        partner = uow.partners.get(partner_id)
    return visible_or_not_found(actor, partner, "partner", partner_id)


def list_partners(
    ctx: ServiceContext,
    actor: Actor,
    query: PartnerQuery | None = None,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """Partners for the back office; a dealer user sees its own partner only."""
    query = query or PartnerQuery()
    if actor.is_dealer:
        if query.id not in (None, actor.partner_id):
            return Page([], None)
        query = attrs.evolve(query, id=actor.partner_id)
    with ctx.uow_factory() as uow:
        return uow.partners.page(query, after=after, limit=page_size(limit))


def load_partner_reference(
    uow: UnitOfWork,
    actor: Actor,
    partner_id: str,
    capability: PartnerCapability | None = None,
) -> Partner:
    """The partner a command names, as a field error if it does not exist for the actor; with
    *capability*, refused unless the partner's state grants it (a blacklisted dealer's staff
    register nothing)."""
    try:
        partner = visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
    except NotFoundError:
        raise ValidationError.single("partner_id", f"no partner {partner_id!r}") from None
    if capability is not None:
        partner.require(capability)
    return partner
