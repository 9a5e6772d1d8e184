"""The ledger suite."""

from __future__ import annotations

import uuid
from datetime import date

import attrs
import pytest

from leasekit.errors import ConflictError
from leasekit.money import Money
from leasekit.ports import EntrySide, Ledger, LedgerLine, LedgerVoucher
from leasekit.testing.suites._base import Suite

__all__ = ["LedgerSuite"]


class LedgerSuite(Suite):
    port = Ledger

    @pytest.fixture
    def voucher(self, currency: str) -> LedgerVoucher:
        amount = Money("150000.00", currency)
        return LedgerVoucher(
            voucher_id=f"v-{uuid.uuid4().hex}",
            business_date=date(2024, 1, 15),
            description="disbursement of contract C-1",
            lines=(
                LedgerLine("1221 finance lease receivables", EntrySide.DEBIT, amount),
                LedgerLine("1002 bank deposits", EntrySide.CREDIT, amount),
            ),
        )

    @pytest.fixture
    def idempotency_key(self) -> str:
        return f"contract_disbursed:C-1:{uuid.uuid4().hex}"

    def test_a_post_returns_a_receipt_for_the_key(
        self, adapter: Ledger, voucher: LedgerVoucher, idempotency_key: str
    ) -> None:
        receipt = adapter.post(voucher, idempotency_key)
        assert receipt.idempotency_key == idempotency_key
        assert receipt.ledger_reference

    def test_a_repeated_post_returns_the_first_receipt(
        self, adapter: Ledger, voucher: LedgerVoucher, idempotency_key: str
    ) -> None:
        first = adapter.post(voucher, idempotency_key)
        assert adapter.post(voucher, idempotency_key) == first

    def test_a_key_reused_for_another_voucher_is_a_conflict(
        self, adapter: Ledger, voucher: LedgerVoucher, idempotency_key: str
    ) -> None:
        adapter.post(voucher, idempotency_key)
        other = attrs.evolve(voucher, voucher_id=f"v-{uuid.uuid4().hex}")
        with pytest.raises(ConflictError):
            adapter.post(other, idempotency_key)

    def test_different_keys_post_separately(
        self, adapter: Ledger, voucher: LedgerVoucher, idempotency_key: str
    ) -> None:
        first = adapter.post(voucher, idempotency_key)
        second = adapter.post(voucher, f"{idempotency_key}-again")
        assert first.ledger_reference != second.ledger_reference
