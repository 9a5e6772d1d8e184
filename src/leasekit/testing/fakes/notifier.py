"""A notifier that records what it was given, once per idempotency key."""

from __future__ import annotations

from leasekit.domain.events import DomainEvent
from leasekit.ports import AdapterContext, Message
from leasekit.testing.fakes._common import Outages

__all__ = ["FakeNotifier"]


class FakeNotifier(Outages):
    """Records each event and each message once, however often it is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[DomainEvent] = []
        self.messages: list[Message] = []
        self.deliveries = 0
        """Events and messages that reached the notifier, repeats included."""
        self._seen: set[str] = set()
        self._seen_messages: set[str] = set()

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeNotifier:
        return cls()

    def notify(self, event: DomainEvent) -> None:
        self._call("notify")
        if self._first_delivery(event.idempotency_key, self._seen):
            self.events.append(event)

    def send(self, message: Message) -> None:
        self._call("send")
        if self._first_delivery(message.idempotency_key, self._seen_messages):
            self.messages.append(message)

    def _first_delivery(self, key: str, seen: set[str]) -> bool:
        """Count one delivery; true if *key* was not delivered before."""
        self.deliveries += 1
        if key in seen:
            return False
        seen.add(key)
        return True
