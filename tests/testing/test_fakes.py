"""The fakes' scripting: each answers what a test told it to, and nothing random."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from leasekit.domain.approvals import Tier
from leasekit.domain.clock import FixedClock
from leasekit.domain.events import DomainEvent
from leasekit.errors import (
    AdapterError,
    ConfigurationError,
    ConflictError,
    DomainError,
    NotFoundError,
    ValidationError,
)
from leasekit.money import Money
from leasekit.ports import (
    AdapterContext,
    AdapterKind,
    ApprovalCase,
    BankStatement,
    CreditSubject,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    EntrySide,
    FraudHit,
    FraudSubject,
    LedgerLine,
    LedgerVoucher,
    Message,
    PaymentInstruction,
    PaymentStatus,
    RiskLevel,
    SignatureRequest,
    Signer,
    StatementLine,
    StatementTotals,
    Verdict,
)
from leasekit.testing import fakes

SUBJECT = CreditSubject("Li Na", "110105194912310021")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))


@pytest.fixture
def batch() -> DebitBatch:
    items = [
        DebitItem(f"item-{n}", f"Debtor {n}", f"acc-{n}", Money("100.00", "CNY"), f"M-{n}")
        for n in (1, 2, 3)
    ]
    return DebitBatch("batch-7", "Leasekit", "acc-0", date(2024, 1, 20), items)


def _case(amount: str, **changes: object) -> ApprovalCase:
    case = ApprovalCase(
        "app-1", "p-1", "new_car_loan", Money(amount, "CNY"), 36, "0.2", credit_score=700
    )
    return attrs.evolve(case, **changes)


def test_the_bureau_returns_the_score_set_for_a_subject(clock: FixedClock) -> None:
    bureau = fakes.FakeCreditBureau(clock)
    bureau.set_score(SUBJECT.id_number, 655, delinquent_accounts=2)
    report = bureau.fetch_report(SUBJECT)
    assert (report.score, report.grade, report.delinquent_accounts) == (655, "C", 2)
    assert report.fetched_at == clock.now()
    assert bureau.requests == [SUBJECT]


def test_the_bureau_scores_everyone_else_with_its_default(clock: FixedClock) -> None:
    stranger = CreditSubject("Stranger", "999")
    assert fakes.FakeCreditBureau(clock).fetch_report(stranger).score == 700
    assert not fakes.FakeCreditBureau(clock, default_score=None).fetch_report(stranger).has_file


def test_the_bureau_can_hold_no_file_or_a_given_grade(clock: FixedClock) -> None:
    bureau = fakes.FakeCreditBureau(clock)
    bureau.set_score(SUBJECT.id_number, None)
    assert not bureau.fetch_report(SUBJECT).has_file
    bureau.set_score(SUBJECT.id_number, 600, grade="B+")
    assert bureau.fetch_report(SUBJECT).grade == "B+"


def test_bureau_references_are_sequential(clock: FixedClock) -> None:
    bureau = fakes.FakeCreditBureau(clock)
    references = [bureau.fetch_report(SUBJECT).bureau_reference for _ in range(2)]
    assert references == ["fake-bureau-000001", "fake-bureau-000002"]


@pytest.mark.parametrize(
    ("score", "grade"),
    [(1000, "A"), (750, "A"), (749, "B"), (700, "B"), (650, "C"), (600, "D"), (599, "E"), (0, "E")],
)
def test_grade_bands(score: int, grade: str) -> None:
    assert fakes.grade_for(score) == grade


def test_every_fake_can_be_told_to_fail(clock: FixedClock) -> None:
    bureau = fakes.FakeCreditBureau(clock)
    bureau.fail_next(2, "bureau maintenance")
    for _ in range(2):
        with pytest.raises(
            AdapterError, match=r"FakeCreditBureau\.fetch_report: bureau maintenance"
        ):
            bureau.fetch_report(SUBJECT)
    assert bureau.fetch_report(SUBJECT).has_file
    assert bureau.requests == [SUBJECT]


def test_the_fraud_source_flags_the_subjects_it_is_given(clock: FixedClock) -> None:
    source = fakes.FakeFraudSource(clock)
    hit = FraudHit("DEV03", "device seen in 12 applications")
    source.set_risk("110105198001010019", "high", hit)
    risky = source.check(FraudSubject("Wang Fang", "110105198001010019", device_id="d-1"))
    clean = source.check(FraudSubject("Li Na", SUBJECT.id_number))
    assert (risky.risk, risky.hits) == (RiskLevel.HIGH, (hit,))
    assert (clean.risk, clean.hits) == (RiskLevel.LOW, ())
    assert [subject.name for subject in source.checks] == ["Wang Fang", "Li Na"]


def test_the_face_verifier_uses_scripted_similarities_and_its_threshold() -> None:
    verifier = fakes.FakeFaceVerifier(threshold=Decimal("0.75"))
    verifier.set_similarity(b"selfie", "0.75")
    assert verifier.compare(b"id photo", b"selfie").matched
    verifier.set_similarity(b"selfie", Decimal("0.7499"))
    assert not verifier.compare(b"id photo", b"selfie").matched
    assert verifier.compare(b"id photo", b"id photo").similarity == 1
    assert verifier.compare(b"id photo", b"other").similarity == Decimal("0.10")
    assert verifier.comparisons == 4


def test_scripted_numbers_refuse_floats() -> None:
    with pytest.raises(TypeError, match="float"):
        fakes.FakeFaceVerifier().set_similarity(b"selfie", 0.85)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        fakes.FakeFaceVerifier(threshold=0.8)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        fakes.FakeApprovalPolicy(manager_from=2e5)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "lots"])
def test_a_number_option_must_be_a_finite_decimal(
    raw: str, clock: FixedClock, tmp_path: Path
) -> None:
    context = AdapterContext({"threshold": raw}, tmp_path, clock, AdapterKind.FACE_VERIFIER)
    with pytest.raises(ConfigurationError, match="threshold"):
        fakes.FakeFaceVerifier.from_context(context)


def test_the_bank_writes_the_return_file_asked_for(clock: FixedClock, batch: DebitBatch) -> None:
    bank = fakes.FakeBank(clock)
    results = bank.parse_return_file(bank.return_file(batch, {"item-2": "AM04", "item-3": "XX99"}))
    assert [(r.item_id, r.outcome, r.reason_code, r.reason) for r in results] == [
        ("item-1", DebitOutcome.COLLECTED, None, None),
        ("item-2", DebitOutcome.RETURNED, "AM04", "insufficient funds"),
        ("item-3", DebitOutcome.RETURNED, "XX99", "XX99"),
    ]


def test_a_return_for_an_item_not_in_the_batch_is_refused(
    clock: FixedClock, batch: DebitBatch
) -> None:
    with pytest.raises(ValidationError, match="item-9"):
        fakes.FakeBank(clock).return_file(batch, {"item-9": "AC04"})


def test_the_bank_writes_a_batch_without_a_scheme_as_json(
    clock: FixedClock, batch: DebitBatch
) -> None:
    bank = fakes.FakeBank(clock)
    (content,) = bank.render_debit_file(batch)
    assert json.loads(content)["batch_id"] == "batch-7"


def test_malformed_fake_files_name_the_content(clock: FixedClock) -> None:
    bank = fakes.FakeBank(clock)
    for content in (b"{}", b'{"returns": [{"batch_id": "b"}]}', b"[1, 2]"):
        with pytest.raises(ValidationError, match="content: not a fake return file"):
            bank.parse_return_file(content)
    with pytest.raises(ValidationError, match="line 1"):  # neither JSON nor a bank's format
        bank.parse_return_file(b"\xff")
    with pytest.raises(ValidationError, match="content: not a fake statement file"):
        fakes.FakeStatementParser().parse(b'{"account": "x"}')


def _payment(instruction_id: str = "pay-1", account: str = "acc-9") -> PaymentInstruction:
    return PaymentInstruction(
        instruction_id, "Dealer", account, Money("1000", "CNY"), date(2024, 1, 15)
    )


def test_payments_are_idempotent_and_rejections_scriptable(clock: FixedClock) -> None:
    bank = fakes.FakeBank(clock)
    bank.reject_payments_to("acc-blocked", "account frozen")
    first = bank.send_payment(_payment())
    assert bank.send_payment(_payment()) == first
    assert first.status is PaymentStatus.ACCEPTED
    rejected = bank.send_payment(_payment("pay-2", "acc-blocked"))
    assert (rejected.status, rejected.reason) == (PaymentStatus.REJECTED, "account frozen")
    assert list(bank.payments) == ["pay-1", "pay-2"]
    with pytest.raises(ConflictError, match="pay-1"):
        bank.send_payment(_payment(account="acc-other"))


def _settling_bank(clock: FixedClock, tmp_path: Path, seconds: str) -> fakes.FakeBank:
    options = {"settle_after_seconds": seconds}
    return fakes.FakeBank.from_context(AdapterContext(options, tmp_path, clock, AdapterKind.BANK))


def test_a_payment_settles_when_its_time_comes(clock: FixedClock, tmp_path: Path) -> None:
    bank = _settling_bank(clock, tmp_path, "3600")
    receipt = bank.send_payment(_payment())
    clock.current += timedelta(seconds=3599)
    assert bank.payment_status("pay-1") == receipt
    clock.current += timedelta(seconds=1)
    settled = bank.payment_status("pay-1")
    assert settled is not None
    assert (settled.status, settled.received_at) == (PaymentStatus.SETTLED, clock.now())
    assert settled.bank_reference == receipt.bank_reference
    assert bank.send_payment(_payment()) == receipt


def test_a_bank_settling_at_once_answers_settled(clock: FixedClock, tmp_path: Path) -> None:
    receipt = _settling_bank(clock, tmp_path, "0").send_payment(_payment())
    assert (receipt.status, receipt.received_at) == (PaymentStatus.SETTLED, clock.now())


@pytest.mark.parametrize("raw", ["-1", "soon"])
def test_the_settlement_delay_is_whole_seconds_from_zero(
    raw: str, clock: FixedClock, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="settle_after_seconds"):
        _settling_bank(clock, tmp_path, raw)


def test_a_payment_stays_accepted_until_settled(clock: FixedClock) -> None:
    bank = fakes.FakeBank(clock)
    receipt = bank.send_payment(_payment())
    clock.advance(30)
    assert bank.payment_status("pay-1") == receipt
    bank.settle("pay-1")
    settled = bank.payment_status("pay-1")
    assert settled is not None
    assert (settled.status, settled.received_at) == (PaymentStatus.SETTLED, clock.now())
    with pytest.raises(DomainError, match="already settled"):
        bank.fail_settlement("pay-1")
    with pytest.raises(NotFoundError, match="pay-2"):
        bank.settle("pay-2")


def test_a_lost_answer_leaves_a_payment_made_once(clock: FixedClock) -> None:
    """A timeout after the bank paid: the status shows the payment and a resend pays nothing."""
    bank = fakes.FakeBank(clock)
    bank.lose_next_answer()
    assert bank.payment_status("pay-1") is None
    with pytest.raises(AdapterError, match=r"FakeBank\.send_payment"):
        bank.send_payment(_payment())
    status = bank.payment_status("pay-1")
    assert status is not None
    assert status.status is PaymentStatus.ACCEPTED
    assert bank.send_payment(_payment()) == status
    assert bank.paid() == bank.paid("acc-9") == [_payment()]
    assert bank.paid("acc-other") == []


def test_an_outage_before_the_bank_leaves_no_payment(clock: FixedClock) -> None:
    bank = fakes.FakeBank(clock)
    bank.fail_next()
    with pytest.raises(AdapterError):
        bank.send_payment(_payment())
    assert bank.payment_status("pay-1") is None
    assert bank.paid() == []


def test_a_failed_settlement_rejects_an_accepted_payment(clock: FixedClock) -> None:
    bank = fakes.FakeBank(clock)
    bank.reject_payments_to("acc-blocked")
    bank.send_payment(_payment())
    bank.send_payment(_payment("pay-2", "acc-blocked"))
    bank.send_payment(_payment("pay-3"))
    clock.advance()
    bank.fail_settlement("pay-1", "payee account closed")
    rejected = bank.payment_status("pay-1")
    assert rejected is not None
    assert (rejected.status, rejected.reason, rejected.received_at) == (
        PaymentStatus.REJECTED,
        "payee account closed",
        clock.now(),
    )
    assert [instruction.instruction_id for instruction in bank.paid()] == ["pay-3"]
    with pytest.raises(DomainError, match="already rejected"):
        bank.settle("pay-1")


def _signature_request(request_id: str = "r-1", document: bytes = b"contract") -> SignatureRequest:
    return SignatureRequest(
        request_id, "Contract", "c.pdf", document, [Signer("Zhang Wei", phone="138")]
    )


def test_envelopes_move_only_when_told(clock: FixedClock) -> None:
    provider = fakes.FakeSignatureProvider()
    signed, declined, expired = (provider.request(_signature_request(f"r-{n}")) for n in range(3))
    provider.sign(signed)
    provider.decline(declined)
    provider.expire(expired)
    assert [provider.status(e).value for e in (signed, declined, expired)] == [
        "signed",
        "declined",
        "expired",
    ]
    assert provider.signed_document(signed) == b"contract\n-- signed by Zhang Wei (fake)\n"
    with pytest.raises(DomainError, match="already signed"):
        provider.decline(signed)
    with pytest.raises(DomainError, match="declined, not signed"):
        provider.signed_document(declined)


def test_a_request_id_reused_for_another_document_is_a_conflict() -> None:
    provider = fakes.FakeSignatureProvider()
    provider.request(_signature_request())
    with pytest.raises(ConflictError):
        provider.request(_signature_request(document=b"another contract"))


def _voucher(
    voucher_id: str, amount: str, debit: str = "1221", credit: str = "1002"
) -> LedgerVoucher:
    money = Money(amount, "CNY")
    lines = [LedgerLine(debit, EntrySide.DEBIT, money), LedgerLine(credit, EntrySide.CREDIT, money)]
    return LedgerVoucher(voucher_id, date(2024, 1, 15), "test", lines)


def test_the_ledger_records_each_key_once_and_keeps_balances(clock: FixedClock) -> None:
    ledger = fakes.FakeLedger(clock)
    ledger.post(_voucher("v-1", "100.00"), "k-1")
    ledger.post(_voucher("v-1", "100.00"), "k-1")
    ledger.post(_voucher("v-2", "30.00", debit="1002", credit="1221"), "k-2")
    assert [voucher.voucher_id for voucher in ledger.posted] == ["v-1", "v-2"]
    assert ledger.balance("1221", "CNY") == Money("70.00", "CNY")
    assert ledger.balance("1002", "CNY") == Money("-70.00", "CNY")
    assert ledger.balance("1221", "USD") == Money("0", "USD")
    assert ledger.receipts["k-2"].ledger_reference == "fake-gl-000002"


def test_a_lost_answer_posts_once_and_the_retry_gets_the_first_receipt(
    clock: FixedClock,
) -> None:
    ledger = fakes.FakeLedger(clock)
    ledger.lose_next_answer()
    with pytest.raises(AdapterError, match="no answer came back"):
        ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert ledger.receipts["k-1"] == ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert ledger.balance("1221", "CNY") == Money("100.00", "CNY")


def test_an_outage_posts_nothing(clock: FixedClock) -> None:
    ledger = fakes.FakeLedger(clock)
    ledger.fail_next()
    with pytest.raises(AdapterError):
        ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert ledger.posted == []
    assert ledger.balances("CNY") == []


def test_a_request_delivered_twice_is_answered_with_the_first_receipt_and_counted_once(
    clock: FixedClock,
) -> None:
    ledger = fakes.FakeLedger(clock)
    ledger.deliver_twice()
    receipt = ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert ledger.deliveries == 2
    assert ledger.receipts == {"k-1": receipt}
    assert ledger.balance("1221", "CNY") == Money("100.00", "CNY")
    ledger.post(_voucher("v-2", "5.00"), "k-2")
    assert ledger.deliveries == 3


def test_a_refusal_is_permanent_names_what_is_at_fault_and_posts_nothing(
    clock: FixedClock,
) -> None:
    ledger = fakes.FakeLedger(clock)
    ledger.refuse_next(reason="period closed")
    with pytest.raises(ValidationError, match="'v-1': period closed") as caught:
        ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert caught.value.errors[0].field == "voucher"
    ledger.refuse_account("1002")
    with pytest.raises(ValidationError) as caught:
        ledger.post(_voucher("v-1", "100.00"), "k-1")
    assert caught.value.errors[0].field == "lines[1].account"
    assert ledger.posted == []
    ledger.post(_voucher("v-3", "1.00", debit="1221", credit="6011"), "k-3")
    assert len(ledger.posted) == 1


def test_a_flaky_ledger_fails_the_same_way_for_a_seed_and_never_counts_twice(
    clock: FixedClock,
) -> None:
    def run(seed: int) -> tuple[list[str], fakes.FakeLedger]:
        ledger = fakes.FakeLedger(clock, failure_rate=Decimal("0.3"), seed=seed)
        failures = []
        for number in range(1, 41):
            voucher, key = _voucher(f"v-{number}", "10.00"), f"k-{number}"
            while True:
                try:
                    ledger.post(voucher, key)
                    break
                except AdapterError as exc:
                    failures.append(f"{key}: {exc}")
        return failures, ledger

    failures, ledger = run(7)
    assert failures == run(7)[0]
    assert failures != run(8)[0]
    assert any("outage" in failure for failure in failures)
    assert any("answer" in failure for failure in failures)
    assert len(ledger.posted) == 40
    assert ledger.balance("1221", "CNY") == Money("400.00", "CNY")


def test_the_ledgers_balances_are_exact_by_account_and_contract(clock: FixedClock) -> None:
    ledger = fakes.FakeLedger(clock)
    cny = Money("0.10", "CNY")
    lines = [
        LedgerLine("1221", "debit", cny, dimensions={"contract": "C-2"}),
        LedgerLine("1221", "debit", cny, dimensions={"contract": "C-1", "partner": "P-1"}),
        LedgerLine("1221", "debit", cny),
        LedgerLine("1002", "credit", cny * 3),
    ]
    ledger.post(LedgerVoucher("v-1", date(2024, 1, 15), "x", lines), "k-1")
    ledger.post(_voucher("v-2", "1.00", debit="1002", credit="1221"), "k-2")
    assert [(b.account, b.contract_id, b.amount) for b in ledger.balances("CNY")] == [
        ("1002", None, Money("0.70", "CNY")),
        ("1221", None, Money("-0.90", "CNY")),
        ("1221", "C-1", cny),
        ("1221", "C-2", cny),
    ]
    assert ledger.balances("USD") == []


def test_the_ledgers_faults_are_options(clock: FixedClock, tmp_path: Path) -> None:
    options = {
        "outages": "1",
        "lost_answers": "1",
        "refused_accounts": "6011, 6012",
        "failure_rate": "0",
        "seed": "7",
    }
    context = AdapterContext(options, tmp_path, clock, AdapterKind.LEDGER)
    ledger = fakes.FakeLedger.from_context(context)
    with pytest.raises(AdapterError, match="scripted outage"):
        ledger.post(_voucher("v-1", "1.00"), "k-1")
    with pytest.raises(AdapterError, match="no answer"):
        ledger.post(_voucher("v-1", "1.00"), "k-1")
    with pytest.raises(ValidationError, match="6012"):
        ledger.post(_voucher("v-2", "1.00", credit="6012"), "k-2")
    assert [voucher.voucher_id for voucher in ledger.posted] == ["v-1"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_rate": "1.5"}, "outside 0-1"),
        ({"failure_rate": "often"}, "failure_rate"),
        ({"refusals": "-1"}, "refusals"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_bad_ledger_options_stop_start_up(
    clock: FixedClock, tmp_path: Path, options: dict[str, str], message: str
) -> None:
    context = AdapterContext(options, tmp_path, clock, AdapterKind.LEDGER)
    with pytest.raises(ConfigurationError, match=message):
        fakes.FakeLedger.from_context(context)


def test_the_in_memory_store_holds_what_was_put() -> None:
    store = fakes.InMemoryDocumentStore(chunk_size=3)
    store.put("a/b", [b"hello", b"!"])
    assert store.documents == {"a/b": b"hello!"}
    assert list(store.open("a/b")) == [b"hel", b"lo!"]


def test_the_approval_policy_tiers_by_amount(clock: FixedClock) -> None:
    policy = fakes.FakeApprovalPolicy()
    tiers = [policy.required_tier(_case(amount)) for amount in ("199999.99", "200000", "500000")]
    assert tiers == [Tier.OFFICER, Tier.MANAGER, Tier.DIRECTOR]
    policy.set_tier("director")
    assert policy.required_tier(_case("1000")) is Tier.DIRECTOR
    policy.set_tier(None)
    assert policy.required_tier(_case("1000")) is Tier.OFFICER


def test_the_approval_policy_votes_by_house_rules_unless_scripted() -> None:
    policy = fakes.FakeApprovalPolicy()
    assert policy.vote(_case("1000")).verdict is Verdict.APPROVE
    assert policy.vote(_case("1000", credit_score=None)).reasons == ("no credit file",)
    assert policy.vote(_case("1000", fraud_risk=RiskLevel.HIGH)).verdict is Verdict.DECLINE
    policy.set_vote("refer", "month-end review")
    vote = policy.vote(_case("1000"))
    assert (vote.verdict, vote.reasons) == (Verdict.REFER, ("month-end review",))


def test_the_rule_set_fires_the_rules_added() -> None:
    rules = fakes.FakeRuleSet("house")
    rules.add_rule(
        "age", "decline", "applicant under 18", lambda facts: int(str(facts["age"])) < 18
    )
    rules.add_rule("used", Verdict.REFER, "used vehicle", lambda facts: facts["used"] is True)
    outcome = rules.evaluate({"age": 17, "used": True})
    assert (outcome.rule_set, outcome.verdict) == ("house", Verdict.DECLINE)
    assert [hit.rule_id for hit in outcome.hits] == ["age", "used"]
    assert rules.evaluate({"age": 40, "used": False}).verdict is Verdict.APPROVE
    assert rules.evaluated == [{"age": 17, "used": True}, {"age": 40, "used": False}]


def test_a_rule_reading_a_missing_fact_is_a_validation_error() -> None:
    rules = fakes.FakeRuleSet()
    rules.add_rule("used", Verdict.REFER, "used vehicle", lambda facts: facts["used"] is True)
    with pytest.raises(ValidationError, match=r"facts.used: rule 'used' needs this fact"):
        rules.evaluate({"age": 40})


def _event(clock: FixedClock, name: str = "contract_disbursed", **payload: str) -> DomainEvent:
    return DomainEvent.new(
        name,
        "contract",
        "C-1",
        payload,
        occurred_at=clock.now(),
        business_date=clock.business_date(),
        actor_id=None,
    )


def test_the_voucher_template_books_the_payload_amount(clock: FixedClock) -> None:
    template = fakes.FakeVoucherTemplate(
        "contract_disbursed", "1221", "1002", amount_key="principal"
    )
    lines = template.lines(_event(clock, principal="150000.00", currency="CNY"))
    assert [(line.account, line.side, line.amount) for line in lines] == [
        ("1221", EntrySide.DEBIT, Money("150000.00", "CNY")),
        ("1002", EntrySide.CREDIT, Money("150000.00", "CNY")),
    ]
    with pytest.raises(ValidationError, match=r"payload\.principal"):
        template.lines(_event(clock, currency="CNY"))


def test_the_notifier_records_each_event_once(clock: FixedClock) -> None:
    notifier = fakes.FakeNotifier()
    event = _event(clock)
    notifier.fail_next()
    with pytest.raises(AdapterError):
        notifier.notify(event)
    notifier.notify(event)
    notifier.notify(event)
    notifier.notify(_event(clock))
    assert (len(notifier.events), notifier.deliveries) == (2, 3)


def test_the_notifier_records_each_message_once() -> None:
    notifier = fakes.FakeNotifier()
    message = Message("li.na@example.com", "Reset your password", "https://x/r/1", "reset:1")
    notifier.fail_next()
    with pytest.raises(AdapterError, match=r"FakeNotifier\.send"):
        notifier.send(message)
    notifier.send(message)
    notifier.send(attrs.evolve(message, body="https://x/r/2"))
    notifier.send(attrs.evolve(message, idempotency_key="reset:2"))
    assert [(m.body, m.idempotency_key) for m in notifier.messages] == [
        ("https://x/r/1", "reset:1"),
        ("https://x/r/1", "reset:2"),
    ]
    assert notifier.deliveries == 3


def test_fakes_come_as_adapters_under_id_fake(clock: FixedClock) -> None:
    bundle = fakes.Fakes.create(clock)
    template = fakes.FakeVoucherTemplate("contract_disbursed", "1221", "1002")
    bundle.voucher_templates.append(template)
    adapters = bundle.adapters()
    assert adapters.bank is bundle.bank
    assert adapters.notifier is bundle.notifier
    assert adapters.voucher_template("contract_disbursed") is template
    assert {kind for kind in AdapterKind if adapters.active_id(kind) == "fake"} == set(
        AdapterKind
    ) - {AdapterKind.VOUCHER_TEMPLATE}


def test_the_fake_statement_parser_keeps_balances_and_stated_totals() -> None:
    cny = Money("5.00", "CNY")
    statement = BankStatement(
        "acct",
        date(2024, 1, 1),
        date(2024, 1, 31),
        Money("0.00", "CNY"),
        cny,
        [StatementLine("a", date(2024, 1, 2), cny, "X", "", balance=cny)],
        stated_totals=StatementTotals(1, cny, None, 1, 0),
    )
    parser = fakes.FakeStatementParser()
    assert parser.parse(parser.render(statement)) == statement
