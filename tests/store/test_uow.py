"""The unit of work owns the transaction: all of a command's changes and events, or none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.errors import ConflictError, NotFoundError
from leasekit.services.storage import UnitOfWork
from leasekit.store.audit import chain_pending, verify
from leasekit.store.repository import REPOSITORIES
from leasekit.store.types import canonical_json
from leasekit.store.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def stored(uow_factory: UowFactory, partner: Partner) -> bool:
    with uow_factory() as uow:
        try:
            uow.partners.get(partner.id)
        except NotFoundError:
            return False
        return True


def test_committed_work_is_kept(uow_factory: UowFactory, build: Build) -> None:
    partner = build.partner()
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.commit()
    assert stored(uow_factory, partner)


def test_leaving_without_commit_rolls_back(uow_factory: UowFactory, build: Build) -> None:
    partner = build.partner()
    with uow_factory() as uow:
        uow.partners.add(partner)
    assert not stored(uow_factory, partner)


def add_then_fail(uow_factory: UowFactory, partner: Partner) -> None:
    with uow_factory() as uow:
        uow.partners.add(partner)
        raise LookupError("the command failed half way")


def test_an_exception_rolls_back_and_propagates(uow_factory: UowFactory, build: Build) -> None:
    partner = build.partner()
    with pytest.raises(LookupError, match="half way"):
        add_then_fail(uow_factory, partner)
    assert not stored(uow_factory, partner)


def test_rollback_discards_changes_and_events(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    partner = build.partner()
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.record(build.event())
        uow.rollback()
        uow.commit()
    assert not stored(uow_factory, partner)
    assert count(engine, "outbox") == count(engine, "audit_log") == 0


def test_recorded_events_are_written_with_the_change(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    partner = build.partner()
    event = build.event(partner.id)
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.record(event)
        uow.commit()
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT idempotency_key, name FROM outbox")).one()
    assert tuple(row) == (event.idempotency_key, event.name)
    assert count(engine, "audit_log") == 1


def test_many_events_of_one_unit_of_work_are_numbered_in_the_order_recorded(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """More events than one multi-row insert takes: the outbox and the audit log number them
    as recorded (delivery per subject and the chain follow the ids), each queued once."""
    events = [build.event(f"app-{n % 7}-{n:04d}") for n in range(1_234)]
    with uow_factory() as uow:
        for event in events:
            uow.record(event)
        uow.commit()
    with engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT idempotency_key FROM outbox ORDER BY id"))
        subjects = connection.execute(sa.text("SELECT subject_id FROM audit_log ORDER BY id"))
        assert list(keys.scalars()) == [event.idempotency_key for event in events]
        assert list(subjects.scalars()) == [event.subject_id for event in events]
    assert count(engine, "outbox_pending") == count(engine, "audit_unchained") == len(events)
    while chain_pending(engine):
        pass
    assert verify(engine).ok


def test_an_event_is_written_as_canonical_json_to_the_outbox_and_the_log(
    uow_factory: UowFactory, engine: Engine
) -> None:
    """The payload is serialised once for both rows: each holds what serialising its own
    document would (the log's hash is over that text), escapes and all."""
    event = DomainEvent.new(
        "partner_renamed", "partner", "p-\"1\"", {"to": "二 \"x\"\n\\", "count": 2, "ok": True,
                                                "gone": None},
        occurred_at=NOW, business_date=TODAY, actor_id="officer-1",
        idempotency_key="partner_renamed:p-\"1\":été",
    )  # fmt: skip
    with uow_factory() as uow:
        uow.record(event)
        uow.commit()
    with engine.connect() as connection:
        payload = connection.execute(sa.text("SELECT payload FROM outbox")).scalar_one()
        details = connection.execute(sa.text("SELECT details FROM audit_log")).scalar_one()
    assert payload == canonical_json(dict(event.payload))
    assert details == canonical_json(
        {"business_date": TODAY.isoformat(), "idempotency_key": event.idempotency_key,
         "payload": dict(event.payload)}
    )  # fmt: skip
    while chain_pending(engine):
        pass
    assert verify(engine).ok


def test_events_of_work_rolled_back_are_never_written(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    with uow_factory() as uow:
        uow.partners.add(build.partner())
        uow.record(build.event())
    assert count(engine, "outbox") == count(engine, "audit_log") == 0


def test_a_state_change_is_audited_with_actor_states_reason_and_business_date(
    uow_factory: UowFactory, build: Build, engine: Engine
) -> None:
    """A real transition from the domain, recorded the way services do it."""
    partner = build.partner()
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.commit()
    director = Actor("director-1", Role.DIRECTOR)
    with uow_factory() as uow:
        loaded = uow.partners.get(partner.id)
        event = loaded.apply(
            "suspend", director, at=partner.created_at, business_date=TODAY, reason="overdue"
        )
        uow.partners.update(loaded)
        uow.record(event)
        uow.commit()
    with uow_factory() as uow:
        [entry] = uow.audit.for_subject("partner", partner.id)
    assert (entry.actor_id, entry.action, entry.subject_id) == (
        "director-1",
        "partner_suspended",
        partner.id,
    )
    assert entry.at == partner.created_at
    assert entry.details["business_date"] == TODAY.isoformat()
    assert entry.details["idempotency_key"] == event.idempotency_key
    payload = entry.details["payload"]
    assert (payload["from"], payload["to"], payload["action"], payload["reason"]) == (
        "active",
        "suspended",
        "suspend",
        "overdue",
    )
    assert verify(engine).ok


def test_a_reused_idempotency_key_is_a_conflict(uow_factory: UowFactory, build: Build) -> None:
    event = build.event()
    with uow_factory() as uow:
        uow.record(event)
        uow.commit()
    with uow_factory() as uow:
        uow.record(event)
        with pytest.raises(ConflictError, match="idempotency key"):
            uow.commit()


def test_a_unit_of_work_is_used_inside_its_block_only(
    uow_factory: UowFactory, build: Build
) -> None:
    uow = uow_factory()
    with uow, pytest.raises(RuntimeError, match="not reentrant"), uow:
        pass
    with pytest.raises(RuntimeError, match="outside its with block"):
        uow.record(build.event())


def test_every_repository_the_services_expect_is_registered() -> None:
    expected = {name for name, member in vars(UnitOfWork).items() if isinstance(member, property)}
    assert set(REPOSITORIES) == expected


def test_a_repository_lives_as_long_as_its_unit_of_work(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with uow:
        first = uow.partners
        assert uow.partners is first, "one per unit of work"
    with uow:
        assert uow.partners is not first, "a new one on the new session"
    with pytest.raises(AttributeError, match="no repository 'partner'"):
        _ = uow.partner
