"""The adapter suites fail adapters that break their port's promises.

A suite that every adapter passes proves nothing unless a broken adapter fails it; these run
deliberately broken adapters through the suites in a separate pytest process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import attrs
import pytest

BROKEN_ADAPTERS = '''
from datetime import date

import attrs
import pytest

from leasekit.money import Money
from leasekit.ports import BankStatement, LedgerBalance
from leasekit.testing import fakes, suites


class LeakyStore(fakes.InMemoryDocumentStore):
    """Writes as the chunks arrive and trusts every key."""

    def put(self, key, chunks):
        self.documents[key] = b""
        for chunk in chunks:
            self.documents[key] += chunk

    def exists(self, key):
        return key in self.documents


class ForgetfulLedger(fakes.FakeLedger):
    """Posts every call, whatever the key."""

    def post(self, voucher, idempotency_key):
        self.receipts.pop(idempotency_key, None)
        self._vouchers.pop(idempotency_key, None)
        return super().post(voucher, idempotency_key)


class DoubleCountingLedger(fakes.FakeLedger):
    """Answers a repeat with the first receipt, and books it again."""

    def post(self, voucher, idempotency_key):
        repeat = idempotency_key in self._vouchers
        receipt = super().post(voucher, idempotency_key)
        if repeat:
            self._vouchers[f"{idempotency_key}#{self.deliveries}"] = voucher
        return receipt


class ContractBlindLedger(fakes.FakeLedger):
    """Sums each account whatever the contract its lines carry."""

    def balances(self, currency):
        blind = {}
        for balance in super().balances(currency):
            known = blind.get(balance.account)
            blind[balance.account] = balance.amount if known is None else known + balance.amount
        return [LedgerBalance(account, None, amount) for account, amount in blind.items()]


class TrustingBank(fakes.FakeBank):
    """Reads every debit in a return file as collected, and each one twice."""

    def parse_return_file(self, content):
        results = [
            attrs.evolve(result, outcome="collected", reason_code=None, reason=None)
            for result in super().parse_return_file(content)
        ]
        return results + results


class AmnesicBank(fakes.FakeBank):
    """Says it never received any payment, so a caller whose send timed out pays again."""

    def payment_status(self, instruction_id):
        return None


class CrashingRuleSet(fakes.FakeRuleSet):
    """Lets a missing fact escape as a KeyError."""

    def evaluate(self, facts):
        facts["down_payment_ratio"]
        return super().evaluate(facts)


class ChattyNotifier(fakes.FakeNotifier):
    """Notifies and sends every delivery, repeats included."""

    def notify(self, event):
        self.events.append(event)

    def send(self, message):
        self.messages.append(message)


class TestLeakyStore(suites.DocumentStoreSuite):
    @pytest.fixture
    def adapter(self):
        return LeakyStore()


class TestForgetfulLedger(suites.LedgerSuite):
    @pytest.fixture
    def adapter(self, clock):
        return ForgetfulLedger(clock)


class TestDoubleCountingLedger(suites.LedgerSuite):
    @pytest.fixture
    def adapter(self, clock):
        return DoubleCountingLedger(clock)


class TestContractBlindLedger(suites.LedgerSuite):
    @pytest.fixture
    def adapter(self, clock):
        return ContractBlindLedger(clock)


class TestTrustingBank(suites.BankSuite):
    @pytest.fixture
    def adapter(self, clock):
        return TrustingBank(clock)

    @pytest.fixture
    def return_file_content(self, adapter, batch):
        return adapter.return_file(batch, {"item-2": "AM04"})

    @pytest.fixture
    def statement_content(self, currency):
        balance = Money("100.00", currency)
        statement = BankStatement("acc", date(2024, 1, 1), date(2024, 1, 31), balance, balance, [])
        return fakes.FakeBank.statement_file(statement)

    @pytest.fixture
    def settle_payment(self, adapter):
        return adapter.settle


class TestAmnesicBank(TestTrustingBank):
    @pytest.fixture
    def adapter(self, clock):
        return AmnesicBank(clock)


class TestCrashingRuleSet(suites.RuleSetSuite):
    @pytest.fixture
    def adapter(self):
        return CrashingRuleSet()


class TestChattyNotifier(suites.NotifierSuite):
    @pytest.fixture
    def adapter(self):
        return ChattyNotifier()

    @pytest.fixture
    def sent(self, adapter):
        return lambda: len(adapter.events)

    @pytest.fixture
    def sent_messages(self, adapter):
        return lambda: len(adapter.messages)


class TestForgottenFixture(suites.CreditBureauSuite):
    pass
'''


@attrs.frozen
class Outcome:
    failed: frozenset[str]
    passed: int
    output: str


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One run of the broken suites, in a fresh pytest process outside this project."""
    folder = tmp_path_factory.mktemp("broken")
    (folder / "test_broken.py").write_text(BROKEN_ADAPTERS, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-rfE", "-p", "no:cacheprovider", "test_broken.py"],
        cwd=folder,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    prefix = "FAILED test_broken.py::"
    lines = completed.stdout.splitlines()
    failed = {line.removeprefix(prefix).split(" ")[0] for line in lines if line.startswith(prefix)}
    passed = re.search(r"(\d+) passed", completed.stdout)
    return Outcome(frozenset(failed), int(passed.group(1)) if passed else 0, completed.stdout)


@pytest.mark.parametrize(
    "test",
    [
        "TestLeakyStore::test_a_failed_upload_leaves_nothing",
        "TestLeakyStore::test_a_failed_upload_keeps_the_previous_content",
        "TestLeakyStore::test_unsafe_keys_are_refused[../outside]",
        "TestForgetfulLedger::test_a_repeated_post_returns_the_first_receipt",
        "TestForgetfulLedger::test_a_key_reused_for_another_voucher_is_a_conflict",
        "TestDoubleCountingLedger::test_a_repeated_post_does_not_change_balances",
        "TestForgetfulLedger::test_a_conflict_changes_nothing",
        "TestContractBlindLedger::test_balances_by_account_and_contract_are_exact_and_sum_to_zero",
        "TestContractBlindLedger::test_a_lines_dimensions_give_the_contract_of_its_balance",
        "TestChattyNotifier::test_a_redelivered_event_is_notified_once",
        "TestChattyNotifier::test_a_repeated_message_is_sent_once",
        "TestTrustingBank::test_return_file_results_are_items_of_the_batch",
        "TestTrustingBank::test_a_returned_debit_is_read_as_returned",
        "TestAmnesicBank::test_a_sent_payment_has_a_status",
        "TestAmnesicBank::test_a_repeated_payment_keeps_its_first_receipt_and_status",
        "TestAmnesicBank::test_a_settled_payment_stays_settled",
        "TestCrashingRuleSet::test_a_missing_fact_is_a_validation_error",
    ],
)
def test_a_broken_promise_fails_its_suite(outcome: Outcome, test: str) -> None:
    assert test in outcome.failed, outcome.output


def test_kept_promises_still_pass(outcome: Outcome) -> None:
    assert outcome.passed >= 12, outcome.output
    assert "TestLeakyStore::test_exists_and_delete" not in outcome.failed
    assert "TestChattyNotifier::test_a_message_is_sent" not in outcome.failed
    assert "TestTrustingBank::test_a_repeated_payment_is_not_paid_twice" not in outcome.failed
    assert "TestTrustingBank::test_a_settled_payment_stays_settled" not in outcome.failed
    assert "TestAmnesicBank::test_an_instruction_never_sent_has_no_status" not in outcome.failed


def test_a_missing_adapter_fixture_says_what_to_provide(outcome: Outcome) -> None:
    assert "the subclass must provide the 'adapter' fixture: the adapter under test" in (
        outcome.output
    )
