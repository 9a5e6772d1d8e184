"""Every fake and the built-in adapters pass their kind's adapter suite.

The fakes stand in for real parties in every other test; if a fake broke its port's promises,
those tests would prove behaviour that no real adapter has.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from leasekit.builtin.filesystem import EVENTS_FILE, FilesystemDocumentStore, FilesystemNotifier
from leasekit.builtin.signatures import LocalSignatureProvider
from leasekit.builtin.statements import Camt053Parser, CsvStatementParser, Mt940Parser
from leasekit.builtin.statements.delimited import CsvLayout
from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.money import Money
from leasekit.ports import (
    BankStatement,
    DebitBatch,
    FraudHit,
    FraudSubject,
    RiskLevel,
    SignatureRequest,
    StatementLine,
    Verdict,
)
from leasekit.testing import fakes, suites

STATEMENT_SAMPLES = Path(__file__).parents[1] / "plugins" / "statements"


def _statement(currency: str) -> BankStatement:
    lines = [
        StatementLine("tx-1", date(2024, 1, 5), Money("8000.00", currency), "Employer Ltd", "1"),
        StatementLine("tx-2", date(2024, 1, 9), Money("-3120.55", currency), "Leasekit", "2"),
    ]
    return BankStatement(
        "6222000000000001",
        date(2024, 1, 1),
        date(2024, 1, 31),
        Money("1000.00", currency),
        Money("5879.45", currency),
        lines,
    )


class TestFakeCreditBureau(suites.CreditBureauSuite):
    @pytest.fixture
    def adapter(self, clock: Clock) -> fakes.FakeCreditBureau:
        return fakes.FakeCreditBureau(clock)


class TestFakeFraudSource(suites.FraudSourceSuite):
    @pytest.fixture
    def adapter(self, clock: Clock) -> fakes.FakeFraudSource:
        return fakes.FakeFraudSource(clock)

    @pytest.fixture
    def risky_subject(self, adapter: fakes.FakeFraudSource) -> FraudSubject:
        adapter.set_risk("110105198001010019", RiskLevel.HIGH, FraudHit("BL01", "court list"))
        return FraudSubject("Wang Fang", "110105198001010019")


class TestFakeFaceVerifier(suites.FaceVerifierSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeFaceVerifier:
        return fakes.FakeFaceVerifier()

    @pytest.fixture
    def same_person(self) -> tuple[bytes, bytes]:
        return b"id-card photo", b"id-card photo"

    @pytest.fixture
    def different_people(self) -> tuple[bytes, bytes]:
        return b"id-card photo", b"someone else"


class TestFakeStatementParser(suites.StatementParserSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeStatementParser:
        return fakes.FakeStatementParser()

    @pytest.fixture
    def statement_content(self, currency: str) -> bytes:
        return fakes.FakeStatementParser.render(_statement(currency))


class TestCsvStatementParser(suites.StatementParserSuite):
    @pytest.fixture
    def adapter(self, currency: str) -> CsvStatementParser:
        options = {"currency": currency, "balance_column": "balance", "id_column": "id"}
        return CsvStatementParser(CsvLayout.from_options(options))

    @pytest.fixture
    def statement_content(self, currency: str) -> bytes:
        statement = _statement(currency)
        rows, balance = ["id,date,amount,balance"], statement.opening_balance
        for line in statement.lines:
            balance += line.amount
            rows.append(f"{line.line_id},{line.booked_on},{line.amount.amount},{balance.amount}")
        return "\n".join(rows).encode("utf-8")


class TestCamt053Parser(suites.StatementParserSuite):
    @pytest.fixture
    def adapter(self) -> Camt053Parser:
        return Camt053Parser()

    @pytest.fixture
    def statement_content(self) -> bytes:
        return (STATEMENT_SAMPLES / "camt053.xml").read_bytes()


class TestMt940Parser(suites.StatementParserSuite):
    @pytest.fixture
    def adapter(self) -> Mt940Parser:
        return Mt940Parser()

    @pytest.fixture
    def statement_content(self) -> bytes:
        return (STATEMENT_SAMPLES / "mt940.sta").read_bytes()


class TestFakeBank(suites.BankSuite):
    @pytest.fixture
    def adapter(self, clock: Clock) -> fakes.FakeBank:
        return fakes.FakeBank(clock)

    @pytest.fixture
    def return_file_content(self, adapter: fakes.FakeBank, batch: DebitBatch) -> bytes:
        return adapter.return_file(batch, {"item-2": "AM04"})

    @pytest.fixture
    def statement_content(self, currency: str) -> bytes:
        return fakes.FakeBank.statement_file(_statement(currency))

    @pytest.fixture
    def settle_payment(self, adapter: fakes.FakeBank) -> Callable[[str], None]:
        return adapter.settle


class TestFakeBankSettlingAtOnce(TestFakeBank):
    """Payments the bank settles as it takes them, the way instant payment schemes do."""

    @pytest.fixture
    def adapter(self, clock: Clock) -> fakes.FakeBank:
        return fakes.FakeBank(clock, settle_after=timedelta(0))

    @pytest.fixture
    def settle_payment(self) -> Callable[[str], None]:
        return lambda instruction_id: None


class TestFakeSignatureProvider(suites.SignatureProviderSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeSignatureProvider:
        return fakes.FakeSignatureProvider()

    @pytest.fixture
    def complete_signing(self, adapter: fakes.FakeSignatureProvider) -> Callable[[str], None]:
        return adapter.sign


class TestLocalSignatureProvider(suites.SignatureProviderSuite):
    @pytest.fixture
    def adapter(self, tmp_path: Path, clock: Clock) -> LocalSignatureProvider:
        return LocalSignatureProvider(tmp_path / "signatures", clock, expire_after=timedelta(30))

    @pytest.fixture
    def complete_signing(
        self, adapter: LocalSignatureProvider, signature_request: SignatureRequest
    ) -> Callable[[str], None]:
        def sign_in_order(envelope_id: str) -> None:
            for signer in signature_request.signers:
                adapter.sign(envelope_id, signer.email or signer.name)

        return sign_in_order


class TestFakeLedger(suites.LedgerSuite):
    @pytest.fixture
    def adapter(self, clock: Clock) -> fakes.FakeLedger:
        return fakes.FakeLedger(clock)


class TestInMemoryDocumentStore(suites.DocumentStoreSuite):
    @pytest.fixture
    def adapter(self) -> fakes.InMemoryDocumentStore:
        return fakes.InMemoryDocumentStore()


class TestFilesystemDocumentStore(suites.DocumentStoreSuite):
    @pytest.fixture
    def adapter(self, tmp_path: Path) -> FilesystemDocumentStore:
        return FilesystemDocumentStore(tmp_path / "documents")


class TestFakeApprovalPolicy(suites.ApprovalPolicySuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeApprovalPolicy:
        return fakes.FakeApprovalPolicy()


class TestFakeRuleSet(suites.RuleSetSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeRuleSet:
        rules = fakes.FakeRuleSet()
        rules.add_rule(
            "min-down-payment",
            Verdict.REFER,
            "down payment under 30%",
            lambda facts: Decimal(str(facts["down_payment_ratio"])) < Decimal("0.30"),
        )
        return rules


class TestFakeVoucherTemplate(suites.VoucherTemplateSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeVoucherTemplate:
        return fakes.FakeVoucherTemplate("contract_disbursed", "1221 receivables", "1002 bank")

    @pytest.fixture
    def event(self, clock: Clock) -> DomainEvent:
        return DomainEvent.new(
            "contract_disbursed",
            "contract",
            "C-1",
            {"amount": "150000.00", "currency": "CNY"},
            occurred_at=clock.now(),
            business_date=clock.business_date(),
            actor_id="finance-1",
        )


class TestFakeNotifier(suites.NotifierSuite):
    @pytest.fixture
    def adapter(self) -> fakes.FakeNotifier:
        return fakes.FakeNotifier()

    @pytest.fixture
    def sent(self, adapter: fakes.FakeNotifier) -> Callable[[], int]:
        return lambda: len(adapter.events)

    @pytest.fixture
    def sent_messages(self, adapter: fakes.FakeNotifier) -> Callable[[], int]:
        return lambda: len(adapter.messages)


class TestFilesystemNotifier(suites.NotifierSuite):
    @pytest.fixture
    def adapter(self, tmp_path: Path, clock: Clock) -> FilesystemNotifier:
        return FilesystemNotifier(tmp_path / "messages", clock)

    @pytest.fixture
    def sent(self, adapter: FilesystemNotifier) -> Callable[[], int]:
        events = adapter.folder / EVENTS_FILE
        return lambda: len(events.read_bytes().splitlines()) if events.exists() else 0

    @pytest.fixture
    def sent_messages(self, adapter: FilesystemNotifier) -> Callable[[], int]:
        return lambda: len(list(adapter.folder.glob("*.txt")))


def test_every_suite_runs_here_against_a_builtin_adapter() -> None:
    run = {base for test in globals().values() if isinstance(test, type) for base in test.__mro__}
    assert [name for name in suites.__all__ if getattr(suites, name) not in run] == []
