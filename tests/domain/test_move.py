"""The one transition path: every move is checked in the documented order, and a refused move
changes nothing.

Order: visible → known action → legal from this state → role → capability → parameters and
guards → reason. Each test below breaks two rules at once and expects the earlier one.
"""

from __future__ import annotations

from datetime import date, datetime

import attrs
import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import Application, ApplicationState
from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerState
from leasekit.errors import (
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)

STRANGER = Actor("d2", Role.DEALER_USER, "another-partner")


def _snapshot(obj: object) -> dict[str, object]:
    return attrs.asdict(obj, recurse=False)  # type: ignore[arg-type]


def test_an_invisible_object_is_refused_before_the_action_is_read(
    application: Application, at: datetime, business_date: date
) -> None:
    before = _snapshot(application)
    with pytest.raises(ObjectPermissionError):
        application.apply("fly", STRANGER, at=at, business_date=business_date)
    assert _snapshot(application) == before


def test_an_unknown_action_is_malformed_input_not_an_illegal_move(
    application: Application, officer: Actor, at: datetime, business_date: date
) -> None:
    with pytest.raises(ValidationError) as caught:
        application.apply("aprove", officer, at=at, business_date=business_date)
    assert [e.field for e in caught.value.errors] == ["action"]
    assert "approve" in caught.value.errors[0].message
    assert application.state is ApplicationState.DRAFT


def test_legality_comes_before_the_role(
    application: Application, at: datetime, business_date: date
) -> None:
    finance = Actor("f1", Role.FINANCE)
    with pytest.raises(IllegalTransitionError):
        application.apply("approve", finance, at=at, business_date=business_date)


def test_the_role_comes_before_the_partners_capability(
    application: Application, partner: Partner, at: datetime, business_date: date
) -> None:
    partner.state = PartnerState.SUSPENDED
    with pytest.raises(PermissionDeniedError):
        application.apply(
            "submit", Actor("f1", Role.FINANCE), at=at, business_date=business_date,
            partner=partner,
        )  # fmt: skip


def test_a_suspended_partner_may_not_submit(
    application: Application, partner: Partner, dealer: Actor, at: datetime, business_date: date
) -> None:
    partner.state = PartnerState.SUSPENDED
    with pytest.raises(DomainError, match="may not submit_applications"):
        application.apply("submit", dealer, at=at, business_date=business_date, partner=partner)
    assert application.state is ApplicationState.DRAFT
    partner.state = PartnerState.ACTIVE
    application.apply("submit", dealer, at=at, business_date=business_date, partner=partner)
    assert application.state is ApplicationState.SUBMITTED


def test_a_move_needing_a_capability_cannot_skip_the_partner(
    application: Application, dealer: Actor, at: datetime, business_date: date
) -> None:
    with pytest.raises(TypeError, match="needs the partner"):
        application.apply("submit", dealer, at=at, business_date=business_date)


def test_guards_come_before_the_reason_and_nothing_changes_when_refused(
    at: datetime, business_date: date
) -> None:
    task = ApprovalTask.open(
        application_id="a1", partner_id="p1", tier="officer", required_tier="officer",
        actor=Actor.system(), at=at,
    )  # fmt: skip
    task.apply("claim", Actor("o1", Role.OFFICER), at=at, business_date=business_date)
    before = _snapshot(task)
    with pytest.raises(ObjectPermissionError, match="another reviewer holds the task"):
        task.apply("escalate", Actor("o2", Role.OFFICER), at=at, business_date=business_date)
    assert _snapshot(task) == before


def test_an_overlong_reason_is_refused(
    application: Application, dealer: Actor, at: datetime, business_date: date
) -> None:
    with pytest.raises(ValidationError, match="reason: at most 1000"):
        application.apply("cancel", dealer, at=at, business_date=business_date, reason="x" * 1001)
    assert application.state is ApplicationState.DRAFT
