"""What an application's bank statements tell pre-approval: income facts and tampering signs.

The statements are the ``bank_statement`` documents of the application and of its customer
(the customer record is the dealer's own, so a statement uploaded once serves each of the
customer's applications there), the newest :data:`MAX_STATEMENTS`. Each is read from the
document store and

- a PDF is checked for changes after production (:func:`~leasekit.services.statement_pdfs.
  inspect_pdf`), and parsed only when the configured parser says it reads PDFs (a
  ``reads_pdf = True`` attribute; the built-in parsers read text: CSV, camt.053, MT940);
- a text file is parsed by the configured statement parser and checked
  (:func:`~leasekit.domain.statement_signals.statement_signals`);
- a photo, or a file the parser or the PDF reader refuses, is unreadable: a fact of its own
  (``statement_unreadable``), never a failed assessment.

The income facts come from the newest statement that could be parsed (the one whose period
ends last); every tampering signal of every statement counts, and each is kept as a finding
naming the document, for the person who reviews the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from leasekit.domain.documents import Document, OwnerKind
from leasekit.domain.statement_features import statement_features
from leasekit.domain.statement_signals import Severity, TamperingSignal, statement_signals
from leasekit.domain.statements import BankStatement
from leasekit.errors import ValidationError
from leasekit.plugins import Adapters
from leasekit.ports import AdapterKind
from leasekit.services.calls import CallPolicy, PartyUnavailable, ask, call_party
from leasekit.services.statement_pdfs import inspect_pdf

__all__ = ["MAX_STATEMENTS", "PDF", "TEXT", "StatementFacts", "statement_facts", "statement_owners"]

MAX_STATEMENTS: Final = 12
"""The most statements read for one assessment: a year of monthly ones."""
PDF: Final = "application/pdf"
TEXT: Final = "text/plain"
"""A statement file in a text format (CSV, camt.053, MT940), as uploads record it."""


@attrs.frozen
class StatementFacts:
    """The facts the rules read, the findings behind them, and the parties that failed."""

    facts: dict[str, Any]
    findings: tuple[str, ...]
    signal_names: frozenset[str]
    """The checks that saw a sign of tampering (``running_balance``)."""
    unavailable: tuple[str, ...]


@attrs.define
class _Reading:
    """What the statements gave so far."""

    parsed: list[BankStatement] = attrs.field(factory=list)
    signals: list[tuple[str, TamperingSignal]] = attrs.field(factory=list)
    unreadable: list[str] = attrs.field(factory=list)
    unavailable: list[str] = attrs.field(factory=list)


def _reads_pdf(adapters: Adapters) -> bool:
    parser = adapters.active.get(AdapterKind.STATEMENT_PARSER)
    return parser is not None and getattr(parser.instance, "reads_pdf", False) is True


def _parse(adapters: Adapters, policy: CallPolicy, content: bytes, reading: _Reading) -> None:
    """Parse *content* with the configured parser; a refusal is no statement, not an error.
    Without a parser configured, what the statement says is as unknown as when the parser is
    down."""
    party = AdapterKind.STATEMENT_PARSER.value
    if adapters.active_id(AdapterKind.STATEMENT_PARSER) is None:
        reading.unavailable.append(party)
        return
    parser = adapters.statement_parser
    try:
        statement = call_party(
            party, lambda: parser.parse(content), policy, answers=(ValidationError,)
        )
    except PartyUnavailable:
        reading.unavailable.append(party)
        return
    reading.parsed.append(statement)


def _read(adapters: Adapters, policy: CallPolicy, document: Document, reading: _Reading) -> None:
    store = adapters.document_store
    content = ask(
        AdapterKind.DOCUMENT_STORE.value,
        lambda: b"".join(store.open(document.storage_key)),
        policy,
        reading.unavailable,
    )
    if content is None:
        return
    parsed_before = len(reading.parsed)
    try:
        if document.content_type == PDF:
            reading.signals.extend((document.id, signal) for signal in inspect_pdf(content))
            if _reads_pdf(adapters):
                _parse(adapters, policy, content, reading)
        elif document.content_type == TEXT:
            _parse(adapters, policy, content, reading)
        else:
            reading.unreadable.append(document.id)
            return
    except ValidationError:
        reading.unreadable.append(document.id)
        return
    for statement in reading.parsed[parsed_before:]:
        reading.signals.extend((document.id, signal) for signal in statement_signals(statement))


def _income_facts(parsed: Sequence[BankStatement]) -> dict[str, Decimal | None]:
    """The income facts of the newest statement parsed; null ones when none was."""
    if not parsed:
        return dict.fromkeys(
            ("statement_months_covered", "statement_monthly_income",
             "statement_income_regularity", "statement_balance_trend"),
        )  # fmt: skip
    features = statement_features(max(parsed, key=lambda statement: statement.period_end))
    return {
        "statement_months_covered": Decimal(features.months_covered.value),
        "statement_monthly_income": features.monthly_income.value.amount,
        "statement_income_regularity": features.income_regularity.value,
        "statement_balance_trend": features.balance_trend.value.amount,
    }


def _finding(document_id: str, signal: TamperingSignal) -> str:
    return f"bank statement {document_id}: {signal.name} ({signal.severity}): {signal.detail}"


def statement_facts(
    adapters: Adapters, policy: CallPolicy, documents: Sequence[Document]
) -> StatementFacts:
    """The facts of *documents*, an application's bank statements (see the module)."""
    reading = _Reading()
    for document in documents:
        _read(adapters, policy, document, reading)
    high = [signal for _, signal in reading.signals if signal.severity is Severity.HIGH]
    facts: dict[str, Any] = {
        "statement_count": Decimal(len(documents)),
        "statement_unreadable": Decimal(len(reading.unreadable)),
        "statement_tampering_signals": Decimal(len(reading.signals)),
        "statement_tampering_high": Decimal(len(high)),
        **_income_facts(reading.parsed),
    }
    findings = tuple(_finding(document_id, signal) for document_id, signal in reading.signals)
    findings += tuple(f"bank statement {each}: could not be read" for each in reading.unreadable)
    names = frozenset(signal.name for _, signal in reading.signals)
    return StatementFacts(facts, findings, names, tuple(dict.fromkeys(reading.unavailable)))


def statement_owners(application_id: str, customer_id: str) -> tuple[tuple[OwnerKind, str], ...]:
    """Whose bank statements an application's assessment reads: its own and its customer's."""
    return ((OwnerKind.APPLICATION, application_id), (OwnerKind.CUSTOMER, customer_id))
