"""``/exception-requests``: reversals, refunds and waivers, approved level by level and
executed once.

``POST /contracts/{id}/exception-requests`` drafts one; ``PUT /exception-requests/{id}``
edits a draft or returned one; ``POST /exception-requests/{id}/submission`` submits it for
the approval chain; ``POST /exception-requests/{id}/transitions`` approves, rejects, returns,
cancels, expires or executes it; ``GET /exception-requests/{id}/preview`` shows what
executing it would change. A payment's and a contract's history list the requests that
touched them.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.exception_requests import ExceptionRequest, Proposal
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route, revise_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import exception_requests
from leasekit.services.exception_requests import Preview, RaiseRequest, Revision, Submission
from leasekit.services.storage import ExceptionRequestQuery

__all__ = ["api"]

api = ApiRoutes("exception-requests", "Reversals, refunds and waivers behind a chain of approvals.")


@api.post(
    f"/contracts/{ID}/exception-requests",
    retryable=True,
    summary="Draft an exception request for a contract",
    body=Proposal,
    responses={201: Reply("The draft; ``Location`` names it.", ExceptionRequest)},
)
async def create_exception_request(request: web.Request) -> web.Response:
    """A ``reversal`` of one of the contract's payments, a ``refund`` of its credit balance
    to a bank account or a ``waiver`` of a line's fee or penalty; every fault is named by its
    field. A draft until its requester submits it. Officers and finance."""
    who = actor(request)
    exception_requests.create_exception_request.authorize(who)
    body = await read_json(request, Proposal)
    made = await run_sync(
        request, exception_requests.create_exception_request, services(request), who,
        RaiseRequest(request.match_info["id"], body), idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, made, status=201, location=f"/exception-requests/{made.id}")


list_route(
    api,
    "/exception-requests",
    exception_requests.list_exception_requests,
    item=ExceptionRequest,
    query=ExceptionRequestQuery,
)
get_route(
    api, f"/exception-requests/{ID}", exception_requests.get_exception_request,
    reply=ExceptionRequest,
)  # fmt: skip
revise_route(
    api,
    f"/exception-requests/{ID}",
    exception_requests.edit_exception_request,
    body=Proposal,
    reply=ExceptionRequest,
    revision=lambda request_id, body, version: Revision(request_id, body, version),
    summary="Edit a draft or returned exception request",
    answer="The request with its new content.",
    description="""The whole content again (its kind stays), checked as a new request's is,
    at the version ``If-Match`` names. Its requester only, while it is a draft or returned.""",
)


@api.post(
    f"/exception-requests/{ID}/submission",
    retryable=True,
    summary="Submit an exception request for approval",
    responses={200: Reply("The request, waiting for its first level.", ExceptionRequest)},
)
async def submit_exception_request(request: web.Request) -> web.Response:
    """The approval policy fixes the roles that approve it, level by level (by default the
    post-loan supervisor, then the finance director); approvals start over, and must be done
    and the request executed within ``approvals.exception_window_hours``. Its requester
    only."""
    who = actor(request)
    exception_requests.submit_exception_request.authorize(who)
    submitted = await run_sync(
        request, exception_requests.submit_exception_request, services(request), who,
        Submission(request.match_info["id"]), idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, submitted)


transition_route(
    api,
    f"/exception-requests/{ID}/transitions",
    exception_requests.transition_exception_request,
    reply=ExceptionRequest,
)
get_route(
    api, f"/exception-requests/{ID}/preview", exception_requests.preview_exception_request,
    reply=Preview,
)  # fmt: skip
list_route(
    api,
    f"/payments/{ID}/exception-requests",
    exception_requests.list_payment_exception_requests,
    item=ExceptionRequest,
    path_args=lambda request: (request.match_info["id"],),
)
list_route(
    api,
    f"/contracts/{ID}/exception-requests",
    exception_requests.list_contract_exception_requests,
    item=ExceptionRequest,
    path_args=lambda request: (request.match_info["id"],),
)
