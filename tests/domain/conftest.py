"""Fixtures for the domain tests: a fixed moment, actors per role, and ready-made entities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from leasekit.domain.applications import Application, BusinessType, RequestedTerms
from leasekit.domain.customers import Customer
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerState
from leasekit.domain.vehicles import Vehicle
from leasekit.money import Money

ActorFactory = Callable[..., Actor]

DEALER_PARTNER_ID = "partner-of-the-dealer"


@pytest.fixture
def at() -> datetime:
    return datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def business_date() -> date:
    return date(2024, 3, 1)


def _actor(role: Role | str, user_id: str | None = None, partner_id: str | None = None) -> Actor:
    """An actor of *role*; dealer users belong to :data:`DEALER_PARTNER_ID` unless told."""
    role = Role(role)
    if role is Role.DEALER_USER and partner_id is None:
        partner_id = DEALER_PARTNER_ID
    return Actor(user_id or f"{role}-1", role, partner_id)


@pytest.fixture
def actor() -> ActorFactory:
    return _actor


@pytest.fixture
def officer() -> Actor:
    return _actor(Role.OFFICER)


@pytest.fixture
def dealer() -> Actor:
    return _actor(Role.DEALER_USER)


@pytest.fixture
def partner(at: datetime, officer: Actor) -> Partner:
    """An active partner whose id is the dealer fixture's partner."""
    partner = Partner.onboard(
        name="Shanghai Motors Ltd",
        registration_number="91110000600037341L",
        actor=officer,
        at=at,
    )
    partner.id = DEALER_PARTNER_ID
    partner.state = PartnerState.ACTIVE
    return partner


@pytest.fixture
def customer(at: datetime, dealer: Actor) -> Customer:
    return Customer.register(
        kind="individual", name="Wang Fang", id_number="11010519491231002X", actor=dealer, at=at
    )


@pytest.fixture
def vehicle(at: datetime, dealer: Actor) -> Vehicle:
    return Vehicle.register(
        vin="1M8GDM9AXKP042788", make="MCI", model="D4500", year=2019, condition="used",
        actor=dealer, at=at,
    )  # fmt: skip


@pytest.fixture
def terms() -> RequestedTerms:
    return RequestedTerms(
        vehicle_price=Money("200000.00", "CNY"),
        down_payment=Money("40000.00", "CNY"),
        term_months=36,
        annual_rate=Decimal("0.0599"),
    )


@pytest.fixture
def application(
    partner: Partner,
    customer: Customer,
    vehicle: Vehicle,
    terms: RequestedTerms,
    dealer: Actor,
    at: datetime,
) -> Application:
    return Application.draft(
        partner=partner,
        customer=customer,
        vehicle=vehicle,
        business_type=BusinessType.FINANCE_LEASE,
        requested=terms,
        actor=dealer,
        at=at,
    )
