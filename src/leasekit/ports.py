"""Ports: what leasekit asks of each external party, as typed protocols and small values.

Services call external parties only through these protocols, so that a credit bureau, a bank or
a ledger can be swapped by settings (``LEASEKIT_ADAPTERS__BANK=acme``) without touching the use
cases, and so that tests can run against the deterministic fakes in :mod:`leasekit.testing`.

The calls are synchronous: the server runs services in a thread pool, and an adapter is a plain
object that sets its own timeouts. Values crossing a port are frozen attrs classes holding
``Money`` and ``Decimal``, never ``float``. An adapter reports a failure of its party as
:class:`~leasekit.errors.AdapterError` raised ``from`` the vendor's exception.

Each adapter is built by a factory that receives an :class:`AdapterContext`; plugins hand those
factories to leasekit through the ``leasekit_register_<kinds>(register)`` hooks in
:mod:`leasekit.hookspecs`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeAlias, TypeVar, runtime_checkable

import attrs

from leasekit.domain.approvals import Tier
from leasekit.domain.clock import Clock, require_utc
from leasekit.domain.events import DomainEvent
from leasekit.domain.validation import is_whole_number
from leasekit.domain.vouchers import Side, totals_by_currency
from leasekit.errors import ConfigurationError, FieldError, ValidationError
from leasekit.money import Money, to_decimal

__all__ = [
    "DOCUMENT_KEY_PATTERN",
    "AdapterContext",
    "AdapterFactory",
    "AdapterKind",
    "ApprovalCase",
    "ApprovalPolicy",
    "Bank",
    "BankStatement",
    "CreditBureau",
    "CreditReport",
    "CreditSubject",
    "DebitBatch",
    "DebitItem",
    "DebitOutcome",
    "DebitReturn",
    "DocumentStore",
    "EntrySide",
    "FaceMatch",
    "FaceVerifier",
    "Fact",
    "FraudCheck",
    "FraudHit",
    "FraudSource",
    "FraudSubject",
    "Ledger",
    "Message",
    "LedgerLine",
    "LedgerReceipt",
    "LedgerVoucher",
    "Notifier",
    "PaymentInstruction",
    "PaymentReceipt",
    "PaymentStatus",
    "PolicyVote",
    "Register",
    "RiskLevel",
    "RuleHit",
    "RuleOutcome",
    "RuleSet",
    "SignatureProvider",
    "SignatureRequest",
    "SignatureStatus",
    "Signer",
    "StatementLine",
    "StatementParser",
    "Tier",
    "Verdict",
    "VoucherTemplate",
    "check_document_key",
    "protocol_members",
    "unbalanced_currencies",
]

_A = TypeVar("_A")
_A_contra = TypeVar("_A_contra", contravariant=True)


class AdapterKind(StrEnum):
    """The kinds of external party; the values are the settings keys that choose an adapter."""

    CREDIT_BUREAU = "credit_bureau"
    FRAUD_SOURCE = "fraud_source"
    FACE_VERIFIER = "face_verifier"
    STATEMENT_PARSER = "statement_parser"
    BANK = "bank"
    SIGNATURE_PROVIDER = "signature_provider"
    LEDGER = "ledger"
    DOCUMENT_STORE = "document_store"
    APPROVAL_POLICY = "approval_policy"
    RULE_SET = "rule_set"
    VOUCHER_TEMPLATE = "voucher_template"
    """Not chosen by id: every registered template is used, each for its own event."""
    NOTIFIER = "notifier"

    @property
    def setting(self) -> str:
        """The environment variable that chooses this kind's adapter."""
        return f"LEASEKIT_ADAPTERS__{self.value.upper()}"


# --- building adapters --------------------------------------------------------------------


def _read_only(options: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(options))


@attrs.frozen
class AdapterContext:
    """What an adapter factory is given: its options from settings, a data folder, the clock.

    Options are strings because they come from the environment
    (``LEASEKIT_ADAPTER_OPTIONS__BANK__ENDPOINT``); the adapter parses what it needs and raises
    :class:`~leasekit.errors.ConfigurationError` at start-up, not at the first call.
    """

    options: Mapping[str, str] = attrs.field(converter=_read_only)
    data_dir: Path
    clock: Clock
    kind: AdapterKind | None = None
    """The kind being built, so that error messages can name the setting at fault."""

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)

    def require(self, name: str) -> str:
        """Option *name*, or a ConfigurationError naming the environment variable to set."""
        try:
            return self.options[name]
        except KeyError:
            kind = self.kind.value.upper() if self.kind else "<KIND>"
            variable = f"LEASEKIT_ADAPTER_OPTIONS__{kind}__{name.upper()}"
            raise ConfigurationError(
                f"adapter option {name!r} is required; set {variable}"
            ) from None


AdapterFactory: TypeAlias = Callable[[AdapterContext], _A]
"""Builds one adapter; a class whose ``__init__`` takes the context is a factory too."""


class Register(Protocol[_A_contra]):
    """The ``register`` callable each registration hook receives."""

    def __call__(self, adapter_id: str, factory: Callable[[AdapterContext], _A_contra], /) -> None:
        """Offer *factory* under *adapter_id*; settings choose among the ids of one kind."""


# --- shared verdicts ----------------------------------------------------------------------


class Verdict(StrEnum):
    """A decision on a case, ordered from mildest to most severe."""

    APPROVE = "approve"
    REFER = "refer"
    """A human must look: the case goes to the approval queue."""
    DECLINE = "decline"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The most severe of *verdicts*; no verdict at all approves."""
        return max(verdicts, key=_SEVERITY.__getitem__, default=cls.APPROVE)


_SEVERITY: Final = {Verdict.APPROVE: 0, Verdict.REFER: 1, Verdict.DECLINE: 2}


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def _positive(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if value.amount <= 0:
        raise ValidationError.single(attribute.name, f"must be positive, not {value}")


def _not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError.single(attribute.name, "must not be blank")


def _utc(moment: datetime) -> datetime:
    return require_utc(moment)


def _count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A whole number, not negative; a float or a bool is no count."""
    if value is not None and (not is_whole_number(value) or value < 0):
        raise ValidationError.single(attribute.name, f"must be a whole number, not {value!r}")


# --- credit bureau ------------------------------------------------------------------------


@attrs.frozen
class CreditSubject:
    """The person or company whose credit file is requested."""

    name: str
    id_number: str = attrs.field(validator=_not_blank)
    kind: str = attrs.field(
        default="individual", validator=attrs.validators.in_(("individual", "company"))
    )
    country: str = "CN"
    phone: str | None = None


@attrs.frozen
class CreditReport:
    """A bureau's answer: a score on a 0-1000 scale and a grade, or neither when the bureau
    holds no file on the subject (a thin-file applicant, which is not an error)."""

    bureau_reference: str = attrs.field(validator=_not_blank)
    id_number: str
    score: int | None = attrs.field()
    grade: str | None = attrs.field()
    fetched_at: datetime = attrs.field(converter=_utc)
    open_accounts: int = attrs.field(default=0, validator=_count)
    delinquent_accounts: int = attrs.field(default=0, validator=_count)
    outstanding: Money | None = None

    @score.validator
    def _check_score(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (not is_whole_number(value) or not 0 <= value <= 1000):
            raise ValidationError.single("score", f"{value!r} is not a whole number in 0-1000")

    @grade.validator
    def _check_grade(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if (value is None) != (self.score is None):
            raise ValidationError.single("grade", "give both a score and a grade, or neither")

    @property
    def has_file(self) -> bool:
        return self.score is not None


@runtime_checkable
class CreditBureau(Protocol):
    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        """The subject's current report; ``report.id_number`` is ``subject.id_number``."""
        ...


# --- anti-fraud data source ---------------------------------------------------------------


@attrs.frozen
class FraudSubject:
    """Who applies and from where; sources match identity, phone and device against lists."""

    name: str
    id_number: str = attrs.field(validator=_not_blank)
    phone: str | None = None
    device_id: str | None = None
    ip_address: str | None = None


@attrs.frozen
class FraudHit:
    """One list or pattern the subject matched, in the source's own code."""

    code: str
    description: str


def _fraud_hits(values: Iterable[FraudHit]) -> tuple[FraudHit, ...]:
    return tuple(values)


@attrs.frozen
class FraudCheck:
    reference: str = attrs.field(validator=_not_blank)
    risk: RiskLevel = attrs.field(converter=RiskLevel)
    checked_at: datetime = attrs.field(converter=_utc)
    hits: tuple[FraudHit, ...] = attrs.field(default=(), converter=_fraud_hits)


@runtime_checkable
class FraudSource(Protocol):
    def check(self, subject: FraudSubject) -> FraudCheck:
        """The subject's risk; a clean subject is ``RiskLevel.LOW`` with no hits."""
        ...


# --- face verification --------------------------------------------------------------------


def _similarity(value: object) -> Decimal:
    similarity = to_decimal(value, "similarity")
    if not 0 <= similarity <= 1:
        raise ValidationError.single("similarity", f"{similarity} is outside 0-1")
    return similarity


@attrs.frozen
class FaceMatch:
    """How alike two faces are (0 to 1) and whether the verifier calls it the same person;
    the threshold is the verifier's, as vendors calibrate it per model."""

    similarity: Decimal = attrs.field(converter=_similarity)
    matched: bool
    reference: str = ""


@runtime_checkable
class FaceVerifier(Protocol):
    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        """Compare *probe* (a live photo) with *reference* (the ID card photo), both images."""
        ...


# --- bank statements ----------------------------------------------------------------------


@attrs.frozen
class StatementLine:
    """One booking; a positive amount is money in, a negative one money out."""

    line_id: str = attrs.field(validator=_not_blank)
    """The bank's id for the booking, unique within its account; imports deduplicate on it."""
    booked_on: date
    amount: Money
    counterparty_name: str
    counterparty_account: str
    reference: str = ""
    description: str = ""


def _statement_lines(values: Iterable[StatementLine]) -> tuple[StatementLine, ...]:
    return tuple(values)


def _one_currency(statement: BankStatement) -> list[FieldError]:
    expected = statement.opening_balance.currency
    fields = [("closing_balance", statement.closing_balance)] + [
        (f"lines.{index}.amount", line.amount) for index, line in enumerate(statement.lines)
    ]
    return [
        FieldError(name, f"{money.currency.code} differs from the opening balance's {expected}")
        for name, money in fields
        if money.currency != expected
    ]


@attrs.frozen
class BankStatement:
    """An account's bookings over a period, with the balances that frame them."""

    account: str
    period_start: date
    period_end: date
    opening_balance: Money
    closing_balance: Money
    lines: tuple[StatementLine, ...] = attrs.field(converter=_statement_lines)

    def __attrs_post_init__(self) -> None:
        errors = _one_currency(self)
        if self.period_end < self.period_start:
            errors.append(FieldError("period_end", "is before period_start"))
        if errors:
            raise ValidationError(errors)

    @property
    def balances(self) -> bool:
        """True when opening balance plus the lines gives the closing balance; a parser that
        drops or doubles a line breaks this, so imports check it."""
        total = sum((line.amount for line in self.lines), self.opening_balance)
        return total == self.closing_balance


@runtime_checkable
class StatementParser(Protocol):
    def parse(self, content: bytes) -> BankStatement:
        """Read a statement file (as customers upload them); unreadable content raises
        :class:`~leasekit.errors.ValidationError` naming the line at fault."""
        ...


# --- bank ---------------------------------------------------------------------------------


@attrs.frozen
class DebitItem:
    """One direct debit of one customer's account under a signed mandate."""

    item_id: str = attrs.field(validator=_not_blank)
    debtor_name: str
    debtor_account: str
    amount: Money = attrs.field(validator=_positive)
    mandate_reference: str
    remittance: str = ""


def _debit_items(values: Iterable[DebitItem]) -> tuple[DebitItem, ...]:
    return tuple(values)


def _batch_errors(batch: DebitBatch) -> list[FieldError]:
    if not batch.items:
        return [FieldError("items", "a debit batch needs at least one item")]
    errors = []
    seen: set[str] = set()
    currency = batch.items[0].amount.currency
    for index, item in enumerate(batch.items):
        if item.item_id in seen:
            errors.append(FieldError(f"items.{index}.item_id", f"{item.item_id!r} repeats"))
        if item.amount.currency != currency:
            errors.append(FieldError(f"items.{index}.amount", f"not in {currency.code}"))
        seen.add(item.item_id)
    return errors


@attrs.frozen
class DebitBatch:
    """Debits to collect on one date into the company's account: one bank file."""

    batch_id: str = attrs.field(validator=_not_blank)
    creditor_name: str
    creditor_account: str
    collection_date: date
    items: tuple[DebitItem, ...] = attrs.field(converter=_debit_items)

    def __attrs_post_init__(self) -> None:
        errors = _batch_errors(self)
        if errors:
            raise ValidationError(errors)

    @property
    def total(self) -> Money:
        first, *rest = (item.amount for item in self.items)
        return sum(rest, first)


class DebitOutcome(StrEnum):
    COLLECTED = "collected"
    RETURNED = "returned"
    """Not collected (insufficient funds, closed account, revoked mandate ...)."""


@attrs.frozen
class DebitReturn:
    """The bank's result for one debit item, read from its return file."""

    batch_id: str
    item_id: str
    outcome: DebitOutcome = attrs.field(converter=DebitOutcome)
    amount: Money
    reason_code: str | None = None
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.outcome is DebitOutcome.RETURNED and not self.reason_code:
            raise ValidationError.single("reason_code", "a returned debit needs a reason code")


@attrs.frozen
class PaymentInstruction:
    """A payment out of the company's account (a disbursement to a dealer, a refund)."""

    instruction_id: str = attrs.field(validator=_not_blank)
    """The company's id for the payment; the bank answers a repeat with the first receipt, so a
    retried disbursement is never paid twice."""
    payee_name: str
    payee_account: str
    amount: Money = attrs.field(validator=_positive)
    requested_date: date
    remittance: str = ""
    payee_bank: str | None = None


class PaymentStatus(StrEnum):
    ACCEPTED = "accepted"
    SETTLED = "settled"
    REJECTED = "rejected"


@attrs.frozen
class PaymentReceipt:
    instruction_id: str
    bank_reference: str
    status: PaymentStatus = attrs.field(converter=PaymentStatus)
    received_at: datetime = attrs.field(converter=_utc)
    reason: str | None = None
    """Why the bank rejected the payment; None otherwise."""


@runtime_checkable
class Bank(Protocol):
    """The company's bank: direct-debit files out, return files and statements in, payments."""

    def render_debit_file(self, batch: DebitBatch) -> bytes:
        """The file to upload to the bank for *batch*, in the bank's format."""
        ...

    def parse_return_file(self, content: bytes) -> list[DebitReturn]:
        """The results in a return file the bank sent back; unreadable content raises
        :class:`~leasekit.errors.ValidationError`."""
        ...

    def parse_statement(self, content: bytes) -> BankStatement:
        """An account statement in the bank's format; unreadable content raises
        :class:`~leasekit.errors.ValidationError`."""
        ...

    def send_payment(self, instruction: PaymentInstruction) -> PaymentReceipt:
        """Instruct a payment; idempotent on ``instruction.instruction_id``."""
        ...


# --- signature provider -------------------------------------------------------------------


@attrs.frozen
class Signer:
    name: str
    email: str | None = None
    phone: str | None = None
    id_number: str | None = None

    def __attrs_post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ValidationError.single("email", "a signer needs an email address or a phone")


def _signers(values: Iterable[Signer]) -> tuple[Signer, ...]:
    return tuple(values)


@attrs.frozen
class SignatureRequest:
    """A document to be signed by every signer, in order."""

    request_id: str = attrs.field(validator=_not_blank)
    """The company's id for the request; a repeat returns the first envelope."""
    title: str
    filename: str
    document: bytes = attrs.field(repr=False)
    signers: tuple[Signer, ...] = attrs.field(converter=_signers)

    @signers.validator
    def _check_signers(
        self, attribute: attrs.Attribute[tuple[Signer, ...]], value: tuple[Signer, ...]
    ) -> None:
        if not value:
            raise ValidationError.single("signers", "a signature request needs a signer")


class SignatureStatus(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"


@runtime_checkable
class SignatureProvider(Protocol):
    def request(self, request: SignatureRequest) -> str:
        """Send the document for signing; returns the provider's envelope id."""
        ...

    def status(self, envelope_id: str) -> SignatureStatus:
        """Where the envelope stands; an unknown id raises
        :class:`~leasekit.errors.NotFoundError`."""
        ...

    def signed_document(self, envelope_id: str) -> bytes:
        """The signed document; an envelope not yet signed raises
        :class:`~leasekit.errors.DomainError`."""
        ...


# --- ledger -------------------------------------------------------------------------------


EntrySide = Side
"""Debit or credit: the domain's :class:`~leasekit.domain.vouchers.Side` itself, so a journal
line's side needs no translation on its way to a ledger."""


@attrs.frozen
class LedgerLine:
    account: str = attrs.field(validator=_not_blank)
    side: Side = attrs.field(converter=Side)
    amount: Money = attrs.field(validator=_positive)
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

    voucher_id: str = attrs.field(validator=_not_blank)
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
    posted_at: datetime = attrs.field(converter=_utc)


@runtime_checkable
class Ledger(Protocol):
    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        """Post *voucher* once. A repeat with the same key returns the first receipt; the same
        key with a different voucher raises :class:`~leasekit.errors.ConflictError`."""
        ...


# --- document store -----------------------------------------------------------------------

DOCUMENT_KEY_PATTERN: Final = re.compile(
    r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,127})*"
)
"""Keys are ``/``-separated segments of letters, digits, ``.``, ``_`` and ``-``, none starting
with a dot: no ``..``, no absolute paths, no drive letters, no hidden files."""
_MAX_KEY_LENGTH: Final = 512


def check_document_key(key: str) -> str:
    """*key* if it is safe as a storage path in every store, else a ValidationError."""
    if len(key) > _MAX_KEY_LENGTH:
        raise ValidationError.single("key", f"is longer than {_MAX_KEY_LENGTH} characters")
    if not DOCUMENT_KEY_PATTERN.fullmatch(key):
        raise ValidationError.single(
            "key", f"{key!r} is not /-separated segments of letters, digits, '.', '_', '-'"
        )
    return key


@runtime_checkable
class DocumentStore(Protocol):
    """Where uploaded files live. Keys pass :func:`check_document_key`."""

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store the concatenated *chunks* under *key*, replacing what was there. All or
        nothing: if *chunks* raises, the key keeps its old content (or stays absent)."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The content in chunks; a missing key raises :class:`~leasekit.errors.NotFoundError`
        at the call, not at the first chunk."""
        ...

    def delete(self, key: str) -> None:
        """Remove *key*; removing a missing key does nothing, so a cleanup may be retried."""
        ...

    def exists(self, key: str) -> bool: ...


# --- approval policy ----------------------------------------------------------------------


def _ratio(value: object) -> Decimal:
    return to_decimal(value, "down_payment_ratio")


@attrs.frozen
class ApprovalCase:
    """What a policy decides on: the application's terms and the checks already run."""

    application_id: str
    partner_id: str
    business_type: str
    amount_financed: Money = attrs.field(validator=_positive)
    term_months: int = attrs.field(validator=_count)
    down_payment_ratio: Decimal = attrs.field(converter=_ratio)
    partner_rating: str | None = None
    credit_score: int | None = attrs.field(default=None, validator=_count)
    fraud_risk: RiskLevel | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)


def _reasons(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class PolicyVote:
    """One voter's verdict with its reasons; the approval service combines the votes."""

    voter: str
    verdict: Verdict = attrs.field(converter=Verdict)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_reasons)


@runtime_checkable
class ApprovalPolicy(Protocol):
    def required_tier(self, case: ApprovalCase) -> Tier:
        """The lowest tier allowed to approve *case* (amount limits, partner rating ...)."""
        ...

    def vote(self, case: ApprovalCase) -> PolicyVote:
        """The policy's own verdict, counted with the votes of ``leasekit_evaluate_application``."""
        ...


# --- rule sets ----------------------------------------------------------------------------

Fact: TypeAlias = str | int | bool | Decimal | None
"""A rule input: exact scalars only, so that a rule on an amount cannot be fooled by a float."""


@attrs.frozen
class RuleHit:
    """A rule that fired, and what it demands."""

    rule_id: str
    verdict: Verdict = attrs.field(converter=Verdict)
    message: str


def _rule_hits(values: Iterable[RuleHit]) -> tuple[RuleHit, ...]:
    return tuple(values)


@attrs.frozen
class RuleOutcome:
    """The rules that fired; the outcome is the most severe of their verdicts, so a referral or
    a decline always comes with the rule that caused it."""

    rule_set: str
    hits: tuple[RuleHit, ...] = attrs.field(default=(), converter=_rule_hits)

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(hit.verdict for hit in self.hits)


@runtime_checkable
class RuleSet(Protocol):
    def evaluate(self, facts: Mapping[str, Fact]) -> RuleOutcome:
        """Run the rules over *facts*; a missing fact a rule needs is a ValidationError."""
        ...


# --- voucher templates --------------------------------------------------------------------


@runtime_checkable
class VoucherTemplate(Protocol):
    """How one domain event becomes ledger lines (a disbursement debits receivables ...)."""

    @property
    def event_name(self) -> str:
        """The event this template books, e.g. ``contract_disbursed``."""
        ...

    def lines(self, event: DomainEvent) -> Sequence[LedgerLine]:
        """Balanced lines for *event*; empty when the event books nothing."""
        ...


# --- notifier -----------------------------------------------------------------------------


@attrs.frozen
class Message:
    """One message to one person: an enrolment secret, a password reset link."""

    recipient: str = attrs.field(validator=_not_blank)
    subject: str = attrs.field(validator=_not_blank)
    body: str = attrs.field(validator=_not_blank, repr=False)
    idempotency_key: str = attrs.field(validator=_not_blank)


@runtime_checkable
class Notifier(Protocol):
    def notify(self, event: DomainEvent) -> None:
        """Tell people about *event* (SMS, email, chat). Events arrive at least once: a repeat
        of ``event.idempotency_key`` must not notify twice."""
        ...


def protocol_members(protocol: type) -> tuple[str, ...]:
    """The public methods and properties a protocol asks for, to name what an adapter lacks."""
    return tuple(sorted(name for name in vars(protocol) if not name.startswith("_")))
