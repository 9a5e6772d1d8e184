"""``GET /openapi.json``: the OpenAPI 3.1 description of this API, built from the route
declarations when the app was built."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from leasekit.server.keys import OPENAPI_KEY
from leasekit.server.openapi import ApiRoutes, Reply

__all__ = ["api"]

api = ApiRoutes("openapi", "The description of this API.")


@api.get(
    "/openapi.json",
    summary="The OpenAPI document",
    public=True,
    responses={200: Reply("The OpenAPI 3.1 document.", dict[str, Any])},
)
async def get_openapi(request: web.Request) -> web.Response:
    """Needs no token, so that clients and code generators can read it."""
    return web.json_response(request.app[OPENAPI_KEY])
