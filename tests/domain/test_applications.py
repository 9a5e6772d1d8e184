from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import Application, ApplicationState, BusinessType, RequestedTerms
from leasekit.domain.customers import Customer
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerState
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import (
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money

S = ApplicationState


def cny(amount: str) -> Money:
    return Money(amount, "CNY")


def terms(**overrides: object) -> RequestedTerms:
    values: dict[str, object] = {
        "vehicle_price": cny("200000"),
        "down_payment": cny("40000"),
        "term_months": 36,
        "annual_rate": Decimal("0.0599"),
    }
    values.update(overrides)
    return RequestedTerms(**values)  # type: ignore[arg-type]


def fields(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_terms() -> None:
    requested = terms(residual_value=cny("50000"))
    assert requested.amount_financed == cny("160000")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"vehicle_price": cny("0")}, "vehicle_price", "must be positive"),
        ({"vehicle_price": cny("100.001")}, "vehicle_price", "more decimal places"),
        ({"down_payment": cny("-1")}, "down_payment", "must not be negative"),
        ({"down_payment": cny("200000")}, "down_payment", "less than the vehicle price"),
        ({"down_payment": Money("1", "USD")}, "down_payment", "USD given, CNY expected"),
        ({"residual_value": cny("160000")}, "residual_value", "less than the amount financed"),
        ({"residual_value": cny("-5")}, "residual_value", "must not be negative"),
        ({"residual_value": Money("5", "EUR")}, "residual_value", "EUR given"),
        ({"term_months": 0}, "term_months", "from 1 to 120"),
        ({"term_months": 121}, "term_months", "from 1 to 120"),
        ({"term_months": True}, "term_months", "from 1 to 120"),
        ({"term_months": 36.0}, "term_months", "from 1 to 120"),
        ({"term_months": 12.5}, "term_months", "from 1 to 120"),
        ({"annual_rate": Decimal("5.99")}, "annual_rate", "0.0599 for 5.99%"),
        ({"annual_rate": Decimal("-0.01")}, "annual_rate", "fraction"),
        ({"annual_rate": 0.0599}, "annual_rate", "never a float"),
        ({"annual_rate": Decimal("NaN")}, "annual_rate", "never a float"),
    ],
)
def test_terms_refuse(overrides: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        terms(**overrides)
    assert any(e.field == field and message in e.message for e in caught.value.errors), (
        caught.value.errors
    )


def test_terms_name_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        terms(down_payment=cny("-1"), term_months=0, annual_rate=Decimal(2))
    assert fields(caught.value) == ["down_payment", "term_months", "annual_rate"]
    assert fields(caught.value.prefixed("requested"))[0] == "requested.down_payment"


def test_draft(application: Application, dealer: Actor, partner: Partner) -> None:
    assert application.state is S.DRAFT
    assert application.partner_id == partner.id == dealer.partner_id
    assert application.created_by == dealer.user_id
    assert application.business_type is BusinessType.FINANCE_LEASE


def draft(
    partner: Partner, customer: Customer, vehicle: Vehicle, actor: Actor, at: datetime,
    business_type: str = "loan",
) -> Application:  # fmt: skip
    return Application.draft(
        partner=partner, customer=customer, vehicle=vehicle, business_type=business_type,
        requested=terms(), actor=actor, at=at,
    )  # fmt: skip


def test_draft_needs_an_active_partner(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    partner.state = PartnerState.SUSPENDED
    with pytest.raises(DomainError, match="suspended and may not submit_applications"):
        draft(partner, customer, vehicle, dealer, at)


def test_a_dealer_drafts_only_for_its_own_partner(
    partner: Partner, customer: Customer, vehicle: Vehicle, at: datetime
) -> None:
    stranger = Actor("d2", Role.DEALER_USER, "another-partner")
    with pytest.raises(ObjectPermissionError):
        draft(partner, customer, vehicle, stranger, at)


def test_a_dealer_links_only_what_it_can_see(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    customer.partner_id, vehicle.partner_id = "another-partner", None
    with pytest.raises(ValidationError) as caught:
        draft(partner, customer, vehicle, dealer, at, business_type="rental")
    assert fields(caught.value) == ["business_type", "customer_id", "vehicle_id"]
    assert "no such customer" in str(caught.value)


def test_an_officer_drafts_for_any_partner(
    partner: Partner, customer: Customer, vehicle: Vehicle, officer: Actor, at: datetime
) -> None:
    customer.partner_id = None
    made = draft(partner, customer, vehicle, officer, at)
    assert made.partner_id == partner.id


@pytest.mark.parametrize("role", [Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.SYSTEM])
def test_other_roles_do_not_draft(
    partner: Partner, customer: Customer, vehicle: Vehicle, at: datetime, role: Role
) -> None:
    with pytest.raises(PermissionDeniedError, match=f"'{role}' may not create an? application"):
        draft(partner, customer, vehicle, Actor("u", role), at)


HAPPY_PATH = [
    ("submit", Role.DEALER_USER, S.SUBMITTED),
    ("pre_approve", Role.SYSTEM, S.PRE_APPROVED),
    ("start_review", Role.SYSTEM, S.IN_REVIEW),
    ("return", Role.OFFICER, S.RETURNED),
    ("resubmit", Role.DEALER_USER, S.SUBMITTED),
    ("pre_approve", Role.SYSTEM, S.PRE_APPROVED),
    ("start_review", Role.SYSTEM, S.IN_REVIEW),
    ("approve", Role.MANAGER, S.APPROVED),
    ("contract", Role.SYSTEM, S.CONTRACTED),
    ("sign", Role.SYSTEM, S.SIGNED),
    ("request_disbursement", Role.SYSTEM, S.DISBURSEMENT_REQUESTED),
    ("reject_disbursement", Role.SYSTEM, S.SIGNED),
    ("request_disbursement", Role.SYSTEM, S.DISBURSEMENT_REQUESTED),
    ("disburse", Role.SYSTEM, S.DISBURSED),
    ("activate", Role.SYSTEM, S.ACTIVE),
    ("settle", Role.SYSTEM, S.SETTLED),
    ("close", Role.FINANCE, S.CLOSED),
]


def test_from_draft_to_closed(
    application: Application,
    partner: Partner,
    actor: Callable[[Role], Actor],
    at: datetime,
    business_date: date,
) -> None:
    names = []
    for action, role, expected in HAPPY_PATH:
        before = application.state
        event = application.apply(
            action, actor(role), at=at, business_date=business_date, reason="as tested",
            partner=partner,
        )  # fmt: skip
        assert application.state is expected
        assert event.payload == {
            "partner_id": application.partner_id, "from": before, "to": expected,
            "action": action, "reason": "as tested",
        }  # fmt: skip
        assert event.subject_id == application.id
        names.append(event.name)
    assert names[:3] == [
        "application_submitted", "application_pre_approved", "application_review_started",
    ]  # fmt: skip
    assert names[-1] == "application_closed"


def test_illegal_move_leaves_the_state(
    application: Application, officer: Actor, at: datetime, business_date: date
) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        application.apply("approve", officer, at=at, business_date=business_date)
    assert (caught.value.state, caught.value.action) == ("draft", "approve")
    assert "cannot approve an application in state 'draft'" in str(caught.value)
    assert application.state is S.DRAFT


def test_another_partners_dealer_cannot_touch_it(
    application: Application, at: datetime, business_date: date
) -> None:
    stranger = Actor("d2", Role.DEALER_USER, "another-partner")
    with pytest.raises(ObjectPermissionError):
        application.apply("cancel", stranger, at=at, business_date=business_date)
    assert application.state is S.DRAFT


def test_late_cancellation_needs_a_senior_and_a_reason(
    application: Application, dealer: Actor, at: datetime, business_date: date
) -> None:
    application.state = S.APPROVED
    with pytest.raises(PermissionDeniedError):
        application.apply("cancel", dealer, at=at, business_date=business_date)
    manager = Actor("m1", Role.MANAGER)
    with pytest.raises(ValidationError, match="reason"):
        application.apply("cancel", manager, at=at, business_date=business_date)
    event = application.apply(
        "cancel", manager, at=at, business_date=business_date, reason="customer withdrew"
    )
    assert application.state is S.CANCELLED
    assert event.name == "application_cancelled"


@pytest.mark.parametrize("state", [S.DRAFT, S.RETURNED])
def test_revise_while_revisable(
    application: Application, customer: Customer, vehicle: Vehicle, dealer: Actor,
    at: datetime, business_date: date, state: ApplicationState,
) -> None:  # fmt: skip
    application.state = state
    new_terms = terms(term_months=48)
    event = application.revise(
        customer=customer, vehicle=vehicle, business_type="loan", requested=new_terms,
        actor=dealer, at=at, business_date=business_date,
    )  # fmt: skip
    assert application.requested == new_terms
    assert application.business_type is BusinessType.LOAN
    assert application.state is state
    assert event.name == "application_revised"


def test_revise_refused_after_submission(
    application: Application, customer: Customer, vehicle: Vehicle, dealer: Actor,
    at: datetime, business_date: date,
) -> None:  # fmt: skip
    application.state = S.SUBMITTED
    with pytest.raises(IllegalTransitionError) as caught:
        application.revise(
            customer=customer, vehicle=vehicle, business_type="loan", requested=terms(),
            actor=dealer, at=at, business_date=business_date,
        )  # fmt: skip
    assert (caught.value.state, caught.value.action) == ("submitted", "revise")


def test_revise_by_reviewers_is_refused(
    application: Application, customer: Customer, vehicle: Vehicle,
    at: datetime, business_date: date,
) -> None:  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="'manager' may not revise"):
        application.revise(
            customer=customer, vehicle=vehicle, business_type="loan", requested=terms(),
            actor=Actor("m1", Role.MANAGER), at=at, business_date=business_date,
        )  # fmt: skip


def test_revise_checks_links(
    application: Application, customer: Customer, vehicle: Vehicle, dealer: Actor,
    at: datetime, business_date: date,
) -> None:  # fmt: skip
    hidden = attrs.evolve(vehicle, partner_id="another-partner")
    with pytest.raises(ValidationError) as caught:
        application.revise(
            customer=customer, vehicle=hidden, business_type="loan", requested=terms(),
            actor=dealer, at=at, business_date=business_date,
        )  # fmt: skip
    assert fields(caught.value) == ["vehicle_id"]
    assert application.vehicle_id == vehicle.id
