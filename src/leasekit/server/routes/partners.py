"""``/partners``: onboarding dealers and brokers and moving them through their lifecycle.

Lifecycle moves are ``POST /partners/{id}/transitions`` with ``{"action", "reason"}``, the
same style as every object with a lifecycle: one route per object rather than one per action,
because the actions are rows of a table (``docs/lifecycles.md``) that grows, and each move is
recorded with its reason.
"""

from __future__ import annotations

from leasekit.domain.partners import Partner
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import partners
from leasekit.services.partners import OnboardPartner, PartnerQuery

__all__ = ["api"]

api = ApiRoutes("partners", "Dealers and brokers that bring business, and their lifecycle.")

create_route(api, "/partners", partners.onboard_partner, body=OnboardPartner, reply=Partner)
list_route(api, "/partners", partners.list_partners, query=PartnerQuery, item=Partner)
get_route(api, f"/partners/{ID}", partners.get_partner, reply=Partner)
transition_route(api, f"/partners/{ID}/transitions", partners.transition_partner, reply=Partner)
