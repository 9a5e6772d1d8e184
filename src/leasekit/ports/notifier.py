"""Notifier: tells people about events, and sends one person a message (SMS, email, chat)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.errors import ValidationError
from leasekit.ports.common import not_blank

__all__ = ["Message", "Notifier"]


def _one_line(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    """Not blank, and no line break: a recipient or a subject with one would let the text
    after it pose as another header of an email."""
    not_blank(instance, attribute, value)
    if "\n" in value or "\r" in value:
        raise ValidationError.single(attribute.name, "must be one line")


@attrs.frozen
class Message:
    """One message to one person: an enrolment secret, a password reset link.

    The recipient is an address the notifier understands (an email address, a phone number).
    The body may hold a secret, so it stays out of the repr, and out of logs with it.
    """

    recipient: str = attrs.field(validator=_one_line)
    subject: str = attrs.field(validator=_one_line)
    body: str = attrs.field(validator=not_blank, repr=False)
    idempotency_key: str = attrs.field(validator=not_blank)
    """The same for the same message sent again (by a retried command), which is then dropped."""


@runtime_checkable
class Notifier(Protocol):
    def notify(self, event: DomainEvent) -> None:
        """Tell people about *event* (SMS, email, chat). Events arrive at least once: a repeat
        of ``event.idempotency_key`` must not notify twice."""
        ...

    def send(self, message: Message) -> None:
        """Send one message to one person (an enrolment secret, a password reset link). A
        repeat of ``message.idempotency_key`` must not send twice."""
        ...
