"""General ledger: balanced vouchers posted once per idempotency key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.vouchers import Side, totals_by_currency
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.common import not_blank, positive, utc

__all__ = [
    "EntrySide",
    "Ledger",
    "LedgerLine",
    "LedgerReceipt",
    "LedgerVoucher",
    "unbalanced_currencies",
]


EntrySide = Side
"""Debit or credit: the domain's :class:`~leasekit.domain.vouchers.Side` itself, so a journal
line's side needs no translation on its way to a ledger."""


@attrs.frozen
class LedgerLine:
    account: str = attrs.field(validator=not_blank)
    side: Side = attrs.field(converter=Side)
    amount: Money = attrs.field(validator=positive)
    memo: str = ""


def _ledger_lines(values: Iterable[LedgerLine]) -> tuple[LedgerLine, ...]:
    return tuple(values)


def unbalanced_currencies(lines: Iterable[LedgerLine]) -> list[str]:
    """The currencies whose debits and credits differ; empty for a balanced set of lines."""
    totals = totals_by_currency(lines)
    return [code for code, (debit, credit) in sorted(totals.items()) if debit != credit]


@attrs.frozen
class LedgerVoucher:
    """A balanced journal entry for the general ledger: debits equal credits per currency."""

    voucher_id: str = attrs.field(validator=not_blank)
    business_date: date
    description: str
    lines: tuple[LedgerLine, ...] = attrs.field(converter=_ledger_lines)

    def __attrs_post_init__(self) -> None:
        if len(self.lines) < 2:
            raise ValidationError.single("lines", "a voucher needs at least two lines")
        unbalanced = unbalanced_currencies(self.lines)
        if unbalanced:
            raise ValidationError.single(
                "lines", f"debits and credits differ in {', '.join(unbalanced)}"
            )


@attrs.frozen
class LedgerReceipt:
    idempotency_key: str
    ledger_reference: str
    posted_at: datetime = attrs.field(converter=utc)


@runtime_checkable
class Ledger(Protocol):
    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        """Post *voucher* once. A repeat with the same key returns the first receipt; the same
        key with a different voucher raises :class:`~leasekit.errors.ConflictError`."""
        ...
