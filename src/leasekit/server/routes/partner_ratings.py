"""``/partners/{id}/figures``, ``/partners/{id}/rating``, ``/partner-ratings`` and
``/rating-overrides``: what a partner's book says, the grade it earns and why, and grades set by
hand with a more senior person's approval. Back-office staff only."""

from __future__ import annotations

from leasekit.domain.partner_figures import PartnerFigures
from leasekit.domain.partner_ratings import RatingOverride, RatingRecord
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import partner_ratings
from leasekit.services.partner_ratings import (
    PartnerRatingView,
    RatePartner,
    RatingOverrideQuery,
    RatingQuery,
    RequestRatingOverride,
)

__all__ = ["api"]

api = ApiRoutes(
    "partner ratings",
    "Partners' figures, their A/B/C/D ratings with the reasons, and overrides.",
)

get_route(api, f"/partners/{ID}/figures", partner_ratings.get_partner_figures, reply=PartnerFigures)
get_route(
    api, f"/partners/{ID}/rating", partner_ratings.get_partner_rating, reply=PartnerRatingView
)
create_route(api, "/partner-ratings", partner_ratings.rate_partner, body=RatePartner,
             reply=RatingRecord)  # fmt: skip
list_route(api, "/partner-ratings", partner_ratings.list_ratings, query=RatingQuery,
           item=RatingRecord)  # fmt: skip
get_route(api, f"/partner-ratings/{ID}", partner_ratings.get_rating, reply=RatingRecord)
create_route(
    api, "/rating-overrides", partner_ratings.request_rating_override,
    body=RequestRatingOverride, reply=RatingOverride,
)  # fmt: skip
list_route(api, "/rating-overrides", partner_ratings.list_rating_overrides,
           query=RatingOverrideQuery, item=RatingOverride)  # fmt: skip
get_route(api, f"/rating-overrides/{ID}", partner_ratings.get_rating_override, reply=RatingOverride)
transition_route(
    api, f"/rating-overrides/{ID}/transitions", partner_ratings.transition_rating_override,
    reply=RatingOverride,
)  # fmt: skip
