"""Debit runs and the bank's results (:mod:`leasekit.domain.debit_runs` says what they are).

A run is built in one transaction: the unpaid lines due by its collection date of the
account's currency, grouped by contract; each contract with an active mandate in the account's
scheme gets one debit of what its lines owe, less its credit and what earlier debits still
have in flight; the others are listed as left out, with the reason. The bank adapter writes
the file, which the document store keeps; a second request for the same account and date
answers the run that exists.

A result file is read and checked whole before anything changes (a malformed one is refused
with its position, by the adapter); then, in one transaction, each line finds its debit by
trace id: collected, the debit becomes a payment allocated like any other; returned, the debit
is marked so (its payment undone if it had been collected), the return fee charged, and the
mandate stopped if the reason code says it cannot be used. Unknown trace ids, repeats and
amounts that do not match are reported and change nothing. The file's SHA-256 is kept, so the
same file imported again answers its first report.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Final

import attrs

from leasekit.domain.contracts import (
    Contract,
    ContractState,
    Payment,
    PaymentSource,
    Receivable,
    StoredFile,
)
from leasekit.domain.debit_runs import (
    CreditorAccount,
    DebitItemAction,
    DebitItemState,
    DebitOrderItem,
    DebitRun,
    Exclusion,
    ResultImport,
    ResultLine,
    ResultOutcome,
    trace_number,
)
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.mandates import DebitScheme, Mandate, MandateAction
from leasekit.domain.validation import bank_text, text
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports import DebitBatch, DebitItem, DebitOutcome, DebitReturn, ReturnAction
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext, back_office_only, page_size
from leasekit.services.funds import by_contract, charge_return_fee, post_payment, reverse_payment
from leasekit.services.imports import ImportedBefore, import_once
from leasekit.services.progress import Progress, quiet
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import Page, Record

__all__ = [
    "DebitRunQuery",
    "ResultsUpload",
    "SettleRun",
    "StartDebitRun",
    "apply_debit_results",
    "debit_batch",
    "debit_run_file",
    "get_debit_run",
    "get_result_import",
    "import_debit_results",
    "list_debit_items",
    "list_debit_runs",
    "settle_debit_run",
    "start_debit_run",
]

_SUBJECT: Final = "debit_run"
_COLLECTED_FROM: Final = frozenset({ContractState.ACTIVE, ContractState.TERMINATED})
_SUFFIX: Final = {DebitScheme.NACHA: "ach", DebitScheme.SEPA: "xml", DebitScheme.CSV: "csv"}
MAX_RESULT_BYTES: Final = 64 * 1024 * 1024
"""A result file larger than this is refused before it is read whole."""


@attrs.frozen
class StartDebitRun:
    """Which account's debits to collect, for which business date."""

    account_id: str = attrs.field(metadata={"max_length": 64})
    business_date: date | None = attrs.field(
        default=None,
        metadata={"description": "Today's business date if left out; not a past one."},
    )


# --- building a run ---------------------------------------------------------------------------


@attrs.frozen
class _Plan:
    """One contract's debit: the mandate it goes to, what it collects and for which lines."""

    contract: Contract
    mandate: Mandate
    amount: Money
    lines: tuple[Receivable, ...]


def _mandate_problem(mandate: Mandate | None, latest: Mandate | None) -> str | None:
    if mandate is not None:
        return None
    if latest is None:
        return "no debit mandate"
    return f"mandate {latest.reference} is {latest.state}"


def _attempts_problem(
    work: Work, lines: Sequence[Receivable], items: Sequence[DebitOrderItem], run_date: date
) -> str | None:
    """Overdue lines are collected again only as the retry policy allows."""
    policy = work.ctx.collection.retry
    overdue = [line for line in lines if line.due_date + timedelta(policy.grace_days) < run_date]
    if not overdue:
        return None
    if not policy.retry_overdue:
        return "overdue; runs do not collect arrears again"
    since = min(line.due_date for line in overdue)
    returned = [
        item
        for item in items
        if item.state is DebitItemState.RETURNED and item.collection_date >= since
    ]
    if len(returned) >= policy.max_attempts:
        return f"{len(returned)} debits returned since {since}; left to collections"
    return None


@attrs.frozen
class _Book:
    """What the run knows of the contracts it looks at, each read in one query."""

    contracts: Mapping[str, Contract]
    active: Mapping[str, Mandate]
    latest: Mapping[str, Mandate]
    items: Mapping[str, list[DebitOrderItem]]
    credit: Mapping[str, Money]


def _plan(
    work: Work,
    contract: Contract,
    lines: Sequence[Receivable],
    book: _Book,
    account: CreditorAccount,
    run_date: date,
) -> _Plan | str:
    """The contract's debit in this run, or why it has none."""
    items = book.items.get(contract.id, [])
    mandate = book.active.get(contract.id)
    problem = _mandate_problem(mandate, book.latest.get(contract.id)) or _attempts_problem(
        work, lines, items, run_date
    )
    if problem is not None:
        return problem
    zero = Money(0, account.currency)
    owed = sum((line.outstanding for line in lines), zero)
    in_flight = sum((item.amount for item in items if item.state is DebitItemState.IN_FLIGHT), zero)
    amount = owed - in_flight - book.credit.get(contract.id, zero)
    if amount.amount <= 0:
        return f"{owed.amount} owed is covered by debits in flight and credit"
    assert mandate is not None
    return _Plan(contract, mandate, amount, tuple(lines))


def _plans(
    work: Work, account: CreditorAccount, run_date: date, grouped: Mapping[str, list[Receivable]]
) -> tuple[list[_Plan], list[Exclusion], _Book]:
    """Each contract's debit in the run, or why it has none, from its due *grouped* lines."""
    ids = list(grouped)
    book = _Book(
        contracts=work.uow.contracts.get_many(ids),
        active=work.uow.mandates.active_for(ids),
        latest=work.uow.mandates.latest_for(ids),
        items=_by_key(work.uow.debit_items.for_contracts(ids), lambda item: item.contract_id),
        credit=work.uow.payments.credit_of(ids),
    )
    plans, excluded = [], []
    for contract_id, lines in grouped.items():
        mandate = book.active.get(contract_id)
        if mandate is not None and mandate.scheme is not account.scheme:
            continue  # the account of the mandate's scheme collects it
        contract = book.contracts[contract_id]
        found = _plan(work, contract, lines, book, account, run_date)
        if isinstance(found, _Plan):
            plans.append(found)
        else:
            excluded.append(Exclusion(contract.id, contract.number, found))
    return plans, excluded, book


def _by_key(
    items: Iterable[DebitOrderItem], key: Callable[[DebitOrderItem], str]
) -> dict[str, list[DebitOrderItem]]:
    grouped: dict[str, list[DebitOrderItem]] = {}
    for item in items:
        grouped.setdefault(key(item), []).append(item)
    return grouped


def _port_item(
    item: DebitOrderItem, mandate: Mandate, number: str, sequences: Iterable[int], first: bool
) -> DebitItem:
    """The debit as the bank's file carries it: the mandate's debtor and account, and the
    contract number and installments as the debtor's statement shows them."""
    return DebitItem(
        item_id=item.trace,
        debtor_name=mandate.debtor_name,
        debtor_account=mandate.account,
        amount=item.amount,
        mandate_reference=mandate.reference,
        remittance=f"{number} installments {', '.join(map(str, sorted(sequences)))}",
        debtor_agent=mandate.agent,
        mandate_signed_on=mandate.signed_on,
        account_type=mandate.account_type,
        first_collection=first,
    )


def _batch(run: DebitRun, account: CreditorAccount, items: Iterable[DebitItem]) -> DebitBatch:
    return DebitBatch(
        batch_id=run.batch_id,
        creditor_name=account.name,
        creditor_account=account.account,
        collection_date=run.collection_date,
        items=items,
        scheme=account.scheme,
        creditor_id=account.creditor_id,
        creditor_agent=account.agent,
    )


def _used_mandates(items: Iterable[DebitOrderItem], before: datetime) -> set[str]:
    """Mandates an earlier run's debit was collected under: their next debit is not the
    first (SEPA's FRST)."""
    return {
        item.mandate_id
        for item in items
        if item.state is DebitItemState.COLLECTED and item.created_at < before
    }


class _Measured:
    """A file's chunks on their way to the document store, counted and hashed as they pass."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._hash.update(chunk)
            self.size += len(chunk)
            yield chunk


def _write_file(
    work: Work, run: DebitRun, account: CreditorAccount, debits: Iterable[DebitItem]
) -> StoredFile:
    """The bank's file for the run, streamed into the document store as the debits come."""
    content = _Measured(work.ctx.adapters.bank.render_debit_file(_batch(run, account, debits)))
    key = f"debit-runs/{run.id}/{run.business_date}-{account.id}.{_SUFFIX[account.scheme]}"
    work.ctx.adapters.document_store.put(key, content)
    return StoredFile(key, content.sha256, content.size)


def debit_batch(ctx: ServiceContext, actor: Actor, run_id: str) -> DebitBatch:
    """The run as its bank file holds it (what the bank's results answer)."""
    run = get_debit_run(ctx, actor, run_id)
    with ctx.uow_factory() as uow:
        items = uow.debit_items.all_of_run(run.id)
        ids = [item.contract_id for item in items]
        contracts, mandates = (
            uow.contracts.get_many(ids),
            uow.mandates.get_many([item.mandate_id for item in items]),
        )
        used = _used_mandates(uow.debit_items.for_contracts(ids), run.created_at)
        lines = uow.receivables.get_many(
            [line_id for item in items for line_id in item.receivable_ids]
        )
    return _batch(run, ctx.collection.account(run.account_id), [
        _port_item(item, mandates[item.mandate_id], contracts[item.contract_id].number,
                   (lines[line_id].sequence for line_id in item.receivable_ids),
                   item.mandate_id not in used)
        for item in items
    ])  # fmt: skip


RUN_CHUNK: Final = 2_000
"""Contracts a run reads, plans and stores at a time before handing their debits to the file:
what bounds its memory, whatever the size of the book."""


@attrs.define
class _Tally:
    """What a run adds up as its debits stream into the file."""

    total: Money
    items: int = 0
    excluded: list[Exclusion] = attrs.field(factory=list)


def _debits(
    work: Work, run: DebitRun, account: CreditorAccount, tally: _Tally
) -> Iterator[DebitItem]:
    """The run's debits as the bank's file carries them, :data:`RUN_CHUNK` contracts at a
    time: each chunk's lines, contracts, mandates, earlier debits and credit are read in one
    query each, its debits planned and stored, and only then handed on."""
    due = work.uow.receivables.unpaid_due(
        run.collection_date, account.currency, [str(state) for state in _COLLECTED_FROM]
    )
    for grouped in by_contract(due, RUN_CHUNK):
        plans, excluded, book = _plans(work, account, run.business_date, grouped)
        tally.excluded += excluded
        if not plans:
            continue
        first = work.uow.debit_items.take_sequences(account.id, len(plans))
        items = [
            DebitOrderItem.new(
                run, trace=trace_number(account, first + n), contract_id=plan.contract.id,
                mandate_id=plan.mandate.id, amount=plan.amount,
                receivable_ids=tuple(line.id for line in plan.lines),
            )
            for n, plan in enumerate(plans)
        ]  # fmt: skip
        work.uow.debit_items.add_many(items)
        tally.items += len(items)
        tally.total = sum((item.amount for item in items), tally.total)
        earlier = (debit for debits in book.items.values() for debit in debits)
        used = _used_mandates(earlier, run.created_at)
        for item, plan in zip(items, plans, strict=True):
            sequences = (line.sequence for line in plan.lines)
            first_use = plan.mandate.id not in used
            yield _port_item(item, plan.mandate, plan.contract.number, sequences, first_use)


def _run_date(work: Work, asked: date | None) -> date:
    run_date = asked or work.business_date
    if run_date < work.business_date:
        raise ValidationError.single(
            "business_date", f"is before the business date {work.business_date}"
        )
    return run_date


@command(
    "start_debit_run",
    subject=_SUBJECT,
    creates="debit_run",
    reload=lambda uow, run_id: uow.debit_runs.get(run_id),
    quiet=True,
)
def start_debit_run(work: Work, request: StartDebitRun) -> DebitRun:
    """Collect what is due into one creditor account on a business date.

    Every active contract with an active mandate in the account's scheme and currency is
    debited once for what its receivables have due by the collection date (overdue ones while
    the retry policy allows), less its credit and less what earlier debits still have in
    flight; contracts left out are listed with the reason. The bank adapter writes the file
    (``/debit-runs/{id}/file``). One run per account and date: asking again answers the
    run that exists and changes nothing. Finance."""
    account = work.ctx.collection.account(request.account_id)
    run_date = _run_date(work, request.business_date)
    existing = work.uow.debit_runs.find(account.id, run_date)
    if existing is not None:
        return existing
    collection_date = run_date + timedelta(days=work.ctx.collection.retry.lead_days)
    run = DebitRun.start(
        account, business_date=run_date, collection_date=collection_date,
        created_by=work.actor.user_id, at=work.at,
    )  # fmt: skip
    work.uow.debit_runs.add(run)
    tally = _Tally(Money(0, account.currency))
    debits = _debits(work, run, account, tally)
    first = next(debits, None)
    if first is not None:
        run.file = _write_file(work, run, account, itertools.chain([first], debits))
        if next(debits, None) is not None:
            raise RuntimeError("the bank adapter did not write every debit of the run")
    run.item_count, run.total, run.excluded = tally.items, tally.total, tuple(tally.excluded)
    work.uow.debit_runs.update(run)
    work.event(
        "debit_run_created", _SUBJECT, run.id,
        {"account_id": account.id, "scheme": str(account.scheme),
         "business_date": run_date.isoformat(), "items": run.item_count,
         "total": str(run.total.amount), "currency": account.currency,
         "excluded": len(run.excluded)},
    )  # fmt: skip
    return run


# --- results ----------------------------------------------------------------------------------


@attrs.frozen
class ResultsUpload:
    """A result file read and checked, ready to apply."""

    filename: str
    sha256: str
    results: tuple[DebitReturn, ...]
    progress: Progress = attrs.field(default=quiet, eq=False)


def _line(result: DebitReturn, outcome: ResultOutcome, item: DebitOrderItem | None = None,
          note: str = "") -> ResultLine:  # fmt: skip
    return ResultLine(
        trace=bank_text(result.item_id, 35), outcome=outcome, amount=str(result.amount.amount),
        reason_code=None if result.reason_code is None else bank_text(result.reason_code, 35),
        action=None if result.action is None else str(result.action),
        item_id=None if item is None else item.id,
        contract_id=None if item is None else item.contract_id, note=note,
    )  # fmt: skip


def _collect(work: Work, item: DebitOrderItem) -> None:
    contract = work.uow.contracts.get(item.contract_id)
    payment = Payment.receive(
        contract_id=item.contract_id,
        amount=item.amount,
        received_on=min(item.collection_date, work.business_date),
        reference=item.trace,
        source=PaymentSource.DIRECT_DEBIT,
        source_ref=item.id,
        actor=work.actor,
        at=work.at,
    )
    post_payment(work, contract, payment)
    item.payment_id = payment.id
    _move(work, item, DebitItemAction.COLLECT)


def _return(work: Work, item: DebitOrderItem, result: DebitReturn) -> None:
    code = bank_text(result.reason_code or "", 35) or "unknown"
    said = bank_text(result.reason or "", 200)
    reason = f"{code}: {said or 'returned by the bank'}"
    if item.payment_id is not None:
        reverse_payment(work, work.uow.payments.get(item.payment_id), reason)
    item.return_code, item.return_reason = code, said or None
    action = result.action or ReturnAction.NOTIFY
    _move(work, item, DebitItemAction.RETURN, reason=reason, code=code, action=action)
    charge_return_fee(work, work.uow.contracts.get(item.contract_id), item.receivable_ids, code)
    if action is ReturnAction.STOP_MANDATE:
        mandate = work.uow.mandates.get(item.mandate_id)
        if mandate.usable:
            event = mandate.apply(
                MandateAction.STOP, work.actor, at=work.at, business_date=work.business_date,
                reason=reason,
            )  # fmt: skip
            work.uow.mandates.update(mandate)
            work.record(event)


def _move(
    work: Work,
    item: DebitOrderItem,
    move: DebitItemAction,
    *,
    reason: str | None = None,
    code: str | None = None,
    action: ReturnAction | None = None,
) -> None:
    """Move the debit; a return says the bank's code and what it calls for."""
    if move is DebitItemAction.RETURN:
        event = item.apply(
            move, work.actor, at=work.at, business_date=work.business_date, reason=reason,
            reason_code=str(code), return_action=str(action),
        )  # fmt: skip
    else:
        event = item.apply(move, work.actor, at=work.at, business_date=work.business_date)
    work.uow.debit_items.update(item)
    work.record(event)


def _apply(work: Work, result: DebitReturn, item: DebitOrderItem | None) -> ResultLine:
    """What one line of the file does to its debit."""
    if item is None:
        return _line(result, ResultOutcome.UNKNOWN, note="no debit has this trace id")
    if result.amount != item.amount:
        return _line(result, ResultOutcome.MISMATCH, item, f"the debit is {item.amount}")
    if result.outcome is DebitOutcome.COLLECTED:
        if item.state is not DebitItemState.IN_FLIGHT:
            return _line(result, ResultOutcome.DUPLICATE, item, f"the debit is {item.state}")
        _collect(work, item)
        return _line(result, ResultOutcome.COLLECTED, item)
    if item.state is DebitItemState.RETURNED:
        return _line(result, ResultOutcome.DUPLICATE, item, "the debit is returned")
    _return(work, item, result)
    return _line(result, ResultOutcome.RETURNED, item)


@command(
    "apply_debit_results",
    subject="result_import",
    creates="debit_run",
    reload=lambda uow, import_id: uow.result_imports.get(import_id),
    fingerprint=lambda upload: upload.sha256,
)
def apply_debit_results(work: Work, upload: ResultsUpload) -> ResultImport:
    """Apply a checked result file (see :func:`import_debit_results`)."""
    earlier = work.uow.result_imports.by_hash(upload.sha256)
    if earlier is not None:
        raise ImportedBefore(earlier)
    items = work.uow.debit_items.by_trace({result.item_id for result in upload.results})
    seen: set[str] = set()
    lines = []
    for done, result in enumerate(upload.results):
        upload.progress("applying", done, len(upload.results))
        if result.item_id in seen:
            lines.append(_line(result, ResultOutcome.DUPLICATE, note="repeated in this file"))
            continue
        seen.add(result.item_id)
        lines.append(_apply(work, result, items.get(result.item_id)))
    report = ResultImport(
        id=new_id(), sha256=upload.sha256, filename=upload.filename, imported_at=work.at,
        imported_by=work.actor.user_id, lines=tuple(lines),
    )  # fmt: skip
    work.uow.result_imports.add(report)
    work.event(
        "debit_results_imported", "result_import", report.id,
        {"filename": report.filename, "lines": len(lines),
         **{str(outcome): report.count(outcome) for outcome in ResultOutcome}},
    )  # fmt: skip
    return report


def _read(chunks: Iterable[bytes]) -> bytes:
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > MAX_RESULT_BYTES:
            raise ValidationError.single("file", f"is larger than {MAX_RESULT_BYTES} bytes")
    if not data:
        raise ValidationError.single("file", "is empty")
    return bytes(data)


def import_debit_results(
    ctx: ServiceContext,
    actor: Actor,
    chunks: Iterable[bytes],
    *,
    filename: str = "results",
    idempotency_key: str | None = None,
    progress: Progress = quiet,
) -> tuple[ResultImport, bool]:
    """Import the bank's results for debits: the report, and whether this call applied it
    (False: the same file was imported before, and this is that import's report).

    The role is checked before a byte is read; the bank adapter reads the file whole and
    refuses a malformed one with its position (a ValidationError), before anything changes."""
    apply_debit_results.authorize(actor)
    name = text(filename, "filename", max_length=200)
    data = _read(chunks)
    results = tuple(ctx.adapters.bank.parse_return_file(data))
    upload = ResultsUpload(name, hashlib.sha256(data).hexdigest(), results, progress)

    def earlier() -> ResultImport | None:
        with ctx.uow_factory() as uow:
            return uow.result_imports.by_hash(upload.sha256)

    apply = functools.partial(
        apply_debit_results, ctx, actor, upload, idempotency_key=idempotency_key
    )
    return import_once(apply, earlier)


@attrs.frozen
class SettleRun:
    run_id: str


@command(
    "settle_debit_run",
    subject=_SUBJECT,
    creates="debit_run",
    reload=lambda uow, run_id: uow.debit_runs.get(run_id),
    identify=lambda run: run.id,
    quiet=True,
)
def settle_debit_run(work: Work, request: SettleRun) -> DebitRun:
    """Collect every debit of a run that the bank has not returned.

    A NACHA return file lists only what came back, so the rest of a run is collected when the
    bank credits the batch: run this on or after the collection date. Each debit still in
    flight becomes a payment, allocated; debits returned later are undone by their return.
    Running it again changes nothing. Finance."""
    run = work.uow.debit_runs.get(request.run_id)
    if run.collection_date > work.business_date:
        raise ValidationError.single(
            "run_id", f"the run collects on {run.collection_date}; settle it then"
        )
    for item in work.uow.debit_items.all_of_run(run.id):
        if item.state is DebitItemState.IN_FLIGHT:
            _collect(work, item)
    return run


# --- reading ----------------------------------------------------------------------------------


get_debit_run = reader(
    "get_debit_run",
    _SUBJECT,
    lambda uow: uow.debit_runs,
    """Get a debit run.

    Its account and scheme, business and collection dates, how many debits for how much, the
    contracts it left out and why, and its file (``/debit-runs/{id}/file``). Back office.""",
)


@attrs.frozen
class DebitRunQuery:
    account_id: str | None = None
    business_date: date | None = None


def _back_office_runs(actor: Actor, query: DebitRunQuery) -> DebitRunQuery:
    back_office_only(actor, _SUBJECT)
    return query


list_debit_runs: Lister[DebitRunQuery, Record] = lister(
    "list_debit_runs",
    DebitRunQuery,
    lambda uow: uow.debit_runs,
    _back_office_runs,
    """List debit runs.

    Oldest first; ``account_id`` and ``business_date`` filter. Back office.""",
)


def list_debit_items(
    ctx: ServiceContext,
    actor: Actor,
    run_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List a run's debits.

    Each with its trace id, contract, mandate, amount and what became of it (``in_flight``,
    ``collected`` with its payment, ``returned`` with the bank's reason code)."""
    get_debit_run(ctx, actor, run_id)
    with ctx.uow_factory() as uow:
        return uow.debit_items.of_run(run_id, after=after, limit=page_size(limit))


def debit_run_file(
    ctx: ServiceContext, actor: Actor, run_id: str
) -> tuple[DebitRun, StoredFile, Iterable[bytes]]:
    """The run, its file and the file's content in chunks."""
    run = get_debit_run(ctx, actor, run_id)
    if run.file is None:
        raise ValidationError.single("file", "the run has no debits, so no file")
    return run, run.file, ctx.adapters.document_store.open(run.file.key)


get_result_import = reader(
    "get_result_import",
    "result_import",
    lambda uow: uow.result_imports,
    """Get the report of an imported result file.

    Line by line: the trace id, what the bank said, and what it did (``collected``,
    ``returned``, ``unknown``, ``duplicate``, ``mismatch``). Back office.""",
)
