"""The notifier suite."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import attrs
import pytest

from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.ports import Message, Notifier
from leasekit.testing.suites._base import Suite, provide

__all__ = ["NotifierSuite"]


class NotifierSuite(Suite):
    port = Notifier

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

    @pytest.fixture
    def message(self) -> Message:
        return Message(
            recipient="zhang.wei@example.com",
            subject="Your leasekit enrolment code",
            body="Your enrolment code is 314159; it expires in 15 minutes.",
            idempotency_key=f"enrolment:{uuid.uuid4().hex}",
        )

    @pytest.fixture
    def sent_messages(self, adapter: Notifier) -> Callable[[], int]:
        provide("sent_messages", "a function counting the messages the adapter sent")

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

    def test_a_message_is_sent(
        self, adapter: Notifier, message: Message, sent_messages: Callable[[], int]
    ) -> None:
        before = sent_messages()
        adapter.send(message)
        assert sent_messages() == before + 1

    def test_a_repeated_message_is_sent_once(
        self, adapter: Notifier, message: Message, sent_messages: Callable[[], int]
    ) -> None:
        before = sent_messages()
        adapter.send(message)
        adapter.send(attrs.evolve(message))
        assert sent_messages() == before + 1

    def test_messages_with_different_keys_are_each_sent(
        self, adapter: Notifier, message: Message, sent_messages: Callable[[], int]
    ) -> None:
        """Only the key makes a repeat: the same text to the same person may be sent again."""
        before = sent_messages()
        adapter.send(message)
        adapter.send(attrs.evolve(message, idempotency_key=f"{message.idempotency_key}-again"))
        assert sent_messages() == before + 2
