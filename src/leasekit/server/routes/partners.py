"""``/partners``: onboarding dealers and brokers, keeping their profiles up to date, and moving
them through their lifecycle.

Lifecycle moves are ``POST /partners/{id}/transitions`` with ``{"action", "reason"}``, the
same style as every object with a lifecycle: one route per object rather than one per action,
because the actions are rows of a table (``docs/lifecycles.md``) that grows, and each move is
recorded with its reason. ``PUT /partners/{id}`` replaces the profile, with a reason, at the
version ``If-Match`` names; ``/partners/{id}/history`` explains every change of it.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.partner_profiles import PartnerRevision
from leasekit.domain.partners import Partner
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    expected_version,
    json_response,
    read_json,
    run_sync,
    services,
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


@api.put(
    f"/partners/{ID}",
    conditional=True,
    summary="Revise a partner's profile",
    body=ProfileChange,
    responses={200: Reply("The partner with its new profile.", Partner)},
)
async def revise_partner(request: web.Request) -> web.Response:
    """Replaces the whole profile (name, legal representative, contacts, addresses, brands,
    settlement bank accounts) at the version ``If-Match`` names (412 if it changed since),
    with the reason the history will show. Credit officers and managers only (403 for anyone
    else, a dealer included, before the body is read)."""
    who = actor(request)
    partners.revise_partner.authorize(who)
    version = expected_version(request)
    change = await read_json(request, ProfileChange)
    revision = ProfileRevision(request.match_info["id"], change, version)
    revised = await run_sync(request, partners.revise_partner, services(request), who, revision)
    return json_response(request, revised)


list_route(
    api,
    f"/partners/{ID}/history",
    partners.partner_history,
    item=PartnerRevision,
    path_args=lambda request: (request.match_info["id"],),
)
transition_route(api, f"/partners/{ID}/transitions", partners.transition_partner, reply=Partner)
