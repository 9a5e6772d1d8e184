"""A notifier that records what it was given, once per idempotency key."""

from __future__ import annotations

from leasekit.domain.events import DomainEvent
from leasekit.ports import AdapterContext
from leasekit.testing.fakes._common import Outages

__all__ = ["FakeNotifier"]


class FakeNotifier(Outages):
    """Records each event once, however often it is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[DomainEvent] = []
        self.deliveries = 0
        self._seen: set[str] = set()

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeNotifier:
        return cls()

    def notify(self, event: DomainEvent) -> None:
        self._call("notify")
        self.deliveries += 1
        if event.idempotency_key in self._seen:
            return
        self._seen.add(event.idempotency_key)
        self.events.append(event)
