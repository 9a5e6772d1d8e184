"""A voucher template that books one payload amount from one account to another."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports import EntrySide, LedgerLine

__all__ = ["FakeVoucherTemplate"]


@attrs.frozen
class FakeVoucherTemplate:
    """Books ``payload[amount_key]`` in ``payload[currency_key]``: debit one account, credit
    another. Not registered by the built-in fakes plugin: every registered template is used,
    and a fake one would book in production."""

    event_name: str
    debit_account: str
    credit_account: str
    amount_key: str = "amount"
    currency_key: str = "currency"

    def lines(self, event: DomainEvent) -> Sequence[LedgerLine]:
        amount = Money(self._field(event, self.amount_key), self._field(event, self.currency_key))
        memo = f"{event.name} {event.subject_id}"
        return (
            LedgerLine(self.debit_account, EntrySide.DEBIT, amount, memo),
            LedgerLine(self.credit_account, EntrySide.CREDIT, amount, memo),
        )

    @staticmethod
    def _field(event: DomainEvent, key: str) -> str:
        value = event.payload.get(key)
        if not isinstance(value, str):
            raise ValidationError.single(f"payload.{key}", f"{event.name} needs a string here")
        return value
