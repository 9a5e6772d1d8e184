"""A ledger that records what was posted, once per idempotency key, and fails as scripted."""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from leasekit import money
from leasekit.domain.clock import Clock
from leasekit.errors import ConfigurationError, ConflictError, ValidationError
from leasekit.money import Currency, Money
from leasekit.ports import (
    AdapterContext,
    LedgerBalance,
    LedgerLine,
    LedgerReceipt,
    LedgerVoucher,
)
from leasekit.testing.fakes._common import Outages, decimal_option, int_option, sequence

__all__ = ["FakeLedger"]

_DRAWS: Final = 1_000_000
"""The failure rate is compared with a whole draw out of this many, so no float is involved."""


class FakeLedger(Outages):
    """Records each voucher once per idempotency key, in posting order, and can be scripted to
    fail the way a real ledger does:

    - :meth:`fail_next`: the ledger is down, nothing is posted (``AdapterError``);
    - :meth:`lose_next_answer`: the voucher is posted, then the answer is lost
      (``AdapterError``); a retry under the same key gets the first receipt;
    - :meth:`deliver_twice`: each request reaches the ledger twice in a row, as a network
      that retries on its own delivers it; the repeat is answered with the first receipt and
      counted once (:attr:`deliveries` counts both);
    - :meth:`refuse_next` and :meth:`refuse_account`: a permanent refusal
      (``ValidationError`` naming the voucher or the line at fault), nothing posted;
    - *failure_rate* with *seed*: each new post fails with that probability, half the time
      as an outage and half as a lost answer, the same way for the same seed.
    """

    def __init__(
        self, clock: Clock, *, failure_rate: Decimal = Decimal(0), seed: int | None = None
    ) -> None:
        super().__init__()
        if not 0 <= failure_rate <= 1:
            raise ConfigurationError(f"fake ledger failure_rate: {failure_rate} is outside 0-1")
        self.clock = clock
        self.failure_rate = failure_rate
        self.receipts: dict[str, LedgerReceipt] = {}
        self.deliveries = 0
        """Requests that reached the ledger, repeats included."""
        self._vouchers: dict[str, LedgerVoucher] = {}
        self._reference = sequence("fake-gl")
        self._random = random.Random(seed)
        self._answers_to_lose = 0
        self._twice = 0
        self._refusals: list[str] = []
        self._refused_accounts: dict[str, str] = {}

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeLedger:
        """Options, each optional: ``outages``, ``lost_answers``, ``deliver_twice`` and
        ``refusals`` (how many of the next posts :meth:`fail_next`, :meth:`lose_next_answer`,
        :meth:`deliver_twice` and :meth:`refuse_next` script), ``refused_accounts`` (account
        codes separated by commas, each refused as :meth:`refuse_account` does),
        ``failure_rate`` (0 to 1) and ``seed`` (a whole number) for a flaky ledger."""
        ledger = cls(
            context.clock,
            failure_rate=decimal_option(context, "failure_rate", Decimal(0)),
            seed=int_option(context, "seed", None),
        )
        ledger.fail_next(_count(context, "outages"))
        ledger.lose_next_answer(_count(context, "lost_answers"))
        ledger.deliver_twice(_count(context, "deliver_twice"))
        ledger.refuse_next(_count(context, "refusals"))
        for account in _accounts(context.option("refused_accounts", "")):
            ledger.refuse_account(account)
        return ledger

    @property
    def posted(self) -> list[LedgerVoucher]:
        return list(self._vouchers.values())

    def lose_next_answer(self, times: int = 1) -> None:
        """The next *times* posts are made, then the call fails as an outage does, so the
        caller cannot tell whether the voucher was posted."""
        self._answers_to_lose += times

    def deliver_twice(self, times: int = 1) -> None:
        """The next *times* posts each reach the ledger twice in a row."""
        self._twice += times

    def refuse_next(self, times: int = 1, reason: str = "refused by the ledger") -> None:
        """The next *times* new vouchers are refused for good, with *reason*."""
        self._refusals.extend([reason] * times)

    def refuse_account(self, account: str, reason: str = "account closed in the ledger") -> None:
        """Every new voucher with a line on *account* is refused for good, naming the line."""
        self._refused_accounts[account] = reason

    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        self._call("post")
        known = idempotency_key in self._vouchers
        flaky = not known and self._draw_failure()
        if flaky == "outage":
            raise self._outage("post", "random outage")
        receipt = self._deliver(voucher, idempotency_key)
        if self._twice:
            self._twice -= 1
            receipt = self._deliver(voucher, idempotency_key)
        if flaky == "lost answer":
            raise self._outage("post", "random loss of the answer")
        if self._answers_to_lose:
            self._answers_to_lose -= 1
            raise self._outage("post", "no answer came back")
        return receipt

    def balances(self, currency: str) -> list[LedgerBalance]:
        """Exact sums of every line in *currency* by account and contract; a pair whose lines
        cancel out is listed with zero."""
        cur = money.currency(currency)
        totals: dict[tuple[str, str | None], Money] = {}
        for line in self._lines(cur):
            pair = (line.account, line.contract_id)
            totals[pair] = totals.get(pair, Money.zero(cur)) + line.signed_amount
        return [
            LedgerBalance(account, contract_id, amount)
            for (account, contract_id), amount in sorted(totals.items(), key=_pair_order)
        ]

    def balance(self, account: str, in_currency: str | Currency) -> Money:
        """Debits minus credits posted to *account* in one currency, whatever the contract."""
        cur = money.currency(in_currency)
        total = Money.zero(cur)
        for line in self._lines(cur):
            if line.account == account:
                total += line.signed_amount
        return total

    def _deliver(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        """One request as the ledger receives it: a repeat gets the first receipt."""
        self.deliveries += 1
        known = self._vouchers.get(idempotency_key)
        if known is not None:
            if known != voucher:
                raise ConflictError(
                    f"idempotency key {idempotency_key!r} was used for voucher {known.voucher_id!r}"
                )
            return self.receipts[idempotency_key]
        self._check_refusals(voucher)
        receipt = LedgerReceipt(idempotency_key, self._reference(), self.clock.now())
        self._vouchers[idempotency_key] = voucher
        self.receipts[idempotency_key] = receipt
        return receipt

    def _check_refusals(self, voucher: LedgerVoucher) -> None:
        for index, line in enumerate(voucher.lines):
            reason = self._refused_accounts.get(line.account)
            if reason is not None:
                raise ValidationError.single(
                    f"lines[{index}].account", f"{line.account!r}: {reason}"
                )
        if self._refusals:
            reason = self._refusals.pop(0)
            raise ValidationError.single("voucher", f"{voucher.voucher_id!r}: {reason}")

    def _draw_failure(self) -> str | None:
        """What the failure rate makes of one new post: an outage, a lost answer or nothing."""
        if not self.failure_rate:
            return None
        if Decimal(self._random.randrange(_DRAWS)) >= self.failure_rate * _DRAWS:
            return None
        return self._random.choice(("outage", "lost answer"))

    def _lines(self, cur: Currency) -> Iterable[LedgerLine]:
        for voucher in self._vouchers.values():
            yield from (line for line in voucher.lines if line.amount.currency == cur)


def _pair_order(item: tuple[tuple[str, str | None], Money]) -> tuple[str, str]:
    (account, contract_id), _ = item
    return account, contract_id or ""


def _count(context: AdapterContext, name: str) -> int:
    value = int_option(context, name, 0) or 0
    if value < 0:
        raise ConfigurationError(f"adapter option {name}: {value} is negative")
    return value


def _accounts(raw: str | None) -> list[str]:
    return [account.strip() for account in (raw or "").split(",") if account.strip()]
