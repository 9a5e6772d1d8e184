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

create_route(
    api,
    "/partners",
    partners.onboard_partner,
    body=OnboardPartner,
    reply=Partner,
    summary="Onboard a partner",
    doc="Back-office staff only (403 for anyone else, before the body is read). The company "
    "code is checked like a customer's id number (a unified social credit code in China); "
    "the credit limit is in the book currency.",
)
list_route(
    api,
    "/partners",
    partners.list_partners,
    query=PartnerQuery,
    item=Partner,
    name="list_partners",
    summary="List partners",
    doc="A dealer user sees only its own partner.",
)
get_route(
    api,
    f"/partners/{ID}",
    partners.get_partner,
    reply=Partner,
    name="get_partner",
    summary="Get a partner",
    doc="Another partner is a 404 for a dealer user, like a missing one.",
)
transition_route(
    api,
    f"/partners/{ID}/transitions",
    partners.transition_partner,
    reply=Partner,
    doc="Who may perform each action from which state is the partner table in docs/lifecycles.md.",
)
