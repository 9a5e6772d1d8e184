from __future__ import annotations

from datetime import date, datetime

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import (
    PARTNER_CAPABILITIES,
    Partner,
    PartnerCapability,
    PartnerKind,
    PartnerRating,
    PartnerState,
    admits_users,
)
from leasekit.errors import (
    DomainError,
    PartnerRestrictedError,
    PermissionDeniedError,
    ValidationError,
)

P = PartnerState
Cap = PartnerCapability

# What each state allows, written out as a reviewer would check it.
TRADING = {
    Cap.CREATE_CUSTOMERS,
    Cap.REGISTER_VEHICLES,
    Cap.SUBMIT_APPLICATIONS,
    Cap.USE_CREDIT_LIMIT,
    Cap.RECEIVE_DISBURSEMENTS,
    Cap.EARN_COMMISSION,
    Cap.UPLOAD_DOCUMENTS,
    Cap.VIEW_PORTFOLIO,
}
ONBOARDING = {
    Cap.CREATE_CUSTOMERS,
    Cap.REGISTER_VEHICLES,
    Cap.UPLOAD_DOCUMENTS,
    Cap.VIEW_PORTFOLIO,
}
EXPECTED_CAPABILITIES = {
    P.PROSPECT: {Cap.VIEW_PORTFOLIO},
    P.APPLIED: ONBOARDING,
    P.UNDER_REVIEW: ONBOARDING,
    P.ACTIVE: set(Cap),
    P.WATCH: TRADING,
    P.SUSPENDED: {Cap.EARN_COMMISSION, Cap.UPLOAD_DOCUMENTS, Cap.VIEW_PORTFOLIO},
    P.FROZEN: {Cap.VIEW_PORTFOLIO},
    P.EXIT_REVIEW: {
        Cap.RECEIVE_DISBURSEMENTS, Cap.EARN_COMMISSION, Cap.UPLOAD_DOCUMENTS, Cap.VIEW_PORTFOLIO,
    },
    P.EXITED: {Cap.VIEW_PORTFOLIO},
    P.REJECTED: set(),
    P.BLACKLISTED: set(),
}  # fmt: skip


def onboard(actor: Actor, at: datetime, **overrides: object) -> Partner:
    values: dict[str, object] = {
        "name": "Shanghai Motors Ltd",
        "registration_number": "9 1 110000 600037341L",
    }
    values.update(overrides)
    return Partner.onboard(actor=actor, at=at, **values)  # type: ignore[arg-type]


def test_onboard(officer: Actor, at: datetime) -> None:
    partner = onboard(officer, at, rating="B")
    assert partner.state is P.PROSPECT
    assert partner.registration_number == "91110000600037341L"
    assert partner.kind is PartnerKind.NEW_CAR_DEALER, "unless another kind is given"
    assert partner.rating is PartnerRating.B
    assert partner.partner_id == partner.id
    assert not partner.blacklisted
    assert onboard(officer, at, kind="broker").kind is PartnerKind.BROKER


def test_onboard_names_every_bad_field(officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        onboard(
            officer, at, name="", registration_number="91110000600037341M", kind="dealer",
            rating="E",
        )  # fmt: skip
    assert [e.field for e in caught.value.errors] == [
        "name", "registration_number", "kind", "rating",
    ]  # fmt: skip


def test_dealers_do_not_onboard_partners(dealer: Actor, at: datetime) -> None:
    with pytest.raises(PermissionDeniedError):
        onboard(dealer, at)


def test_capability_table_is_as_specified() -> None:
    for state in PartnerState:
        granted = {cap for cap, states in PARTNER_CAPABILITIES.items() if state in states}
        assert granted == EXPECTED_CAPABILITIES[state], state


@pytest.mark.parametrize("state", list(PartnerState))
def test_may_and_require_follow_the_table(partner: Partner, state: PartnerState) -> None:
    partner.state = state
    for capability in PartnerCapability:
        allowed = capability in EXPECTED_CAPABILITIES[state]
        assert partner.may(capability) is allowed
        assert partner.may(str(capability)) is allowed
        if allowed:
            partner.require(capability)
        else:
            with pytest.raises(DomainError, match=f"is {state} and may not {capability}"):
                partner.require(capability)


def test_unknown_capability_is_a_programming_error(partner: Partner) -> None:
    with pytest.raises(ValueError, match="fly"):
        partner.may("fly")


def test_a_partner_through_its_life(officer: Actor, at: datetime, business_date: date) -> None:
    partner = onboard(officer, at)
    manager, director = Actor("m1", Role.MANAGER), Actor("d1", Role.DIRECTOR)
    supervisor = Actor("s1", Role.POST_LOAN_SUPERVISOR)
    steps = [
        ("apply", officer, None, P.APPLIED),
        ("start_review", officer, None, P.UNDER_REVIEW),
        ("return", manager, "licence expired", P.APPLIED),
        ("start_review", manager, None, P.UNDER_REVIEW),
        ("approve", director, None, P.ACTIVE),
        ("suspend", supervisor, "overdue rate 9%", P.SUSPENDED),
        ("reinstate", manager, None, P.ACTIVE),
        ("start_exit", manager, "dealership closing", P.EXIT_REVIEW),
        ("cancel_exit", manager, None, P.ACTIVE),
        ("start_exit", director, "dealership closing", P.EXIT_REVIEW),
        ("exit", director, None, P.EXITED),
        ("blacklist", supervisor, "forged invoices found", P.BLACKLISTED),
        ("lift_blacklist", director, "court cleared the owner", P.SUSPENDED),
    ]
    for action, actor, reason, expected in steps:
        event = partner.apply(action, actor, at=at, business_date=business_date, reason=reason)
        assert partner.state is expected
        assert (event.subject, event.subject_id, event.action) == ("partner", partner.id, action)
        assert event.reason == reason


def test_a_partner_under_watch_and_frozen(
    partner: Partner, at: datetime, business_date: date
) -> None:
    manager, director = Actor("m1", Role.MANAGER), Actor("d1", Role.DIRECTOR)
    supervisor = Actor("s1", Role.POST_LOAN_SUPERVISOR)
    steps = [
        ("watch", supervisor, "overdue rate 4%", P.WATCH, "partner_put_on_watch"),
        ("clear_watch", supervisor, None, P.ACTIVE, "partner_watch_cleared"),
        ("watch", manager, "overdue rate 5%", P.WATCH, "partner_put_on_watch"),
        ("freeze", director, "invoices under inquiry", P.FROZEN, "partner_frozen"),
        ("unfreeze", supervisor, "inquiry closed", P.SUSPENDED, "partner_unfrozen"),
        ("freeze", supervisor, "second inquiry", P.FROZEN, "partner_frozen"),
        ("blacklist", director, "forged invoices found", P.BLACKLISTED, "partner_blacklisted"),
    ]
    for action, actor, reason, expected, event_name in steps:
        event = partner.apply(action, actor, at=at, business_date=business_date, reason=reason)
        assert (partner.state, event.name, event.reason) == (expected, event_name, reason)


def test_a_frozen_partner_names_its_state_when_refused(partner: Partner) -> None:
    partner.state = P.FROZEN
    with pytest.raises(PartnerRestrictedError) as caught:
        partner.require(Cap.RECEIVE_DISBURSEMENTS)
    assert (caught.value.partner, caught.value.state, caught.value.capability) == (
        partner.name, "frozen", "receive_disbursements",
    )  # fmt: skip


@pytest.mark.parametrize("state", list(PartnerState))
def test_only_a_rejected_or_blacklisted_partner_bars_its_users(state: PartnerState) -> None:
    assert admits_users(state) is (state not in {P.REJECTED, P.BLACKLISTED})


def test_blacklisting_stops_everything(partner: Partner, at: datetime, business_date: date) -> None:
    director = Actor("d1", Role.DIRECTOR)
    partner.apply("blacklist", director, at=at, business_date=business_date, reason="fraud")
    assert partner.blacklisted
    assert not any(partner.may(c) for c in PartnerCapability)


def test_a_dealer_user_applies_only_for_its_own_partner(
    dealer: Actor, officer: Actor, at: datetime, business_date: date
) -> None:
    own = onboard(officer, at)
    own.id = dealer.partner_id or ""
    other = onboard(officer, at)
    own.apply("apply", dealer, at=at, business_date=business_date)
    assert own.state is P.APPLIED
    with pytest.raises(ObjectPermissionError, match="belongs to another partner"):
        other.apply("apply", dealer, at=at, business_date=business_date)
    assert other.state is P.PROSPECT
