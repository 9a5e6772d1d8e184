"""The ledger suite: posts are exactly once per key, and the balances a ledger reports (what
leasekit reconciles against) are exact by account and contract."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date

import attrs
import pytest

from leasekit.errors import ConflictError
from leasekit.money import Money
from leasekit.ports import EntrySide, Ledger, LedgerBalance, LedgerLine, LedgerVoucher
from leasekit.testing.suites._base import Suite

__all__ = ["LedgerSuite"]

RECEIVABLES = "1221 finance lease receivables"
BANK = "1002 bank deposits"
INTEREST = "6011 interest income"

Balances = dict[tuple[str, str | None], Money]


def _by_pair(balances: Sequence[LedgerBalance]) -> Balances:
    """Balances keyed by (account, contract); a pair listed twice fails the test."""
    keyed: Balances = {}
    for balance in balances:
        pair = (balance.account, balance.contract_id)
        assert pair not in keyed, f"{pair} is listed twice in {balances}"
        keyed[pair] = balance.amount
    return keyed


def _change(before: Balances, after: Balances) -> Balances:
    """What posting did to the balances: the pairs that moved, by how much."""
    moved = {}
    for pair, amount in after.items():
        base = before.get(pair)
        difference = amount if base is None else amount - base
        if difference.amount != 0:
            moved[pair] = difference
    assert not set(before) - set(after), "a balance disappeared"
    return moved


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
                LedgerLine(RECEIVABLES, EntrySide.DEBIT, amount),
                LedgerLine(BANK, EntrySide.CREDIT, amount),
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

    @pytest.fixture
    def balances(self, adapter: Ledger, currency: str) -> Callable[[], Balances]:
        """The adapter's balances in the suite's currency, keyed by (account, contract)."""
        return lambda: _by_pair(adapter.balances(currency))

    @pytest.fixture
    def contract_vouchers(self, currency: str) -> tuple[str, list[LedgerVoucher]]:
        """A contract (new to the ledger) and two vouchers on it: a disbursement of 1000.00,
        then a repayment of 300.25 of which 40.10 is interest, on lines without a contract."""
        contract_id = f"C-{uuid.uuid4().hex[:12]}"
        on_contract = {"contract": contract_id, "partner": "P-7", "product": "LEASE-36"}

        def money(amount: str) -> Money:
            return Money(amount, currency)

        disbursement = LedgerVoucher(
            f"v-{uuid.uuid4().hex}",
            date(2024, 1, 15),
            f"disbursement of contract {contract_id}",
            [
                LedgerLine(RECEIVABLES, EntrySide.DEBIT, money("1000.00"), dimensions=on_contract),
                LedgerLine(BANK, EntrySide.CREDIT, money("1000.00")),
            ],
        )
        repayment = LedgerVoucher(
            f"v-{uuid.uuid4().hex}",
            date(2024, 2, 15),
            f"repayment of contract {contract_id}",
            [
                LedgerLine(BANK, EntrySide.DEBIT, money("300.25"), "instalment 1"),
                LedgerLine(RECEIVABLES, EntrySide.CREDIT, money("260.15"), dimensions=on_contract),
                LedgerLine(INTEREST, EntrySide.CREDIT, money("40.10"), dimensions=on_contract),
            ],
        )
        return contract_id, [disbursement, repayment]

    def test_balances_by_account_and_contract_are_exact_and_sum_to_zero(
        self,
        adapter: Ledger,
        currency: str,
        balances: Callable[[], Balances],
        contract_vouchers: tuple[str, list[LedgerVoucher]],
    ) -> None:
        contract_id, vouchers = contract_vouchers
        before = balances()
        for voucher in vouchers:
            adapter.post(voucher, f"key-{voucher.voucher_id}")
        after = balances()
        assert _change(before, after) == {
            (RECEIVABLES, contract_id): Money("739.85", currency),
            (INTEREST, contract_id): Money("-40.10", currency),
            (BANK, None): Money("-699.75", currency),
        }
        assert sum(amount.amount for amount in after.values()) == 0
        assert all(amount.currency.code == currency for amount in after.values())

    def test_a_lines_dimensions_give_the_contract_of_its_balance(
        self,
        adapter: Ledger,
        currency: str,
        contract_vouchers: tuple[str, list[LedgerVoucher]],
    ) -> None:
        contract_id, vouchers = contract_vouchers
        adapter.post(vouchers[0], f"key-{vouchers[0].voucher_id}")
        mine = [
            balance for balance in adapter.balances(currency) if balance.contract_id == contract_id
        ]
        assert mine == [LedgerBalance(RECEIVABLES, contract_id, Money("1000.00", currency))]

    def test_balances_in_a_currency_never_posted_are_empty_of_it(
        self, adapter: Ledger, voucher: LedgerVoucher, idempotency_key: str, currency: str
    ) -> None:
        other = "JPY" if currency != "JPY" else "USD"
        before = _by_pair(adapter.balances(other))
        adapter.post(voucher, idempotency_key)
        assert _by_pair(adapter.balances(other)) == before

    def test_a_repeated_post_does_not_change_balances(
        self,
        adapter: Ledger,
        balances: Callable[[], Balances],
        contract_vouchers: tuple[str, list[LedgerVoucher]],
    ) -> None:
        _, vouchers = contract_vouchers
        adapter.post(vouchers[0], "repeated-" + vouchers[0].voucher_id)
        once = balances()
        adapter.post(vouchers[0], "repeated-" + vouchers[0].voucher_id)
        assert balances() == once

    def test_a_conflict_changes_nothing(
        self,
        adapter: Ledger,
        balances: Callable[[], Balances],
        contract_vouchers: tuple[str, list[LedgerVoucher]],
    ) -> None:
        _, (first, second) = contract_vouchers
        key = "conflicting-" + first.voucher_id
        receipt = adapter.post(first, key)
        before = balances()
        with pytest.raises(ConflictError):
            adapter.post(second, key)
        assert balances() == before
        assert adapter.post(first, key) == receipt
