"""Bearer-token authentication for every route not declared public.

The server only carries the token from the ``Authorization`` header to the runtime's
``authenticate`` (which looks up its hash and returns the Actor, or raises
AuthenticationError); it never sees how tokens are stored. ``authenticate`` touches the
database, so it runs in the thread pool like any service call.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from leasekit.errors import AuthenticationError
from leasekit.server.keys import ACTOR_KEY, PUBLIC_HANDLERS_KEY, RUNTIME_KEY
from leasekit.server.routes.helpers import run_sync

__all__ = ["authentication_middleware", "bearer_token"]

# RFC 6750 §2.1: "Bearer" 1*SP b64token.
_BEARER: Final = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


def bearer_token(request: web.Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        raise AuthenticationError("send an API token in the header Authorization: Bearer <token>")
    match = _BEARER.fullmatch(header.strip())
    if match is None:
        raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
    return match.group(1)


def _needs_actor(request: web.Request) -> bool:
    """Public routes need no token, nor do requests that match no route: their 404 or 405
    says nothing that the public OpenAPI document does not."""
    match_info = request.match_info
    if match_info.http_exception is not None:
        return False
    return match_info.handler not in request.app[PUBLIC_HANDLERS_KEY]


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set ``request[ACTOR_KEY]`` from the bearer token, or refuse the request with 401."""
    if _needs_actor(request):
        authenticate = request.app[RUNTIME_KEY].authenticate
        request[ACTOR_KEY] = await run_sync(request, authenticate, bearer_token(request))
    return await handler(request)
