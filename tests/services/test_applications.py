from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from leasekit.domain.applications import ApplicationState, BusinessType
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.errors import DomainError, IllegalTransitionError, NotFoundError, ValidationError
from leasekit.services import applications, customers, documents, partners, vehicles
from leasekit.services.context import ServiceContext

from .conftest import register_customer, register_vehicle
from .test_documents import PNG


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
    assert applications.list_applications(ctx, other_dealer).items == []
    assert [a["id"] for a in applications.list_applications(ctx, dealer).items] == [draft.id]


GETTERS: dict[str, Callable[[ServiceContext, Actor, str], object]] = {
    "application": applications.get_application,
    "customer": customers.get_customer,
    "vehicle": vehicles.get_vehicle,
    "partner": partners.get_partner,
    "document": documents.get_document,
    "document content": documents.open_document,
}


@pytest.mark.parametrize("name", GETTERS)
def test_another_partners_object_reads_exactly_like_a_missing_one(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, draft, name: str
) -> None:
    document = documents.upload_document(
        ctx,
        dealer,
        documents.UploadDocument(
            OwnerKind.APPLICATION, draft.id, DocumentKind.ID_CARD_FRONT, "id.png"
        ),
        [PNG],
    )
    ids = {
        "application": draft.id,
        "customer": draft.customer_id,
        "vehicle": draft.vehicle_id,
        "partner": draft.partner_id,
        "document": document.id,
        "document content": document.id,
    }
    get = GETTERS[name]
    get(ctx, dealer, ids[name])
    with pytest.raises(NotFoundError) as hidden:
        get(ctx, other_dealer, ids[name])
    with pytest.raises(NotFoundError) as missing:
        get(ctx, other_dealer, "0" * 32)
    assert hidden.value.key == ids[name]
    assert hidden.value.kind == missing.value.kind
    assert str(hidden.value) == str(missing.value).replace("0" * 32, ids[name])


def test_a_dealer_cannot_use_another_partners_customer(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, other_partner: Partner, draft
) -> None:
    vehicle = register_vehicle(ctx, other_dealer, "LFV2A21K5A3049721")
    command = draft_command(other_partner, draft.customer_id, vehicle)
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, other_dealer, command)
    assert [e.field for e in caught.value.errors] == ["customer_id"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {
                "down_payment": Decimal("300000.00"),
                "term_months": 0,
                "annual_rate": Decimal("5.99"),
                "residual_value": None,
            },
            {"down_payment", "term_months", "annual_rate"},
        ),
        (
            {"vehicle_price": Decimal("238000.001"), "residual_value": Decimal("-1.00")},
            {"vehicle_price", "residual_value"},
        ),
    ],
)
def test_bad_terms_name_every_field(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    changes: dict[str, object],
    fields: set[str],
) -> None:
    command = draft_command(
        partner, register_customer(ctx, dealer), register_vehicle(ctx, dealer), **changes
    )
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, dealer, command)
    assert {e.field for e in caught.value.errors} == fields
    assert applications.list_applications(ctx, dealer).items == []


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
    stored = applications.get_application(ctx, dealer, draft.id)
    assert (stored.partner_id, stored.version) == (partner.id, revised.version)


def test_duplicate_customer_per_partner_is_refused(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor
) -> None:
    first = register_customer(ctx, dealer)
    with pytest.raises(ValidationError, match=f"already registered as customer {first}") as caught:
        register_customer(ctx, dealer)
    assert [e.field for e in caught.value.errors] == ["id_number"]
    assert [c["id"] for c in customers.list_customers(ctx, dealer).items] == [first]
    theirs = register_customer(ctx, other_dealer)  # the same person at another partner
    assert theirs != first
