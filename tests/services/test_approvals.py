"""The approval workflow on SQLite and PostgreSQL: a pre-approved application waits as an
officer-tier task, climbs to the tier its amount and risk need, and is approved, rejected or
returned there; claims exclude and expire; nobody decides a case they submitted or decided
below; the application's own decisions go through its task."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import ApplicationState
from leasekit.domain.approvals import ApprovalRules, ApprovalTaskState, Tier
from leasekit.domain.clock import FixedClock
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.domain.pre_approvals import PreApproval
from leasekit.domain.rules import RuleAction
from leasekit.errors import (
    DomainError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services import applications, approvals, users
from leasekit.services.context import ServiceContext
from leasekit.services.storage import ApprovalTaskQuery
from leasekit.testing import Fakes

from .conftest import (
    decide,
    deliver,
    open_review,
    open_task,
    register_customer,
    register_vehicle,
)
from .test_applications import draft_command

S = ApplicationState


def submitted(
    ctx: ServiceContext, dealer: Actor, partner: Partner, n: int = 0, **terms: object
) -> str:
    """Application *n* (each its own customer and car) of *dealer*, submitted."""
    customer = register_customer(ctx, dealer, f"1101051985071200{n}")
    vehicle = register_vehicle(ctx, dealer, f"LSVAU2180N218329{n}")
    draft = applications.create_draft(
        ctx, dealer, draft_command(partner, customer, vehicle, **terms)
    )
    applications.transition_application(ctx, dealer, draft.id, "submit")
    return draft.id


def state(ctx: ServiceContext, application_id: str) -> ApplicationState:
    return applications.get_application(ctx, Actor.system(), application_id).state


def tasks(ctx: ServiceContext, application_id: str) -> list[tuple[str, str, str | None]]:
    query = ApprovalTaskQuery(application_id=application_id)
    page = approvals.list_approval_tasks(ctx, Actor.system(), query)
    return [(item["tier"], item["state"], item["decision"]) for item in page.items]


@pytest.fixture
def reviewer(ctx: ServiceContext, admin: Actor):  # type: ignore[no-untyped-def]
    def make(username: str, role: Role) -> Actor:
        return users.create_user(ctx, admin, users.CreateUser(username, username, role)).actor()

    return make


def test_a_small_case_is_approved_by_an_officer(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor
) -> None:
    application_id = submitted(ctx, dealer, partner)  # 190,400.00 financed
    open_review(ctx, application_id)
    assert state(ctx, application_id) is S.IN_REVIEW
    task = open_task(ctx, application_id)
    assert (task.tier, task.required_tier, task.partner_id) == (
        Tier.OFFICER, Tier.OFFICER, partner.id,
    )  # fmt: skip
    assert {"not_assessed", "finance_lease"} <= set(task.tags)
    decide(ctx, officer, application_id, "approve")
    assert state(ctx, application_id) is S.APPROVED
    assert tasks(ctx, application_id) == [("officer", "decided", "approve")]


def test_a_large_case_climbs_to_the_director(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, manager: Actor,
    director: Actor,
) -> None:  # fmt: skip
    application_id = submitted(ctx, dealer, partner, vehicle_price=Decimal("1500000.00"),
                               down_payment=Decimal("300000.00"),
                               residual_value=None)  # fmt: skip
    open_review(ctx, application_id)
    assert open_task(ctx, application_id).required_tier is Tier.DIRECTOR
    decide(ctx, officer, application_id, "approve")
    assert state(ctx, application_id) is S.IN_REVIEW, "an officer's approval is a recommendation"
    decide(ctx, manager, application_id, "approve")
    assert state(ctx, application_id) is S.IN_REVIEW
    decide(ctx, director, application_id, "approve", "within policy")
    assert state(ctx, application_id) is S.APPROVED
    assert tasks(ctx, application_id) == [
        ("officer", "decided", "approve"),
        ("manager", "decided", "approve"),
        ("director", "decided", "approve"),
    ]


def test_any_tier_rejects_or_returns_and_a_resubmission_starts_again(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, manager: Actor
) -> None:
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    approvals.transition_approval_task(ctx, officer, task.id, "claim")
    approvals.transition_approval_task(ctx, officer, task.id, "escalate", "unusual income")
    decide(ctx, manager, application_id, "return", "need two payslips")
    assert state(ctx, application_id) is S.RETURNED
    applications.transition_application(ctx, dealer, application_id, "resubmit")
    open_review(ctx, application_id)
    assert open_task(ctx, application_id).tier is Tier.OFFICER
    decide(ctx, officer, application_id, "reject", "income not proven")
    assert state(ctx, application_id) is S.REJECTED
    assert tasks(ctx, application_id) == [
        ("officer", "escalated", None),
        ("manager", "decided", "return"),
        ("officer", "decided", "reject"),
    ]


def test_decisions_go_through_the_task(
    ctx: ServiceContext, dealer: Actor, partner: Partner, director: Actor
) -> None:
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    for action in ("approve", "reject", "return"):
        with pytest.raises(DomainError, match="approval task"):
            applications.transition_application(ctx, director, application_id, action, "x")
    assert state(ctx, application_id) is S.IN_REVIEW


def test_nobody_decides_a_case_they_submitted_or_decided_below(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, reviewer
) -> None:  # type: ignore[no-untyped-def]
    # An officer keying an application in for a dealer may not review it.
    customer, vehicle = register_customer(ctx, officer), register_vehicle(ctx, officer)
    command = draft_command(
        partner, customer, vehicle, vehicle_price=Decimal("600000.00"), residual_value=None
    )
    draft = applications.create_draft(ctx, officer, command)
    applications.transition_application(ctx, officer, draft.id, "submit")
    open_review(ctx, draft.id)
    task = open_task(ctx, draft.id)
    with pytest.raises(ObjectPermissionError, match="they submitted the application"):
        approvals.transition_approval_task(ctx, officer, task.id, "claim")
    # A manager who decided at the officer tier may not decide at the manager tier.
    manager = reviewer("m2", Role.MANAGER)
    decide(ctx, manager, draft.id, "approve")
    upper = open_task(ctx, draft.id)
    assert upper.tier is Tier.MANAGER
    with pytest.raises(ObjectPermissionError, match="already decided it at the officer tier"):
        approvals.transition_approval_task(ctx, manager, upper.id, "claim")
    assert open_task(ctx, draft.id).locked_by is None


def test_authority_limits_raise_the_tier_whatever_the_policy_says(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, manager: Actor,
    fakes: Fakes,
) -> None:  # fmt: skip
    fakes.approval_policy.set_tier("officer")
    ctx = attrs.evolve(
        ctx, approval_rules=ApprovalRules(authority={Tier.OFFICER: Decimal(100_000)})
    )
    application_id = submitted(ctx, dealer, partner)  # 190,400.00
    open_review(ctx, application_id)
    assert open_task(ctx, application_id).required_tier is Tier.MANAGER
    decide(ctx, officer, application_id, "approve")
    decide(ctx, manager, application_id, "approve")
    assert state(ctx, application_id) is S.APPROVED


def test_a_failing_policy_sends_the_case_to_the_director(
    ctx: ServiceContext, dealer: Actor, partner: Partner, fakes: Fakes
) -> None:
    fakes.approval_policy.fail_next(2)  # the first attempt and its one retry
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    assert (task.required_tier, "no_answer_approval_policy" in task.tags) == (Tier.DIRECTOR, True)


def test_auto_approval_only_where_settings_allow(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    ctx = attrs.evolve(ctx, approval_rules=ApprovalRules(auto_approve_up_to=Decimal(500_000)))
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    assert state(ctx, application_id) is S.IN_REVIEW, "not assessed: people must look"
    assert tasks(ctx, application_id) == [("officer", "open", None)]


def test_a_case_pre_approval_passed_is_approved_without_people_within_the_limit(
    ctx: ServiceContext, dealer: Actor, partner: Partner
) -> None:
    ctx = attrs.evolve(ctx, approval_rules=ApprovalRules(auto_approve_up_to=Decimal(200_000)))
    small, large = (
        submitted(ctx, dealer, partner),
        submitted(ctx, dealer, partner, 1, vehicle_price=Decimal("300000.00"), residual_value=None),
    )
    for application_id in (small, large):
        applications.transition_application(ctx, Actor.system(), application_id, "pre_approve")
        with ctx.uow_factory() as uow:
            uow.pre_approvals.add(passed(application_id, partner.id, ctx))
            uow.commit()
        deliver(ctx, "origination.open_review", "application_pre_approved", "application",
                application_id)  # fmt: skip
    assert (state(ctx, small), tasks(ctx, small)) == (S.APPROVED, [])
    assert (state(ctx, large), tasks(ctx, large)) == (S.IN_REVIEW, [("officer", "open", None)])
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("application", small)
    assert trail[-1].action == "application_approved"
    assert trail[-1].actor_id == Actor.system().user_id


def passed(application_id: str, partner_id: str, ctx: ServiceContext) -> PreApproval:
    """An assessment that passed the case, as pre-approval keeps it."""
    return PreApproval.of(
        application_id=application_id, partner_id=partner_id, outcome=RuleAction.PASS,
        score=0, reasons=(), facts={"credit_score": Decimal(720), "fraud_risk": "low"},
        findings=(), bureau_report=None, unavailable=(), rule_set_version_id=None,
        at=ctx.clock.now(),
    )  # fmt: skip


def test_a_claim_excludes_and_expires(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, reviewer,
    fixed_clock: FixedClock,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    other = reviewer("o2", Role.OFFICER)
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    claimed = approvals.transition_approval_task(ctx, officer, task.id, "claim")
    assert claimed.lock_expires_at == fixed_clock.now() + timedelta(minutes=30)
    with pytest.raises(ObjectPermissionError, match="holds the task until"):
        approvals.transition_approval_task(ctx, other, task.id, "claim")
    fixed_clock.current += timedelta(minutes=30)
    approvals.transition_approval_task(ctx, other, task.id, "claim")
    with pytest.raises(ObjectPermissionError, match="another reviewer holds the task"):
        approvals.transition_approval_task(ctx, officer, task.id, "decide", decision="approve")
    approvals.transition_approval_task(ctx, other, task.id, "decide", decision="approve")
    assert state(ctx, application_id) is S.APPROVED


def test_a_late_holder_cannot_decide_even_unchallenged(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, fixed_clock: FixedClock
) -> None:
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    approvals.transition_approval_task(ctx, officer, task.id, "claim")
    fixed_clock.current += timedelta(minutes=31)
    with pytest.raises(ObjectPermissionError, match="the claim ran out"):
        approvals.transition_approval_task(ctx, officer, task.id, "decide", decision="approve")
    approvals.transition_approval_task(ctx, officer, task.id, "claim")  # renewed
    approvals.transition_approval_task(ctx, officer, task.id, "decide", decision="approve")


def test_one_of_many_concurrent_claims_wins(
    ctx: ServiceContext, dealer: Actor, partner: Partner, reviewer
) -> None:  # type: ignore[no-untyped-def]
    officers = [reviewer(f"o{n}", Role.OFFICER) for n in range(6)]
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    start = threading.Barrier(len(officers))
    winners: list[str] = []
    refused: list[str] = []

    def attempt(officer: Actor) -> None:
        start.wait()
        try:
            approvals.transition_approval_task(ctx, officer, task.id, "claim")
            winners.append(officer.user_id)
        except (StaleVersionError, ObjectPermissionError):
            refused.append(officer.user_id)

    threads = [threading.Thread(target=attempt, args=(o,)) for o in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(winners), len(refused)) == (1, len(officers) - 1)
    held = open_task_or_claimed(ctx, application_id)
    assert held.locked_by == winners[0]


def open_task_or_claimed(ctx: ServiceContext, application_id: str):  # type: ignore[no-untyped-def]
    (record,) = approvals.list_approval_tasks(
        ctx, Actor.system(), ApprovalTaskQuery(application_id=application_id)
    ).items
    return approvals.get_task_view(ctx, Actor.system(), record["id"]).task


def test_reassignment_to_an_independent_reviewer_of_the_tier(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, manager: Actor,
    reviewer,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    other = reviewer("o2", Role.OFFICER)
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    approvals.transition_approval_task(ctx, officer, task.id, "claim")
    for assignee, message in (("nobody", "no such user"), (dealer.user_id, "active reviewer")):
        with pytest.raises(ValidationError, match=message):
            approvals.transition_approval_task(ctx, manager, task.id, "reassign", assignee=assignee)
    moved = approvals.transition_approval_task(
        ctx, manager, task.id, "reassign", "o1 is away", assignee=other.user_id
    )
    assert (moved.state, moved.assignee, moved.locked_by) == (
        ApprovalTaskState.OPEN, other.user_id, None,
    )  # fmt: skip
    with pytest.raises(ObjectPermissionError, match="assigned to someone else"):
        approvals.transition_approval_task(ctx, officer, task.id, "claim")
    decide(ctx, other, application_id, "approve")
    assert state(ctx, application_id) is S.APPROVED


def test_tags_filter_the_queue(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor
) -> None:
    first, second = submitted(ctx, dealer, partner), submitted(ctx, dealer, partner, 1)
    for application_id in (first, second):
        open_review(ctx, application_id)
    task = open_task(ctx, first)
    change = approvals.TagsChange(add=("vip", "needs_guarantor"), remove=("not_assessed",))
    tagged = approvals.retag_approval_task(ctx, officer, approvals.TagsRevision(task.id, change))
    assert tagged.tags == ("finance_lease", "needs_guarantor", "vip")
    with pytest.raises(StaleVersionError):
        approvals.retag_approval_task(ctx, officer, approvals.TagsRevision(task.id, change, 0))
    bad = approvals.TagsRevision(task.id, approvals.TagsChange(add=("a|b",)))
    with pytest.raises(ValidationError, match=r"add\[0\]"):
        approvals.retag_approval_task(ctx, officer, bad)
    for tag, expected in (("vip", [first]), ("finance_lease", [first, second]), ("vi", [])):
        page = approvals.list_approval_tasks(ctx, officer, ApprovalTaskQuery(tag=tag))
        assert [item["application_id"] for item in page.items] == expected


def test_dealers_see_no_queue(ctx: ServiceContext, dealer: Actor) -> None:
    with pytest.raises(PermissionDeniedError, match="dealer_user"):
        approvals.list_approval_tasks(ctx, dealer)
    with pytest.raises(PermissionDeniedError):
        approvals.transition_approval_task(ctx, dealer, "any-task", "claim")


def test_a_cancelled_application_cancels_its_task(
    ctx: ServiceContext, dealer: Actor, partner: Partner, manager: Actor
) -> None:
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    applications.transition_application(ctx, manager, application_id, "cancel", "duplicate")
    deliver(ctx, "origination.cancel_open_tasks", "application_cancelled", "application",
            application_id)  # fmt: skip
    assert tasks(ctx, application_id) == [("officer", "cancelled", None)]


def test_the_task_view_carries_the_case(
    ctx: ServiceContext, dealer: Actor, partner: Partner, officer: Actor, manager: Actor
) -> None:
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    first = open_task(ctx, application_id)
    approvals.transition_approval_task(ctx, officer, first.id, "claim")
    approvals.transition_approval_task(ctx, officer, first.id, "escalate", "odd income")
    view = approvals.get_task_view(ctx, manager, open_task(ctx, application_id).id)
    assert view.application.id == application_id
    assert [(t.tier, t.decided_by, t.reason) for t in view.history] == [
        (Tier.OFFICER, officer.user_id, "odd income"),
    ]
    assert view.task.decision is None


CLAIM = """
import sys, time
from datetime import UTC, datetime

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.clock import FixedClock
from leasekit.domain.identity import Actor, Role
from leasekit.errors import StaleVersionError
from leasekit.money import currency
from leasekit.services import approvals, catalog
from leasekit.services.context import ServiceContext
from leasekit.store.database import create_engine
from leasekit.store.uow import unit_of_work_factory
from leasekit.testing import Fakes

url, task_id, user_id, start = sys.argv[1:]
at = datetime(2024, 3, 1, 10, tzinfo=UTC)
clock = FixedClock(now=at, business_date=at.date())
engine = create_engine(url)
catalog.commands()
ctx = ServiceContext(unit_of_work_factory(engine), Fakes.create(clock).adapters(), clock,
                     currency("CNY"), 1024)
while time.time() < float(start):
    time.sleep(0.001)
try:
    approvals.transition_approval_task(ctx, Actor(user_id, Role.OFFICER), task_id, "claim")
    print("claimed")
except (StaleVersionError, ObjectPermissionError) as refused:
    print(type(refused).__name__)
engine.dispose()
"""
"""One reviewer's claim from a process of its own, with its own engine, at the instant given;
it prints what it got."""


def test_many_processes_claiming_one_task_leave_one_holder(
    ctx: ServiceContext, dealer: Actor, partner: Partner, reviewer, database_url: str
) -> None:  # type: ignore[no-untyped-def]
    officers = [reviewer(f"p{n}", Role.OFFICER) for n in range(4)]
    application_id = submitted(ctx, dealer, partner)
    open_review(ctx, application_id)
    task = open_task(ctx, application_id)
    start = str(time.time() + 5)  # time for every process to import and connect first
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, database_url, task.id, officer.user_id, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for officer in officers
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes).count("claimed") == 1, outcomes
    winner = officers[outcomes.index("claimed")].user_id
    assert open_task_or_claimed(ctx, application_id).locked_by == winner
