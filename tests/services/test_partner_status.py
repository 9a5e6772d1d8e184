"""What a partner's state lets its users do, on a real database: the moves into and out of
``watch`` and ``frozen`` and who may make them, every state against the work the services
refuse or allow, and the users of a barred partner refused at authentication."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leasekit.demo import resident_id, vin
from leasekit.domain.customers import CustomerKind
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import PARTNER_CAPABILITIES, Partner, PartnerCapability, PartnerState
from leasekit.domain.vehicles import VehicleCondition
from leasekit.errors import (
    IllegalTransitionError,
    PartnerBarredError,
    PartnerRestrictedError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.services import applications, customers, documents, partners, users, vehicles
from leasekit.services.context import ServiceContext

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command
from .test_documents import PNG, chunks

P = PartnerState
Cap = PartnerCapability


def state_of(ctx: ServiceContext, actor: Actor, partner: Partner) -> PartnerState:
    return partners.get_partner(ctx, actor, partner.id).state


def put_in_state(ctx: ServiceContext, partner: Partner, state: PartnerState) -> None:
    """The partner in *state*, written directly: the capability table is under test here,
    not the way to each state (the scenarios below walk those)."""
    with ctx.uow_factory() as uow:
        stored = uow.partners.get(partner.id)
        stored.state = state
        uow.partners.update(stored)
        uow.commit()


def token_of(ctx: ServiceContext, actor: Actor) -> str:
    return users.issue_token(ctx, actor, users.NewToken("test")).token


# --- the moves -------------------------------------------------------------------------------


def test_a_watched_partner_keeps_trading_until_the_watch_is_cleared(
    ctx: ServiceContext, supervisor: Actor, manager: Actor, dealer: Actor, partner: Partner
) -> None:
    partners.transition_partner(ctx, supervisor, partner.id, "watch", "overdue rate 4%")
    assert state_of(ctx, dealer, partner) is P.WATCH
    customer = register_customer(ctx, dealer)
    command = draft_command(partner, customer, register_vehicle(ctx, dealer))
    draft = applications.create_draft(ctx, dealer, command)
    applications.transition_application(ctx, dealer, draft.id, "submit")
    partners.transition_partner(ctx, manager, partner.id, "clear_watch")
    assert state_of(ctx, dealer, partner) is P.ACTIVE
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("partner", partner.id)
    assert [(e.action, e.actor_id) for e in trail[-2:]] == [
        ("partner_put_on_watch", supervisor.user_id),
        ("partner_watch_cleared", manager.user_id),
    ]


# How a partner reaches each state a freeze may start from, after ``active``.
ON_THE_WAY = {
    P.ACTIVE: [],
    P.WATCH: [("watch", "supervisor")],
    P.SUSPENDED: [("suspend", "manager")],
    P.EXIT_REVIEW: [("start_exit", "manager")],
}


@pytest.mark.parametrize("source", list(ON_THE_WAY))
def test_a_freeze_stops_everything_but_the_portfolio_and_thaws_into_suspended(
    ctx: ServiceContext,
    manager: Actor,
    director: Actor,
    supervisor: Actor,
    dealer: Actor,
    partner: Partner,
    source: PartnerState,
) -> None:
    staff = {"manager": manager, "supervisor": supervisor}
    for action, who in ON_THE_WAY[source]:
        partners.transition_partner(ctx, staff[who], partner.id, action, "overdue invoices")
    assert state_of(ctx, dealer, partner) is source
    partners.transition_partner(ctx, director, partner.id, "freeze", "invoices under inquiry")
    assert state_of(ctx, dealer, partner) is P.FROZEN
    with pytest.raises(PartnerRestrictedError, match="is frozen and may not create_customers"):
        register_customer(ctx, dealer)
    assert customers.list_customers(ctx, dealer).items == []
    partners.transition_partner(ctx, supervisor, partner.id, "unfreeze", "inquiry closed")
    assert state_of(ctx, dealer, partner) is P.SUSPENDED
    partners.transition_partner(ctx, manager, partner.id, "reinstate")
    register_customer(ctx, dealer)


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ([], "clear_watch"),
        ([], "unfreeze"),
        (["suspend"], "watch"),
        (["freeze"], "start_exit"),
        (["freeze"], "reinstate"),
        (["freeze"], "watch"),
    ],
)
def test_moves_the_table_lacks_are_refused_naming_the_state(
    ctx: ServiceContext, director: Actor, partner: Partner, path: list[str], action: str
) -> None:
    for step in path:
        partners.transition_partner(ctx, director, partner.id, step, "overdue invoices")
    state = state_of(ctx, director, partner)
    with pytest.raises(IllegalTransitionError) as caught:
        partners.transition_partner(ctx, director, partner.id, action, "why not")
    assert (caught.value.state, caught.value.action) == (str(state), action)
    assert state_of(ctx, director, partner) is state


@pytest.mark.parametrize(
    ("path", "action", "who"),
    [
        ([], "watch", "officer"),
        ([], "watch", "dealer"),
        ([], "freeze", "manager"),
        (["watch"], "clear_watch", "officer"),
        (["freeze"], "unfreeze", "manager"),
        (["freeze"], "blacklist", "manager"),
    ],
)
def test_moves_are_refused_to_roles_the_table_does_not_name(
    ctx: ServiceContext,
    officer: Actor,
    manager: Actor,
    director: Actor,
    dealer: Actor,
    partner: Partner,
    path: list[str],
    action: str,
    who: str,
) -> None:
    for step in path:
        partners.transition_partner(ctx, director, partner.id, step, "overdue invoices")
    state = state_of(ctx, director, partner)
    actor = {"officer": officer, "manager": manager, "dealer": dealer}[who]
    with pytest.raises(PermissionDeniedError, match=f"may not {action} a partner"):
        partners.transition_partner(ctx, actor, partner.id, action, "why not")
    assert state_of(ctx, director, partner) is state


@pytest.mark.parametrize(
    ("path", "action"), [([], "watch"), ([], "freeze"), (["freeze"], "unfreeze")]
)
def test_a_sanction_and_its_lifting_say_why(
    ctx: ServiceContext, director: Actor, partner: Partner, path: list[str], action: str
) -> None:
    for step in path:
        partners.transition_partner(ctx, director, partner.id, step, "overdue invoices")
    with pytest.raises(ValidationError) as caught:
        partners.transition_partner(ctx, director, partner.id, action, "  ")
    assert [e.field for e in caught.value.errors] == ["reason"]


# --- every state against the work it allows --------------------------------------------------

Attempt = Callable[[], object]


def _attempts(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner
) -> dict[str, tuple[Cap, Attempt]]:
    """Each piece of work, the capability it needs, and a call that does it; what must exist
    beforehand (a customer, a vehicle, a draft) is made while the partner is active."""
    customer = register_customer(ctx, dealer)
    vehicle = register_vehicle(ctx, dealer)
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))

    def customer_for(actor: Actor, body: str, partner_id: str | None = None) -> Attempt:
        command = customers.RegisterCustomer(
            CustomerKind.INDIVIDUAL, "Li Na", resident_id(body), partner_id=partner_id
        )
        return lambda: customers.register_customer(ctx, actor, command)

    document = documents.UploadDocument(
        OwnerKind.PARTNER, partner.id, DocumentKind.BUSINESS_LICENSE, "licence.png"
    )
    new_vehicle = vehicles.RegisterVehicle(
        vin("LSVAU2180N2183295"), "Volkswagen", "Tiguan", 2025, VehicleCondition.NEW
    )
    return {
        "dealer registers a customer": (
            Cap.CREATE_CUSTOMERS,
            customer_for(dealer, "11010519900307002"),
        ),
        "officer registers a customer for the partner": (
            Cap.CREATE_CUSTOMERS,
            customer_for(officer, "11010519900307003", partner.id),
        ),
        "dealer registers a vehicle": (
            Cap.REGISTER_VEHICLES,
            lambda: vehicles.register_vehicle(ctx, dealer, new_vehicle),
        ),
        "dealer uploads a document": (
            Cap.UPLOAD_DOCUMENTS,
            lambda: documents.upload_document(ctx, dealer, document, chunks(PNG)),
        ),
        "dealer drafts an application": (
            Cap.SUBMIT_APPLICATIONS,
            lambda: applications.create_draft(
                ctx, dealer, draft_command(partner, customer, vehicle)
            ),
        ),
        "dealer submits a draft": (
            Cap.SUBMIT_APPLICATIONS,
            lambda: applications.transition_application(ctx, dealer, draft.id, "submit"),
        ),
    }


def _refused(attempt: Attempt) -> str | None:
    """The capability the partner lacked if *attempt* was refused for it; None if done."""
    try:
        attempt()
    except PartnerRestrictedError as refused:
        return refused.capability
    return None


@pytest.mark.parametrize("state", list(PartnerState))
def test_the_services_allow_exactly_what_the_state_grants(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner, state: PartnerState
) -> None:
    attempts = _attempts(ctx, dealer, officer, partner)
    put_in_state(ctx, partner, state)
    refused = {work: _refused(attempt) for work, (_, attempt) in attempts.items()}
    assert refused == {
        work: None if state in PARTNER_CAPABILITIES[cap] else str(cap)
        for work, (cap, _) in attempts.items()
    }


def test_a_refusal_names_the_partner_its_state_and_the_work(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    put_in_state(ctx, partner, P.SUSPENDED)
    with pytest.raises(PartnerRestrictedError) as caught:
        register_vehicle(ctx, dealer)
    assert (
        str(caught.value) == "partner 'Sunrise Motors' is suspended and may not register_vehicles"
    )
    assert (caught.value.state, caught.value.capability) == ("suspended", "register_vehicles")


# --- barred partners at authentication -------------------------------------------------------


@pytest.mark.parametrize("state", list(PartnerState))
def test_a_partners_users_authenticate_while_it_may_see_its_portfolio(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner, state: PartnerState
) -> None:
    token, staff_token = token_of(ctx, dealer), token_of(ctx, officer)
    put_in_state(ctx, partner, state)
    if state in PARTNER_CAPABILITIES[Cap.VIEW_PORTFOLIO]:
        assert users.authenticate(ctx, token) == dealer
    else:
        with pytest.raises(PartnerBarredError, match=f"your partner is {state}") as caught:
            users.authenticate(ctx, token)
        assert caught.value.state == state
    assert users.authenticate(ctx, staff_token) == officer, "back-office users have no partner"


def test_lifting_a_blacklist_lets_the_users_back_in_without_new_tokens(
    ctx: ServiceContext, director: Actor, dealer: Actor, partner: Partner
) -> None:
    token = token_of(ctx, dealer)
    partners.transition_partner(ctx, director, partner.id, "blacklist", "forged invoices")
    with pytest.raises(PartnerBarredError, match="blacklisted"):
        users.authenticate(ctx, token)
    partners.transition_partner(ctx, director, partner.id, "lift_blacklist", "court cleared it")
    assert users.authenticate(ctx, token) == dealer
    with pytest.raises(PartnerRestrictedError, match="is suspended"):
        register_customer(ctx, dealer)
