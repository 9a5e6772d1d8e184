"""``/applications``: a partner's financing applications, from draft to decision and beyond.

A draft is written with :class:`~leasekit.services.applications.DraftApplication` (flat
amounts as decimal strings in one currency) and read back as the domain's ``Application``,
whose ``requested`` terms carry each amount as Money. The two differ on purpose: what a
client types is the least it must say, what it reads states every currency.

Lifecycle moves are ``POST /applications/{id}/transitions`` with ``{"action", "reason"}``,
as for partners; ``PUT`` replaces what a draft (or a returned application) asks for.
"""

from __future__ import annotations

import attrs
from aiohttp import web

from leasekit.domain.applications import APPLICATION_LIFECYCLE, Application, ApplicationState
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    read_query,
    run_sync,
    services,
)
from leasekit.services import applications
from leasekit.services.applications import DraftApplication

__all__ = ["ApplicationFilter", "ApplicationTransition", "api"]

api = ApiRoutes("applications", "Financing applications and their lifecycle.")

_REASON_REQUIRED = sorted(
    {t.action for t in APPLICATION_LIFECYCLE.transitions if t.reason_required}
)


@attrs.frozen
class ApplicationTransition:
    """A move along the application lifecycle, and why (kept in the audit log)."""

    action: str = attrs.field(
        metadata={"description": f"One of: {', '.join(APPLICATION_LIFECYCLE.actions)}."},
    )
    reason: str | None = attrs.field(
        default=None,
        metadata={"description": f"Why; required for: {', '.join(_REASON_REQUIRED)}."},
    )


@attrs.frozen
class ApplicationFilter:
    """Which applications to list."""

    state: ApplicationState | None = None


@api.post(
    "/applications",
    retryable=True,
    summary="Draft an application",
    body=DraftApplication,
    responses={201: Reply("The new application, in state draft.", Application)},
)
async def draft_application(request: web.Request) -> web.Response:
    """The customer and the vehicle must be registered first and visible to the caller; a
    missing one is a 422 on ``customer_id`` or ``vehicle_id``. Amounts are decimal strings
    (``"238000.00"``), never JSON numbers, and the rate a yearly fraction (``"0.0599"``)."""
    command = await read_json(request, DraftApplication)
    application = await run_sync(
        request,
        applications.create_draft,
        services(request),
        actor(request),
        command,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, application, status=201)


@api.get(
    "/applications",
    summary="List applications",
    query=ApplicationFilter,
    responses={200: Reply("The applications the caller may see.", list[Application])},
)
async def list_applications(request: web.Request) -> web.Response:
    """A dealer user sees its own partner's applications; back-office staff see all.
    ``?state=submitted`` keeps those in one state."""
    query = read_query(request, ApplicationFilter)
    found = await run_sync(
        request,
        applications.list_applications,
        services(request),
        actor(request),
        state=None if query.state is None else str(query.state),
    )
    return json_response(request, found)


@api.get(
    "/applications/{id}",
    summary="Get an application",
    responses={200: Reply("The application.", Application)},
)
async def get_application(request: web.Request) -> web.Response:
    """Another partner's application is a 404, like a missing one."""
    application = await run_sync(
        request,
        applications.get_application,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return json_response(request, application)


@api.put(
    "/applications/{id}",
    summary="Revise a draft",
    body=DraftApplication,
    responses={200: Reply("The application with its new terms.", Application)},
)
async def revise_application(request: web.Request) -> web.Response:
    """Replaces everything the application asks for, in states draft and returned only (409
    otherwise). The partner cannot change: ``partner_id`` must be the application's own."""
    command = await read_json(request, DraftApplication)
    application = await run_sync(
        request,
        applications.update_draft,
        services(request),
        actor(request),
        request.match_info["id"],
        command,
    )
    return json_response(request, application)


@api.post(
    "/applications/{id}/transitions",
    retryable=True,
    summary="Move an application along its lifecycle",
    body=ApplicationTransition,
    responses={200: Reply("The application in its new state.", Application)},
)
async def transition_application(request: web.Request) -> web.Response:
    """``submit`` sends a draft for review, ``cancel`` withdraws it; the application table in
    docs/lifecycles.md lists every action and who may perform it. 409 for a move the state
    does not allow, 403 for a role that may not make it."""
    move = await read_json(request, ApplicationTransition)
    application = await run_sync(
        request,
        applications.transition_application,
        services(request),
        actor(request),
        request.match_info["id"],
        move.action,
        move.reason,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, application)
