from __future__ import annotations

from decimal import Decimal

import pytest

from leasekit.demo import credit_code
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner, PartnerState
from leasekit.errors import NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.services import credit_limits, partners
from leasekit.services.context import ServiceContext

CODE = credit_code("91420100MA4K5E6F7")


def onboard(ctx: ServiceContext, officer: Actor, code: str = CODE) -> Partner:
    command = partners.OnboardPartner("Riverside Autos", code, Decimal("500000.00"))
    return partners.onboard_partner(ctx, officer, command)


def test_a_partner_is_onboarded_as_a_prospect(ctx: ServiceContext, officer: Actor) -> None:
    partner = onboard(ctx, officer)
    assert partner.state is PartnerState.PROSPECT
    limit = credit_limits.get_credit_limit(ctx, officer, partner.id)
    assert limit.total == Money("500000.00", ctx.currency)
    assert limit.used.amount == limit.frozen.amount == 0
    assert partners.get_partner(ctx, officer, partner.id) == partner
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("partner", partner.id)
    assert [(entry.action, entry.actor_id) for entry in trail] == [
        ("partner_onboarded", officer.user_id)
    ]


def test_a_company_code_is_onboarded_once(ctx: ServiceContext, officer: Actor) -> None:
    first = onboard(ctx, officer)
    spaced = f"{CODE[:2]} {CODE[2:8]} {CODE[8:]}"  # the same code as people type it
    for code in (CODE, spaced):
        with pytest.raises(ValidationError) as caught:
            onboard(ctx, officer, code)
        [error] = caught.value.errors
        assert (error.field, error.message) == (
            "registration_number",
            f"already onboarded as partner {first.id}",
        )
    assert [p["id"] for p in partners.list_partners(ctx, officer).items] == [first.id]


def test_a_dealer_lists_and_sees_its_own_partner_only(
    ctx: ServiceContext,
    officer: Actor,
    dealer: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    everyone = [p["id"] for p in partners.list_partners(ctx, officer).items]
    assert sorted(everyone) == sorted([partner.id, other_partner.id])
    assert [p["id"] for p in partners.list_partners(ctx, dealer).items] == [partner.id]
    assert partners.get_partner(ctx, dealer, partner.id) == partner
    with pytest.raises(NotFoundError) as caught:
        partners.get_partner(ctx, dealer, other_partner.id)
    assert (caught.value.kind, caught.value.key) == ("partner", other_partner.id)
    with pytest.raises(NotFoundError):
        partners.transition_partner(ctx, dealer, other_partner.id, "suspend", "no")
    assert partners.get_partner(ctx, officer, other_partner.id).state is PartnerState.ACTIVE
