"""What happens after a commit: in-process event handlers, and deliveries an administrator
looks after.

A capability reacts to another's events with a **handler**: a function of the open unit of
work and the event, declared with :func:`handles`. Each handler is a subscriber of its own
(``handler:<name>``): the background worker delivers it the events it names, in order per
subject, and runs it as a command in its own transaction, as the ``system`` account, with the
event's idempotency key. A handler therefore runs exactly once per event, even when the worker
dies between the handler's commit and marking the delivery done: the retry finds the key and
does nothing.

A handler that must ask external parties declares a **gather** step (:func:`handles_gathered`):
it runs before the handler's transaction opens, with no locks held, and its result reaches
the handler with the event. A vendor that is slow to answer then keeps no transaction open
(and no connection idle in one) while it thinks. The step runs on every delivery, a repeated
one included, so it checks on its own whether anything is left to do.

A handler for which one transaction per event costs too much declares a **batch** step
(:func:`in_batches`): the relay then hands it what it claimed for the handler in one call (the
voucher engine books them in one transaction), and falls back to the handler, event by event,
if the batch fails. The batch step must book exactly what the handler would, and be
idempotent by the events' keys as the handler is.

A delivery that fails too often is parked; :func:`list_deliveries`, :func:`retry_delivery` and
:func:`discard_delivery` (``leasekit events``, ``/events/deliveries``) let an administrator see
it and decide.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Final, TypeVar

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.errors import PermissionDeniedError
from leasekit.services.commands import Command, Work, command, execute
from leasekit.services.context import ServiceContext
from leasekit.services.reads import lister
from leasekit.services.storage import Delivery, DeliveryQuery, DeliveryStatus

__all__ = [
    "HANDLERS",
    "BatchHandlerSubscriber",
    "Handler",
    "HandlerSubscriber",
    "Occurrence",
    "discard_delivery",
    "handler_subscribers",
    "handles",
    "handles_gathered",
    "in_batches",
    "list_deliveries",
    "retry_delivery",
]

_SYSTEM: Final = Actor("system", Role.SYSTEM)
_OPERATORS: Final = frozenset({Role.ADMIN, Role.SYSTEM})


_G = TypeVar("_G")
Gather = Callable[[ServiceContext, DomainEvent], object]
"""A handler's gather step: what it needs from outside, fetched before its transaction."""
Also = Callable[[ServiceContext], Collection[str]]
"""The events a handler wants besides those it names, as the context configures them (the
events plugins' voucher templates book)."""
Batch = Callable[[ServiceContext, Sequence[DomainEvent]], None]
"""A handler's batch step: many events handled as the handler handles each (see the module)."""


@attrs.frozen
class Occurrence:
    """An event as a handler's command takes it, with what its gather step found."""

    event: DomainEvent
    gathered: object = None


@attrs.frozen
class Handler:
    """An in-process subscriber: the events it wants, its gather step if it has one, and the
    command that handles one."""

    name: str
    events: frozenset[str]
    command: Command[Occurrence, str]
    gather: Gather | None = None
    also: Also | None = None
    batch: Batch | None = None


HANDLERS: Final[dict[str, Handler]] = {}
"""Every handler by name, as declared by the capabilities."""


def _declare(
    name: str,
    event_names: tuple[str, ...],
    handle: Callable[[Work, Occurrence], None],
    gather: Gather | None,
    also: Also | None = None,
) -> None:
    def body(work: Work, occurrence: Occurrence) -> str:
        handle(work, occurrence)
        return occurrence.event.subject_id

    handler_command = command(
        f"handle:{name}",
        subject="event",
        roles=frozenset({Role.SYSTEM}),
        reload=lambda uow, subject_id: subject_id,
        identify=str,
        quiet=True,
        fingerprint=lambda occurrence: occurrence.event.idempotency_key,
    )(body)
    if name in HANDLERS:
        raise ValueError(f"two event handlers are named {name!r}")
    HANDLERS[name] = Handler(name, frozenset(event_names), handler_command, gather, also)


def handles(
    *event_names: str, name: str, also: Also | None = None
) -> Callable[[Callable[[Work, DomainEvent], None]], Callable[[Work, DomainEvent], None]]:
    """Declare *function* the handler *name* of events *event_names*, and of those *also*
    names given the context (see the module)."""

    def declare(
        function: Callable[[Work, DomainEvent], None],
    ) -> Callable[[Work, DomainEvent], None]:
        _declare(name, event_names, lambda work, each: function(work, each.event), None, also)
        return function

    return declare


def handles_gathered(
    *event_names: str, name: str, gather: Callable[[ServiceContext, DomainEvent], _G]
) -> Callable[[Callable[[Work, DomainEvent, _G], None]], Callable[[Work, DomainEvent, _G], None]]:
    """Declare *function* the handler *name* of events *event_names*, given what *gather*
    found for the event before the transaction opened (see the module)."""

    def declare(
        function: Callable[[Work, DomainEvent, _G], None],
    ) -> Callable[[Work, DomainEvent, _G], None]:
        def handle(work: Work, each: Occurrence) -> None:
            gathered: Any = each.gathered
            function(work, each.event, gathered)

        _declare(name, event_names, handle, gather)
        return function

    return declare


def in_batches(name: str) -> Callable[[Batch], Batch]:
    """Declare *function* the batch step of the handler *name*, declared already (see the
    module)."""

    def declare(function: Batch) -> Batch:
        handler = HANDLERS[name]
        if handler.gather is not None:
            raise ValueError(f"handler {name!r} gathers for each event; it cannot take a batch")
        HANDLERS[name] = attrs.evolve(handler, batch=function)
        return function

    return declare


@attrs.frozen
class HandlerSubscriber:
    """A :class:`Handler` as the outbox relay sees it."""

    handler: Handler
    ctx: ServiceContext

    @property
    def name(self) -> str:
        return f"handler:{self.handler.name}"

    def wants(self, event_name: str) -> bool:
        also = self.handler.also
        return event_name in self.handler.events or (
            also is not None and event_name in also(self.ctx)
        )

    def deliver(self, event: DomainEvent) -> None:
        key = f"{self.handler.name}:{event.idempotency_key}"
        gather = self.handler.gather
        occurrence = Occurrence(event, None if gather is None else gather(self.ctx, event))
        execute(self.ctx, _SYSTEM, self.handler.command, occurrence, idempotency_key=key)


@attrs.frozen
class BatchHandlerSubscriber(HandlerSubscriber):
    """A handler with a batch step, as the relay sees it: a
    :class:`~leasekit.domain.events.BatchSubscriber`."""

    batch: Batch

    def deliver_many(self, events: Sequence[DomainEvent]) -> None:
        self.batch(self.ctx, events)


def handler_subscribers(ctx: ServiceContext) -> list[HandlerSubscriber]:
    """Every declared handler, bound to *ctx*, for the relay."""
    return [
        HandlerSubscriber(handler, ctx)
        if handler.batch is None
        else BatchHandlerSubscriber(handler, ctx, handler.batch)
        for handler in HANDLERS.values()
    ]


def _operators_only(actor: Actor, query: DeliveryQuery) -> DeliveryQuery:
    if actor.role not in _OPERATORS:
        raise PermissionDeniedError("delivery", "list", actor.role.value)
    return query


list_deliveries = lister(
    "list_deliveries",
    DeliveryQuery,
    lambda uow: uow.deliveries,
    _operators_only,
    """List event deliveries.

    Administrators only (and the server's own command line), oldest first.
    ``?status=parked`` lists what waits for a decision.""",
)


def _settle(work: Work, delivery_id: str, status: DeliveryStatus, name: str) -> Delivery:
    work.uow.deliveries.settle_parked(delivery_id, status, work.at)
    delivery = work.uow.deliveries.get(delivery_id)
    work.event(
        name,
        "delivery",
        delivery_id,
        {"subscriber": delivery.subscriber, "event_key": delivery.event_key},
    )
    return delivery


@command(
    "retry_delivery",
    subject="delivery",
    roles=_OPERATORS,
    reload=lambda uow, delivery_id: uow.deliveries.get(delivery_id),
)
def retry_delivery(work: Work, delivery_id: str) -> Delivery:
    """Send a parked delivery back to its subscriber: due now, attempts counted afresh."""
    return _settle(work, delivery_id, DeliveryStatus.PENDING, "delivery_retried")


@command(
    "discard_delivery",
    subject="delivery",
    roles=_OPERATORS,
    reload=lambda uow, delivery_id: uow.deliveries.get(delivery_id),
)
def discard_delivery(work: Work, delivery_id: str) -> Delivery:
    """Give up a parked delivery for good: the subscriber will never get that event."""
    return _settle(work, delivery_id, DeliveryStatus.DISCARDED, "delivery_discarded")
