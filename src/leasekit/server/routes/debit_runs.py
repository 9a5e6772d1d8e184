"""``/debit-runs`` and ``/debit-results``: what is collected from whom on a business date, the
bank files that ask for it, and the bank's results, imported once.

A result file is the raw request body (``curl --data-binary @returns.ach``), as a partner
import's is; the bank adapter reads it whole and refuses a malformed one (422, naming the
record and field, the XML path, or the line and column) before anything changes. A file
applied now is answered 201 with its report; the same file again 200 with the first report.
"""

from __future__ import annotations

import functools
from typing import Final

from aiohttp import web

from leasekit.domain.debit_runs import DebitOrderItem, DebitRun, ResultImport
from leasekit.domain.mandates import DebitScheme
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, create_route, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    receive_upload,
    run_sync,
    send_download,
    services,
)
from leasekit.services import debit_runs
from leasekit.services.debit_runs import DebitRunQuery, SettleRun, StartDebitRun

__all__ = ["api"]

api = ApiRoutes("debit runs", "Direct debits in bulk, their bank files and the bank's results.")

_MEDIA_TYPES: Final = {
    DebitScheme.NACHA: "text/plain",
    DebitScheme.SEPA: "application/xml",
    DebitScheme.CSV: "text/csv",
}

create_route(api, "/debit-runs", debit_runs.start_debit_run, body=StartDebitRun, reply=DebitRun)
list_route(api, "/debit-runs", debit_runs.list_debit_runs, query=DebitRunQuery, item=DebitRun)
get_route(api, f"/debit-runs/{ID}", debit_runs.get_debit_run, reply=DebitRun)
list_route(
    api,
    f"/debit-runs/{ID}/items",
    debit_runs.list_debit_items,
    item=DebitOrderItem,
    path_args=lambda request: (request.match_info["id"],),
)


@api.get(
    f"/debit-runs/{ID}/file",
    summary="Download a run's bank file",
    responses={200: Reply("The file to send to the bank.", bytes, "application/octet-stream")},
)
async def debit_run_file(request: web.Request) -> web.StreamResponse:
    """NACHA (``.ach``), SEPA pain.008 (``.xml``) or the bank's CSV, as the account's scheme
    says; its SHA-256 is the run's ``file.sha256``. 422 for a run without debits."""
    run, stored, chunks = await run_sync(
        request, debit_runs.debit_run_file, services(request), actor(request),
        request.match_info["id"],
    )  # fmt: skip
    return await send_download(
        request,
        iter(chunks),
        content_type=_MEDIA_TYPES[run.scheme],
        filename=stored.key.rsplit("/", 1)[-1],
        size=stored.size,
    )


@api.post(
    f"/debit-runs/{ID}/settlement",
    retryable=True,
    summary="Collect what the bank has not returned",
    responses={200: Reply("The run; its debits still in flight are collected.", DebitRun)},
)
async def settle_debit_run(request: web.Request) -> web.Response:
    """On or after the collection date, every debit of the run still in flight becomes a
    payment, allocated (a NACHA return file lists only what came back). Again: nothing more
    changes. Finance."""
    run = await run_sync(
        request, debit_runs.settle_debit_run, services(request), actor(request),
        SettleRun(request.match_info["id"]), idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, run)


@api.post(
    "/debit-results",
    summary="Import the bank's results for debits",
    retryable=True,
    body=bytes,
    body_media_type=("application/octet-stream", "text/plain", "application/xml", "text/csv"),
    responses={
        201: Reply("Applied: what each line did.", ResultImport),
        200: Reply("The same file was imported before: that import's report.", ResultImport),
    },
)
async def import_debit_results(request: web.Request) -> web.Response:
    """A NACHA return file, a SEPA pain.002 status report or camt.054 notification, or the
    bank's CSV, as the bank adapter reads them. Each line finds its debit by trace id:
    collected, the debit becomes a payment allocated to the contract; returned, the debit is
    marked so, a collected one's payment undone, the return fee charged, and the mandate
    stopped when the reason code says it cannot be used. Unknown trace ids, repeats and
    amounts that differ are reported and change nothing. Finance."""
    who = actor(request)
    debit_runs.apply_debit_results.authorize(who)
    apply = functools.partial(
        debit_runs.import_debit_results,
        services(request),
        who,
        filename=request.query.get("filename", "results"),
        idempotency_key=idempotency_key(request),
    )
    report, applied = await receive_upload(request, apply)
    if applied:
        return json_response(request, report, status=201, location=f"/debit-results/{report.id}")
    return json_response(request, report)


get_route(api, f"/debit-results/{ID}", debit_runs.get_result_import, reply=ResultImport)
