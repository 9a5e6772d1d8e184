"""The voucher template suite."""

from __future__ import annotations

import pytest

from leasekit.domain.events import DomainEvent
from leasekit.ports import LedgerLine, LedgerVoucher, VoucherTemplate, unbalanced_currencies
from leasekit.testing.suites._base import Suite, provide

__all__ = ["VoucherTemplateSuite"]


class VoucherTemplateSuite(Suite):
    port = VoucherTemplate

    @pytest.fixture
    def event(self) -> DomainEvent:
        provide("event", "a domain event of the kind the template books")

    def test_it_books_the_event_it_names(
        self, adapter: VoucherTemplate, event: DomainEvent
    ) -> None:
        assert adapter.event_name == event.name

    def test_the_lines_make_a_balanced_voucher(
        self, adapter: VoucherTemplate, event: DomainEvent
    ) -> None:
        lines = adapter.lines(event)
        assert all(isinstance(line, LedgerLine) for line in lines)
        assert unbalanced_currencies(lines) == []
        LedgerVoucher(event.idempotency_key, event.business_date, event.name, lines)

    def test_the_same_event_books_the_same_lines(
        self, adapter: VoucherTemplate, event: DomainEvent
    ) -> None:
        assert list(adapter.lines(event)) == list(adapter.lines(event))
