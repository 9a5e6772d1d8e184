"""Domain events: what happened, to what, by whom, when and on which business date.

The store writes every event to the audit log and the outbox in the same transaction as the
change it describes; the outbox relay hands it to plugins afterwards, at least once. The
idempotency key lets a receiver drop the repeats that "at least once" implies, so it is fixed
when the event is created and never regenerated on delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import Final, Protocol, Self, TypeAlias, runtime_checkable

import attrs

from leasekit.domain.clock import require_utc

__all__ = [
    "BatchSubscriber",
    "DomainEvent",
    "EventSubscriber",
    "Payload",
    "PayloadValue",
    "StateChanged",
]

PayloadValue: TypeAlias = str | int | bool | None
"""What a payload may hold: JSON scalars that round-trip exactly (Decimals go as strings)."""
Payload: TypeAlias = Mapping[str, PayloadValue]


_SCALARS: Final = (str, int, bool)


def _frozen_payload(payload: Mapping[str, PayloadValue]) -> Mapping[str, PayloadValue]:
    """A read-only copy, refusing floats and other values JSON would not keep exact."""
    for key, value in payload.items():
        if not isinstance(key, str):
            raise TypeError(f"payload key {key!r} is not a string")
        if value is not None and not isinstance(value, _SCALARS):
            raise TypeError(
                f"payload[{key!r}]: {type(value).__name__} is not JSON-safe; "
                "pass Decimals and dates as strings"
            )
    return MappingProxyType(dict(payload))


def _utc(moment: datetime) -> datetime:
    return require_utc(moment, "occurred_at")


@attrs.frozen
class DomainEvent:
    """Something that happened to one subject (an application, a partner ...)."""

    name: str
    """Past tense, ``<subject>_<verb>ed``: ``application_submitted``; named hooks use it."""
    subject: str
    subject_id: str
    payload: Payload = attrs.field(converter=_frozen_payload, hash=False)
    occurred_at: datetime = attrs.field(converter=_utc)
    business_date: date
    actor_id: str | None
    idempotency_key: str

    @classmethod
    def new(
        cls,
        name: str,
        subject: str,
        subject_id: str,
        payload: Payload,
        *,
        occurred_at: datetime,
        business_date: date,
        actor_id: str | None,
        idempotency_key: str | None = None,
    ) -> Self:
        """An event with a fresh idempotency key unless the caller has one to reuse."""
        return cls(
            name=name,
            subject=subject,
            subject_id=subject_id,
            payload=payload,
            occurred_at=occurred_at,
            business_date=business_date,
            actor_id=actor_id,
            idempotency_key=idempotency_key or f"{name}:{subject_id}:{uuid.uuid4().hex}",
        )


@attrs.frozen
class StateChanged(DomainEvent):
    """A lifecycle transition; its payload holds ``from``, ``to``, ``action`` and ``reason``.

    Transition methods return it so that the audit log can show every state an object passed
    through, who moved it and why.
    """

    @property
    def from_state(self) -> str:
        return str(self.payload["from"])

    @property
    def to_state(self) -> str:
        return str(self.payload["to"])

    @property
    def action(self) -> str:
        return str(self.payload["action"])

    @property
    def reason(self) -> str | None:
        reason = self.payload["reason"]
        return None if reason is None else str(reason)


class EventSubscriber(Protocol):
    """A named receiver of committed events: a plugin, the notifier, an in-process handler.

    Each gets every event it wants on its own, at least once and in order per subject; a
    subscriber that keeps failing is parked without holding back the others.
    """

    @property
    def name(self) -> str:
        """Stable across restarts: deliveries are kept under it."""
        ...

    def wants(self, event_name: str) -> bool:
        """Whether events of this name are for this subscriber."""
        ...

    def deliver(self, event: DomainEvent) -> None:
        """Handle *event*; raise to have it retried. Repeats carry the same idempotency key."""
        ...


@runtime_checkable
class BatchSubscriber(EventSubscriber, Protocol):
    """A subscriber that handles what the relay claimed for it in one call, when one
    transaction for many events costs much less than one each (the voucher engine).

    A claim never holds two pending events of one subject for one subscriber, so the events
    of a batch are independent of each other."""

    def deliver_many(self, events: Sequence[DomainEvent]) -> None:
        """Handle *events*, oldest first; raise to have each delivered on its own by
        :meth:`deliver`, which must then pass over what this call did before it failed."""
        ...
