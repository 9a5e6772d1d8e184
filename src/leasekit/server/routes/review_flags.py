"""``/review-flags``: open applications the back office must look at again (their partner
was blacklisted), and the reviewer's conclusion. Back-office staff only."""

from __future__ import annotations

from leasekit.domain.review_flags import ReviewFlag
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, get_route, list_route, transition_route
from leasekit.services import review_flags
from leasekit.services.review_flags import ReviewFlagQuery

__all__ = ["api"]

api = ApiRoutes("review flags", "Applications flagged for another review, and why.")

list_route(api, "/review-flags", review_flags.list_review_flags, query=ReviewFlagQuery,
           item=ReviewFlag)  # fmt: skip
get_route(api, f"/review-flags/{ID}", review_flags.get_review_flag, reply=ReviewFlag)
transition_route(
    api, f"/review-flags/{ID}/transitions", review_flags.transition_review_flag, reply=ReviewFlag
)
