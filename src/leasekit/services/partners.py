"""Onboarding partners (dealers), moving them through their lifecycle, and finding them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from leasekit.domain.credit_limits import CreditLimit, opening_limit
from leasekit.domain.identity import Actor
from leasekit.domain.partners import (
    PARTNER_LIFECYCLE,
    Partner,
    PartnerCapability,
    PartnerRating,
    PartnerState,
)
from leasekit.domain.validation import Checks
from leasekit.errors import NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import visible_or_not_found
from leasekit.services.partner_exit import exit_only_when_clear
from leasekit.services.reads import lister, reader
from leasekit.services.storage import UnitOfWork

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
    """Onboard a partner.

    Back-office staff only (refused before the body is read). The company code is checked
    like a customer's id number (a unified social credit code in China), one partner per
    code. The credit limit, in the book currency, opens the partner's limit account
    (``/partners/{id}/credit-limit``), which changes afterwards only by approved requests.
    The partner starts as a ``prospect``.
    """
    checks = Checks()
    partner = checks.run(
        lambda: Partner.onboard(
            name=request.name,
            registration_number=request.registration_number,
            country=request.country,
            rating=request.rating,
            actor=work.actor,
            at=work.at,
        )
    )
    limit = checks.run(lambda: opening_limit(Money(request.credit_limit, work.ctx.currency)))
    if partner is None or limit is None:
        raise checks.error()
    existing = work.uow.partners.find_by_registration_number(
        partner.country, partner.registration_number
    )
    if existing is not None:
        raise ValidationError.single(
            "registration_number", f"already onboarded as partner {existing.id}"
        )
    work.uow.partners.add(partner)
    work.uow.credit_limits.add(CreditLimit.open(partner.id, limit, work.at))
    work.event("partner_onboarded", "partner", partner.id, {})
    return partner


transition_partner = transition_command(
    "partner", PARTNER_LIFECYCLE, lambda uow: uow.partners, after=exit_only_when_clear
)
"""Apply a lifecycle action (``apply``, ``approve``, ``suspend``, ``blacklist`` ...); ``exit``
only once the exit review is clear."""


def _own_partner(actor: Actor, query: PartnerQuery) -> PartnerQuery | None:
    """A dealer user's query confined to its own partner (None when it asks for another)."""
    if not actor.is_dealer:
        return query
    if query.id not in (None, actor.partner_id):
        return None
    return attrs.evolve(query, id=actor.partner_id)


get_partner = reader(
    "get_partner",
    "partner",
    lambda uow: uow.partners,
    """Get a partner.

    Another partner reads as missing to a dealer user, like a missing one.""",
)
list_partners = lister(
    "list_partners",
    PartnerQuery,
    lambda uow: uow.partners,
    _own_partner,
    """List partners.

    Back-office staff see all; a dealer user sees only its own partner.""",
)


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
