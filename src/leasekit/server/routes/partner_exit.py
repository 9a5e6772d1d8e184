"""``/partners/{id}/exit-review``: what a partner must resolve before it may leave."""

from __future__ import annotations

from leasekit.domain.partner_exit import ExitReview
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, get_route
from leasekit.services import partner_exit

__all__ = ["api"]

api = ApiRoutes("partner exit", "The review a partner passes before it leaves.")

get_route(api, f"/partners/{ID}/exit-review", partner_exit.get_exit_review, reply=ExitReview)
