"""``/disbursements``: the payout queue and payout tracking; ``/disbursement-approvals``:
batch approval; ``/disbursement-events``: a live stream of payout statuses.

Signed contracts enter the queue by themselves. Finance reviewers claim, release, approve,
reject or report fraud with ``POST /disbursements/{id}/transitions``;
``POST /disbursement-approvals`` approves many at once and reports each.
``GET /disbursement-events`` is a server-sent-events stream of payout status changes, which a
client reconnecting with ``Last-Event-ID`` resumes where it left off. Account numbers are
shown masked.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Final

import attrs
from aiohttp import web
from aiohttp_sse import sse_response

from leasekit.domain.disbursements import Disbursement
from leasekit.domain.events import DomainEvent
from leasekit.domain.partner_profiles import mask_number
from leasekit.errors import ValidationError
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    read_query,
    run_sync,
    services,
)
from leasekit.services import disbursements
from leasekit.services.disbursements import (
    FINAL_EVENTS,
    BatchApproval,
    BatchOutcome,
    DisbursementQuery,
)

__all__ = ["api"]

api = ApiRoutes("disbursements", "The payout queue, payouts and their live status.")

_POLL_SECONDS: Final = 0.5
"""How often a stream looks for new payout events."""
_STREAM_SECONDS: Final = 3600
"""A stream ends after an hour; clients reconnect with ``Last-Event-ID``."""


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    """A listed payout with its payee's account number cut, as replies show it."""
    payee = record["payee"]
    if payee:
        record["payee"] = {**payee, "account": mask_number(payee["account"])}
    return record


@attrs.frozen
class StreamFilter:
    """Which payouts a stream follows: one contract's, or every one the caller may see."""

    contract_id: str | None = attrs.field(default=None, metadata={"max_length": 64})


def _last_event_id(request: web.Request) -> int | None:
    given = request.headers.get("Last-Event-ID") or request.query.get("after")
    if given is None:
        return None
    if not given.isascii() or not given.isdigit() or len(given) > 18:
        raise ValidationError.single("Last-Event-ID", "must be an event id the stream sent")
    return int(given)


def _data(position: int, event: DomainEvent) -> str:
    return json.dumps(
        {"position": position, "name": event.name, "disbursement_id": event.subject_id,
         "state": event.payload.get("to"), "occurred_at": event.occurred_at.isoformat(),
         **{key: event.payload[key] for key in ("contract_id", "contract_number")
            if key in event.payload}},
    )  # fmt: skip


@api.get(
    "/disbursement-events",
    summary="Follow payout statuses as they change",
    query=StreamFilter,
    responses={200: Reply("A server-sent-events stream, one event per status change.", str,
                          "text/event-stream")},
)  # fmt: skip
async def payout_events(request: web.Request) -> web.StreamResponse:
    """Each event's ``id`` is its position; ``event`` its name (``disbursement_approved``,
    ``disbursement_sent``, ``disbursement_paid`` ...); ``data`` a JSON object with the
    payout, its contract and the state it moved to. A dealer user follows its own partner's
    payouts. With ``contract_id`` the stream ends once that contract's payout is paid or
    refused; every stream ends after an hour, to be resumed with ``Last-Event-ID``."""
    who = actor(request)
    contract_id = read_query(request, StreamFilter, besides=frozenset({"after"})).contract_id
    feed = await run_sync(
        request, disbursements.open_payout_feed, services(request), who,
        _last_event_id(request), contract_id,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + _STREAM_SECONDS
    async with sse_response(request) as stream:
        while stream.is_connected() and loop.time() < ends_at:
            found = await run_sync(
                request, disbursements.next_payout_events, services(request), who, feed
            )
            for position, event in found:
                await stream.send(_data(position, event), id=str(position), event=event.name)
                if contract_id is not None and event.name in FINAL_EVENTS:
                    return stream
            await asyncio.sleep(_POLL_SECONDS)
    return stream


list_route(
    api, "/disbursements", disbursements.list_disbursements, query=DisbursementQuery,
    item=Disbursement, transform=_masked,
)  # fmt: skip
get_route(api, f"/disbursements/{ID}", disbursements.get_disbursement, reply=Disbursement)
transition_route(
    api, f"/disbursements/{ID}/transitions", disbursements.transition_disbursement,
    reply=Disbursement,
)  # fmt: skip


@api.post(
    "/disbursement-approvals",
    retryable=True,
    summary="Approve payouts in a batch",
    body=BatchApproval,
    responses={200: Reply("Each payout approved, or why not.", BatchOutcome)},
)
async def approve_batch(request: web.Request) -> web.Response:
    """Approves each listed payout (at most 200) in a transaction of its own: one refused (a
    failed check, another reviewer's claim, the partner's limit) is reported with why and
    never holds up the others. An ``Idempotency-Key`` makes a retry answer as the first."""
    who = actor(request)
    disbursements.transition_disbursement.authorize(who)
    batch = await read_json(request, BatchApproval)
    outcome = await run_sync(
        request, disbursements.approve_disbursements, services(request), who, batch,
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, outcome)


@api.post(
    f"/disbursements/{ID}/payout-checks",
    retryable=False,
    summary="Ask the bank where a payout stands",
    responses={200: Reply("The payout, paid or back in the queue if the bank says so.",
                          Disbursement)},
)  # fmt: skip
async def track_payout(request: web.Request) -> web.Response:
    """For a payout out at the bank: settled is paid, refused or returned fails back to the
    queue (the partner's limit given back); otherwise nothing changes."""
    tracked = await run_sync(
        request, disbursements.track_payout, services(request), actor(request),
        request.match_info["id"],
    )  # fmt: skip
    return json_response(request, tracked)
