"""``/refunds``: customers' credit paid back to their bank accounts, and where each refund
stands at the bank; ``/contracts/{id}/refunds``: a contract's refunds.

A refund is made by the execution of an approved exception request; these routes read it
and ask the bank about one that is out (``POST /refunds/{id}/payout-checks``). Lists show
account numbers masked.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.refunds import Refund
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import actor, json_response, run_sync, services
from leasekit.services import refunds

__all__ = ["api"]

api = ApiRoutes("refunds", "Customers' credit paid back, and its status at the bank.")

get_route(api, f"/refunds/{ID}", refunds.get_refund, reply=Refund)
list_route(
    api,
    f"/contracts/{ID}/refunds",
    refunds.list_contract_refunds,
    item=Refund,
    path_args=lambda request: (request.match_info["id"],),
)


@api.post(
    f"/refunds/{ID}/payout-checks",
    retryable=False,
    summary="Ask the bank where a refund stands",
    responses={200: Reply("The refund, paid or failed if the bank says so.", Refund)},
)
async def track_refund(request: web.Request) -> web.Response:
    """For a refund out at the bank: settled is paid; refused or returned fails, and the
    credit it took goes back to the payments it came from; otherwise nothing changes.
    Finance staff and the finance director."""
    tracked = await run_sync(
        request, refunds.track_refund, services(request), actor(request),
        request.match_info["id"],
    )  # fmt: skip
    return json_response(request, tracked)
