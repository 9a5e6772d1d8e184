"""Notifier: tells people about events (SMS, email, chat)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from leasekit.domain.events import DomainEvent

__all__ = ["Notifier"]


@runtime_checkable
class Notifier(Protocol):
    def notify(self, event: DomainEvent) -> None:
        """Tell people about *event* (SMS, email, chat). Events arrive at least once: a repeat
        of ``event.idempotency_key`` must not notify twice."""
        ...
