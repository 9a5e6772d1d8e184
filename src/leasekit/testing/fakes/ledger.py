"""A ledger that records what was posted, once per idempotency key."""

from __future__ import annotations

from leasekit.domain.clock import Clock
from leasekit.errors import ConflictError
from leasekit.money import Currency, Money, currency
from leasekit.ports import AdapterContext, EntrySide, LedgerReceipt, LedgerVoucher
from leasekit.testing.fakes._common import Outages, sequence

__all__ = ["FakeLedger"]


class FakeLedger(Outages):
    """Records each voucher once per idempotency key, in posting order."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.receipts: dict[str, LedgerReceipt] = {}
        self._vouchers: dict[str, LedgerVoucher] = {}
        self._reference = sequence("fake-gl")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeLedger:
        return cls(context.clock)

    @property
    def posted(self) -> list[LedgerVoucher]:
        return list(self._vouchers.values())

    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        self._call("post")
        known = self._vouchers.get(idempotency_key)
        if known is not None:
            if known != voucher:
                raise ConflictError(
                    f"idempotency key {idempotency_key!r} was used for voucher {known.voucher_id!r}"
                )
            return self.receipts[idempotency_key]
        receipt = LedgerReceipt(idempotency_key, self._reference(), self.clock.now())
        self._vouchers[idempotency_key] = voucher
        self.receipts[idempotency_key] = receipt
        return receipt

    def balance(self, account: str, in_currency: str | Currency) -> Money:
        """Debits minus credits posted to *account* in one currency."""
        cur = currency(in_currency)
        total = Money.zero(cur)
        for voucher in self._vouchers.values():
            for line in voucher.lines:
                if line.account == account and line.amount.currency == cur:
                    total += line.amount if line.side is EntrySide.DEBIT else -line.amount
        return total
