"""Signs that a bank statement was edited after the bank produced it.

Each check is a pure function returning :class:`TamperingSignal` values, which the rules engine
reads as facts: an empty tuple means the check found nothing. The checks over a
:class:`~leasekit.domain.statements.BankStatement` look at what the bank's own arithmetic
promises (balances that follow from the bookings, totals that match them, dates in order and
inside the period); :func:`pdf_signals` looks at the traces an editor leaves in a PDF file,
from facts read by :func:`leasekit.services.statement_pdfs.inspect_pdf`.

A signal is evidence for a person to weigh, not proof: a bank may sign its PDFs with an
incremental update, and a customer may have been paid twice the same amount on one day. The
severity says how much a signal weighs on its own.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.statements import BankStatement, StatementLine
from leasekit.money import Money, exact

__all__ = [
    "DEFAULT_PDF_EDITORS",
    "SAVING_GRACE",
    "PdfFacts",
    "Severity",
    "TamperingSignal",
    "count_pdf_revisions",
    "pdf_signals",
    "statement_signals",
]


class Severity(StrEnum):
    """How much a signal weighs on its own, mildest first."""

    LOW = "low"
    """Often innocent; worth a look only beside other signals."""
    MEDIUM = "medium"
    """Unusual for a statement as the bank issues it; a person should look."""
    HIGH = "high"
    """The statement contradicts itself: it cannot be as the bank issued it."""


@attrs.frozen
class TamperingSignal:
    """One sign of editing: which check saw it, how much it weighs, and where."""

    name: str
    """The check, a stable identifier rules can match (``running_balance``)."""
    severity: Severity
    detail: str
    """What was seen, naming the line or field, for the person who reviews the case."""


def _where(index: int, line: StatementLine) -> str:
    return f"line {index + 1} ({line.line_id}, {line.booked_on.isoformat()})"


# --- checks over a parsed statement ---------------------------------------------------------


@exact
def running_balance_signals(statement: BankStatement) -> tuple[TamperingSignal, ...]:
    """Each printed balance must be the previous one plus the booking; the last must be the
    closing balance, and the opening balance plus all the bookings must give the closing one.

    Lines without a printed balance carry the running total on. After a break the check
    starts again from the printed balance, so one edited amount is one signal, not a signal on
    every later line.
    """
    signals: list[TamperingSignal] = []
    expected = statement.opening_balance
    for index, line in enumerate(statement.lines):
        expected = expected + line.amount
        if line.balance is not None and line.balance != expected:
            signals.append(
                TamperingSignal(
                    "running_balance",
                    Severity.HIGH,
                    f"{_where(index, line)} shows balance {line.balance}, but the previous "
                    f"balance plus {line.amount} is {expected}",
                )
            )
            expected = line.balance
    if statement.lines and expected != statement.closing_balance:
        signals.append(
            TamperingSignal(
                "running_balance",
                Severity.HIGH,
                f"the last line's balance {expected} is not the closing balance "
                f"{statement.closing_balance}",
            )
        )
    if not statement.balances:
        total = sum((line.amount for line in statement.lines), statement.opening_balance)
        signals.append(
            TamperingSignal(
                "closing_balance",
                Severity.HIGH,
                f"opening balance {statement.opening_balance} plus {len(statement.lines)} "
                f"lines is {total}, but the closing balance is {statement.closing_balance}",
            )
        )
    return tuple(signals)


def _normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def duplicate_line_signals(statement: BankStatement) -> tuple[TamperingSignal, ...]:
    """Lines with the same date, amount, counterparty and reference, and repeated line ids.

    A repeat with a reference is unusual (a reference names one payment): medium. A repeat
    without one may be two coffees on one day: low. A repeated bank id is high, since the bank
    gives each booking its own.
    """
    signals: list[TamperingSignal] = []
    groups: defaultdict[tuple[object, ...], list[int]] = defaultdict(list)
    for index, line in enumerate(statement.lines):
        key = (
            line.booked_on,
            line.amount,
            _normalized(line.counterparty_name),
            _normalized(line.counterparty_account),
            _normalized(line.reference),
        )
        groups[key].append(index)
    for indexes in groups.values():
        if len(indexes) < 2:
            continue
        first = statement.lines[indexes[0]]
        numbers = ", ".join(str(index + 1) for index in indexes)
        signals.append(
            TamperingSignal(
                "duplicate_lines",
                Severity.MEDIUM if first.reference.strip() else Severity.LOW,
                f"lines {numbers} are the same booking: {first.booked_on.isoformat()}, "
                f"{first.amount}, {first.counterparty_name or 'no counterparty'}, "
                f"reference {first.reference or 'none'}",
            )
        )
    for line_id, times in Counter(line.line_id for line in statement.lines).items():
        if times > 1:
            signals.append(
                TamperingSignal(
                    "duplicate_line_ids",
                    Severity.HIGH,
                    f"bank id {line_id!r} appears on {times} lines",
                )
            )
    return tuple(signals)


@exact
def stated_totals_signals(statement: BankStatement) -> tuple[TamperingSignal, ...]:
    """The totals the statement states about itself, against those of its lines."""
    stated = statement.stated_totals
    if stated is None:
        return ()
    zero = Money.zero(statement.opening_balance.currency)
    credits = [line.amount for line in statement.lines if line.amount.amount > 0]
    debits = [-line.amount for line in statement.lines if line.amount.amount < 0]
    computed: list[tuple[str, object, object]] = [
        ("entries", stated.entries, len(statement.lines)),
        ("credit entries", stated.credit_entries, len(credits)),
        ("debit entries", stated.debit_entries, len(debits)),
        ("credits", stated.credits, sum(credits, zero)),
        ("debits", stated.debits, sum(debits, zero)),
    ]
    return tuple(
        TamperingSignal(
            "stated_totals",
            Severity.HIGH,
            f"the statement states {name} of {says}, but its lines give {found}",
        )
        for name, says, found in computed
        if says is not None and says != found
    )


def date_signals(statement: BankStatement) -> tuple[TamperingSignal, ...]:
    """Bookings out of date order (banks list them in order), and bookings outside the
    statement's period."""
    signals: list[TamperingSignal] = []
    lines = statement.lines
    backwards = [
        index
        for index in range(1, len(lines))
        if lines[index].booked_on < lines[index - 1].booked_on
    ]
    if backwards:
        first = backwards[0]
        signals.append(
            TamperingSignal(
                "dates_out_of_order",
                Severity.MEDIUM,
                f"{_where(first, lines[first])} is booked before line {first} "
                f"({lines[first - 1].booked_on.isoformat()}); {len(backwards)} such step(s) back",
            )
        )
    period = f"{statement.period_start.isoformat()} to {statement.period_end.isoformat()}"
    signals.extend(
        TamperingSignal(
            "date_outside_period",
            Severity.HIGH,
            f"{_where(index, line)} lies outside the statement period {period}",
        )
        for index, line in enumerate(lines)
        if not statement.period_start <= line.booked_on <= statement.period_end
    )
    return tuple(signals)


def statement_signals(statement: BankStatement) -> tuple[TamperingSignal, ...]:
    """Every check over a parsed statement, in a stable order."""
    return (
        running_balance_signals(statement)
        + stated_totals_signals(statement)
        + duplicate_line_signals(statement)
        + date_signals(statement)
    )


# --- checks over a PDF file -----------------------------------------------------------------

DEFAULT_PDF_EDITORS: Final = (
    "Acrobat",
    "PDFelement",
    "Foxit PhantomPDF",
    "Foxit PDF Editor",
    "iLovePDF",
    "Smallpdf",
    "Sejda",
    "PDF-XChange Editor",
    "Nitro",
)
"""Tools that edit PDFs, matched case-insensitively within the Producer and Creator. "Acrobat"
matches "Acrobat Distiller" too, which prints rather than edits, so this signal is medium, not
high. Pass a list of your own to :func:`pdf_signals` to change it."""

SAVING_GRACE: Final = timedelta(minutes=1)
"""A generator that takes a few seconds to write a long statement may stamp its ModDate after
its CreationDate; a modification within this long of the creation is not a signal."""

_EOF: Final = re.compile(rb"%%EOF")
_STARTXREF: Final = re.compile(rb"(?<![A-Za-z])startxref(?![A-Za-z])")
_LINEARIZED: Final = re.compile(rb"/Linearized\b")


@attrs.frozen
class PdfFacts:
    """What the tampering checks need to know about a PDF file."""

    eof_markers: int
    """How many ``%%EOF`` markers the file holds: one per revision."""
    xref_sections: int
    """How many ``startxref`` pointers it holds: one per revision too."""
    linearized: bool
    """A linearized ("fast web view") file has a second, first-page trailer of its own."""
    producer: str = ""
    creator: str = ""
    created: datetime | None = None
    modified: datetime | None = None


def count_pdf_revisions(content: bytes) -> tuple[int, int, bool]:
    """The ``%%EOF`` markers, ``startxref`` pointers and the linearization flag of *content*,
    counted in the raw bytes (the standard library suffices)."""
    return (
        len(_EOF.findall(content)),
        len(_STARTXREF.findall(content)),
        _LINEARIZED.search(content[:2048]) is not None,
    )


def _aware(moment: datetime) -> datetime:
    """A PDF date without a zone is read as UTC, so that it can be compared at all."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def pdf_signals(
    facts: PdfFacts,
    editors: Iterable[str] = DEFAULT_PDF_EDITORS,
    *,
    grace: timedelta = SAVING_GRACE,
) -> tuple[TamperingSignal, ...]:
    """Incremental updates, an editing tool as producer or creator, and a modification date
    more than *grace* after the creation date."""
    signals: list[TamperingSignal] = []
    expected = 2 if facts.linearized else 1
    revisions = max(facts.eof_markers, facts.xref_sections)
    if revisions > expected:
        signals.append(
            TamperingSignal(
                "pdf_incremental_update",
                Severity.MEDIUM,
                f"the file was saved {revisions - expected} more time(s) after it was produced "
                f"({facts.eof_markers} %%EOF markers, {facts.xref_sections} xref sections"
                f"{', linearized' if facts.linearized else ''}); a bank's digital signature "
                "is added this way too",
            )
        )
    for field, value in (("Producer", facts.producer), ("Creator", facts.creator)):
        tool = next((t for t in editors if t.strip() and t.casefold() in value.casefold()), None)
        if tool is not None:
            signals.append(
                TamperingSignal(
                    "pdf_editor",
                    Severity.MEDIUM,
                    f"the {field} is {value!r}, a PDF editing tool ({tool})",
                )
            )
    if (
        facts.created is not None
        and facts.modified is not None
        and _aware(facts.modified) - _aware(facts.created) > grace
    ):
        signals.append(
            TamperingSignal(
                "pdf_modified_after_creation",
                Severity.MEDIUM,
                f"modified {facts.modified.isoformat()}, after it was created "
                f"{facts.created.isoformat()}",
            )
        )
    return tuple(signals)
