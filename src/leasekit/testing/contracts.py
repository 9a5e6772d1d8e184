"""Contract test suites: what every adapter of a kind must do, whoever wrote it.

Each ``<Kind>Contract`` class holds pytest tests against an ``adapter`` fixture that a subclass
provides, the way fsspec's abstract test suites work. An adapter distribution runs the suite by
subclassing it in a class whose name starts with ``Test``::

    from leasekit.testing.contracts import CreditBureauContract

    class TestAcmeBureau(CreditBureauContract):
        @pytest.fixture
        def adapter(self, clock):
            return AcmeBureau(sandbox_url, clock)

        @pytest.fixture
        def subject(self):
            return CreditSubject("Test Person", "<an id the sandbox knows>")

Fixtures whose defaults suit any adapter (a debit batch, a voucher) can be overridden; those that
only the adapter's author can supply (a statement file in the bank's format, a way to complete a
signature in the provider's sandbox) fail with a message saying what to provide.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NoReturn

import attrs
import pytest

from leasekit.domain.approvals import Tier
from leasekit.domain.clock import Clock, FixedClock
from leasekit.domain.events import DomainEvent
from leasekit.errors import ConflictError, DomainError, NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.ports import (
    ApprovalCase,
    ApprovalPolicy,
    Bank,
    BankStatement,
    CreditBureau,
    CreditReport,
    CreditSubject,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    DocumentStore,
    EntrySide,
    FaceVerifier,
    Fact,
    FraudCheck,
    FraudSource,
    FraudSubject,
    Ledger,
    LedgerLine,
    LedgerVoucher,
    Notifier,
    PaymentInstruction,
    PaymentReceipt,
    PolicyVote,
    RiskLevel,
    RuleOutcome,
    RuleSet,
    SignatureProvider,
    SignatureRequest,
    SignatureStatus,
    Signer,
    StatementParser,
    Verdict,
    VoucherTemplate,
    unbalanced_currencies,
)

__all__ = [
    "ApprovalPolicyContract",
    "BankContract",
    "CreditBureauContract",
    "DocumentStoreContract",
    "FaceVerifierContract",
    "FraudSourceContract",
    "LedgerContract",
    "NotifierContract",
    "RuleSetContract",
    "SignatureProviderContract",
    "StatementParserContract",
    "VoucherTemplateContract",
]

_TIER_RANK = {tier: rank for rank, tier in enumerate(Tier)}


def _provide(name: str, what: str) -> NoReturn:
    pytest.fail(f"the subclass must provide the {name!r} fixture: {what}", pytrace=False)


def _statement_balances(statement: BankStatement) -> None:
    assert statement.balances, (
        f"opening {statement.opening_balance} plus {len(statement.lines)} lines does not give "
        f"closing {statement.closing_balance}: a line was dropped, doubled or mis-signed"
    )
    ids = [line.line_id for line in statement.lines]
    assert len(ids) == len(set(ids)), f"line ids repeat: {ids}"


class _Contract:
    """Fixtures every suite shares."""

    @pytest.fixture
    def adapter(self) -> Any:
        _provide("adapter", "the adapter under test")

    @pytest.fixture
    def clock(self) -> Clock:
        return FixedClock(
            now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15)
        )

    @pytest.fixture
    def currency(self) -> str:
        return "CNY"


# --- credit bureau ------------------------------------------------------------------------


class CreditBureauContract(_Contract):
    @pytest.fixture
    def subject(self) -> CreditSubject:
        """A subject the bureau holds a file on."""
        return CreditSubject("Zhang Wei", "11010519491231002X")

    def test_implements_the_port(self, adapter: CreditBureau) -> None:
        assert isinstance(adapter, CreditBureau)

    def test_report_is_about_the_subject(
        self, adapter: CreditBureau, subject: CreditSubject
    ) -> None:
        report = adapter.fetch_report(subject)
        assert isinstance(report, CreditReport)
        assert report.id_number == subject.id_number

    def test_a_subject_with_a_file_has_a_score_and_a_grade(
        self, adapter: CreditBureau, subject: CreditSubject
    ) -> None:
        report = adapter.fetch_report(subject)
        assert report.has_file, "the 'subject' fixture must be someone the bureau knows"
        assert report.grade, "a scored report carries the bureau's grade"


# --- anti-fraud data source ---------------------------------------------------------------


class FraudSourceContract(_Contract):
    @pytest.fixture
    def subject(self) -> FraudSubject:
        """A subject on no list."""
        return FraudSubject("Li Na", "110105194912310021", phone="13800000000")

    @pytest.fixture
    def risky_subject(self) -> FraudSubject:
        _provide("risky_subject", "a subject the source rates medium or high risk")

    def test_implements_the_port(self, adapter: FraudSource) -> None:
        assert isinstance(adapter, FraudSource)

    def test_a_clean_subject_is_low_risk_without_hits(
        self, adapter: FraudSource, subject: FraudSubject
    ) -> None:
        check = adapter.check(subject)
        assert isinstance(check, FraudCheck)
        assert (check.risk, check.hits) == (RiskLevel.LOW, ())

    def test_a_risky_subject_comes_with_the_hits_that_explain_it(
        self, adapter: FraudSource, risky_subject: FraudSubject
    ) -> None:
        check = adapter.check(risky_subject)
        assert check.risk is not RiskLevel.LOW
        assert check.hits, "reviewers must see why a subject is risky"


# --- face verification --------------------------------------------------------------------


class FaceVerifierContract(_Contract):
    @pytest.fixture
    def same_person(self) -> tuple[bytes, bytes]:
        _provide("same_person", "(reference, probe) images of one person")

    @pytest.fixture
    def different_people(self) -> tuple[bytes, bytes]:
        _provide("different_people", "(reference, probe) images of two people")

    def test_implements_the_port(self, adapter: FaceVerifier) -> None:
        assert isinstance(adapter, FaceVerifier)

    def test_the_same_person_matches(
        self, adapter: FaceVerifier, same_person: tuple[bytes, bytes]
    ) -> None:
        assert adapter.compare(*same_person).matched

    def test_different_people_do_not_match_and_score_lower(
        self,
        adapter: FaceVerifier,
        same_person: tuple[bytes, bytes],
        different_people: tuple[bytes, bytes],
    ) -> None:
        match = adapter.compare(*same_person)
        mismatch = adapter.compare(*different_people)
        assert not mismatch.matched
        assert mismatch.similarity < match.similarity


# --- statement parser ---------------------------------------------------------------------


class StatementParserContract(_Contract):
    @pytest.fixture
    def statement_content(self) -> bytes:
        _provide("statement_content", "a statement file in the format the parser reads")

    @pytest.fixture
    def unreadable_content(self) -> bytes:
        return b"\x00\x01 this is not a bank statement \xff"

    def test_implements_the_port(self, adapter: StatementParser) -> None:
        assert isinstance(adapter, StatementParser)

    def test_a_statement_balances_and_has_unique_line_ids(
        self, adapter: StatementParser, statement_content: bytes
    ) -> None:
        statement = adapter.parse(statement_content)
        assert isinstance(statement, BankStatement)
        assert statement.lines, "the 'statement_content' fixture should have bookings"
        _statement_balances(statement)

    def test_unreadable_content_is_a_validation_error(
        self, adapter: StatementParser, unreadable_content: bytes
    ) -> None:
        with pytest.raises(ValidationError):
            adapter.parse(unreadable_content)


# --- bank ---------------------------------------------------------------------------------


class BankContract(_Contract):
    @pytest.fixture
    def batch(self, currency: str) -> DebitBatch:
        items = [
            DebitItem(
                f"item-{n}", f"Debtor {n}", f"62220000000000{n}", Money(amount, currency), f"M-{n}"
            )
            for n, amount in ((1, "3120.55"), (2, "2890.00"))
        ]
        return DebitBatch(
            "batch-1", "Leasekit Finance", "6222000000000099", date(2024, 1, 20), items
        )

    @pytest.fixture
    def return_file_content(self, adapter: Bank, batch: DebitBatch) -> bytes:
        _provide(
            "return_file_content",
            "the bank's return file for the 'batch' fixture, with at least one item returned",
        )

    @pytest.fixture
    def statement_content(self) -> bytes:
        _provide("statement_content", "an account statement in the bank's format")

    @pytest.fixture
    def payment(self, currency: str) -> PaymentInstruction:
        return PaymentInstruction(
            instruction_id=f"pay-{uuid.uuid4().hex}",
            payee_name="Shanghai Motors",
            payee_account="6222000000000123",
            amount=Money("150000.00", currency),
            requested_date=date(2024, 1, 15),
            remittance="disbursement contract C-1",
        )

    def test_implements_the_port(self, adapter: Bank) -> None:
        assert isinstance(adapter, Bank)

    def test_renders_a_debit_file(self, adapter: Bank, batch: DebitBatch) -> None:
        content = adapter.render_debit_file(batch)
        assert isinstance(content, bytes)
        assert content

    def test_return_file_results_are_items_of_the_batch(
        self, adapter: Bank, batch: DebitBatch, return_file_content: bytes
    ) -> None:
        results = adapter.parse_return_file(return_file_content)
        assert results, "the 'return_file_content' fixture should report on some items"
        amounts = {item.item_id: item.amount for item in batch.items}
        for result in results:
            assert isinstance(result, DebitReturn)
            assert result.batch_id == batch.batch_id
            assert amounts.get(result.item_id) == result.amount, f"{result} is not in the batch"
        reported = [result.item_id for result in results]
        assert len(reported) == len(set(reported)), f"an item is reported twice: {reported}"

    def test_a_returned_debit_is_read_as_returned(
        self, adapter: Bank, return_file_content: bytes
    ) -> None:
        """A parser that reads every item as collected would book bounced debits as paid."""
        results = adapter.parse_return_file(return_file_content)
        assert any(result.outcome is DebitOutcome.RETURNED for result in results), (
            "no item came back returned; the 'return_file_content' fixture must return one"
        )

    def test_a_statement_balances(self, adapter: Bank, statement_content: bytes) -> None:
        _statement_balances(adapter.parse_statement(statement_content))

    def test_an_unreadable_return_file_is_a_validation_error(self, adapter: Bank) -> None:
        with pytest.raises(ValidationError):
            adapter.parse_return_file(b"\x00\x01 not a return file \xff")

    def test_an_unreadable_statement_is_a_validation_error(self, adapter: Bank) -> None:
        with pytest.raises(ValidationError):
            adapter.parse_statement(b"\x00\x01 not a statement \xff")

    def test_a_payment_gets_a_receipt(self, adapter: Bank, payment: PaymentInstruction) -> None:
        receipt = adapter.send_payment(payment)
        assert isinstance(receipt, PaymentReceipt)
        assert receipt.instruction_id == payment.instruction_id
        assert receipt.bank_reference

    def test_a_repeated_payment_is_not_paid_twice(
        self, adapter: Bank, payment: PaymentInstruction
    ) -> None:
        first = adapter.send_payment(payment)
        assert adapter.send_payment(payment) == first


# --- signature provider -------------------------------------------------------------------


class SignatureProviderContract(_Contract):
    @pytest.fixture
    def signature_request(self) -> SignatureRequest:
        return SignatureRequest(
            request_id=f"sign-{uuid.uuid4().hex}",
            title="Finance lease contract C-1",
            filename="contract-c-1.pdf",
            document=b"%PDF-1.7\n% contract C-1\n",
            signers=(Signer("Zhang Wei", email="zhang.wei@example.com"),),
        )

    @pytest.fixture
    def complete_signing(self, adapter: SignatureProvider) -> Callable[[str], None]:
        _provide("complete_signing", "a function that has every signer sign an envelope id")

    def test_implements_the_port(self, adapter: SignatureProvider) -> None:
        assert isinstance(adapter, SignatureProvider)

    def test_a_new_envelope_is_pending(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        envelope_id = adapter.request(signature_request)
        assert envelope_id
        assert adapter.status(envelope_id) is SignatureStatus.PENDING

    def test_a_repeated_request_returns_the_same_envelope(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        assert adapter.request(signature_request) == adapter.request(signature_request)

    def test_an_unknown_envelope_is_not_found(self, adapter: SignatureProvider) -> None:
        with pytest.raises(NotFoundError):
            adapter.status(f"no-such-envelope-{uuid.uuid4().hex}")

    def test_a_pending_envelope_has_no_signed_document(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        envelope_id = adapter.request(signature_request)
        with pytest.raises(DomainError):
            adapter.signed_document(envelope_id)

    def test_a_signed_envelope_gives_the_signed_document(
        self,
        adapter: SignatureProvider,
        signature_request: SignatureRequest,
        complete_signing: Callable[[str], None],
    ) -> None:
        envelope_id = adapter.request(signature_request)
        complete_signing(envelope_id)
        assert adapter.status(envelope_id) is SignatureStatus.SIGNED
        assert adapter.signed_document(envelope_id)


# --- ledger -------------------------------------------------------------------------------


class LedgerContract(_Contract):
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

    def test_implements_the_port(self, adapter: Ledger) -> None:
        assert isinstance(adapter, Ledger)

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


# --- document store -----------------------------------------------------------------------


class _UploadFailed(Exception):
    pass


def _failing_upload() -> Iterator[bytes]:
    yield b"first part of the upload"
    raise _UploadFailed


UNSAFE_KEYS = (
    "",
    "../outside",
    "a/../../outside",
    "/etc/passwd",
    "a//b",
    ".hidden",
    "a/./b",
    "a\\..\\b",
    "C:/windows",
    "a/b/",
    "x" * 600,
)


class DocumentStoreContract(_Contract):
    @pytest.fixture
    def key(self) -> str:
        return f"applications/{uuid.uuid4().hex}/id-card.pdf"

    def test_implements_the_port(self, adapter: DocumentStore) -> None:
        assert isinstance(adapter, DocumentStore)

    def test_put_then_open_gives_the_chunks_back_joined(
        self, adapter: DocumentStore, key: str
    ) -> None:
        chunks = [b"%PDF-1.7\n", b"", b"\x00\xff" * 50_000, b"%%EOF\n"]
        adapter.put(key, iter(chunks))
        assert b"".join(adapter.open(key)) == b"".join(chunks)

    def test_an_empty_document_round_trips(self, adapter: DocumentStore, key: str) -> None:
        adapter.put(key, [])
        assert adapter.exists(key)
        assert b"".join(adapter.open(key)) == b""

    def test_a_large_document_comes_back_in_several_chunks(
        self, adapter: DocumentStore, key: str
    ) -> None:
        content = bytes(range(256)) * 8192
        adapter.put(key, [content])
        chunks = list(adapter.open(key))
        assert b"".join(chunks) == content
        assert len(chunks) > 1, "open() must stream, not return the whole file at once"

    def test_put_replaces_the_content(self, adapter: DocumentStore, key: str) -> None:
        adapter.put(key, [b"first version"])
        adapter.put(key, [b"second"])
        assert b"".join(adapter.open(key)) == b"second"

    def test_exists_and_delete(self, adapter: DocumentStore, key: str) -> None:
        assert not adapter.exists(key)
        adapter.put(key, [b"content"])
        assert adapter.exists(key)
        adapter.delete(key)
        assert not adapter.exists(key)

    def test_deleting_a_missing_key_does_nothing(self, adapter: DocumentStore, key: str) -> None:
        adapter.delete(key)
        assert not adapter.exists(key)

    def test_opening_a_missing_key_fails_at_the_call(
        self, adapter: DocumentStore, key: str
    ) -> None:
        with pytest.raises(NotFoundError):
            adapter.open(key)

    def test_a_failed_upload_leaves_nothing(self, adapter: DocumentStore, key: str) -> None:
        with pytest.raises(_UploadFailed):
            adapter.put(key, _failing_upload())
        assert not adapter.exists(key)

    def test_a_failed_upload_keeps_the_previous_content(
        self, adapter: DocumentStore, key: str
    ) -> None:
        adapter.put(key, [b"signed contract"])
        with pytest.raises(_UploadFailed):
            adapter.put(key, _failing_upload())
        assert b"".join(adapter.open(key)) == b"signed contract"

    @pytest.mark.parametrize("unsafe", UNSAFE_KEYS)
    def test_unsafe_keys_are_refused(self, adapter: DocumentStore, unsafe: str) -> None:
        for operation in (
            lambda: adapter.put(unsafe, [b"x"]),
            lambda: adapter.open(unsafe),
            lambda: adapter.exists(unsafe),
            lambda: adapter.delete(unsafe),
        ):
            with pytest.raises(ValidationError):
                operation()


# --- approval policy ----------------------------------------------------------------------


class ApprovalPolicyContract(_Contract):
    @pytest.fixture
    def case(self, currency: str) -> ApprovalCase:
        return ApprovalCase(
            application_id="app-1",
            partner_id="partner-1",
            business_type="new_car_loan",
            amount_financed=Money("120000.00", currency),
            term_months=36,
            down_payment_ratio=Decimal("0.20"),
            partner_rating="A",
            credit_score=720,
            fraud_risk=RiskLevel.LOW,
        )

    def test_implements_the_port(self, adapter: ApprovalPolicy) -> None:
        assert isinstance(adapter, ApprovalPolicy)

    def test_a_case_gets_a_tier_and_a_vote(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        assert isinstance(adapter.required_tier(case), Tier)
        vote = adapter.vote(case)
        assert isinstance(vote, PolicyVote)
        assert vote.voter

    def test_the_same_case_gets_the_same_answers(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        assert adapter.required_tier(case) == adapter.required_tier(case)
        assert adapter.vote(case) == adapter.vote(case)

    def test_a_larger_amount_never_needs_a_lower_tier(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        tiers = [
            adapter.required_tier(attrs.evolve(case, amount_financed=case.amount_financed * factor))
            for factor in (1, 10, 100)
        ]
        ranks = [_TIER_RANK[tier] for tier in tiers]
        assert ranks == sorted(ranks), f"tiers by growing amount: {tiers}"

    def test_a_refusal_gives_reasons(self, adapter: ApprovalPolicy, case: ApprovalCase) -> None:
        risky = attrs.evolve(case, fraud_risk=RiskLevel.HIGH, credit_score=None)
        vote = adapter.vote(risky)
        if vote.verdict is not Verdict.APPROVE:
            assert vote.reasons, "a referral or a decline must say why"


# --- rule sets ----------------------------------------------------------------------------


class RuleSetContract(_Contract):
    @pytest.fixture
    def facts(self) -> Mapping[str, Fact]:
        return {
            "amount_financed": Decimal("120000.00"),
            "term_months": 36,
            "down_payment_ratio": Decimal("0.20"),
            "credit_score": 720,
            "applicant_age": 35,
            "used_vehicle": False,
            "partner_rating": "A",
        }

    def test_implements_the_port(self, adapter: RuleSet) -> None:
        assert isinstance(adapter, RuleSet)

    def test_evaluation_names_the_rules_behind_its_verdict(
        self, adapter: RuleSet, facts: Mapping[str, Fact]
    ) -> None:
        outcome = adapter.evaluate(facts)
        assert isinstance(outcome, RuleOutcome)
        assert outcome.rule_set
        assert all(hit.rule_id and hit.message for hit in outcome.hits)

    def test_the_same_facts_give_the_same_outcome(
        self, adapter: RuleSet, facts: Mapping[str, Fact]
    ) -> None:
        assert adapter.evaluate(facts) == adapter.evaluate(dict(facts))

    def test_a_missing_fact_is_a_validation_error(self, adapter: RuleSet) -> None:
        """With no facts at all, a rule set either needs none or says which it lacks."""
        try:
            outcome = adapter.evaluate({})
        except ValidationError:
            return
        assert isinstance(outcome, RuleOutcome)


# --- voucher templates --------------------------------------------------------------------


class VoucherTemplateContract(_Contract):
    @pytest.fixture
    def event(self) -> DomainEvent:
        _provide("event", "a domain event of the kind the template books")

    def test_implements_the_port(self, adapter: VoucherTemplate) -> None:
        assert isinstance(adapter, VoucherTemplate)

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


# --- notifier -----------------------------------------------------------------------------


class NotifierContract(_Contract):
    @pytest.fixture
    def event(self, clock: Clock) -> DomainEvent:
        return DomainEvent.new(
            "contract_signed",
            "contract",
            "C-1",
            {"customer": "Zhang Wei"},
            occurred_at=clock.now(),
            business_date=clock.business_date(),
            actor_id=None,
        )

    @pytest.fixture
    def sent(self, adapter: Notifier) -> Callable[[], int]:
        _provide("sent", "a function counting the notifications the adapter sent")

    def test_implements_the_port(self, adapter: Notifier) -> None:
        assert isinstance(adapter, Notifier)

    def test_an_event_is_notified(
        self, adapter: Notifier, event: DomainEvent, sent: Callable[[], int]
    ) -> None:
        before = sent()
        adapter.notify(event)
        assert sent() == before + 1

    def test_a_redelivered_event_is_notified_once(
        self, adapter: Notifier, event: DomainEvent, sent: Callable[[], int]
    ) -> None:
        before = sent()
        adapter.notify(event)
        adapter.notify(attrs.evolve(event))
        assert sent() == before + 1
