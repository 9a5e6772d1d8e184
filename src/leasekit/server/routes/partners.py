"""``/partners``: onboarding dealers and brokers and moving them through their lifecycle.

Lifecycle moves are ``POST /partners/{id}/transitions`` with ``{"action", "reason"}``, the
same style as applications: one route per object rather than one per action, because the
actions are rows of a table (``docs/lifecycles.md``) that grows, and each move is recorded
with its reason. An action the current state does not allow (a typo included) is a 409 that
names the state, the action and the actions allowed from there.
"""

from __future__ import annotations

import attrs
from aiohttp import web

from leasekit.domain.partners import PARTNER_LIFECYCLE, Partner
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import partners
from leasekit.services.partners import OnboardPartner

__all__ = ["PartnerTransition", "api"]

api = ApiRoutes("partners", "Dealers and brokers that bring business, and their lifecycle.")


_REASON_REQUIRED = sorted({t.action for t in PARTNER_LIFECYCLE.transitions if t.reason_required})


@attrs.frozen
class PartnerTransition:
    """A move along the partner lifecycle, and why (kept in the audit log)."""

    action: str = attrs.field(
        metadata={"description": f"One of: {', '.join(PARTNER_LIFECYCLE.actions)}."},
    )
    reason: str | None = attrs.field(
        default=None,
        metadata={"description": f"Why; required for: {', '.join(_REASON_REQUIRED)}."},
    )


@api.post(
    "/partners",
    retryable=True,
    summary="Onboard a partner",
    body=OnboardPartner,
    responses={201: Reply("The new partner, in state prospect.", Partner)},
)
async def onboard_partner(request: web.Request) -> web.Response:
    """Back-office staff only. The company code is checked like a customer's id number (a
    unified social credit code in China); the credit limit is in the book currency."""
    command = await read_json(request, OnboardPartner)
    partner = await run_sync(
        request,
        partners.onboard_partner,
        services(request),
        actor(request),
        command,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, partner, status=201)


@api.get(
    "/partners",
    summary="List partners",
    responses={200: Reply("Every partner the caller may see.", list[Partner])},
)
async def list_partners(request: web.Request) -> web.Response:
    """A dealer user sees only its own partner."""
    found = await run_sync(request, partners.list_partners, services(request), actor(request))
    return json_response(request, found)


@api.get(
    "/partners/{id}",
    summary="Get a partner",
    responses={200: Reply("The partner.", Partner)},
)
async def get_partner(request: web.Request) -> web.Response:
    """Another partner is a 404 for a dealer user, like a missing one."""
    partner = await run_sync(
        request, partners.get_partner, services(request), actor(request), request.match_info["id"]
    )
    return json_response(request, partner)


@api.post(
    "/partners/{id}/transitions",
    retryable=True,
    summary="Move a partner along its lifecycle",
    body=PartnerTransition,
    responses={200: Reply("The partner in its new state.", Partner)},
)
async def transition_partner(request: web.Request) -> web.Response:
    """Who may perform each action from which state is the partner table in
    docs/lifecycles.md: 409 for a move the state does not allow, 403 for a role that may not
    make it."""
    move = await read_json(request, PartnerTransition)
    partner = await run_sync(
        request,
        partners.transition_partner,
        services(request),
        actor(request),
        request.match_info["id"],
        move.action,
        move.reason,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, partner)
