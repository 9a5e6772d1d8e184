"""``/partner-imports``: changes to many partners from one CSV or XLSX file, checked whole and
applied whole (:mod:`leasekit.services.partner_imports` describes the columns).

The file is the raw request body, as a document upload's is (``curl --data-binary
@changes.csv -H "Content-Type: text/csv"``), so it streams to the service without a form
around it; the type is read from the bytes, and ``Content-Type`` must only say it is one of
the two (415 otherwise, before the body is read). ``?dry_run=true`` checks the file and
answers what it would change; ``?reason=`` gives the reason of every row that has none.

A file applied now is answered 201 with its report (``Location`` keeps it); a dry run 200;
a file applied before 200 with that import's report and the outcome ``imported_before``. A
file with faults is a 422 naming each as ``row N.column``; a change refused as it was made
(the partner changed meanwhile) a 409, the import undone whole.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Final

import attrs
from aiohttp import web

from leasekit.domain.partner_imports import ImportOutcome, PartnerImport
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.problems import Problem, ProblemError
from leasekit.server.resources import ID, get_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_query,
    receive_upload,
    services,
)
from leasekit.services import partner_imports
from leasekit.services.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

__all__ = ["ImportOptions", "api"]

api = ApiRoutes(
    "partner imports", "Changes to many partners from one CSV or XLSX file, all or nothing."
)

MEDIA_TYPES: Final = (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE)


class QueryFlag(StrEnum):
    TRUE = "true"
    FALSE = "false"


@attrs.frozen
class ImportOptions:
    """How to import the file in the body."""

    dry_run: QueryFlag = attrs.field(
        default=QueryFlag.FALSE,
        metadata={"description": "true: check the file and say what it would change, "
                  "changing nothing."},
    )  # fmt: skip
    reason: str | None = attrs.field(
        default=None,
        # As long as any query value: a URL has room for that (a row's reason may be longer).
        metadata={"description": "Why, for each row without a reason of its own."},
    )


@api.post(
    "/partner-imports",
    summary="Import changes to partners from a CSV or XLSX file",
    retryable=True,
    query=ImportOptions,
    body=bytes,
    body_media_type=MEDIA_TYPES,
    responses={
        201: Reply("Applied: what each row changed.", PartnerImport),
        200: Reply("A dry run's report, or the earlier import's of the same file.", PartnerImport),
    },
)
async def import_partners(request: web.Request) -> web.Response:
    """One row per partner, named by ``partner_id`` or ``registration_number`` (with
    ``country``); an empty cell leaves its field as it is. ``status`` is the state to reach
    by the one lifecycle move that leads there; the ``contact_*`` columns change or add the
    contact with that role; the ``bank_*`` columns give the primary settlement account;
    ``credit_limit`` files a request for a new standing limit, for another person to
    approve; ``reason`` says why. Every row is checked before anything changes, and every
    fault is named (422, ``row N.column``); then every change is made, as the single-object
    routes make it, or none. The same file posted again answers the first import's report
    (``imported_before``) and changes nothing. Officers, managers, directors and post-loan
    supervisors; each change is then their role's to make."""
    who = actor(request)
    partner_imports.apply_partner_import.authorize(who)
    options = read_query(request, ImportOptions)
    if request.content_type not in MEDIA_TYPES:
        raise ProblemError(
            Problem(
                415,
                "Unsupported Media Type",
                detail=f"send the file as the body, with Content-Type: {' or '.join(MEDIA_TYPES)}",
            )
        )
    apply = functools.partial(
        partner_imports.import_partners,
        services(request),
        who,
        reason=options.reason,
        dry_run=options.dry_run is QueryFlag.TRUE,
        idempotency_key=idempotency_key(request),
    )
    report = await receive_upload(request, apply)
    if report.outcome is ImportOutcome.APPLIED:
        return json_response(request, report, status=201, location=f"/partner-imports/{report.id}")
    return json_response(request, report)


get_route(api, f"/partner-imports/{ID}", partner_imports.get_partner_import, reply=PartnerImport)
