"""Pre-approval on submission, on SQLite and PostgreSQL: the published rules decline, refer or
pass an application on the facts gathered; a party that does not answer, or no rules in force,
refers it; an assessment runs once per submission; an id number is never logged nor shown
whole."""

from __future__ import annotations

import logging
from decimal import Decimal

import attrs
import pytest

from leasekit.demo import resident_id
from leasekit.domain.applications import ApplicationState
from leasekit.domain.customers import CustomerKind
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.domain.plans import Party, PartyRole
from leasekit.domain.rules import RuleAction
from leasekit.services import (
    applications,
    blacklist,
    catalog,
    customers,
    events,
    pre_approval,
    rules,
)
from leasekit.services.calls import CallPolicy
from leasekit.services.context import ServiceContext
from leasekit.testing import Fakes

from .conftest import dealer_of, register_customer, register_vehicle
from .test_applications import draft_command

ID_BODY = "11010519850712003"
GUARANTOR_BODY = "11010519790304005"
RULES = (
    rules.RuleInput("blacklisted", "blacklist_hits > 0", RuleAction.DECLINE, "on the blacklist"),
    rules.RuleInput("no_file", "credit_score == null", RuleAction.REFER, "no bureau file"),
    rules.RuleInput("high_risk", 'fraud_risk == "high"', RuleAction.DECLINE, "high fraud risk"),
)


@pytest.fixture
def ctx(ctx: ServiceContext) -> ServiceContext:
    """The services' context, asking each party twice at most and without pausing between."""
    return attrs.evolve(ctx, party_calls=CallPolicy(timeout_seconds=5, retries=1,
                                                    retry_backoff_seconds=0))  # fmt: skip


@pytest.fixture
def published(ctx: ServiceContext, manager: Actor, director: Actor) -> None:
    saved = rules.save_rule_set(ctx, manager, rules.SaveRuleSet("pre_approval", RULES))
    rules.transition_rule_set_version(ctx, director, saved.id, "publish")


def submitted(ctx: ServiceContext, dealer: Actor, partner: Partner) -> str:
    customer, vehicle = register_customer(ctx, dealer, ID_BODY), register_vehicle(ctx, dealer)
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))
    applications.transition_application(ctx, dealer, draft.id, "submit")
    return draft.id


def assess(ctx: ServiceContext, application_id: str) -> object:
    """Deliver the submission to the handler twice (a repeated delivery changes nothing) and
    return the application's assessments."""
    event = DomainEvent.new(
        "application_submitted", "application", application_id, {},
        occurred_at=ctx.clock.now(), business_date=ctx.clock.business_date(), actor_id="dealer",
    )  # fmt: skip
    handler = catalog.handlers()["origination.pre_approve"]
    for _ in range(2):
        events.HandlerSubscriber(handler, ctx).deliver(event)
    query = pre_approval.PreApprovalQuery(application_id=application_id)
    return pre_approval.list_pre_approvals(ctx, Actor.system(), query).items


def state(ctx: ServiceContext, dealer: Actor, application_id: str) -> ApplicationState:
    return applications.get_application(ctx, dealer, application_id).state


@pytest.mark.usefixtures("published")
def test_a_clean_case_passes_and_is_pre_approved(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    application_id = submitted(ctx, dealer, partner)
    (assessment,) = assess(ctx, application_id)
    assert (assessment["outcome"], assessment["reasons"]) == ("pass", [])
    assert assessment["facts"]["credit_score"] == "700"
    assert assessment["facts"]["amount_financed"] == "190400.00"
    assert state(ctx, dealer, application_id) is ApplicationState.PRE_APPROVED


@pytest.mark.usefixtures("published")
def test_a_blacklisted_applicant_is_declined_with_the_reason(
    ctx: ServiceContext, dealer: Actor, supervisor: Actor, partner: Partner
) -> None:
    application_id = submitted(ctx, dealer, partner)
    entry = blacklist.AddToBlacklist("identity fraud", id_number=resident_id(ID_BODY))
    blacklist.add_to_blacklist(ctx, supervisor, entry)
    (assessment,) = assess(ctx, application_id)
    assert assessment["outcome"] == "decline"
    assert assessment["reasons"] == ["blacklisted: on the blacklist"]
    assert state(ctx, dealer, application_id) is ApplicationState.DECLINED


@pytest.mark.usefixtures("published")
def test_a_blacklisted_guarantor_declines_the_case(
    ctx: ServiceContext, dealer: Actor, supervisor: Actor, partner: Partner
) -> None:
    guarantor = register_customer(ctx, dealer, GUARANTOR_BODY)
    customer, vehicle = register_customer(ctx, dealer, ID_BODY), register_vehicle(ctx, dealer)
    command = draft_command(partner, customer, vehicle,
                            parties=(Party(guarantor, PartyRole.GUARANTOR),))  # fmt: skip
    draft = applications.create_draft(ctx, dealer, command)
    applications.transition_application(ctx, dealer, draft.id, "submit")
    entry = blacklist.AddToBlacklist("identity fraud", id_number=resident_id(GUARANTOR_BODY))
    blacklist.add_to_blacklist(ctx, supervisor, entry)
    (assessment,) = assess(ctx, draft.id)
    assert (assessment["outcome"], assessment["facts"]["blacklist_hits"]) == ("decline", "1")
    assert state(ctx, dealer, draft.id) is ApplicationState.DECLINED


@pytest.mark.usefixtures("published")
def test_a_party_that_does_not_answer_refers_the_case(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    application_id = submitted(ctx, dealer, partner)
    fakes.credit_bureau.fail_next(times=2)
    (assessment,) = assess(ctx, application_id)
    assert assessment["outcome"] == "refer"
    assert assessment["unavailable"] == ["credit_bureau"]
    assert "credit_bureau did not answer; a person must look" in assessment["reasons"]
    assert assessment["facts"]["credit_score"] is None
    assert state(ctx, dealer, application_id) is ApplicationState.PRE_APPROVED


def test_without_published_rules_every_case_is_referred(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    application_id = submitted(ctx, dealer, partner)
    (assessment,) = assess(ctx, application_id)
    assert assessment["outcome"] == "refer"
    assert assessment["rule_set_version_id"] is None


@pytest.mark.usefixtures("published")
def test_a_high_fraud_risk_declines(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    fakes.fraud_source.set_risk(resident_id(ID_BODY), "high")
    application_id = submitted(ctx, dealer, partner)
    (assessment,) = assess(ctx, application_id)
    assert assessment["reasons"] == [
        "high_risk: high fraud risk",
        "approval_policy: high fraud risk",
    ]
    assert assessment["facts"]["down_payment_ratio"] == str(Decimal("0.2000"))


def test_the_same_person_at_another_dealer_is_a_fact(
    ctx: ServiceContext,
    dealer: Actor,
    admin: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    first = submitted(ctx, dealer, partner)
    other_dealer = dealer_of(ctx, admin, other_partner, "harbour-sales")
    customer = register_customer(ctx, other_dealer, ID_BODY)
    vehicle = register_vehicle(ctx, other_dealer, "LFV2A21K5A3049721")
    draft = applications.create_draft(
        ctx, other_dealer, draft_command(other_partner, customer, vehicle)
    )
    applications.transition_application(ctx, other_dealer, draft.id, "submit")
    (assessment,) = assess(ctx, draft.id)
    assert assessment["facts"]["same_id_other_applications"] == "1"
    (earlier,) = assess(ctx, first)
    assert earlier["facts"]["same_id_other_applications"] == "1"


@pytest.mark.usefixtures("published")
def test_one_phone_on_applications_of_two_people_is_a_fact_and_a_listed_phone_declines(
    ctx: ServiceContext, dealer: Actor, supervisor: Actor, partner: Partner
) -> None:
    ids = []
    for n, (body, vin_text) in enumerate(
        ((ID_BODY, "LSVAU2180N2183294"), (GUARANTOR_BODY, "LFV2A21K5A3049721"))
    ):
        person = customers.RegisterCustomer(CustomerKind.INDIVIDUAL, f"Person {n}",
                                            resident_id(body), phone="138 0013 8000")  # fmt: skip
        customer = customers.register_customer(ctx, dealer, person).id
        draft = applications.create_draft(
            ctx, dealer, draft_command(partner, customer, register_vehicle(ctx, dealer, vin_text))
        )
        applications.transition_application(ctx, dealer, draft.id, "submit")
        ids.append(draft.id)
    (first,) = assess(ctx, ids[0])
    assert (first["outcome"], first["facts"]["same_phone_other_applications"]) == ("pass", "1")
    blacklist.add_to_blacklist(
        ctx, supervisor, blacklist.AddToBlacklist("mule", phone="13800138000")
    )
    (second,) = assess(ctx, ids[1])
    assert (second["outcome"], second["facts"]["blacklist_hits"]) == ("decline", "1")


@pytest.mark.usefixtures("published")
def test_a_failing_partys_message_never_puts_the_id_number_in_a_log(
    ctx: ServiceContext,
    fakes: Fakes,
    dealer: Actor,
    partner: Partner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    application_id = submitted(ctx, dealer, partner)
    canary = resident_id(ID_BODY)
    fakes.credit_bureau.fail_next(times=2, message=f"no file for {canary}")
    with caplog.at_level(logging.DEBUG):
        assess(ctx, application_id)
    assert "credit_bureau did not answer" in caplog.text
    assert canary not in caplog.text
