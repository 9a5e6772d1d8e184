"""``GET /health``: is this instance up, and can it reach its database?

Public, so that a load balancer or an orchestrator can ask without a token. A database that
does not answer makes the instance unhealthy (503): requests sent to it would fail anyway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import attrs
from aiohttp import web

from leasekit import __version__
from leasekit.server.keys import HEALTH_EXECUTOR_KEY, RUNTIME_KEY
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import json_response

__all__ = ["Health", "api"]

logger = logging.getLogger("leasekit.server")

CHECK_TIMEOUT: Final = 5.0
"""Seconds the database has to answer; a health check that hangs helps nobody."""

api = ApiRoutes("health", "Whether the server is up.")


@attrs.frozen
class Health:
    """The state of this server instance."""

    status: str = attrs.field(metadata={"description": "ok, or unavailable."})
    version: str = attrs.field(metadata={"description": "The leasekit version running."})
    database: str = attrs.field(metadata={"description": "ok, or error."})


async def _database_answers(request: web.Request) -> bool:
    """In a thread of its own, not the workers' pool: an instance whose workers are all
    busy is up, and must not look down to a load balancer that would then pile more onto
    the others."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await loop.run_in_executor(
                request.app[HEALTH_EXECUTOR_KEY], request.app[RUNTIME_KEY].check_database
            )
    except Exception:
        logger.warning("the database check failed", exc_info=True)
        return False
    return True


@api.get(
    "/health",
    summary="Health of this server instance",
    public=True,
    responses={
        200: Reply("Up, and the database answers.", Health),
        503: Reply("The database does not answer.", Health),
    },
)
async def get_health(request: web.Request) -> web.Response:
    """Needs no token. The database check is bounded by a few seconds."""
    if await _database_answers(request):
        return json_response(request, Health("ok", __version__, "ok"))
    return json_response(request, Health("unavailable", __version__, "error"), status=503)
