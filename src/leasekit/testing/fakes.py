"""Deterministic, scriptable stand-ins for every external party.

Each fake does what its port promises (idempotency included) with no network and no
randomness, and lets a test or a demo decide the answer: a fake bureau returns the score you
set, a fake bank writes the return file you ask for, a fake ledger records what was posted.
Every fake can also be told to fail its next calls (:meth:`fail_next`) with an
:class:`~leasekit.errors.AdapterError`, as a party that is down would.

The built-in plugin :mod:`leasekit.builtin.fakes` registers them under the adapter id ``fake``,
so a demo or a QA server selects them by settings (``LEASEKIT_ADAPTERS__BANK=fake``). Their file
formats (statements, debit and return files) are JSON, written by the ``render``/``*_file``
methods and read by the ``parse`` methods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

import attrs

from leasekit.domain.approvals import Tier
from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.errors import (
    AdapterError,
    AmountError,
    ConfigurationError,
    ConflictError,
    DomainError,
    NotFoundError,
    ValidationError,
)
from leasekit.money import Currency, DecimalLike, Money, currency, to_decimal
from leasekit.plugins import Adapters
from leasekit.ports import (
    AdapterContext,
    AdapterKind,
    ApprovalCase,
    BankStatement,
    CreditReport,
    CreditSubject,
    DebitBatch,
    DebitOutcome,
    DebitReturn,
    EntrySide,
    FaceMatch,
    Fact,
    FraudCheck,
    FraudHit,
    FraudSubject,
    LedgerLine,
    LedgerReceipt,
    LedgerVoucher,
    PaymentInstruction,
    PaymentReceipt,
    PaymentStatus,
    PolicyVote,
    RiskLevel,
    RuleHit,
    RuleOutcome,
    SignatureRequest,
    SignatureStatus,
    StatementLine,
    Verdict,
    check_document_key,
)

__all__ = [
    "RETURN_REASONS",
    "FakeApprovalPolicy",
    "FakeBank",
    "FakeCreditBureau",
    "FakeFaceVerifier",
    "FakeFraudSource",
    "FakeLedger",
    "FakeNotifier",
    "FakeRuleSet",
    "FakeSignatureProvider",
    "FakeStatementParser",
    "FakeVoucherTemplate",
    "Fakes",
    "InMemoryDocumentStore",
    "grade_for",
]

RETURN_REASONS: Final = {
    "AC04": "account closed",
    "AM04": "insufficient funds",
    "MD01": "no valid mandate",
    "MS02": "refused by the debtor",
}
"""Reason codes the fake bank knows (ISO 20022 codes, as SEPA return files use them)."""


class _Outages:
    """Scripted failures: the next calls raise AdapterError, as a party that is down would."""

    def __init__(self) -> None:
        self._outages: list[str] = []

    def fail_next(self, times: int = 1, message: str = "scripted outage") -> None:
        self._outages.extend([message] * times)

    def _call(self, operation: str) -> None:
        if self._outages:
            message = self._outages.pop(0)
            raise AdapterError(f"{type(self).__name__}.{operation}: {message}")


def _sequence(prefix: str) -> Callable[[], str]:
    """Deterministic references: ``prefix-000001``, ``prefix-000002`` ..."""
    count = 0

    def following() -> str:
        nonlocal count
        count += 1
        return f"{prefix}-{count:06d}"

    return following


def _int_option(context: AdapterContext, name: str, default: int | None) -> int | None:
    raw = context.option(name)
    if raw is None:
        return default
    if raw.strip().lower() == "none":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"adapter option {name}: {raw!r} is not a whole number") from None


def _decimal_option(context: AdapterContext, name: str, default: Decimal) -> Decimal:
    raw = context.option(name)
    try:
        return default if raw is None else to_decimal(raw, name)
    except AmountError:
        raise ConfigurationError(f"adapter option {name}: {raw!r} is not a number") from None


# --- credit bureau ------------------------------------------------------------------------


def grade_for(score: int) -> str:
    """The fake bureau's grade bands: A from 750, B from 700, C from 650, D from 600, else E."""
    for floor, grade in ((750, "A"), (700, "B"), (650, "C"), (600, "D")):
        if score >= floor:
            return grade
    return "E"


@attrs.frozen
class _ScriptedReport:
    score: int | None
    grade: str | None
    delinquent_accounts: int


class FakeCreditBureau(_Outages):
    """Returns the score set for a subject's id number; everyone else gets *default_score*
    (None: the bureau holds no file on them)."""

    def __init__(self, clock: Clock, *, default_score: int | None = 700) -> None:
        super().__init__()
        self.clock = clock
        self.default_score = default_score
        self.requests: list[CreditSubject] = []
        self._scripted: dict[str, _ScriptedReport] = {}
        self._reference = _sequence("fake-bureau")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeCreditBureau:
        """Option ``default_score``: a number, or ``none`` for "no file"."""
        return cls(context.clock, default_score=_int_option(context, "default_score", 700))

    def set_score(
        self,
        id_number: str,
        score: int | None,
        *,
        grade: str | None = None,
        delinquent_accounts: int = 0,
    ) -> None:
        """Script the report for *id_number*; the grade follows :func:`grade_for` unless given."""
        if grade is None and score is not None:
            grade = grade_for(score)
        self._scripted[id_number] = _ScriptedReport(score, grade, delinquent_accounts)

    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        self._call("fetch_report")
        self.requests.append(subject)
        scripted = self._scripted.get(subject.id_number)
        if scripted is None:
            score = self.default_score
            grade = None if score is None else grade_for(score)
            scripted = _ScriptedReport(score, grade, 0)
        return CreditReport(
            bureau_reference=self._reference(),
            id_number=subject.id_number,
            score=scripted.score,
            grade=scripted.grade,
            fetched_at=self.clock.now(),
            delinquent_accounts=scripted.delinquent_accounts,
        )


# --- anti-fraud data source ---------------------------------------------------------------


class FakeFraudSource(_Outages):
    """Low risk for everyone except the id numbers given a risk with :meth:`set_risk`."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.checks: list[FraudSubject] = []
        self._scripted: dict[str, tuple[RiskLevel, tuple[FraudHit, ...]]] = {}
        self._reference = _sequence("fake-fraud")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeFraudSource:
        return cls(context.clock)

    def set_risk(self, id_number: str, risk: RiskLevel | str, *hits: FraudHit) -> None:
        self._scripted[id_number] = (RiskLevel(risk), hits)

    def check(self, subject: FraudSubject) -> FraudCheck:
        self._call("check")
        self.checks.append(subject)
        risk, hits = self._scripted.get(subject.id_number, (RiskLevel.LOW, ()))
        return FraudCheck(self._reference(), risk, self.clock.now(), hits)


# --- face verification --------------------------------------------------------------------


class FakeFaceVerifier(_Outages):
    """Identical images match with similarity 1; a probe scripted with :meth:`set_similarity`
    gets that similarity; any other pair gets *other_similarity*."""

    def __init__(
        self,
        *,
        threshold: DecimalLike = Decimal("0.80"),
        other_similarity: DecimalLike = Decimal("0.10"),
    ) -> None:
        super().__init__()
        self.threshold = to_decimal(threshold, "threshold")
        self.other_similarity = to_decimal(other_similarity, "other_similarity")
        self.comparisons = 0
        self._scripted: dict[bytes, Decimal] = {}

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeFaceVerifier:
        """Option ``threshold``: the similarity from which faces match (default 0.80)."""
        return cls(threshold=_decimal_option(context, "threshold", Decimal("0.80")))

    def set_similarity(self, probe: bytes, similarity: DecimalLike) -> None:
        self._scripted[probe] = to_decimal(similarity, "similarity")

    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        self._call("compare")
        self.comparisons += 1
        if probe in self._scripted:
            similarity = self._scripted[probe]
        else:
            similarity = Decimal(1) if probe == reference else self.other_similarity
        return FaceMatch(similarity, similarity >= self.threshold, f"fake-face-{self.comparisons}")


# --- the fakes' JSON file formats ---------------------------------------------------------


def _money_json(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency.code}


def _money(data: Mapping[str, str]) -> Money:
    return Money(data["amount"], data["currency"])


def _json(data: object) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _read(content: bytes, what: str, build: Callable[[Any], Any]) -> Any:
    """Parse a fake file; anything malformed becomes a ValidationError on ``content``."""
    try:
        return build(json.loads(content))
    except ValidationError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        raise ValidationError.single(
            "content", f"not a fake {what} file: {type(exc).__name__}: {exc}"
        ) from None


def _statement_json(statement: BankStatement) -> dict[str, object]:
    return {
        "account": statement.account,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "opening_balance": _money_json(statement.opening_balance),
        "closing_balance": _money_json(statement.closing_balance),
        "lines": [
            {
                "line_id": line.line_id,
                "booked_on": line.booked_on.isoformat(),
                "amount": _money_json(line.amount),
                "counterparty_name": line.counterparty_name,
                "counterparty_account": line.counterparty_account,
                "reference": line.reference,
                "description": line.description,
            }
            for line in statement.lines
        ],
    }


def _statement(data: Mapping[str, Any]) -> BankStatement:
    lines = [
        StatementLine(
            line_id=line["line_id"],
            booked_on=date.fromisoformat(line["booked_on"]),
            amount=_money(line["amount"]),
            counterparty_name=line["counterparty_name"],
            counterparty_account=line["counterparty_account"],
            reference=line.get("reference", ""),
            description=line.get("description", ""),
        )
        for line in data["lines"]
    ]
    return BankStatement(
        account=data["account"],
        period_start=date.fromisoformat(data["period_start"]),
        period_end=date.fromisoformat(data["period_end"]),
        opening_balance=_money(data["opening_balance"]),
        closing_balance=_money(data["closing_balance"]),
        lines=lines,
    )


def _parse_statement(content: bytes) -> BankStatement:
    statement: BankStatement = _read(content, "statement", _statement)
    return statement


def _return_json(item: DebitReturn) -> dict[str, object]:
    return {
        "batch_id": item.batch_id,
        "item_id": item.item_id,
        "outcome": item.outcome.value,
        "amount": _money_json(item.amount),
        "reason_code": item.reason_code,
        "reason": item.reason,
    }


def _returns(data: Mapping[str, Any]) -> list[DebitReturn]:
    return [
        DebitReturn(
            batch_id=row["batch_id"],
            item_id=row["item_id"],
            outcome=row["outcome"],
            amount=_money(row["amount"]),
            reason_code=row["reason_code"],
            reason=row["reason"],
        )
        for row in data["returns"]
    ]


# --- statement parser ---------------------------------------------------------------------


class FakeStatementParser(_Outages):
    """Reads the JSON that :meth:`render` writes, so a test uploads the statement it wants."""

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeStatementParser:
        return cls()

    @staticmethod
    def render(statement: BankStatement) -> bytes:
        return _json(_statement_json(statement))

    def parse(self, content: bytes) -> BankStatement:
        self._call("parse")
        return _parse_statement(content)


# --- bank ---------------------------------------------------------------------------------


class FakeBank(_Outages):
    """A bank whose files are JSON: it writes the return file you ask for
    (:meth:`return_file`), and pays every instruction unless told to reject a payee."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.batches: dict[str, DebitBatch] = {}
        self.payments: dict[str, PaymentInstruction] = {}
        self._receipts: dict[str, PaymentReceipt] = {}
        self._rejected_payees: dict[str, str] = {}
        self._reference = _sequence("fake-bank")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeBank:
        return cls(context.clock)

    def render_debit_file(self, batch: DebitBatch) -> bytes:
        self._call("render_debit_file")
        self.batches[batch.batch_id] = batch
        return _json(
            {
                "batch_id": batch.batch_id,
                "creditor": {"name": batch.creditor_name, "account": batch.creditor_account},
                "collection_date": batch.collection_date.isoformat(),
                "items": [
                    {
                        "item_id": item.item_id,
                        "debtor": {"name": item.debtor_name, "account": item.debtor_account},
                        "amount": _money_json(item.amount),
                        "mandate": item.mandate_reference,
                        "remittance": item.remittance,
                    }
                    for item in batch.items
                ],
            }
        )

    def return_file(self, batch: DebitBatch, returned: Mapping[str, str] | None = None) -> bytes:
        """The return file for *batch*: items in *returned* (item id to reason code, e.g.
        ``{"item-2": "AM04"}``) come back returned, the rest collected."""
        returned = dict(returned or {})
        unknown = sorted(set(returned) - {item.item_id for item in batch.items})
        if unknown:
            raise ValidationError.single("returned", f"items not in the batch: {unknown}")
        rows = []
        for item in batch.items:
            code = returned.get(item.item_id)
            outcome = DebitOutcome.COLLECTED if code is None else DebitOutcome.RETURNED
            reason = None if code is None else RETURN_REASONS.get(code, code)
            rows.append(
                DebitReturn(batch.batch_id, item.item_id, outcome, item.amount, code, reason)
            )
        return _json({"returns": [_return_json(row) for row in rows]})

    def parse_return_file(self, content: bytes) -> list[DebitReturn]:
        self._call("parse_return_file")
        returns: list[DebitReturn] = _read(content, "return", _returns)
        return returns

    @staticmethod
    def statement_file(statement: BankStatement) -> bytes:
        """A statement in the format :meth:`parse_statement` reads (the statement parser's)."""
        return FakeStatementParser.render(statement)

    def parse_statement(self, content: bytes) -> BankStatement:
        self._call("parse_statement")
        return _parse_statement(content)

    def reject_payments_to(self, account: str, reason: str = "account blocked") -> None:
        self._rejected_payees[account] = reason

    def send_payment(self, instruction: PaymentInstruction) -> PaymentReceipt:
        """Idempotent on the instruction id; a reused id with other terms is a conflict."""
        self._call("send_payment")
        known = self.payments.get(instruction.instruction_id)
        if known is not None:
            if known != instruction:
                raise ConflictError(
                    f"payment instruction {instruction.instruction_id!r} was sent with other terms"
                )
            return self._receipts[instruction.instruction_id]
        reason = self._rejected_payees.get(instruction.payee_account)
        status = PaymentStatus.ACCEPTED if reason is None else PaymentStatus.REJECTED
        receipt = PaymentReceipt(
            instruction.instruction_id, self._reference(), status, self.clock.now(), reason
        )
        self.payments[instruction.instruction_id] = instruction
        self._receipts[instruction.instruction_id] = receipt
        return receipt


# --- signature provider -------------------------------------------------------------------


@attrs.define
class _Envelope:
    request: SignatureRequest
    status: SignatureStatus = SignatureStatus.PENDING


class FakeSignatureProvider(_Outages):
    """Envelopes stay pending until a test calls :meth:`sign`, :meth:`decline` or
    :meth:`expire`; a signed document is the original with a trailer naming the signers."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: dict[str, _Envelope] = {}
        self._by_request: dict[str, str] = {}
        self._envelope_id = _sequence("fake-envelope")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeSignatureProvider:
        return cls()

    def request(self, request: SignatureRequest) -> str:
        self._call("request")
        known = self._by_request.get(request.request_id)
        if known is not None:
            if self.envelopes[known].request != request:
                raise ConflictError(
                    f"signature request {request.request_id!r} was sent with another document"
                )
            return known
        envelope_id = self._envelope_id()
        self.envelopes[envelope_id] = _Envelope(request)
        self._by_request[request.request_id] = envelope_id
        return envelope_id

    def status(self, envelope_id: str) -> SignatureStatus:
        self._call("status")
        return self._envelope(envelope_id).status

    def signed_document(self, envelope_id: str) -> bytes:
        self._call("signed_document")
        envelope = self._envelope(envelope_id)
        if envelope.status is not SignatureStatus.SIGNED:
            raise DomainError(f"envelope {envelope_id!r} is {envelope.status}, not signed")
        signers = ", ".join(signer.name for signer in envelope.request.signers)
        return envelope.request.document + f"\n-- signed by {signers} (fake)\n".encode()

    def sign(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.SIGNED)

    def decline(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.DECLINED)

    def expire(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.EXPIRED)

    def _settle(self, envelope_id: str, status: SignatureStatus) -> None:
        envelope = self._envelope(envelope_id)
        if envelope.status is not SignatureStatus.PENDING:
            raise DomainError(f"envelope {envelope_id!r} is already {envelope.status}")
        envelope.status = status

    def _envelope(self, envelope_id: str) -> _Envelope:
        try:
            return self.envelopes[envelope_id]
        except KeyError:
            raise NotFoundError("envelope", envelope_id) from None


# --- ledger -------------------------------------------------------------------------------


class FakeLedger(_Outages):
    """Records each voucher once per idempotency key, in posting order."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.receipts: dict[str, LedgerReceipt] = {}
        self._vouchers: dict[str, LedgerVoucher] = {}
        self._reference = _sequence("fake-gl")

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


# --- document store -----------------------------------------------------------------------


class InMemoryDocumentStore(_Outages):
    """Documents in a dict; *chunk_size* is small enough by default that tests see chunking."""

    def __init__(self, *, chunk_size: int = 4096) -> None:
        super().__init__()
        self.chunk_size = chunk_size
        self.documents: dict[str, bytes] = {}

    @classmethod
    def from_context(cls, context: AdapterContext) -> InMemoryDocumentStore:
        return cls()

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        self._call("put")
        check_document_key(key)
        self.documents[key] = b"".join(chunks)

    def open(self, key: str) -> Iterator[bytes]:
        self._call("open")
        try:
            content = self.documents[check_document_key(key)]
        except KeyError:
            raise NotFoundError("document", key) from None
        size = self.chunk_size
        return iter([content[start : start + size] for start in range(0, len(content), size)])

    def delete(self, key: str) -> None:
        self._call("delete")
        self.documents.pop(check_document_key(key), None)

    def exists(self, key: str) -> bool:
        self._call("exists")
        return check_document_key(key) in self.documents


# --- approval policy ----------------------------------------------------------------------


class FakeApprovalPolicy(_Outages):
    """Tiers by amount financed (manager from *manager_from*, director from *director_from*),
    votes by simple house rules; either can be scripted with :meth:`set_tier`/:meth:`set_vote`.

    The default vote declines a high fraud risk, refers a missing credit score and approves
    the rest, so that a demo shows all three paths.
    """

    def __init__(
        self,
        *,
        manager_from: DecimalLike = Decimal("200000"),
        director_from: DecimalLike = Decimal("500000"),
    ) -> None:
        super().__init__()
        self.manager_from = to_decimal(manager_from, "manager_from")
        self.director_from = to_decimal(director_from, "director_from")
        self.cases: list[ApprovalCase] = []
        self._tier: Tier | None = None
        self._vote: tuple[Verdict, tuple[str, ...]] | None = None

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeApprovalPolicy:
        """Options ``manager_from`` and ``director_from``: amounts in the case's currency."""
        return cls(
            manager_from=_decimal_option(context, "manager_from", Decimal("200000")),
            director_from=_decimal_option(context, "director_from", Decimal("500000")),
        )

    def set_tier(self, tier: Tier | str | None) -> None:
        """Force every case to *tier*; None goes back to the amount bands."""
        self._tier = None if tier is None else Tier(tier)

    def set_vote(self, verdict: Verdict | str | None, *reasons: str) -> None:
        """Force every vote; None goes back to the house rules."""
        self._vote = None if verdict is None else (Verdict(verdict), reasons)

    def required_tier(self, case: ApprovalCase) -> Tier:
        self._call("required_tier")
        self.cases.append(case)
        if self._tier is not None:
            return self._tier
        amount = case.amount_financed.amount
        if amount >= self.director_from:
            return Tier.DIRECTOR
        return Tier.MANAGER if amount >= self.manager_from else Tier.OFFICER

    def vote(self, case: ApprovalCase) -> PolicyVote:
        self._call("vote")
        self.cases.append(case)
        if self._vote is not None:
            return PolicyVote("fake", *self._vote)
        if case.fraud_risk is RiskLevel.HIGH:
            return PolicyVote("fake", Verdict.DECLINE, ("high fraud risk",))
        if case.credit_score is None:
            return PolicyVote("fake", Verdict.REFER, ("no credit file",))
        return PolicyVote("fake", Verdict.APPROVE)


# --- rule sets ----------------------------------------------------------------------------


@attrs.frozen
class _Rule:
    rule_id: str
    verdict: Verdict
    message: str
    when: Callable[[Mapping[str, Fact]], bool]


class FakeRuleSet(_Outages):
    """Rules added by a test (:meth:`add_rule`); with none, every case passes."""

    def __init__(self, name: str = "fake") -> None:
        super().__init__()
        self.name = name
        self.evaluated: list[Mapping[str, Fact]] = []
        self._rules: list[_Rule] = []

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeRuleSet:
        return cls()

    def add_rule(
        self,
        rule_id: str,
        verdict: Verdict | str,
        message: str,
        when: Callable[[Mapping[str, Fact]], bool],
    ) -> None:
        """Fire *rule_id* with *verdict* whenever ``when(facts)`` is true."""
        self._rules.append(_Rule(rule_id, Verdict(verdict), message, when))

    def evaluate(self, facts: Mapping[str, Fact]) -> RuleOutcome:
        """The rules whose condition holds; a condition reading a fact that is not there is a
        ValidationError naming the fact, as the port promises."""
        self._call("evaluate")
        self.evaluated.append(dict(facts))
        hits = [
            RuleHit(rule.rule_id, rule.verdict, rule.message)
            for rule in self._rules
            if _holds(rule, facts)
        ]
        return RuleOutcome(self.name, hits)


def _holds(rule: _Rule, facts: Mapping[str, Fact]) -> bool:
    try:
        return rule.when(facts)
    except KeyError as exc:
        raise ValidationError.single(
            f"facts.{exc.args[0]}", f"rule {rule.rule_id!r} needs this fact"
        ) from None


# --- voucher templates --------------------------------------------------------------------


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


# --- notifier -----------------------------------------------------------------------------


class FakeNotifier(_Outages):
    """Records each event once, however often it is delivered."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[DomainEvent] = []
        self.deliveries = 0
        self._seen: set[str] = set()

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeNotifier:
        return cls()

    def notify(self, event: DomainEvent) -> None:
        self._call("notify")
        self.deliveries += 1
        if event.idempotency_key in self._seen:
            return
        self._seen.add(event.idempotency_key)
        self.events.append(event)


# --- all of them --------------------------------------------------------------------------


@attrs.define
class Fakes:
    """One fake per kind, typed, for tests that script them and then run services on
    :meth:`adapters`."""

    clock: Clock
    credit_bureau: FakeCreditBureau
    fraud_source: FakeFraudSource
    face_verifier: FakeFaceVerifier
    statement_parser: FakeStatementParser
    bank: FakeBank
    signature_provider: FakeSignatureProvider
    ledger: FakeLedger
    document_store: InMemoryDocumentStore
    approval_policy: FakeApprovalPolicy
    rule_set: FakeRuleSet
    notifier: FakeNotifier
    voucher_templates: list[FakeVoucherTemplate] = attrs.field(factory=list)

    @classmethod
    def create(cls, clock: Clock) -> Fakes:
        return cls(
            clock=clock,
            credit_bureau=FakeCreditBureau(clock),
            fraud_source=FakeFraudSource(clock),
            face_verifier=FakeFaceVerifier(),
            statement_parser=FakeStatementParser(),
            bank=FakeBank(clock),
            signature_provider=FakeSignatureProvider(),
            ledger=FakeLedger(clock),
            document_store=InMemoryDocumentStore(),
            approval_policy=FakeApprovalPolicy(),
            rule_set=FakeRuleSet(),
            notifier=FakeNotifier(),
        )

    def adapters(self) -> Adapters:
        """These fakes as the application's adapters, each under id ``fake``; voucher
        templates are those in :attr:`voucher_templates` when this is called."""
        instances: dict[AdapterKind, object] = {
            kind: getattr(self, kind.value)
            for kind in AdapterKind
            if kind is not AdapterKind.VOUCHER_TEMPLATE
        }
        return Adapters.from_instances(
            instances, adapter_id="fake", voucher_templates=self.voucher_templates
        )
