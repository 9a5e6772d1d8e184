"""Typed keys for the state the server keeps on the application and on each request.

``web.AppKey`` rather than strings: a typo is a NameError, not a KeyError in production, and
mypy knows what each key holds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import cattrs
from aiohttp import web

from leasekit.domain.identity import Actor
from leasekit.server.runtime import Runtime
from leasekit.settings import Settings

__all__ = [
    "ACTOR_KEY",
    "CONVERTER_KEY",
    "EXECUTOR_KEY",
    "OPENAPI_KEY",
    "PUBLIC_HANDLERS_KEY",
    "RUNTIME_KEY",
    "SETTINGS_KEY",
]

SETTINGS_KEY: Final = web.AppKey("settings", Settings)
CONVERTER_KEY: Final = web.AppKey("converter", cattrs.Converter)
OPENAPI_KEY: Final = web.AppKey[dict[str, Any]]("openapi")
"""The OpenAPI document, built once from the route declarations when the app is built."""
PUBLIC_HANDLERS_KEY: Final = web.AppKey[frozenset[object]]("public_handlers")
"""Handlers that answer without a token (``/health``, ``/openapi.json``)."""
EXECUTOR_KEY: Final = web.AppKey("executor", ThreadPoolExecutor)
"""The thread pool for synchronous service calls; present while the app runs."""
RUNTIME_KEY: Final = web.AppKey[Runtime]("runtime")
"""Services, authentication and the database check; present while the app runs."""

ACTOR_KEY: Final = web.RequestKey("actor", Actor)
"""Who sent the request, set by the authentication middleware on every non-public route."""
