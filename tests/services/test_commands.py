"""Every command that changes state commits once, records one event (an audit entry and an
outbox row, written together) and has it delivered once after the commit. Reads do none of it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy.engine import Engine

from leasekit.demo import credit_code
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.services import applications, customers, documents, partners, users, vehicles
from leasekit.services.context import ServiceContext
from leasekit.store.audit import chain_head
from leasekit.store.uow import SqlUnitOfWork

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command
from .test_documents import PNG, chunks


@attrs.frozen
class World:
    ctx: ServiceContext
    admin: Actor
    officer: Actor
    manager: Actor
    dealer: Actor
    partner: Partner


Command = Callable[[World], Callable[[], object]]
"""Prepares a command (unmeasured) and returns the call to measure."""


def _create_user(w: World) -> Callable[[], object]:
    command = users.CreateUser("new", "New", Role.OFFICER)
    return lambda: users.create_user(w.ctx, w.admin, command)


def _issue_token(w: World) -> Callable[[], object]:
    return lambda: users.issue_token(w.ctx, w.admin, w.officer.user_id)


def _onboard_partner(w: World) -> Callable[[], object]:
    command = partners.OnboardPartner("Lakeside", credit_code("91110000MA00AB1C2"), Decimal(0))
    return lambda: partners.onboard_partner(w.ctx, w.officer, command)


def _transition_partner(w: World) -> Callable[[], object]:
    return lambda: partners.transition_partner(w.ctx, w.manager, w.partner.id, "suspend", "late")


def _register_customer(w: World) -> Callable[[], object]:
    return lambda: register_customer(w.ctx, w.dealer)


def _register_vehicle(w: World) -> Callable[[], object]:
    return lambda: register_vehicle(w.ctx, w.dealer)


def _draft(w: World) -> applications.DraftApplication:
    customer, vehicle = register_customer(w.ctx, w.dealer), register_vehicle(w.ctx, w.dealer)
    return draft_command(w.partner, customer, vehicle)


def _create_draft(w: World) -> Callable[[], object]:
    command = _draft(w)
    return lambda: applications.create_draft(w.ctx, w.dealer, command)


def _update_draft(w: World) -> Callable[[], object]:
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    revised = draft_command(w.partner, draft.customer_id, draft.vehicle_id, term_months=48)
    return lambda: applications.update_draft(w.ctx, w.dealer, draft.id, revised)


def _transition_application(w: World) -> Callable[[], object]:
    draft = applications.create_draft(w.ctx, w.dealer, _draft(w))
    return lambda: applications.transition_application(w.ctx, w.dealer, draft.id, "submit")


def _upload_document(w: World) -> Callable[[], object]:
    owner = register_customer(w.ctx, w.dealer)
    command = documents.UploadDocument(OwnerKind.CUSTOMER, owner, DocumentKind.ID_CARD_FRONT, "a")
    return lambda: documents.upload_document(w.ctx, w.dealer, command, chunks(PNG))


CHANGES: dict[str, Command] = {
    "create_user": _create_user,
    "issue_token": _issue_token,
    "onboard_partner": _onboard_partner,
    "transition_partner": _transition_partner,
    "register_customer": _register_customer,
    "register_vehicle": _register_vehicle,
    "create_draft": _create_draft,
    "update_draft": _update_draft,
    "transition_application": _transition_application,
    "upload_document": _upload_document,
}


@pytest.fixture
def world(
    ctx: ServiceContext,
    admin: Actor,
    officer: Actor,
    manager: Actor,
    dealer: Actor,
    partner: Partner,
) -> World:
    return World(ctx, admin, officer, manager, dealer, partner)


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per unit-of-work commit from here on."""
    counted: list[int] = []
    original = SqlUnitOfWork.commit

    def commit(self: SqlUnitOfWork) -> None:
        counted.append(1)
        original(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit)
    return counted


def _measure(
    engine: Engine, deliveries: list[int], commits: list[int], call: Callable[[], object]
) -> tuple[int, int, int]:
    """(audit entries, commits, deliveries) that *call* added."""
    before = (chain_head(engine)[0], len(commits), len(deliveries))
    call()
    after = (chain_head(engine)[0], len(commits), len(deliveries))
    entries, committed, delivered = (a - b for a, b in zip(after, before, strict=True))
    return entries, committed, delivered


@pytest.mark.parametrize("name", CHANGES)
def test_a_command_commits_once_and_records_its_change(
    world: World, engine: Engine, deliveries: list[int], commits: list[int], name: str
) -> None:
    call = CHANGES[name](world)
    assert _measure(engine, deliveries, commits, call) == (1, 1, 1)


READS: dict[str, Callable[[World], Any]] = {
    "list_users": lambda w: users.list_users(w.ctx, w.admin),
    "list_partners": lambda w: partners.list_partners(w.ctx, w.officer),
    "get_partner": lambda w: partners.get_partner(w.ctx, w.dealer, w.partner.id),
    "list_customers": lambda w: customers.list_customers(w.ctx, w.dealer),
    "list_vehicles": lambda w: vehicles.list_vehicles(w.ctx, w.dealer),
    "list_applications": lambda w: applications.list_applications(w.ctx, w.dealer),
    "list_documents": lambda w: documents.list_documents(
        w.ctx, w.dealer, OwnerKind.PARTNER, w.partner.id
    ),
}


@pytest.mark.parametrize("name", READS)
def test_a_read_records_commits_and_delivers_nothing(
    world: World, engine: Engine, deliveries: list[int], commits: list[int], name: str
) -> None:
    read = READS[name]
    assert _measure(engine, deliveries, commits, lambda: read(world)) == (0, 0, 0)
