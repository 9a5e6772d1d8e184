"""*Reconciliation*: money that came in without a debit and that the matching rules could not
place. Finance imports the bank's statement, then matches each entry left on the queue to a
contract (or splits it over a few) or parks it in suspense with a reason; the rest of the
back office reads the queue."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import Final
from urllib.parse import urlencode

import attrs
from aiohttp import web

from leasekit.domain.identity import Actor
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.statement_entries import (
    STATEMENT_ENTRY_LIFECYCLE,
    EntryAction,
    EntryState,
    StatementEntry,
    StatementImport,
)
from leasekit.domain.validation import text
from leasekit.errors import AmountError, PermissionDeniedError, ValidationError
from leasekit.money import Money, to_decimal
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.forms import (
    Form,
    done,
    file_chunks,
    form_file,
    form_text,
    form_texts,
    form_version,
    next_page_url,
    read_filters,
    upload_form,
)
from leasekit.server.workbench.handlers import form_handler, page_handler
from leasekit.server.workbench.render import NOTICES, render
from leasekit.services import contracts, reconciliation
from leasekit.services.context import ServiceContext
from leasekit.services.contracts import ContractQuery
from leasekit.services.reconciliation import EntryPart, EntryQuery, MatchEntry, ParkEntry
from leasekit.services.storage import Record

__all__ = ["routes"]

routes = web.RouteTableDef()

NOTICES.update(
    {
        "statement_imported": "The statement is imported.",
        "statement_known": "This statement was imported before; nothing changed.",
        "entry_matched": "The entry is matched; its payments are booked.",
        "entry_parked": "The entry is parked in suspense.",
    }
)

MAX_PARTS: Final = 3
"""The contracts one entry may be split over on the page (the API takes more)."""
_QUEUE: Final = "/workbench/reconciliation"


@attrs.frozen
class Candidate:
    """A contract a rule found for an entry, by number, linked to its page."""

    id: str
    number: str


@attrs.frozen
class EntryRow:
    """One entry as the queue shows it."""

    id: str
    booked_on: date
    amount: Money
    payer_name: str
    reference: str
    state: str
    why: str | None
    candidates: tuple[Candidate, ...]


def _may(check: Callable[[Actor], None], who: Actor) -> bool:
    """Whether the reader's role may run a service at all (its own authorisation)."""
    try:
        check(who)
    except PermissionDeniedError:
        return False
    return True


def _contract_numbers(ctx: ServiceContext, who: Actor, ids: Collection[str]) -> dict[str, str]:
    """The number of each contract of *ids* (candidates are few: a page reads them at once)."""
    return {contract_id: contracts.get_contract(ctx, who, contract_id).number
            for contract_id in ids}  # fmt: skip


async def _candidates(request: web.Request, ids_per_entry: list[list[str]]) -> dict[str, str]:
    wanted = {contract_id for ids in ids_per_entry for contract_id in ids}
    return await run_sync(request, _contract_numbers, services(request), actor(request), wanted)


def _row(record: Record, numbers: dict[str, str]) -> EntryRow:
    amount = record["amount"]
    return EntryRow(
        id=record["id"], booked_on=record["booked_on"],
        amount=Money(amount["amount"], amount["currency"]), payer_name=record["payer_name"],
        reference=record["reference"], state=str(record["state"]), why=record["why"],
        candidates=tuple(Candidate(key, numbers[key]) for key in record["candidates"]),
    )  # fmt: skip


async def _report(request: web.Request) -> StatementImport | None:
    """The import the page was sent back to after an upload, to show its counts."""
    import_id = request.query.get("import_id")
    if not import_id:
        return None
    return await run_sync(
        request, reconciliation.get_statement_import, services(request), actor(request),
        import_id,
    )  # fmt: skip


@routes.get(_QUEUE)
@page_handler
async def queue(request: web.Request) -> web.StreamResponse:
    """The entries in one state (``queued`` unless the filter says otherwise), oldest
    first, paged, with why each waits and the contracts the rules saw."""
    who = actor(request)
    query, _ = read_filters(request, EntryQuery)
    if query.state is None:
        query = attrs.evolve(query, state=EntryState.QUEUED)
    page = await run_sync(
        request, reconciliation.list_statement_entries, services(request), who, query,
        after=request.query.get("after"),
    )  # fmt: skip
    numbers = await _candidates(request, [record["candidates"] for record in page.items])
    context = {
        "entries": [_row(record, numbers) for record in page.items],
        "next_url": next_page_url(request, page),
        "state_shown": str(query.state),
        "states": [state.value for state in EntryState],
        "report": await _report(request),
        "may_import": _may(reconciliation.apply_statement.authorize, who),
    }
    return render(request, "reconciliation.html", context)


@routes.post(f"{_QUEUE}/statements")
@page_handler
async def import_statement(request: web.Request) -> web.StreamResponse:
    """A statement file of the company's account, posted as a multipart form (as
    ``POST /statements``); back to the queue with what the import matched and queued."""
    who = actor(request)
    reconciliation.apply_statement.authorize(who)
    async with upload_form(request) as form:
        file = form_file(form)
        report, applied = await run_sync(
            request, reconciliation.import_statement, services(request), who,
            file_chunks(file), filename=file.filename or "statement",
        )  # fmt: skip
    notice = "statement_imported" if applied else "statement_known"
    raise web.HTTPSeeOther(f"{_QUEUE}?{urlencode({'import_id': report.id, 'notice': notice})}")


@routes.get(f"{_QUEUE}/{{id}}")
@page_handler
async def entry_page(request: web.Request) -> web.StreamResponse:
    """One entry: the money, its payer and reference, where it went or why it waits, and
    the forms the reader's role may use from its state (match, park)."""
    who = actor(request)
    entry: StatementEntry = await run_sync(
        request, reconciliation.get_statement_entry, services(request), who,
        request.match_info["id"],
    )  # fmt: skip
    numbers = await _candidates(request, [list(entry.candidates)])
    moves = STATEMENT_ENTRY_LIFECYCLE.actions_from(entry.state, who.role)
    context = {
        "entry": entry,
        "candidates": [Candidate(key, numbers[key]) for key in entry.candidates],
        "may_match": EntryAction.MATCH in moves,
        "may_park": EntryAction.PARK in moves,
        "max_parts": MAX_PARTS,
        "max_reason": MAX_REASON,
    }
    return render(request, "reconciliation_entry.html", context)


@routes.post(f"{_QUEUE}/{{id}}/matches")
@form_handler
async def match_entry(request: web.Request) -> web.StreamResponse:
    """Match the entry to the contracts the form names by number: one for the whole amount,
    or up to :data:`MAX_PARTS` with an amount each; at the version the page showed."""
    who = actor(request)
    reconciliation.match_statement_entry.authorize(who)
    form = await request.post()
    entry_id = request.match_info["id"]
    entry = await run_sync(
        request, reconciliation.get_statement_entry, services(request), who, entry_id
    )
    parts = await _parts(request, form, entry.amount)
    command = MatchEntry(entry_id, parts, form_version(form))
    await run_sync(request, reconciliation.match_statement_entry, services(request), who, command)
    raise done(form, "entry_matched")


def _rows(form: Form, whole: Money) -> list[tuple[int, str, Money]]:
    """The form's rows that name a contract: (row, contract number, amount); a lone contract
    without an amount takes the whole entry."""
    numbers, amounts = form_texts(form, "number", 64), form_texts(form, "amount", 32)
    if len(numbers) != len(amounts) or len(numbers) > MAX_PARTS:
        raise ValidationError.single("parts", f"at most {MAX_PARTS} rows of number and amount")
    rows = enumerate(zip(numbers, amounts, strict=True))
    given = [(i, number, amount) for i, (number, amount) in rows if number or amount]
    if not given:
        raise ValidationError.single("parts[0].number", "name the contract the money is for")
    if len(given) == 1 and not given[0][2]:
        i, number, _ = given[0]
        return [(i, text(number, f"parts[{i}].number", 64), whole)]
    return [
        (i, text(number, f"parts[{i}].number", 64),
         _amount(amount, whole, f"parts[{i}].amount"))
        for i, number, amount in given
    ]  # fmt: skip


def _amount(given: str, whole: Money, field: str) -> Money:
    if not given:
        raise ValidationError.single(field, "give each contract's share of the entry")
    try:
        return Money(to_decimal(given), whole.currency.code)
    except AmountError:
        raise ValidationError.single(field, "is not an amount") from None


async def _parts(request: web.Request, form: Form, whole: Money) -> tuple[EntryPart, ...]:
    """The form's rows as parts, each contract looked up by its number."""
    parts = []
    for index, number, amount in _rows(form, whole):
        page = await run_sync(
            request, contracts.list_contracts, services(request), actor(request),
            ContractQuery(number=number), after=None, limit=1,
        )  # fmt: skip
        if not page.items:
            raise ValidationError.single(f"parts[{index}].number", f"no contract {number}")
        parts.append(EntryPart(page.items[0]["id"], amount))
    return tuple(parts)


@routes.post(f"{_QUEUE}/{{id}}/suspense")
@form_handler
async def park_entry(request: web.Request) -> web.StreamResponse:
    """Park the entry in suspense with the reason the next person reads, at the version the
    page showed."""
    form = await request.post()
    reason = text(form_text(form, "reason", MAX_REASON + 1), "reason", MAX_REASON)
    command = ParkEntry(request.match_info["id"], reason, form_version(form))
    await run_sync(
        request, reconciliation.park_statement_entry, services(request), actor(request),
        command,
    )  # fmt: skip
    raise done(form, "entry_parked")
