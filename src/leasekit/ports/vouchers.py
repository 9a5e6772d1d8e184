"""Voucher templates: how a domain event becomes ledger lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from leasekit.domain.events import DomainEvent
from leasekit.ports.ledger import LedgerLine

__all__ = ["VoucherTemplate"]


@runtime_checkable
class VoucherTemplate(Protocol):
    """How one domain event becomes ledger lines (a disbursement debits receivables ...)."""

    @property
    def event_name(self) -> str:
        """The event this template books, e.g. ``contract_disbursed``."""
        ...

    def lines(self, event: DomainEvent) -> Sequence[LedgerLine]:
        """Balanced lines for *event*; empty when the event books nothing."""
        ...
