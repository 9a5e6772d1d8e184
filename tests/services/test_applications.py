from __future__ import annotations

from decimal import Decimal

import pytest

from leasekit.domain.applications import ApplicationState, BusinessType
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.errors import DomainError, IllegalTransitionError, NotFoundError, ValidationError
from leasekit.services import applications, customers, partners
from leasekit.services.context import ServiceContext

from .conftest import register_customer, register_vehicle


def draft_command(partner: Partner, customer_id: str, vehicle_id: str, **changes: object):
    values: dict[str, object] = {
        "partner_id": partner.id,
        "customer_id": customer_id,
        "vehicle_id": vehicle_id,
        "business_type": BusinessType.FINANCE_LEASE,
        "vehicle_price": Decimal("238000.00"),
        "down_payment": Decimal("47600.00"),
        "term_months": 36,
        "annual_rate": Decimal("0.0599"),
        "residual_value": Decimal("23800.00"),
    }
    values.update(changes)
    return applications.DraftApplication(**values)  # type: ignore[arg-type]


@pytest.fixture
def draft(ctx: ServiceContext, dealer: Actor, partner: Partner):
    command = draft_command(partner, register_customer(ctx, dealer), register_vehicle(ctx, dealer))
    return applications.create_draft(ctx, dealer, command)


def test_a_dealer_drafts_and_submits_an_application(
    ctx: ServiceContext, dealer: Actor, draft, deliveries: list[int]
) -> None:
    assert draft.state is ApplicationState.DRAFT
    assert draft.requested.amount_financed.amount == Decimal("190400.00")
    before = len(deliveries)
    submitted = applications.transition_application(ctx, dealer, draft.id, "submit")
    assert submitted.state is ApplicationState.SUBMITTED
    assert len(deliveries) == before + 1
    stored = applications.get_application(ctx, dealer, draft.id)
    assert stored.state is ApplicationState.SUBMITTED
    assert stored.requested == draft.requested
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("application", draft.id)
    assert [entry.action for entry in trail] == ["application_created", "application_submitted"]
    assert trail[-1].actor_id == dealer.user_id


def test_illegal_moves_change_nothing(ctx: ServiceContext, dealer: Actor, draft) -> None:
    with pytest.raises(IllegalTransitionError, match=r"approve.*draft"):
        applications.transition_application(ctx, dealer, draft.id, "approve")
    assert applications.get_application(ctx, dealer, draft.id).state is ApplicationState.DRAFT


def test_other_partners_objects_are_not_found(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, draft
) -> None:
    with pytest.raises(NotFoundError):
        applications.get_application(ctx, other_dealer, draft.id)
    with pytest.raises(NotFoundError):
        applications.transition_application(ctx, other_dealer, draft.id, "cancel")
    with pytest.raises(NotFoundError):
        customers.get_customer(ctx, other_dealer, draft.customer_id)
    assert applications.list_applications(ctx, other_dealer) == []
    assert [a.id for a in applications.list_applications(ctx, dealer)] == [draft.id]


def test_a_dealer_cannot_use_another_partners_customer(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, other_partner: Partner, draft
) -> None:
    vehicle = register_vehicle(ctx, other_dealer, "LFV2A21K5A3049721")
    command = draft_command(other_partner, draft.customer_id, vehicle)
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, other_dealer, command)
    assert [e.field for e in caught.value.errors] == ["customer_id"]


def test_bad_terms_name_every_field(ctx: ServiceContext, dealer: Actor, partner: Partner) -> None:
    command = draft_command(
        partner,
        register_customer(ctx, dealer),
        register_vehicle(ctx, dealer),
        down_payment=Decimal("300000"),
        term_months=0,
        annual_rate=Decimal("0.001234567"),
        vehicle_price=Decimal("238000.001"),
    )
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, dealer, command)
    fields = {e.field for e in caught.value.errors}
    assert {"vehicle_price", "term_months"} <= fields
    assert applications.list_applications(ctx, dealer) == []


def test_a_suspended_partner_cannot_submit(
    ctx: ServiceContext, dealer: Actor, manager: Actor, partner: Partner, draft
) -> None:
    partners.transition_partner(ctx, manager, partner.id, "suspend", "overdue rate too high")
    with pytest.raises(DomainError, match="suspended"):
        applications.transition_application(ctx, dealer, draft.id, "submit")
    assert applications.get_application(ctx, dealer, draft.id).state is ApplicationState.DRAFT


def test_revising_a_draft_keeps_its_partner(
    ctx: ServiceContext, dealer: Actor, partner: Partner, other_partner: Partner, draft
) -> None:
    changed = draft_command(
        partner, draft.customer_id, draft.vehicle_id, term_months=48, residual_value=None
    )
    revised = applications.update_draft(ctx, dealer, draft.id, changed)
    assert revised.requested.term_months == 48
    assert revised.version == draft.version + 1
    moved = draft_command(other_partner, draft.customer_id, draft.vehicle_id)
    with pytest.raises(ValidationError, match="partner_id"):
        applications.update_draft(ctx, dealer, draft.id, moved)


def test_duplicate_customer_per_partner_is_refused(ctx: ServiceContext, dealer: Actor) -> None:
    first = register_customer(ctx, dealer)
    with pytest.raises(ValidationError, match=f"already registered as customer {first}"):
        register_customer(ctx, dealer)
