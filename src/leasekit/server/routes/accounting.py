"""``/vouchers`` and ``/accounting/unmapped``: the vouchers business events produced, and the
events no template could book, for finance.

Every event that moves money (a disbursement, payments received, allocated and reversed,
credit applied, a returned debit's fee) is booked after its command commits by the voucher
templates in force. A voucher shows the event type and template that booked it and each
line's dimensions. An event that could not be booked waits in the unmapped queue with the
reason; once the cause is fixed, replaying it books it with the templates then in force.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.bookings import UnmappedEvent
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    run_sync,
    services,
)
from leasekit.services import accounting
from leasekit.services.storage import UnmappedQuery, VoucherQuery, VoucherSummary, VoucherView

__all__ = ["api"]

api = ApiRoutes("accounting", "Vouchers generated from business events, and the unmapped queue.")

list_route(api, "/vouchers", accounting.list_vouchers, query=VoucherQuery, item=VoucherSummary)
get_route(api, f"/vouchers/{ID}", accounting.get_voucher, reply=VoucherView)
list_route(
    api, "/accounting/unmapped", accounting.list_unmapped, query=UnmappedQuery, item=UnmappedEvent
)


@api.post(
    f"/accounting/unmapped/{ID}/replay",
    retryable=True,
    summary="Book an unmapped event again",
    responses={200: Reply("The event, resolved, naming its voucher.", UnmappedEvent)},
)
async def replay_unmapped(request: web.Request) -> web.Response:
    """Books the event with the voucher templates now in force. Booked, it is resolved and
    names its voucher; one that still cannot be booked is a 409 with the reason and stays
    in the queue, as is one resolved already. Finance."""
    unmapped = await run_sync(
        request, accounting.replay_unmapped, services(request), actor(request),
        request.match_info["id"], idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, unmapped)
