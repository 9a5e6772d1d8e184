"""The blacklist through the services, on SQLite and PostgreSQL: identifiers are checked and
kept in one form, listed once, removed by two people; :func:`blacklist_hits` finds each kind;
and a partner's blacklisting lists it and flags exactly its open applications, once."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from leasekit.demo import resident_id, vin
from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.blacklist import BlacklistEntry
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.services import applications, blacklist, partners, review_flags
from leasekit.services.applications import DraftApplication
from leasekit.services.blacklist import AddToBlacklist, blacklist_hits
from leasekit.services.context import ServiceContext
from leasekit.services.events import HANDLERS, HandlerSubscriber, Occurrence, handler_subscribers
from leasekit.services.review_flags import ReviewFlagQuery
from leasekit.store.outbox import OutboxRelay, RelayPolicy

from .conftest import register_customer, register_vehicle

ID_NUMBER = resident_id("11010519491231002")
VIN = vin("LSVAU2180N2183294")


@attrs.define
class Recorder:
    """A subscriber that keeps the ``partner_blacklisted`` events it is delivered."""

    events: list[DomainEvent] = attrs.Factory(list)
    name: str = "test:recorder"

    def wants(self, event_name: str) -> bool:
        return event_name == "partner_blacklisted"

    def deliver(self, event: DomainEvent) -> None:
        self.events.append(event)


def deliver(ctx: ServiceContext, engine: Engine, *extra: object) -> None:
    """Everything the handlers (and *extra* subscribers) are owed, delivered now."""
    relay = OutboxRelay(
        engine, [*handler_subscribers(ctx), *extra], policy=RelayPolicy(worker_id="test")
    )  # type: ignore[list-item]
    while relay.run_pass():
        pass


def add(ctx: ServiceContext, actor: Actor, **identifier: str) -> BlacklistEntry:
    return blacklist.add_to_blacklist(ctx, actor, AddToBlacklist("fraud ring", **identifier))


@pytest.mark.parametrize(
    ("identifier", "kept"),
    [
        ({"id_number": ID_NUMBER[:6] + " " + ID_NUMBER[6:].lower()}, ID_NUMBER),
        ({"phone": "+86 (138) 0013-8000"}, "+8613800138000"),
        ({"vin": VIN.lower()}, VIN),
    ],
)
def test_each_identifier_is_kept_in_one_form_and_found_by_any(
    ctx: ServiceContext, supervisor: Actor, identifier: dict[str, str], kept: str
) -> None:
    entry = add(ctx, supervisor, **identifier)
    field = next(iter(identifier))
    assert str(getattr(entry, field)) == kept
    assert (entry.state, entry.added_by) == ("listed", supervisor.user_id)
    hits = blacklist_hits(
        ctx,
        id_numbers=[("CN", ID_NUMBER)] if field == "id_number" else [],
        phones=["+8613800138000"] if field == "phone" else ["+8613900000000"],
        vins=[VIN] if field == "vin" else [],
    )
    assert [hit.id for hit in hits] == [entry.id]


@pytest.mark.parametrize(
    ("identifier", "field"),
    [
        ({"vin": VIN[:8] + ("0" if VIN[8] != "0" else "1") + VIN[9:]}, "vin"),
        ({"id_number": ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1")}, "id_number"),
        ({"phone": "138-CALL-NOW"}, "phone"),
        ({"id_number": ID_NUMBER, "country": "XX"}, "id_number"),
        ({"phone": "+8613800138000", "vin": VIN}, "phone"),
        ({}, "id_number"),
    ],
)
def test_a_faulty_identifier_is_refused_on_its_field(
    ctx: ServiceContext, manager: Actor, identifier: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        add(ctx, manager, **identifier)
    assert field in [error.field for error in refused.value.errors]


def test_an_identifier_is_listed_once_until_removed(
    ctx: ServiceContext, supervisor: Actor, director: Actor
) -> None:
    entry = add(ctx, supervisor, vin=VIN)
    with pytest.raises(ValidationError) as refused:
        add(ctx, director, vin=VIN.lower())
    assert [error.field for error in refused.value.errors] == ["vin"]
    blacklist.transition_blacklist_entry(ctx, supervisor, entry.id, "request_removal", "cleared")
    with pytest.raises(ValidationError):
        add(ctx, director, vin=VIN)
    blacklist.transition_blacklist_entry(ctx, director, entry.id, "approve_removal")
    assert blacklist_hits(ctx, vins=[VIN]) == []
    assert add(ctx, director, vin=VIN).state == "listed", "listed again after the removal"


def test_removal_takes_another_person(
    ctx: ServiceContext, supervisor: Actor, director: Actor
) -> None:
    entry = add(ctx, director, phone="13800138000")
    move = blacklist.transition_blacklist_entry
    requested = move(ctx, director, entry.id, "request_removal", "number reassigned")
    assert requested.state == "removal_requested"
    assert blacklist_hits(ctx, phones=["13800138000"]), "still on the list while requested"
    with pytest.raises(ObjectPermissionError, match="another person"):
        move(ctx, director, entry.id, "approve_removal")
    rejected = move(ctx, supervisor, entry.id, "reject_removal", "still in use by the ring")
    assert (rejected.state, rejected.removal_decided_by) == ("listed", supervisor.user_id)
    move(ctx, supervisor, entry.id, "request_removal", "number reassigned, confirmed")
    removed = move(ctx, director, entry.id, "approve_removal")
    assert (removed.state, removed.removal_requested_by) == ("removed", supervisor.user_id)


def test_evidence_must_be_documents_that_exist(ctx: ServiceContext, manager: Actor) -> None:
    request = AddToBlacklist("forged papers", vin=VIN, evidence=("no-such-document",))
    with pytest.raises(ValidationError) as refused:
        blacklist.add_to_blacklist(ctx, manager, request)
    assert [error.field for error in refused.value.errors] == ["evidence"]


def test_dealers_read_nothing_of_the_list(
    ctx: ServiceContext, supervisor: Actor, dealer: Actor
) -> None:
    entry = add(ctx, supervisor, vin=VIN)
    with pytest.raises(PermissionDeniedError):
        blacklist.list_blacklist(ctx, dealer)
    with pytest.raises(PermissionDeniedError):
        blacklist.get_blacklist_entry(ctx, dealer, entry.id)
    with pytest.raises(PermissionDeniedError):
        add(ctx, dealer, phone="13800138000")


def test_events_carry_an_id_number_masked(
    ctx: ServiceContext, engine: Engine, supervisor: Actor
) -> None:
    add(ctx, supervisor, id_number=ID_NUMBER)
    with engine.connect() as connection:
        payloads = connection.execute(sa.text("SELECT payload FROM outbox")).scalars().all()
        audit = connection.execute(sa.text("SELECT details FROM audit_log")).scalars().all()
    assert all(ID_NUMBER not in str(text) for text in [*payloads, *audit])
    assert any(ID_NUMBER[-4:] in str(text) for text in payloads)


def draft(ctx: ServiceContext, dealer: Actor, partner: Partner, customer: str, car: str) -> str:
    terms = DraftApplication(
        partner.id, customer, car, "loan", Decimal("189000.00"), Decimal("37800.00"), 24,  # type: ignore[arg-type]
        Decimal("0.0488"),
    )  # fmt: skip
    return applications.create_draft(ctx, dealer, terms).id


def test_a_blacklisted_partner_is_listed_and_its_open_applications_flagged_once(
    ctx: ServiceContext,
    engine: Engine,
    director: Actor,
    partner: Partner,
    other_partner: Partner,
    dealer: Actor,
    other_dealer: Actor,
) -> None:
    ours = [
        draft(ctx, dealer, partner, register_customer(ctx, dealer), register_vehicle(ctx, dealer)),
        draft(
            ctx,
            dealer,
            partner,
            register_customer(ctx, dealer, "44030419900101214"),
            register_vehicle(ctx, dealer, "LFV2A21K5A3049721"),
        ),
    ]
    applications.transition_application(ctx, dealer, ours[1], "submit")
    cancelled = draft(
        ctx, dealer, partner, register_customer(ctx, dealer, "11010519900307451"),
        register_vehicle(ctx, dealer, "LSGKB54H1NA123456"),
    )  # fmt: skip
    applications.transition_application(ctx, dealer, cancelled, "cancel")
    theirs = draft(
        ctx, other_dealer, other_partner, register_customer(ctx, other_dealer),
        register_vehicle(ctx, other_dealer, "LFV3A23C1N3000017"),
    )  # fmt: skip

    partners.transition_partner(ctx, director, partner.id, "blacklist", "forged invoices")
    recorder = Recorder()
    deliver(ctx, engine, recorder)

    flags = review_flags.list_review_flags(ctx, director, ReviewFlagQuery(state="open")).items  # type: ignore[arg-type]
    assert sorted(flag["application_id"] for flag in flags) == sorted(ours)
    assert theirs not in {flag["application_id"] for flag in flags}
    assert {(f["cause"], f["reason"]) for f in flags} == {
        ("partner_blacklisted", "forged invoices")
    }
    [entry] = blacklist_hits(ctx, partner_ids=[partner.id])
    assert (entry.kind, entry.added_by, entry.reason) == (
        "partner", director.user_id, "forged invoices",
    )  # fmt: skip

    [event] = recorder.events
    handler = HANDLERS["review.flag_blacklisted_partners_applications"]
    HandlerSubscriber(handler, ctx).deliver(event)
    handler.command(ctx, Actor.system(), Occurrence(event), idempotency_key="another-delivery")
    again = review_flags.list_review_flags(ctx, director, ReviewFlagQuery()).items
    assert len(again) == len(ours), "the same news flags no application twice"


def test_lifting_a_partners_blacklist_takes_it_off_the_list(
    ctx: ServiceContext, engine: Engine, director: Actor, partner: Partner
) -> None:
    partners.transition_partner(ctx, director, partner.id, "blacklist", "forged invoices")
    deliver(ctx, engine)
    [entry] = blacklist_hits(ctx, partner_ids=[partner.id])
    with pytest.raises(ObjectPermissionError, match="lifts its blacklist"):
        blacklist.transition_blacklist_entry(ctx, director, entry.id, "request_removal", "why")
    partners.transition_partner(ctx, director, partner.id, "lift_blacklist", "cleared by court")
    deliver(ctx, engine)
    assert blacklist_hits(ctx, partner_ids=[partner.id]) == []
    assert blacklist.get_blacklist_entry(ctx, director, entry.id).state == "removed"
