"""``/events/deliveries``: events that could not reach a subscriber, for an administrator.

Each committed event is delivered to each subscriber (a plugin, the notifier, an in-process
handler) on its own. One that fails too often is parked; here an administrator sees it, with
the last error, and sends it again or gives it up. ``leasekit events`` does the same on the
server.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, list_route
from leasekit.server.routes.helpers import actor, json_response, run_sync, services
from leasekit.services import events
from leasekit.services.storage import Delivery, DeliveryQuery

__all__ = ["api"]

api = ApiRoutes("events", "Delivery of committed events to their subscribers.")

list_route(api, "/events/deliveries", events.list_deliveries, query=DeliveryQuery, item=Delivery)


def _settle(name: str, summary: str, doc: str) -> None:
    settle = getattr(events, name)

    async def handler(request: web.Request) -> web.Response:
        delivery = await run_sync(
            request, settle, services(request), actor(request), request.match_info["id"]
        )
        return json_response(request, delivery)

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    action = name.removesuffix("_delivery")
    api.post(
        f"/events/deliveries/{ID}/{action}",
        summary=summary,
        responses={200: Reply("The delivery.", Delivery)},
    )(handler)


_settle(
    "retry_delivery",
    "Retry a parked delivery",
    "Administrators only. The delivery is due at once, its attempts counted afresh; one that "
    "is not parked is a 409.",
)
_settle(
    "discard_delivery",
    "Discard a parked delivery",
    "Administrators only. The subscriber will never get that event; one that is not parked "
    "is a 409.",
)
