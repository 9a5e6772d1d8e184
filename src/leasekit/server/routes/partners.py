"""``/partners``: onboarding dealers and brokers, keeping their profiles up to date, and moving
them through their lifecycle.

Lifecycle moves are ``POST /partners/{id}/transitions`` with ``{"action", "reason"}``, the
same style as every object with a lifecycle: one route per object rather than one per action,
because the actions are rows of a table (``docs/lifecycles.md``) that grows, and each move is
recorded with its reason. ``PUT /partners/{id}`` replaces the profile, with a reason, at the
version ``If-Match`` names; ``/partners/{id}/history`` explains every change of it.
"""

from __future__ import annotations

from leasekit.domain.partner_profiles import PartnerRevision
from leasekit.domain.partners import Partner
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import (
    ID,
    create_route,
    get_route,
    list_route,
    revise_route,
    transition_route,
)
from leasekit.services import partners
from leasekit.services.partners import (
    OnboardPartner,
    PartnerQuery,
    ProfileChange,
    ProfileRevision,
)

__all__ = ["api"]

api = ApiRoutes("partners", "Dealers and brokers that bring business, and their lifecycle.")

create_route(api, "/partners", partners.onboard_partner, body=OnboardPartner, reply=Partner)
list_route(api, "/partners", partners.list_partners, query=PartnerQuery, item=Partner)
get_route(api, f"/partners/{ID}", partners.get_partner, reply=Partner)
revise_route(
    api,
    f"/partners/{ID}",
    partners.revise_partner,
    body=ProfileChange,
    reply=Partner,
    revision=ProfileRevision,
    summary="Revise a partner's profile",
    answer="The partner with its new profile.",
    description="""Replaces the whole profile (name, legal representative, contacts, addresses,
    brands, settlement bank accounts) at the version ``If-Match`` names (412 if it changed
    since), with the reason the history will show. Credit officers and managers only (403 for
    anyone else, a dealer included, before the body is read).""",
)


list_route(
    api,
    f"/partners/{ID}/history",
    partners.partner_history,
    item=PartnerRevision,
    path_args=lambda request: (request.match_info["id"],),
)
transition_route(api, f"/partners/{ID}/transitions", partners.transition_partner, reply=Partner)
