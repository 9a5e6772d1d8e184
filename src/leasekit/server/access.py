"""Which request is which: an id per request, and one access log line per request.

Every response carries ``X-Request-Id`` (the client's own, if it sent a sane one, else a new
one), and the access log names it, so a complaint, a log line and an error report can be
matched. A line holds the method, the path, the status, the time taken, the user and the
request id, and nothing else: never a token, never the query string (where a search may put
an identity number), never a body.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from leasekit.server.keys import ACTOR_KEY, REQUEST_ID_KEY

__all__ = ["REQUEST_ID_HEADER", "AccessLogger", "add_request_id", "request_id_middleware"]

REQUEST_ID_HEADER: Final = "X-Request-Id"
_SAFE_ID: Final = re.compile(r"[0-9A-Za-z._-]{8,64}")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id before anything else happens to it."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request[REQUEST_ID_KEY] = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
    return await handler(request)


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """The ``on_response_prepare`` signal: every response, errors and downloads included,
    says which request it answers."""
    request_id = request.get(REQUEST_ID_KEY)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id


class AccessLogger(AbstractAccessLogger):
    """One line per request, in a form log tools split on spaces."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        actor = request.get(ACTOR_KEY)
        self.logger.info(
            "%s %s %s %.1fms user=%s request=%s",
            request.method,
            request.path,
            response.status,
            time * 1000,
            actor.user_id if actor is not None else "-",
            request.get(REQUEST_ID_KEY, "-"),
        )
