"""``/users``, ``/me``, ``/tokens`` and ``/enrolments``: who may log in, and their credentials.

Administrators create users, disable and enable them, send a new enrolment secret and revoke
tokens; they never obtain a credential that works as someone else (there is no route that
makes a token for another user). A new user exchanges the one-time secret it received for a
first token at ``POST /enrolments``, then manages its own tokens under ``/me/tokens``. A token
is shown once, in the answer that issues it; the server keeps only its hash.
"""

from __future__ import annotations

from aiohttp import hdrs, web

from leasekit.domain.identity import Actor
from leasekit.domain.users import User
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import users
from leasekit.services.storage import ApiToken
from leasekit.services.users import CreateUser, IssuedToken, NewToken, Redemption, UserQuery

__all__ = ["api"]

api = ApiRoutes("users", "People who log in, their roles and their API tokens.")


def _secret(response: web.Response) -> web.Response:
    """A response carrying a token: no cache, shared or private, may keep a copy (as RFC 6749
    §5.1 asks)."""
    response.headers[hdrs.CACHE_CONTROL] = "no-store"
    return response


@api.get(
    "/me",
    summary="Who the caller is",
    responses={200: Reply("The caller's user id, role, partner and token.", Actor)},
)
async def get_me(request: web.Request) -> web.Response:
    """A quick check that a token works, and of what it may do: the role decides the
    actions, the partner (dealer users only) the objects visible; ``token_id`` is the token
    used, which ``DELETE /tokens/{id}`` revokes."""
    return json_response(request, actor(request))


@api.get(
    "/me/tokens",
    summary="List my tokens",
    responses={200: Reply("The caller's tokens, never their text.", list[ApiToken])},
)
async def list_my_tokens(request: web.Request) -> web.Response:
    """Oldest first, revoked ones included (with the time they were revoked)."""
    who = actor(request)
    found = await run_sync(request, users.list_tokens, services(request), who, who.user_id)
    return json_response(request, found)


@api.post(
    "/me/tokens",
    retryable=False,
    summary="Issue myself a token",
    body=NewToken,
    responses={201: Reply("The token, shown this once.", IssuedToken)},
)
async def issue_my_token(request: web.Request) -> web.Response:
    """A new token for the caller (a second device, a replacement before revoking the old
    one). Earlier tokens stay valid until revoked."""
    request_body = await read_json(request, NewToken)
    issued = await run_sync(
        request, users.issue_token, services(request), actor(request), request_body
    )
    return _secret(json_response(request, issued, status=201, location=f"/tokens/{issued.id}"))


get_route(api, f"/tokens/{ID}", users.get_token, reply=ApiToken)


@api.delete(
    f"/tokens/{ID}",
    summary="Revoke a token",
    responses={200: Reply("The token, revoked.", ApiToken)},
)
async def revoke_token(request: web.Request) -> web.Response:
    """One's own token, or anyone's for an administrator. It fails on the very next request;
    revoking it twice is a 409. Another user's token reads as missing (404)."""
    revoked = await run_sync(
        request, users.revoke_token, services(request), actor(request), request.match_info["id"]
    )
    return json_response(request, revoked)


@api.post(
    "/enrolments",
    public=True,
    summary="Exchange an enrolment secret for a first token",
    body=Redemption,
    responses={201: Reply("The user's first token, shown this once.", IssuedToken)},
)
async def enrol(request: web.Request) -> web.Response:
    """Needs no token: the one-time secret sent to a new user is the credential. It works
    once, before it expires, while the user is active; every failure is the same 401."""
    redemption = await read_json(request, Redemption)
    issued = await run_sync(
        request, users.enrol, services(request), redemption.secret, redemption.label
    )
    return _secret(json_response(request, issued, status=201, location=f"/tokens/{issued.id}"))


create_route(api, "/users", users.create_user, body=CreateUser, reply=User)
list_route(api, "/users", users.list_users, query=UserQuery, item=User)
get_route(api, f"/users/{ID}", users.get_user, reply=User)
transition_route(api, f"/users/{ID}/transitions", users.transition_user, reply=User)


@api.post(
    f"/users/{ID}/enrolment",
    summary="Send a new enrolment secret",
    responses={200: Reply("The user; the secret went to its e-mail address.", User)},
)
async def issue_enrolment(request: web.Request) -> web.Response:
    """Administrators only. The earlier secret stops working. A user without e-mail is a 422
    on ``email``: it is enrolled on the server with ``leasekit users enrol``."""
    user = await run_sync(
        request,
        users.issue_enrolment,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return json_response(request, user)


@api.get(
    f"/users/{ID}/tokens",
    summary="List a user's tokens",
    responses={200: Reply("The user's tokens, never their text.", list[ApiToken])},
)
async def list_user_tokens(request: web.Request) -> web.Response:
    """One's own, or anyone's for an administrator (who may revoke them, never use them)."""
    found = await run_sync(
        request, users.list_tokens, services(request), actor(request), request.match_info["id"]
    )
    return json_response(request, found)
