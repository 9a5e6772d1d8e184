"""The notifier suite."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.ports import Notifier
from leasekit.testing.suites._base import Suite, provide

__all__ = ["NotifierSuite"]


class NotifierSuite(Suite):
    @pytest.fixture
    def event(self, clock: Clock) -> DomainEvent:
        return DomainEvent.new(
            "contract_signed",
            "contract",
            "C-1",
            {"customer": "Zhang Wei"},
            occurred_at=clock.now(),
            business_date=clock.business_date(),
            actor_id=None,
        )

    @pytest.fixture
    def sent(self, adapter: Notifier) -> Callable[[], int]:
        provide("sent", "a function counting the notifications the adapter sent")

    def test_implements_the_port(self, adapter: Notifier) -> None:
        assert isinstance(adapter, Notifier)

    def test_an_event_is_notified(
        self, adapter: Notifier, event: DomainEvent, sent: Callable[[], int]
    ) -> None:
        before = sent()
        adapter.notify(event)
        assert sent() == before + 1

    def test_a_redelivered_event_is_notified_once(
        self, adapter: Notifier, event: DomainEvent, sent: Callable[[], int]
    ) -> None:
        before = sent()
        adapter.notify(event)
        adapter.notify(attrs.evolve(event))
        assert sent() == before + 1
