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
    "ADMISSION_KEY",
    "CLOSER_KEY",
    "CONVERTER_KEY",
    "EXECUTOR_KEY",
    "HEALTH_EXECUTOR_KEY",
    "OPENAPI_KEY",
    "PUBLIC_HANDLERS_KEY",
    "REQUEST_ID_KEY",
    "RUNTIME_KEY",
    "SETTINGS_KEY",
]

SETTINGS_KEY: Final = web.AppKey("settings", Settings)
CONVERTER_KEY: Final = web.AppKey("converter", cattrs.Converter)
OPENAPI_KEY: Final = web.AppKey[dict[str, Any]]("openapi")
"""The OpenAPI document, built once from the route declarations when the app is built."""
PUBLIC_HANDLERS_KEY: Final = web.AppKey[frozenset[object]]("public_handlers")
"""Handlers that answer without a bearer token (``/health``, ``/openapi.json``, and the
workbench's, which authenticate with a session cookie)."""
EXECUTOR_KEY: Final = web.AppKey("executor", ThreadPoolExecutor)
"""The thread pool for synchronous service calls; present while the app runs."""
HEALTH_EXECUTOR_KEY: Final = web.AppKey("health_executor", ThreadPoolExecutor)
"""One thread of its own for ``/health``, so that busy workers never make it look down."""
ADMISSION_KEY: Final = web.AppKey[Any]("admission")
"""The bounded count of calls waiting for or holding a worker thread (``helpers.Admission``)."""
RUNTIME_KEY: Final = web.AppKey[Runtime]("runtime")
CLOSER_KEY: Final = web.AppKey[Any]("closer")
"""The close of business this process runs in the background (``closer.Closer``)."""
"""Services, authentication and the database check; present while the app runs."""

ACTOR_KEY: Final = web.RequestKey("actor", Actor)
"""Who sent the request, set by the authentication middleware on every non-public route."""
REQUEST_ID_KEY: Final = web.RequestKey("request_id", str)
"""The id the access log and error responses name the request by (``X-Request-Id``)."""
