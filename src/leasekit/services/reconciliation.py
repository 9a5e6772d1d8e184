"""Corporate settlement and bank statements: money that came in without a debit, matched to
contracts automatically where the deployer's rules can tell, queued for a person where not.

A statement is read by the bank adapter (camt.053, MT940 or CSV, refused whole with its
position if malformed) and a dealer's settlement file by the sheet reader (CSV or XLSX, a row
per contract), both before anything changes. Then, in one transaction, every credit line an
earlier import did not bring becomes a :class:`~leasekit.domain.statement_entries.
StatementEntry` and :func:`~leasekit.domain.reconciliation.reconcile` places it against what
each paying contract owes now (its outstanding due, or the next installment): a match becomes
payments, allocated like any other (from the dealer: ``dealer_settlement``; otherwise
``bank_transfer``; each naming the entry it came from); the rest waits on the queue with the
candidates the rules saw. Open settlement quotes come first: a line quoting a quote's number,
or paying exactly its total from the contract's dealer, pays that quote off
(:func:`~leasekit.services.settlement_quotes.pay_off`). On the queue a person matches an
entry (split over contracts if need be) or parks it in suspense. Nothing is matched twice:
an entry's payments are made in the transaction that places it, and a booking is imported
once per account.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

import attrs

from leasekit.domain.contracts import Contract, Payment, PaymentSource
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.reconciliation import (
    Ambiguity,
    IncomingLine,
    Match,
    MatchingRules,
    MatchRule,
    OpenItem,
    normalize,
    reconcile,
    split,
)
from leasekit.domain.settlement_quotes import QuoteKind, SettlementQuote
from leasekit.domain.statement_entries import (
    EntryAction,
    EntrySource,
    EntryState,
    StatementEntry,
    StatementImport,
)
from leasekit.domain.validation import bank_text, text
from leasekit.errors import LeasekitError, ValidationError
from leasekit.money import Money, to_decimal
from leasekit.services.commands import Work, at_version, command
from leasekit.services.context import ServiceContext, back_office_only
from leasekit.services.funds import PAYING_STATES, by_contract, post_payment
from leasekit.services.imports import ImportedBefore, import_once
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.settlement_quotes import pay_off
from leasekit.services.sheets import Sheet, read_sheet, read_upload
from leasekit.services.storage import OpenAmount, Record, UnitOfWork

__all__ = [
    "EntryPart",
    "EntryQuery",
    "MatchEntry",
    "ParkEntry",
    "get_statement_entry",
    "get_statement_import",
    "import_settlement_file",
    "import_statement",
    "list_statement_entries",
    "match_statement_entry",
    "park_statement_entry",
]

_SUBJECT: Final = "statement_entry"
_LOOK_AHEAD: Final = timedelta(days=31)
"""How far ahead an installment counts as what a contract owes "now" when nothing is due: a
customer paying a few days early is paying the next installment."""
_QUOTE_RULES: Final = MatchingRules((MatchRule.REFERENCE,))
"""A settlement quote is matched by its number first; by amount only from its dealer."""
SETTLEMENT_COLUMNS: Final = ("contract_number", "amount", "currency", "paid_on")
"""The columns a dealer's settlement file must have; ``reference`` and ``row_id`` may follow."""


# --- what each contract owes now ----------------------------------------------------------


_CHUNK: Final = 5_000
"""Contracts whose payer facts are read at a time while the open items are built."""


def _owed_now(lines: Sequence[OpenAmount], on: date) -> Decimal:
    due = [line.outstanding for line in lines if line.due_date <= on]
    return sum(due, Decimal(0)) if due else lines[0].outstanding


def _open_items(uow: UnitOfWork, currency: str, on: date) -> list[OpenItem]:
    """What every paying contract in *currency* owes on *on*, with the references, accounts
    and names its payer may quote: the contract number and mandate reference, the mandate's
    account, the customer's and the dealer's names.

    The lines are streamed as amounts and the rest read as columns, a few thousand contracts
    at a time: only the open items are kept, never the book's contracts and lines."""
    states = [str(state) for state in PAYING_STATES]
    amounts = uow.receivables.open_amounts(on + _LOOK_AHEAD, currency, states)
    items = []
    for chunk in by_contract(amounts, _CHUNK):
        facts, mandates = uow.contracts.payer_facts(chunk), uow.mandates.latest_for(chunk)
        for contract_id, lines in chunk.items():
            owed = _owed_now(lines, on)
            if owed <= 0:
                continue
            fact, mandate = facts[contract_id], mandates.get(contract_id)
            items.append(OpenItem(
                key=contract_id, contract_number=fact.number,
                amount_due=Money(owed, currency), due_on=lines[0].due_date,
                references=() if mandate is None else (mandate.reference,),
                payer_accounts=() if mandate is None else (mandate.account,),
                payer_names=(fact.customer_name, fact.partner_name),
            ))  # fmt: skip
    return items


# --- placing an entry ------------------------------------------------------------------------


def _sent_by(entry: StatementEntry, dealer: str) -> bool:
    """Whether the dealer called *dealer* sent *entry*: a settlement file is a dealer's; a
    statement line is when its payer's name is the dealer's."""
    if entry.source is EntrySource.SETTLEMENT_FILE:
        return True
    return bool(entry.payer_name) and normalize(entry.payer_name) == normalize(dealer)


def _entry_payment(
    work: Work, entry: StatementEntry, index: int, part: tuple[str, Money], *, dealer: bool
) -> Payment:
    """The payment of *entry*'s *index*-th part (contract id, amount), naming the entry."""
    contract_id, amount = part
    return Payment.receive(
        contract_id=contract_id, amount=amount,
        received_on=min(entry.booked_on, work.business_date),
        reference=entry.reference or entry.payer_name or entry.line_id,
        source=PaymentSource.DEALER_SETTLEMENT if dealer else PaymentSource.BANK_TRANSFER,
        source_ref=f"{entry.id}:{index + 1}", actor=work.actor, at=work.at,
    )  # fmt: skip


def _pay(work: Work, entry: StatementEntry, parts: Sequence[tuple[str, Money]]) -> list[str]:
    """Payments of *parts* (contract id, amount) from *entry*; the ids."""
    dealers = work.uow.contracts.payer_facts({contract_id for contract_id, _ in parts})
    made = []
    for index, part in enumerate(parts):
        dealer = _sent_by(entry, dealers[part[0]].partner_name)
        payment = _entry_payment(work, entry, index, part, dealer=dealer)
        made.append(post_payment(work, work.uow.contracts.get(part[0]), payment).id)
    return made


def _parts(match: Match) -> list[tuple[str, Money]]:
    """Where a match's money goes; what it paid beyond the amounts due goes with the last
    contract, as that customer's credit."""
    parts = [(allocation.key, allocation.amount) for allocation in match.allocations]
    if match.overpayment.amount > 0:
        key, amount = parts[-1]
        parts[-1] = (key, amount + match.overpayment)
    return parts


def _queued(entry: StatementEntry, ambiguity: Ambiguity | None) -> None:
    entry.state = EntryState.QUEUED
    if ambiguity is None:
        entry.why = "no contract matches"
    else:
        entry.rule, entry.why = str(ambiguity.rule), str(ambiguity.reason).replace("_", " ")
        entry.candidates = ambiguity.candidates


# --- settlement quotes ---------------------------------------------------------------------


@attrs.frozen
class _Quoted:
    quote: SettlementQuote
    contract: Contract
    dealer: str


def _open_quotes(work: Work, currency: str) -> dict[str, _Quoted]:
    """The open quotes in *currency* that can still be paid, by id, with their contract and
    dealer's name."""
    quotes = [quote for quote in work.uow.settlement_quotes.open_in(currency)
              if not quote.expired_on(work.business_date)]  # fmt: skip
    contracts = work.uow.contracts.get_many({quote.contract_id for quote in quotes})
    partners = work.uow.partners.get_many({c.partner_id for c in contracts.values()})
    return {
        quote.id: _Quoted(quote, contracts[quote.contract_id],
                          partners[contracts[quote.contract_id].partner_id].name)
        for quote in quotes
    }  # fmt: skip


def _names_contract(entry: StatementEntry, contract: Contract) -> bool:
    number = normalize(contract.number)
    return bool(number) and normalize(entry.reference).startswith(number)


def _from_quote_dealer(entry: StatementEntry, quoted: _Quoted) -> bool:
    """A settlement-file row from the contract's dealer naming the contract, or a statement
    line the dealer sent."""
    if entry.source is EntrySource.SETTLEMENT_FILE:
        dealer_file = entry.account == f"dealer:{quoted.contract.partner_id}"
        return dealer_file and _names_contract(entry, quoted.contract)
    return _sent_by(entry, quoted.dealer)


def _dealer_totals(
    entries: Sequence[StatementEntry], quotes: dict[str, _Quoted]
) -> list[tuple[StatementEntry, str]]:
    """Entries paying exactly a quote's total from the contract's dealer, where one quote
    alone fits; each quote once."""
    found, taken = [], set()
    for entry in sorted(entries, key=lambda e: (e.booked_on, e.line_id)):
        fits = [key for key, quoted in quotes.items()
                if key not in taken and quoted.quote.total == entry.amount
                and _from_quote_dealer(entry, quoted)]  # fmt: skip
        if len(fits) == 1:
            taken.add(fits[0])
            found.append((entry, fits[0]))
    return found


def _pay_quotes(
    work: Work,
    entry: StatementEntry,
    parts: Sequence[tuple[str, Money]],
    quotes: dict[str, _Quoted],
) -> list[str] | None:
    """Payments of *parts* (quote id, amount) from *entry*, each paying its quote off (or,
    short of its total, an ordinary payment); None, nothing done, if a quote refuses."""
    made = []
    for index, (quote_id, amount) in enumerate(parts):
        quoted = quotes[quote_id]
        dealer = quoted.quote.kind is QuoteKind.BUY_BACK or _sent_by(entry, quoted.dealer)
        part = (quoted.contract.id, amount)
        payment = _entry_payment(work, entry, index, part, dealer=dealer)
        try:
            made.append(pay_off(work, quoted.quote, payment).id)
        except ValidationError as exc:
            if made:
                raise
            entry.state, entry.rule = EntryState.QUEUED, None
            entry.why = f"quote {quoted.quote.number}: {exc.errors[0].message}"
            return None
    return made


def _place_on_quotes(work: Work, entries: Sequence[StatementEntry], currency: str) -> set[str]:
    """Place the entries that quote an open settlement quote's number, or pay exactly its
    total from the contract's dealer; the line ids placed (matched or queued)."""
    quotes = _open_quotes(work, currency)
    if not quotes:
        return set()
    items = [
        OpenItem(key=key, contract_number=quoted.quote.number, amount_due=quoted.quote.total,
                 due_on=quoted.quote.valid_until)
        for key, quoted in quotes.items()
    ]  # fmt: skip
    by_line = {entry.line_id: entry for entry in entries}
    placed: set[str] = set()
    result = reconcile([entry.line for entry in entries], items, _QUOTE_RULES)
    for match in result.matched:
        entry = by_line[match.line_id]
        entry.state, entry.rule = EntryState.MATCHED, str(match.rule)
        paid = _pay_quotes(work, entry, _parts(match), quotes)
        if paid is not None:
            entry.payments = tuple(paid)
        placed.add(match.line_id)
    for ambiguity in result.ambiguous:
        _queued(by_line[ambiguity.line_id], ambiguity)
        placed.add(ambiguity.line_id)
    rest = [entry for entry in entries if entry.line_id not in placed]
    for entry, quote_id in _dealer_totals(rest, quotes):
        entry.state, entry.rule = EntryState.MATCHED, str(MatchRule.AMOUNT_AND_PAYER)
        paid = _pay_quotes(work, entry, [(quote_id, entry.amount)], quotes)
        if paid is not None:
            entry.payments = tuple(paid)
        placed.add(entry.line_id)
    return placed


def _place(work: Work, entries: Sequence[StatementEntry]) -> None:
    """Reconcile *entries* against open settlement quotes first, then against what
    contracts owe now, per currency."""
    by_line = {entry.line_id: entry for entry in entries}
    for code in sorted({entry.amount.currency.code for entry in entries}):
        in_currency = [e for e in entries if e.amount.currency.code == code]
        placed = _place_on_quotes(work, in_currency, code)
        lines = [e.line for e in in_currency if e.line_id not in placed]
        items = _open_items(work.uow, code, work.business_date)
        result = reconcile(lines, items, work.ctx.collection.matching)
        for match in result.matched:
            entry = by_line[match.line_id]
            entry.state, entry.rule = EntryState.MATCHED, str(match.rule)
            entry.payments = tuple(_pay(work, entry, _parts(match)))
        for ambiguity in result.ambiguous:
            _queued(by_line[ambiguity.line_id], ambiguity)
        for line_id in result.unmatched:
            _queued(by_line[line_id], None)


# --- importing -------------------------------------------------------------------------------


@attrs.frozen
class _Upload:
    filename: str
    sha256: str
    account: str
    source: EntrySource
    lines: tuple[IncomingLine, ...]


@command(
    "apply_statement",
    subject="statement_import",
    creates="payment",
    reload=lambda uow, import_id: uow.statement_imports.get(import_id),
    fingerprint=lambda upload: upload.sha256,
)
def apply_statement(work: Work, upload: _Upload) -> StatementImport:
    """Place a checked statement or settlement file (see :func:`import_statement`)."""
    earlier = work.uow.statement_imports.by_hash(upload.sha256)
    if earlier is not None:
        raise ImportedBefore(earlier)
    line_ids = [line.line_id for line in upload.lines]
    known = work.uow.statement_entries.known(upload.account, line_ids)
    report_id = new_id()
    entries = [
        StatementEntry.of(line, account=upload.account, source=upload.source,
                          import_id=report_id, at=work.at)
        for line in upload.lines if line.line_id not in known
    ]  # fmt: skip
    _place(work, entries)
    work.uow.statement_entries.add_many(entries)
    for entry in entries:
        if entry.state is EntryState.QUEUED:
            work.event("statement_entry_queued", _SUBJECT, entry.id,
                       {"amount": str(entry.amount.amount),
                        "currency": entry.amount.currency.code, "why": entry.why})  # fmt: skip
    matched = sum(1 for entry in entries if entry.state is EntryState.MATCHED)
    report = StatementImport(
        id=report_id, sha256=upload.sha256, filename=upload.filename, account=upload.account,
        source=upload.source, imported_at=work.at, imported_by=work.actor.user_id,
        credits=len(upload.lines), matched=matched, queued=len(entries) - matched,
        known=len(upload.lines) - len(entries),
    )  # fmt: skip
    work.uow.statement_imports.add(report)
    counts = {"credits": report.credits, "matched": report.matched, "queued": report.queued,
              "known": report.known}  # fmt: skip
    work.event("statement_imported", "statement_import", report.id,
               {"account": report.account, **counts})  # fmt: skip
    return report


def _apply(
    ctx: ServiceContext, actor: Actor, upload: _Upload, idempotency_key: str | None
) -> tuple[StatementImport, bool]:
    def earlier() -> StatementImport | None:
        with ctx.uow_factory() as uow:
            return uow.statement_imports.by_hash(upload.sha256)

    apply = functools.partial(apply_statement, ctx, actor, upload, idempotency_key=idempotency_key)
    return import_once(apply, earlier)


def import_statement(
    ctx: ServiceContext,
    actor: Actor,
    chunks: Iterable[bytes],
    *,
    filename: str = "statement",
    idempotency_key: str | None = None,
) -> tuple[StatementImport, bool]:
    """Import the company's bank statement: each credit line an earlier import did not bring
    is matched to a contract or queued. The report, and whether this call applied it (False:
    the same file was imported before)."""
    apply_statement.authorize(actor)
    name = text(filename, "filename", max_length=200)
    data = read_upload(chunks, ctx.import_limits)
    statement = ctx.adapters.bank.parse_statement(data)
    lines = tuple(
        IncomingLine(
            bank_text(line.line_id, 140), line.amount, line.booked_on,
            bank_text(" ".join(dict.fromkeys(filter(None, (line.reference, line.description)))),
                      280),
            bank_text(line.counterparty_name, 140), bank_text(line.counterparty_account, 64),
        )
        for line in statement.lines if line.amount.amount > 0
    )  # fmt: skip
    upload = _Upload(name, hashlib.sha256(data).hexdigest(), statement.account,
                     EntrySource.STATEMENT, lines)  # fmt: skip
    return _apply(ctx, actor, upload, idempotency_key)


def _settlement_line(row: dict[str, str], number: int) -> IncomingLine:
    where = f"row {number}"
    faults = [f"{where}.{column}" for column in SETTLEMENT_COLUMNS if not row.get(column)]
    if faults:
        raise ValidationError.single(faults[0], "is required")
    try:
        amount = Money(to_decimal(row["amount"]), row["currency"].strip())
        paid_on = date.fromisoformat(row["paid_on"].strip())
    except (ValueError, LeasekitError) as exc:
        raise ValidationError.single(where, str(exc)) from None
    if amount.amount <= Decimal(0):
        raise ValidationError.single(f"{where}.amount", "must be positive")
    reference = " ".join(filter(None, (row["contract_number"], row.get("reference", ""))))
    line_id = bank_text(row.get("row_id") or "", 140) or f"row-{number}"
    return IncomingLine(line_id, amount, paid_on, bank_text(reference, 280))


def _settlement_lines(sheet: Sheet) -> tuple[IncomingLine, ...]:
    """The rows of a settlement file as incoming lines, the header naming the columns."""
    if not sheet.rows:
        raise ValidationError.single("file", "has no header row")
    header = [cell.strip().lower() for cell in sheet.rows[0].cells]
    missing = [column for column in SETTLEMENT_COLUMNS if column not in header]
    if missing:
        raise ValidationError.single("row 1", f"has no column {', '.join(missing)}")
    lines = []
    for row in sheet.rows[1:]:
        if row.refused:
            position, why = row.refused[0]
            raise ValidationError.single(f"row {row.number}.{header[position]}", why)
        lines.append(_settlement_line(dict(zip(header, row.cells, strict=False)), row.number))
    return tuple(lines)


def import_settlement_file(
    ctx: ServiceContext,
    actor: Actor,
    chunks: Iterable[bytes],
    *,
    partner_id: str,
    filename: str = "settlement",
    idempotency_key: str | None = None,
) -> tuple[StatementImport, bool]:
    """Import the file a dealer sends with a settlement transfer (CSV or XLSX): a row per
    contract it pays (``contract_number``, ``amount``, ``currency``, ``paid_on``, and
    optionally ``reference`` and ``row_id``). Each row is matched by its contract number;
    every row is checked before anything changes."""
    apply_statement.authorize(actor)
    back_office_only(actor, "settlement file")
    name = text(filename, "filename", max_length=200)
    with ctx.uow_factory() as uow:
        partner = uow.partners.get(partner_id)
    data = read_upload(chunks, ctx.import_limits)
    lines = _settlement_lines(read_sheet(data, ctx.import_limits))
    digest = hashlib.sha256(data).hexdigest()
    upload = _Upload(name, digest, f"dealer:{partner.id}", EntrySource.SETTLEMENT_FILE, lines)
    return _apply(ctx, actor, upload, idempotency_key)


# --- the queue -------------------------------------------------------------------------------


@attrs.frozen
class EntryPart:
    """Money of an entry that goes to one contract."""

    contract_id: str
    amount: Money


@attrs.frozen
class MatchEntry:
    entry_id: str
    parts: tuple[EntryPart, ...]
    expected_version: int | None = None


def _entry(work: Work, entry_id: str, version: int | None) -> StatementEntry:
    entry = work.uow.statement_entries.get(entry_id)
    at_version(_SUBJECT, entry_id, entry, version)
    return entry


@command(
    "match_statement_entry",
    subject=_SUBJECT,
    creates="payment",
    reload=lambda uow, entry_id: uow.statement_entries.get(entry_id),
)
def match_statement_entry(work: Work, request: MatchEntry) -> StatementEntry:
    """Place a queued (or parked) entry on contracts by hand.

    The parts name each contract and its share; they must add up to the entry's amount
    exactly, and each becomes a payment allocated to that contract (what no installment is
    due for stays as the customer's credit). Finance."""
    entry = _entry(work, request.entry_id, request.expected_version)
    parts = [(part.contract_id, part.amount) for part in request.parts]
    match = split(entry.line, parts)
    for index, (contract_id, _) in enumerate(parts):
        contract = work.uow.contracts.get(contract_id)
        if contract.state not in PAYING_STATES:
            raise ValidationError.single(
                f"parts[{index}].contract_id", f"contract {contract.number} takes no payments"
            )
    event = entry.apply(
        EntryAction.MATCH, work.actor, at=work.at, business_date=work.business_date,
        contracts=",".join(allocation.key for allocation in match.allocations),
    )  # fmt: skip
    entry.rule, entry.why = "manual", None
    entry.payments = tuple(_pay(work, entry, _parts(match)))
    work.uow.statement_entries.update(entry)
    work.record(event)
    return entry


@attrs.frozen
class ParkEntry:
    entry_id: str
    reason: str
    expected_version: int | None = None


@command(
    "park_statement_entry",
    subject=_SUBJECT,
    creates="payment",
    reload=lambda uow, entry_id: uow.statement_entries.get(entry_id),
)
def park_statement_entry(work: Work, request: ParkEntry) -> StatementEntry:
    """Park a queued entry in suspense until someone knows what it is for; the reason is
    what the next person reads. Finance."""
    entry = _entry(work, request.entry_id, request.expected_version)
    event = entry.apply(
        EntryAction.PARK, work.actor, at=work.at, business_date=work.business_date,
        reason=request.reason,
    )  # fmt: skip
    entry.why = event.reason
    work.uow.statement_entries.update(entry)
    work.record(event)
    return entry


# --- reading ---------------------------------------------------------------------------------


@attrs.frozen
class EntryQuery:
    state: EntryState | None = None
    account: str | None = None
    import_id: str | None = None


def _back_office(actor: Actor, query: EntryQuery) -> EntryQuery:
    back_office_only(actor, _SUBJECT)
    return query


list_statement_entries: Lister[EntryQuery, Record] = lister(
    "list_statement_entries",
    EntryQuery,
    lambda uow: uow.statement_entries,
    _back_office,
    """List statement entries: the reconciliation queue.

    ``?state=queued`` is what waits for a person (with why, and the contracts the rules
    saw); ``suspense`` what is parked; ``matched`` what became payments. Back office.""",
)

get_statement_entry = reader(
    "get_statement_entry",
    _SUBJECT,
    lambda uow: uow.statement_entries,
    """Get a statement entry: the money, who sent it with what reference, and where it went
    (its payments) or why it waits. Back office.""",
)

get_statement_import = reader(
    "get_statement_import",
    "statement_import",
    lambda uow: uow.statement_imports,
    """Get the report of an imported statement or settlement file. Back office.""",
)
