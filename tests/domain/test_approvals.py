from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.approvals import (
    ApprovalRules,
    ApprovalTask,
    ApprovalTaskState,
    Decision,
    Tier,
    conflict_of_interest,
)
from leasekit.domain.identity import Actor, Role
from leasekit.errors import (
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)

S = ApprovalTaskState
SYSTEM = Actor.system()
OFFICER, OFFICER_2 = Actor("o1", Role.OFFICER), Actor("o2", Role.OFFICER)
MANAGER, DIRECTOR = Actor("m1", Role.MANAGER), Actor("d1", Role.DIRECTOR)


@pytest.fixture
def task(at: datetime) -> ApprovalTask:
    return ApprovalTask.open(
        application_id="a1",
        partner_id="p1",
        tier="officer",
        required_tier="manager",
        actor=SYSTEM,
        at=at,
        tags=["used_vehicle", " ", "used_vehicle"],
    )


def test_open(task: ApprovalTask) -> None:
    assert (task.state, task.tier, task.assignee, task.locked_by, task.decision) == (
        S.OPEN, Tier.OFFICER, None, None, None,
    )  # fmt: skip
    assert task.tags == ("used_vehicle",)
    assert task.next_tier is Tier.MANAGER


def test_open_checks_tier_and_role(at: datetime) -> None:
    with pytest.raises(ValidationError, match="tier"):
        ApprovalTask.open(
            application_id="a1",
            partner_id="p1",
            required_tier="officer",
            tier="ceo",
            actor=SYSTEM,
            at=at,
        )
    with pytest.raises(PermissionDeniedError):
        ApprovalTask.open(
            application_id="a1",
            partner_id="p1",
            required_tier="officer",
            tier="officer",
            actor=OFFICER,
            at=at,
        )


def test_claim_decide(task: ApprovalTask, at: datetime, business_date: date) -> None:
    claimed = task.apply("claim", OFFICER, at=at, business_date=business_date)
    assert (task.state, task.locked_by, task.locked_at) == (S.CLAIMED, "o1", at)
    assert claimed.payload["application_id"] == "a1"
    decided = task.decide("approve", OFFICER, at=at, business_date=business_date)
    assert (task.state, task.decision, task.locked_by) == (S.DECIDED, Decision.APPROVE, None)
    assert decided.name == "approval_task_decided"
    assert decided.payload["decision"] == "approve"


def test_only_the_holder_decides(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    for other in (OFFICER_2, MANAGER):
        with pytest.raises(ObjectPermissionError, match="another reviewer holds the task"):
            task.decide("approve", other, at=at, business_date=business_date)
    assert task.state is S.CLAIMED


def test_refusal_needs_a_reason(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    for decision in ("reject", "return"):
        with pytest.raises(ValidationError, match="reason"):
            task.decide(decision, OFFICER, at=at, business_date=business_date, reason=" ")
    with pytest.raises(ValidationError, match="decision"):
        task.decide("maybe", OFFICER, at=at, business_date=business_date)
    task.decide("return", OFFICER, at=at, business_date=business_date, reason="need payslips")
    assert task.decision is Decision.RETURN


def test_decide_on_an_open_task_is_illegal(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        task.decide("approve", OFFICER, at=at, business_date=business_date)
    assert (caught.value.state, caught.value.action) == ("open", "decide")


def test_claims_need_the_tiers_authority(at: datetime, business_date: date) -> None:
    task = ApprovalTask.open(
        application_id="a1",
        partner_id="p1",
        required_tier="officer",
        tier="manager",
        actor=SYSTEM,
        at=at,
    )
    with pytest.raises(ObjectPermissionError, match="needs manager authority"):
        task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.apply("claim", DIRECTOR, at=at, business_date=business_date)
    assert task.locked_by == "d1"


def test_an_assigned_task_is_claimed_by_its_assignee(at: datetime, business_date: date) -> None:
    task = ApprovalTask.open(
        application_id="a1",
        partner_id="p1",
        required_tier="officer",
        tier="officer",
        actor=SYSTEM,
        at=at,
        assignee="o2",
    )
    with pytest.raises(ObjectPermissionError, match="assigned to someone else"):
        task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.apply("claim", OFFICER_2, at=at, business_date=business_date)


def test_release(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    with pytest.raises(ObjectPermissionError):
        task.apply("release", OFFICER_2, at=at, business_date=business_date)
    task.apply("release", OFFICER, at=at, business_date=business_date)
    assert (task.state, task.locked_by, task.locked_at) == (S.OPEN, None, None)
    for breaker in (MANAGER, SYSTEM):
        task.apply("claim", OFFICER_2, at=at, business_date=business_date)
        task.apply("release", breaker, at=at, business_date=business_date, reason="stale lock")
        assert task.locked_by is None


def test_escalate(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="reason"):
        task.apply("escalate", OFFICER, at=at, business_date=business_date)
    event = task.apply("escalate", OFFICER, at=at, business_date=business_date, reason="over limit")
    assert (task.state, task.locked_by) == (S.ESCALATED, None)
    assert event.payload["tier"] == "officer"


def test_the_top_tier_cannot_escalate(at: datetime, business_date: date) -> None:
    task = ApprovalTask.open(
        application_id="a1",
        partner_id="p1",
        required_tier="officer",
        tier="director",
        actor=SYSTEM,
        at=at,
    )
    assert task.next_tier is None
    task.apply("claim", DIRECTOR, at=at, business_date=business_date)
    with pytest.raises(PermissionDeniedError):
        task.apply("escalate", DIRECTOR, at=at, business_date=business_date, reason="x")
    task.tier = Tier.DIRECTOR
    task.locked_by = "m1"
    with pytest.raises(DomainError, match="no higher tier"):
        task.apply("escalate", MANAGER, at=at, business_date=business_date, reason="x")


def test_reassign_breaks_the_lock(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    with pytest.raises(PermissionDeniedError):
        task.reassign("o2", OFFICER, at=at, business_date=business_date)
    event = task.reassign("o2", MANAGER, at=at, business_date=business_date)
    assert (task.state, task.assignee, task.locked_by) == (S.OPEN, "o2", None)
    assert (event.payload["assignee"], event.payload["previous_assignee"]) == ("o2", None)
    with pytest.raises(ValidationError, match="assignee"):
        task.reassign(" ", MANAGER, at=at, business_date=business_date)


def test_decide_and_reassign_need_their_parameters(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="decision: required"):
        task.apply("decide", OFFICER, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="assignee: required"):
        task.apply("reassign", MANAGER, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="decision: not taken"):
        task.apply("release", OFFICER, at=at, business_date=business_date, decision="approve")
    assert (task.state, task.locked_by) == (S.CLAIMED, "o1")


def test_cancel(task: ApprovalTask, at: datetime, business_date: date) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.apply("cancel", SYSTEM, at=at, business_date=business_date, reason="application cancelled")
    assert (task.state, task.locked_by) == (S.CANCELLED, None)


def test_a_claimed_task_is_taken_over_only_after_its_lease(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.lock_expires_at = at + timedelta(minutes=30)
    with pytest.raises(ObjectPermissionError, match="another reviewer holds the task until"):
        task.apply("claim", OFFICER_2, at=at + timedelta(minutes=29), business_date=business_date)
    task.apply("claim", OFFICER, at=at + timedelta(minutes=29), business_date=business_date)
    assert (task.locked_by, task.lock_expires_at) == ("o1", None)  # the service sets the lease
    task.lock_expires_at = at + timedelta(minutes=59)
    late = at + timedelta(minutes=59)
    task.apply("claim", OFFICER_2, at=late, business_date=business_date)
    assert (task.state, task.locked_by) == (S.CLAIMED, "o2")


def test_the_late_holder_decides_nothing(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.lock_expires_at = at + timedelta(minutes=30)
    late = at + timedelta(minutes=30)
    with pytest.raises(ObjectPermissionError, match="the claim ran out"):
        task.decide("approve", OFFICER, at=late, business_date=business_date)
    with pytest.raises(ObjectPermissionError, match="the claim ran out"):
        task.apply("escalate", OFFICER, at=late, business_date=business_date, reason="x")
    task.decide("approve", OFFICER, at=late - timedelta(seconds=1), business_date=business_date)
    assert (task.decision, task.decided_by) == (Decision.APPROVE, "o1")


def test_conditions_come_with_an_approval_with_conditions(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="down_payment: a condition is only for"):
        task.apply("decide", OFFICER, at=at, business_date=business_date, decision="approve",
                   down_payment="30000")  # fmt: skip
    with pytest.raises(ValidationError, match="name at least one condition"):
        task.apply("decide", OFFICER, at=at, business_date=business_date, reason="x",
                   decision="approve_with_conditions")  # fmt: skip
    with pytest.raises(ValidationError, match="reason"):
        task.apply("decide", OFFICER, at=at, business_date=business_date,
                   decision="approve_with_conditions", down_payment="30000")  # fmt: skip
    with pytest.raises(ValidationError, match="colour: not taken"):
        task.apply("decide", OFFICER, at=at, business_date=business_date, reason="x",
                   decision="approve_with_conditions", colour="red")  # fmt: skip
    event = task.apply(
        "decide", OFFICER, at=at, business_date=business_date, reason="thin file",
        decision="approve_with_conditions", down_payment="30000", term_months="24",
    )  # fmt: skip
    assert task.conditions == {"down_payment": "30000", "term_months": "24"}
    assert (task.reason, event.payload["down_payment"]) == ("thin file", "30000")


def test_tiers_climb_to_the_required_one(at: datetime) -> None:
    task = ApprovalTask.open(application_id="a1", partner_id="p1", tier="officer",
                             required_tier="director", actor=SYSTEM, at=at)  # fmt: skip
    assert not task.approves
    manager = task.next(actor=SYSTEM, at=at)
    assert (manager.tier, manager.required_tier, manager.approves) == (
        Tier.MANAGER, Tier.DIRECTOR, False,
    )  # fmt: skip
    director = manager.next(actor=SYSTEM, at=at)
    assert (director.tier, director.approves) == (Tier.DIRECTOR, True)
    with pytest.raises(DomainError, match="no higher tier"):
        director.next(actor=SYSTEM, at=at)


def test_authority_by_amount() -> None:
    rules = ApprovalRules(authority={Tier.OFFICER: Decimal(100), Tier.MANAGER: Decimal(500)})
    assert [rules.tier_for(Decimal(a)) for a in ("100", "100.01", "500", "501")] == [
        Tier.OFFICER, Tier.MANAGER, Tier.MANAGER, Tier.DIRECTOR,
    ]  # fmt: skip
    capped = ApprovalRules(authority={**rules.authority, Tier.DIRECTOR: Decimal(900)})
    assert capped.tier_for(Decimal(901)) is None
    assert not capped.covers(Tier.DIRECTOR, Decimal(901))
    assert rules.covers(Tier.DIRECTOR, Decimal(10**12))


def test_nobody_decides_a_case_they_submitted_or_decided_below(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    assert conflict_of_interest(task, "u1", submitted_by="u1", earlier=[]) == (
        "they submitted the application"
    )
    task.apply("claim", MANAGER, at=at, business_date=business_date)
    task.decide("approve", MANAGER, at=at, business_date=business_date)
    upper = task.next(actor=SYSTEM, at=at)
    assert conflict_of_interest(upper, "m1", submitted_by="d9", earlier=[task]) == (
        "they already decided it at the officer tier"
    )
    assert conflict_of_interest(upper, "m2", submitted_by="d9", earlier=[task]) is None
    # the same tier again (after the dealer resubmits) is not a higher one
    again = ApprovalTask.open(application_id="a1", partner_id="p1", tier="officer",
                              required_tier="manager", actor=SYSTEM, at=at)  # fmt: skip
    assert conflict_of_interest(again, "m1", submitted_by="d9", earlier=[task]) is None


def test_tags_change_while_the_task_is_open(
    task: ApprovalTask, at: datetime, business_date: date
) -> None:
    before = task.tagged(["vip ", "used_vehicle"], ["nothing"])
    assert (before, task.tags) == (("used_vehicle",), ("used_vehicle", "vip"))
    task.tagged([], ["vip"])
    assert task.tags == ("used_vehicle",)
    task.apply("claim", OFFICER, at=at, business_date=business_date)
    task.decide("approve", OFFICER, at=at, business_date=business_date)
    with pytest.raises(DomainError, match="decided task's tags"):
        task.tagged(["late"], [])
