"""What every use case gets from the composition root."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TypeVar

import attrs

from leasekit.domain.access import visible_to
from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent, Payload
from leasekit.domain.identity import Actor
from leasekit.errors import NotFoundError
from leasekit.money import Currency
from leasekit.plugins import Adapters
from leasekit.services.ports import UnitOfWork

__all__ = ["ServiceContext", "visible_or_not_found"]

T = TypeVar("T")


@attrs.frozen
class ServiceContext:
    """The ports a use case may touch: storage, adapters and the clock, nothing global."""

    uow_factory: Callable[[], UnitOfWork]
    adapters: Adapters
    clock: Clock
    currency: Currency
    """The company's book currency: amounts given without one are in it."""
    max_upload_bytes: int
    after_commit: Callable[[], None] = lambda: None
    """Called after each command's unit of work closes; the runtime wakes its outbox worker
    with it, so events are delivered promptly without the caller waiting for them."""

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """A unit of work; once its block commits, :attr:`after_commit` runs.

        Delivery failures never undo a committed command: the outbox keeps the events and the
        next delivery retries them.
        """
        with self.uow_factory() as uow:
            yield uow
        self.after_commit()

    def moment(self) -> tuple[datetime, date]:
        """Wall-clock time and business date of one command, read once so they agree."""
        return self.clock.now(), self.clock.business_date()

    def event(
        self, actor: Actor, name: str, subject: str, subject_id: str, payload: Payload
    ) -> DomainEvent:
        """A non-transition event (a registration, an upload) stamped with this moment."""
        at, business_date = self.moment()
        return DomainEvent.new(
            name,
            subject,
            subject_id,
            payload,
            occurred_at=at,
            business_date=business_date,
            actor_id=actor.user_id,
        )


def visible_or_not_found(actor: Actor, obj: T, kind: str, key: str) -> T:
    """*obj* if *actor* may see it; otherwise the same error as for a missing object, so that
    a dealer cannot learn which ids exist at other partners."""
    if not visible_to(actor, obj):
        raise NotFoundError(kind, key)
    return obj
