"""Pre-approval and the parties it asks, on SQLite and PostgreSQL: a party that fails or
times out refers the case by name and a retry that succeeds does not; the approval policy's
and the plugins' votes count with the rules, the most severe winning; a plugin that raises is
a party that did not answer; the bureau's report is kept with the id number masked; the same
id number at other dealers and the same VIN on other applications are facts."""

from __future__ import annotations

import logging
import threading
from typing import Any

import attrs
import pytest

from leasekit.demo import resident_id
from leasekit.domain.blacklist import mask
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.domain.rules import RuleAction
from leasekit.hookspecs import hookimpl
from leasekit.plugins import Adapters, as_hooks, create_plugin_manager
from leasekit.ports import (
    AdapterKind,
    ApprovalCase,
    CreditReport,
    CreditSubject,
    PolicyVote,
    Verdict,
)
from leasekit.ports.kinds import KINDS
from leasekit.services import applications, rules
from leasekit.services.calls import CallPolicy
from leasekit.services.context import ServiceContext
from leasekit.testing import Fakes

from .conftest import dealer_of, register_customer, register_vehicle
from .test_applications import draft_command
from .test_pre_approval import ID_BODY, assess, submitted

CANARY = resident_id(ID_BODY)


@pytest.fixture
def ctx(ctx: ServiceContext) -> ServiceContext:
    """Two attempts per party, no pause between them."""
    return attrs.evolve(ctx, party_calls=CallPolicy(timeout_seconds=5, retries=1,
                                                    retry_backoff_seconds=0))  # fmt: skip


@pytest.fixture
def published(ctx: ServiceContext, manager: Actor, director: Actor) -> None:
    """Rules that pass every case the fakes describe by default."""
    rule = rules.RuleInput("no_file", "credit_score == null", RuleAction.REFER, "no bureau file")
    saved = rules.save_rule_set(ctx, manager, rules.SaveRuleSet("pre_approval", (rule,)))
    rules.transition_rule_set_version(ctx, director, saved.id, "publish")


def with_adapter(ctx: ServiceContext, fakes: Fakes, kind: AdapterKind, adapter: object) -> Any:
    """*ctx* on the fakes, *adapter* serving *kind*."""
    instances = {each: getattr(fakes, each.value) for each, spec in KINDS.items() if spec.fake}
    instances[kind] = adapter
    return attrs.evolve(ctx, adapters=Adapters.from_instances(instances, adapter_id="fake"))


class StalledBureau:
    """A bureau that answers only once released, and notes that it has answered: a test then
    tells that the assessment did not wait for it without timing anything."""

    def __init__(self, fakes: Fakes) -> None:
        self.fake = fakes.credit_bureau
        self.released, self.answered = threading.Event(), threading.Event()

    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        self.released.wait(60)
        self.answered.set()
        return self.fake.fetch_report(subject)


def with_voters(ctx: ServiceContext, *plugins: object) -> ServiceContext:
    pm = create_plugin_manager(load_entrypoints=False, blocked=(), extra_plugins=plugins)
    return attrs.evolve(ctx, voters=tuple(as_hooks(pm).application_voters()))


class Decliner:
    @hookimpl
    def leasekit_evaluate_application(self, case: ApprovalCase) -> PolicyVote:
        return PolicyVote("decliner", Verdict.DECLINE, ("dealer under investigation",))


class Abstainer:
    @hookimpl
    def leasekit_evaluate_application(self, case: ApprovalCase) -> None:
        return None


class Crasher:
    @hookimpl
    def leasekit_evaluate_application(self, case: ApprovalCase) -> PolicyVote:
        raise RuntimeError(f"lookup failed for {CANARY}")


@pytest.mark.usefixtures("published")
def test_a_clean_case_passes_with_the_policys_vote(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    (assessment,) = assess(ctx, submitted(ctx, dealer, partner))
    assert (assessment["outcome"], assessment["reasons"], assessment["unavailable"]) == (
        "pass", [], []
    )  # fmt: skip
    (case,) = fakes.approval_policy.cases
    assert (case.credit_score, case.term_months, case.partner_rating) == (700, 36, "B")


@pytest.mark.usefixtures("published")
def test_a_party_that_times_out_refers_the_case_without_holding_it_up(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    stalled = StalledBureau(fakes)
    calls = CallPolicy(timeout_seconds=0.05, retries=0, retry_backoff_seconds=0)
    stalling = with_adapter(ctx, fakes, AdapterKind.CREDIT_BUREAU, stalled)
    ctx = attrs.evolve(stalling, party_calls=calls)
    application_id = submitted(ctx, dealer, partner)
    try:
        (assessment,) = assess(ctx, application_id)
        assert not stalled.answered.is_set()
    finally:
        stalled.released.set()
    assert assessment["outcome"] == "refer"
    assert assessment["unavailable"] == ["credit_bureau"]
    assert "credit_bureau did not answer; a person must look" in assessment["reasons"]
    assert assessment["bureau_report"] is None


@pytest.mark.usefixtures("published")
def test_a_party_that_fails_every_attempt_refers_the_case(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    fakes.fraud_source.fail_next(times=2)
    (assessment,) = assess(ctx, submitted(ctx, dealer, partner))
    assert (assessment["outcome"], assessment["unavailable"]) == ("refer", ["fraud_source"])
    assert assessment["facts"]["fraud_risk"] is None


@pytest.mark.usefixtures("published")
def test_a_retry_that_succeeds_passes_the_case(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    fakes.credit_bureau.fail_next(times=1)
    (assessment,) = assess(ctx, submitted(ctx, dealer, partner))
    assert (assessment["outcome"], assessment["unavailable"]) == ("pass", [])
    assert assessment["facts"]["credit_score"] == "700"
    assert len(fakes.credit_bureau.requests) == 1, "asked twice, the first time in vain"


@pytest.mark.usefixtures("published")
def test_a_plugins_decline_beats_the_rules_pass(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    ctx = with_voters(ctx, Decliner(), Abstainer())
    application_id = submitted(ctx, dealer, partner)
    (assessment,) = assess(ctx, application_id)
    assert assessment["outcome"] == "decline"
    (voter,) = (v.name for v in ctx.voters if v.name.startswith("Decliner"))
    assert assessment["reasons"] == [f"plugin {voter}: dealer under investigation"]
    declined = applications.get_application(ctx, dealer, application_id)
    assert str(declined.state) == "declined"


@pytest.mark.usefixtures("published")
def test_the_policys_refer_makes_a_pass_a_referral(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    fakes.approval_policy.set_vote(Verdict.REFER)
    (assessment,) = assess(ctx, submitted(ctx, dealer, partner))
    assert (assessment["outcome"], assessment["reasons"]) == (
        "refer", ["approval_policy: votes refer"]
    )  # fmt: skip


@pytest.mark.usefixtures("published")
def test_a_plugin_that_raises_did_not_answer_and_its_message_is_not_logged(
    ctx: ServiceContext, dealer: Actor, partner: Partner, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = with_voters(ctx, Crasher())
    (voter,) = ctx.voters
    application_id = submitted(ctx, dealer, partner)
    with caplog.at_level(logging.DEBUG):
        (assessment,) = assess(ctx, application_id)
    assert assessment["outcome"] == "refer"
    assert assessment["unavailable"] == [f"plugin {voter.name}"]
    assert f"plugin {voter.name} did not answer (PluginError)" in caplog.messages
    assert all(CANARY not in record.getMessage() for record in caplog.records)


@pytest.mark.usefixtures("published")
def test_the_bureaus_report_is_kept_with_the_id_number_masked(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, partner: Partner
) -> None:
    fakes.credit_bureau.set_score(CANARY, 640, delinquent_accounts=2)
    (assessment,) = assess(ctx, submitted(ctx, dealer, partner))
    report = assessment["bureau_report"]
    assert report["id_number"] == mask(CANARY) != CANARY
    assert (report["score"], report["grade"], report["delinquent_accounts"]) == (640, "D", 2)
    assert CANARY not in repr(assessment)


def test_the_same_person_at_another_dealer_is_a_fact_of_its_own(
    ctx: ServiceContext, dealer: Actor, admin: Actor, partner: Partner, other_partner: Partner
) -> None:
    submitted(ctx, dealer, partner)
    other_dealer = dealer_of(ctx, admin, other_partner, "harbour-sales")
    customer = register_customer(ctx, other_dealer, ID_BODY)
    vehicle = register_vehicle(ctx, other_dealer, "LFV2A21K5A3049721")
    elsewhere = applications.create_draft(
        ctx, other_dealer, draft_command(other_partner, customer, vehicle)
    )
    applications.transition_application(ctx, other_dealer, elsewhere.id, "submit")
    (assessment,) = assess(ctx, elsewhere.id)
    facts = assessment["facts"]
    assert (facts["same_id_other_applications"], facts["same_id_other_dealers"]) == ("1", "1")
    assert facts["same_vin_other_applications"] == "0"


def test_the_same_car_twice_is_a_fact_and_a_draft_does_not_count(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    first = applications.get_application(ctx, dealer, submitted(ctx, dealer, partner))
    again = draft_command(partner, first.customer_id, first.vehicle_id)
    second = applications.create_draft(ctx, dealer, again)
    (alone,) = assess(ctx, first.id)
    assert alone["facts"]["same_vin_other_applications"] == "0", "a draft is not counted"
    applications.transition_application(ctx, dealer, second.id, "submit")
    (assessment,) = assess(ctx, second.id)
    facts = assessment["facts"]
    assert facts["same_vin_other_applications"] == "1"
    assert (facts["same_id_other_applications"], facts["same_id_other_dealers"]) == ("1", "0")
