"""``/partners/{id}/credit-limit``, ``/limit-movements`` and ``/limit-requests``: what a
partner may have outstanding, what uses it, and the approved changes of it."""

from __future__ import annotations

from leasekit.domain.credit_limits import LimitMovement, LimitPosition, LimitRequest
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import credit_limits
from leasekit.services.credit_limits import (
    AdjustCreditLimit,
    LimitMovementQuery,
    LimitRequestQuery,
    RequestLimitChange,
)

__all__ = ["api"]

api = ApiRoutes(
    "credit limits",
    "Partners' credit limits: the figures, the movements that use them, and approved changes.",
)

get_route(api, f"/partners/{ID}/credit-limit", credit_limits.get_credit_limit, reply=LimitPosition)
create_route(
    api, "/limit-movements", credit_limits.adjust_credit_limit,
    body=AdjustCreditLimit, reply=LimitMovement,
)  # fmt: skip
list_route(api, "/limit-movements", credit_limits.list_limit_movements,
           query=LimitMovementQuery, item=LimitMovement)  # fmt: skip
get_route(api, f"/limit-movements/{ID}", credit_limits.get_limit_movement, reply=LimitMovement)
create_route(
    api, "/limit-requests", credit_limits.request_limit_change,
    body=RequestLimitChange, reply=LimitRequest,
)  # fmt: skip
list_route(api, "/limit-requests", credit_limits.list_limit_requests,
           query=LimitRequestQuery, item=LimitRequest)  # fmt: skip
get_route(api, f"/limit-requests/{ID}", credit_limits.get_limit_request, reply=LimitRequest)
transition_route(
    api, f"/limit-requests/{ID}/transitions", credit_limits.transition_limit_request,
    reply=LimitRequest,
)  # fmt: skip
