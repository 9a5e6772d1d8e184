"""``/users`` and ``/me``: who may log in, their API tokens, and who the caller is.

Managing users is the administrator's job alone (separation of duties: admins make no
business decisions, and nobody else creates accounts). A token is shown once, in the answer
that issues it; the server keeps only its hash, so no later request can show it again.
"""

from __future__ import annotations

import attrs
from aiohttp import hdrs, web

from leasekit.domain.identity import Actor, User
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import users
from leasekit.services.users import CreateUser

__all__ = ["IssuedToken", "api"]

api = ApiRoutes("users", "People who log in, their roles and their API tokens.")


@attrs.frozen
class IssuedToken:
    """A new API token. Store it now: it is never shown again."""

    token: str = attrs.field(
        metadata={"description": "Send it as the header Authorization: Bearer <token>."}
    )


@api.get(
    "/me",
    summary="Who the caller is",
    responses={200: Reply("The caller's user id, role and partner.", Actor)},
)
async def get_me(request: web.Request) -> web.Response:
    """A quick check that a token works, and of what it may do: the role decides the
    actions, the partner (dealer users only) the objects visible."""
    return json_response(request, actor(request))


@api.post(
    "/users",
    retryable=True,
    summary="Create a user",
    body=CreateUser,
    responses={201: Reply("The new, active user; it has no token yet.", User)},
)
async def create_user(request: web.Request) -> web.Response:
    """Administrators only (403 otherwise). A dealer user names its partner in
    ``partner_id``; other roles must not. Issue a token next with ``POST
    /users/{id}/tokens``."""
    command = await read_json(request, CreateUser)
    user = await run_sync(
        request,
        users.create_user,
        services(request),
        actor(request),
        command,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, user, status=201)


@api.get(
    "/users",
    summary="List users",
    responses={200: Reply("Every user.", list[User])},
)
async def list_users(request: web.Request) -> web.Response:
    """Administrators only (403 otherwise)."""
    found = await run_sync(request, users.list_users, services(request), actor(request))
    return json_response(request, found)


@api.post(
    "/users/{id}/tokens",
    summary="Issue an API token",
    responses={201: Reply("The token, shown this once.", IssuedToken)},
)
async def issue_token(request: web.Request) -> web.Response:
    """Administrators issue tokens for anyone; every user may issue one for itself (to
    replace a token about to be retired). Earlier tokens stay valid."""
    token = await run_sync(
        request, users.issue_token, services(request), actor(request), request.match_info["id"]
    )
    response = json_response(request, IssuedToken(token), status=201)
    # A secret: no cache, shared or private, may keep a copy (as RFC 6749 §5.1 asks).
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    return response
