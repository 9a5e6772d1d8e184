"""``/statements``, ``/partners/{id}/settlement-files`` and ``/statement-entries``: money that
came in without a debit, matched to contracts automatically or on the reconciliation queue.

Files are the raw request body, as result files are: a bank statement (camt.053, MT940, or
the bank's CSV, as the bank adapter reads them) or a dealer's settlement file (CSV or XLSX, a
row per contract). A file applied now is answered 201 with its report; the same file again
200 with the first report; a malformed one 422 naming its position, nothing applied.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import attrs
from aiohttp import web

from leasekit.domain.statement_entries import StatementEntry, StatementImport
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    expected_version,
    idempotency_key,
    json_response,
    read_json,
    read_query,
    receive_upload,
    run_sync,
    services,
)
from leasekit.services import reconciliation
from leasekit.services.reconciliation import EntryPart, EntryQuery, MatchEntry, ParkEntry
from leasekit.services.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

__all__ = ["api"]

api = ApiRoutes(
    "statements", "Bank statements and dealers' settlement files, reconciled to contracts."
)

_STATEMENT_TYPES: Final = ("application/xml", "text/plain", "text/csv", "application/octet-stream")
_ANSWERS: Final = {
    201: Reply("Applied: how many lines were matched and queued.", StatementImport),
    200: Reply("The same file was imported before: that import's report.", StatementImport),
}


@attrs.frozen
class FileName:
    filename: str = attrs.field(
        default="statement", metadata={"max_length": 200, "description": "The file's name."}
    )


def _answer(request: web.Request, found: tuple[StatementImport, bool]) -> web.Response:
    report, applied = found
    if applied:
        return json_response(request, report, status=201,
                             location=f"/statement-imports/{report.id}")  # fmt: skip
    return json_response(request, report)


@api.post(
    "/statements",
    summary="Import the company's bank statement",
    retryable=True,
    query=FileName,
    body=bytes,
    body_media_type=_STATEMENT_TYPES,
    responses=_ANSWERS,
)
async def import_statement(request: web.Request) -> web.Response:
    """Each credit line an earlier statement did not bring is matched to a contract by the
    configured rules (by reference, then by amount and payer, then within a tolerance) and
    becomes a payment allocated to it; a line the rules cannot place waits on the
    reconciliation queue (``/statement-entries?state=queued``). Debit lines are the
    company's own payments and are left alone. Finance."""
    who = actor(request)
    reconciliation.apply_statement.authorize(who)
    name = read_query(request, FileName).filename
    apply = functools.partial(
        reconciliation.import_statement, services(request), who, filename=name,
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return _answer(request, await receive_upload(request, apply))


@api.post(
    f"/partners/{ID}/settlement-files",
    summary="Import a dealer's settlement file",
    retryable=True,
    query=FileName,
    body=bytes,
    body_media_type=(CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE),
    responses=_ANSWERS,
)
async def import_settlement_file(request: web.Request) -> web.Response:
    """The rows a dealer sends with a settlement transfer: ``contract_number``, ``amount``,
    ``currency``, ``paid_on`` (and ``reference``, ``row_id``), one per contract it pays
    (installments, a buy-back, a settlement quote). Each row is matched by its contract
    number and paid as a dealer settlement; a row that quotes an open settlement quote's
    number (or pays exactly its total for the quoted contract) pays that quote off. Every row
    is checked before anything changes (422 naming ``row N.column``). Finance."""
    who = actor(request)
    reconciliation.apply_statement.authorize(who)
    name = read_query(request, FileName).filename
    apply = functools.partial(
        reconciliation.import_settlement_file, services(request), who,
        partner_id=request.match_info["id"], filename=name,
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return _answer(request, await receive_upload(request, apply))


get_route(api, f"/statement-imports/{ID}", reconciliation.get_statement_import,
          reply=StatementImport)  # fmt: skip
list_route(api, "/statement-entries", reconciliation.list_statement_entries, query=EntryQuery,
           item=StatementEntry)  # fmt: skip
get_route(api, f"/statement-entries/{ID}", reconciliation.get_statement_entry,
          reply=StatementEntry)  # fmt: skip


@attrs.frozen
class EntryParts:
    """Where the entry's money goes: contracts and amounts adding up to the entry's."""

    parts: tuple[EntryPart, ...]


@attrs.frozen
class Suspense:
    reason: str = attrs.field(metadata={"max_length": 1000})


async def _on_entry(request: web.Request, command: Any, make: Any, body: type) -> web.Response:
    who = actor(request)
    command.authorize(who)
    version = expected_version(request)
    payload: Any = await read_json(request, body)
    entry = await run_sync(
        request, command, services(request), who, make(request.match_info["id"], payload, version),
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, entry)


@api.post(
    f"/statement-entries/{ID}/matches",
    summary="Match a queued entry to contracts by hand",
    retryable=True,
    conditional=True,
    body=EntryParts,
    responses={200: Reply("The entry, matched, with its payments.", StatementEntry)},
)
async def match_statement_entry(request: web.Request) -> web.Response:
    """Each part becomes a payment of that contract, allocated; the parts add up to the
    entry's amount exactly (422 otherwise). At the version ``If-Match`` names. Finance."""
    return await _on_entry(
        request, reconciliation.match_statement_entry,
        lambda entry_id, body, version: MatchEntry(entry_id, body.parts, version), EntryParts,
    )  # fmt: skip


@api.post(
    f"/statement-entries/{ID}/suspense",
    summary="Park a queued entry in suspense",
    retryable=True,
    conditional=True,
    body=Suspense,
    responses={200: Reply("The entry, in suspense.", StatementEntry)},
)
async def park_statement_entry(request: web.Request) -> web.Response:
    """Until someone knows what the money is for; the reason is what the next person
    reads. At the version ``If-Match`` names. Finance."""
    return await _on_entry(
        request, reconciliation.park_statement_entry,
        lambda entry_id, body, version: ParkEntry(entry_id, body.reason, version), Suspense,
    )  # fmt: skip
