"""A partner's exit review, on SQLite and PostgreSQL: it lists what the partner still
carries, and ``exit`` is refused, changing nothing, until every item is clear."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerState
from leasekit.errors import DomainError, NotFoundError
from leasekit.services import applications, credit_limits, partner_exit, partners, users
from leasekit.services.context import ServiceContext

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command


def staff(ctx: ServiceContext, admin: Actor, role: Role) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser(role.value, role.value, role)).actor()


def adjust(ctx: ServiceContext, finance: Actor, partner: Partner, kind: str, amount: str) -> None:
    body = credit_limits.AdjustCreditLimit(partner.id, kind, "contract:1", Decimal(amount), "x")  # type: ignore[arg-type]
    credit_limits.adjust_credit_limit(ctx, finance, body)


def items(review: partner_exit.ExitReview) -> dict[str, bool]:
    return {item.name: item.clear for item in review.items}


def test_exit_waits_until_exposure_and_open_applications_are_resolved(
    ctx: ServiceContext, admin: Actor, dealer: Actor, partner: Partner
) -> None:
    director, finance = staff(ctx, admin, Role.DIRECTOR), staff(ctx, admin, Role.FINANCE)
    adjust(ctx, finance, partner, "take", "120000.00")
    customer, vehicle = register_customer(ctx, dealer), register_vehicle(ctx, dealer)
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))
    partners.transition_partner(ctx, director, partner.id, "start_exit", "dealer retires")

    review = partner_exit.get_exit_review(ctx, director, partner.id)
    assert not review.clear
    assert items(review) == {
        "credit_exposure": False, "open_applications": False, "pending_disbursements": True,
    }  # fmt: skip
    with pytest.raises(DomainError) as refused:
        partners.transition_partner(ctx, director, partner.id, "exit")
    assert "credit_exposure: used 120,000.00" in str(refused.value)
    assert "open_applications: 1 application(s)" in str(refused.value)
    assert partners.get_partner(ctx, director, partner.id).state is PartnerState.EXIT_REVIEW

    adjust(ctx, finance, partner, "release", "120000.00")
    applications.transition_application(ctx, dealer, draft.id, "cancel", "dealer leaves")
    assert partner_exit.get_exit_review(ctx, director, partner.id).clear
    exited = partners.transition_partner(ctx, director, partner.id, "exit")
    assert exited.state is PartnerState.EXITED


def test_a_dealer_reads_its_own_review_only(
    ctx: ServiceContext, dealer: Actor, partner: Partner, other_partner: Partner
) -> None:
    assert partner_exit.get_exit_review(ctx, dealer, partner.id).clear
    with pytest.raises(NotFoundError):
        partner_exit.get_exit_review(ctx, dealer, other_partner.id)
