"""An in-process handler that reacts to an event with a change of its own runs once per event,
also when the worker dies after the handler committed and before its delivery was recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from leasekit.domain.events import DomainEvent
from leasekit.domain.partners import Partner
from leasekit.services.commands import COMMANDS, Work
from leasekit.services.context import ServiceContext
from leasekit.services.events import HANDLERS, Handler, HandlerSubscriber, handles
from leasekit.store.outbox import OutboxRelay, RelayPolicy

NAME = "test.welcome_partner"


class Killed(BaseException):
    """What the worker's process dying looks like from inside it."""


@pytest.fixture
def welcome() -> Iterator[Handler]:
    """A handler that answers ``partner_onboarded`` with an event of its own."""

    @handles("partner_onboarded", name=NAME)
    def welcome_partner(work: Work, event: DomainEvent) -> None:
        work.event("partner_welcomed", "partner", event.subject_id, {})

    yield HANDLERS[NAME]
    command = HANDLERS.pop(NAME).command
    del COMMANDS[command.name]


def _welcomed(engine: Engine, partner: Partner) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM outbox WHERE name = 'partner_welcomed' "
                    "AND subject_id = :id"
                ),
                {"id": partner.id},
            ).scalar_one()
        )


def test_a_handler_runs_once_when_the_worker_dies_between_its_two_commits(
    ctx: ServiceContext,
    engine: Engine,
    partner: Partner,
    welcome: Handler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscriber = HandlerSubscriber(welcome, ctx)
    policy = RelayPolicy(worker_id="node-1")
    dying = OutboxRelay(engine, [subscriber], policy=policy)

    def die(self: OutboxRelay, outcomes: object) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        patched.setattr(OutboxRelay, "_record", die)
        with pytest.raises(Killed):
            dying.run_pass()
    assert _welcomed(engine, partner) == 1, "the handler's own transaction committed"

    restarted = OutboxRelay(engine, [subscriber], policy=policy)
    assert restarted.release_claims() >= 1, "the dead process's claims, taken back at start"
    restarted.run_pass()
    assert _welcomed(engine, partner) == 1, "delivered again, the handler changed nothing twice"
    with engine.connect() as connection:
        pending = connection.execute(
            sa.text("SELECT count(*) FROM event_deliveries WHERE status <> 'delivered'")
        ).scalar_one()
    assert pending == 0
