"""The application factory: routes, middlewares, and the resources opened while the app runs.

:func:`create_app` is what the CLI and integrators call. It builds nothing from settings
itself: the composition root :func:`leasekit.runtime.build_runtime` wires the database,
plugins, adapters and services, and the app asks for that runtime only when it starts (in
``cleanup_ctx``, in the thread pool: it connects and migrates) and closes it when it stops.
Tests call :func:`_build_app` with a stub runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from aiohttp import web

from leasekit import __version__
from leasekit.discovery import submodules
from leasekit.plugins import PluginManager
from leasekit.runtime import build_runtime
from leasekit.server.access import add_request_id, request_id_middleware
from leasekit.server.auth import authentication_middleware
from leasekit.server.closer import background_close
from leasekit.server.keys import (
    ADMISSION_KEY,
    CONVERTER_KEY,
    EXECUTOR_KEY,
    HEALTH_EXECUTOR_KEY,
    OPENAPI_KEY,
    PUBLIC_HANDLERS_KEY,
    RUNTIME_KEY,
    SETTINGS_KEY,
)
from leasekit.server.openapi import ApiRoutes, build_document
from leasekit.server.payloads import make_converter
from leasekit.server.problems import problem_middleware
from leasekit.server.routes.helpers import Admission
from leasekit.server.runtime import Runtime
from leasekit.server.workbench import setup_workbench
from leasekit.services.partner_monitoring import refresh_partners
from leasekit.settings import Settings

__all__ = ["API", "create_app"]

logger = logging.getLogger("leasekit.server")

API: Final[tuple[ApiRoutes, ...]] = tuple(
    module.api for module in submodules("leasekit.server.routes") if hasattr(module, "api")
)
"""Every route module's routes (its ``api``), in the order the OpenAPI document lists them:
by module name, so a new module is served and documented without being listed here."""

MAX_JSON_BYTES: Final = 1024 * 1024
"""Largest JSON body read into memory; documents are streamed and have their own limit."""

_DESCRIPTION: Final = (
    "Vehicle financing and leasing. Send a personal API token as "
    "`Authorization: Bearer <token>`; errors are application/problem+json (RFC 9457)."
)


def create_app(
    settings: Settings, *, plugin_manager: PluginManager | None = None
) -> web.Application:
    """The leasekit HTTP API for *settings*, with plugins from *plugin_manager* (or the ones
    the settings allow, loaded from entry points, when it is None)."""
    return _build_app(settings, functools.partial(build_runtime, settings, plugin_manager))


def _build_app(settings: Settings, runtime_factory: Callable[[], Runtime]) -> web.Application:
    """The app, with *runtime_factory* called once at startup to provide the runtime."""
    app = web.Application(
        middlewares=[request_id_middleware, problem_middleware, authentication_middleware],
        client_max_size=MAX_JSON_BYTES,
    )
    app.on_response_prepare.append(add_request_id)
    app[SETTINGS_KEY] = settings
    app[CONVERTER_KEY] = make_converter()
    server = settings.server
    app[ADMISSION_KEY] = Admission(server.worker_threads + server.max_queued)
    for group in API:
        app.router.add_routes(group.table)
    app[OPENAPI_KEY] = build_document(
        API, title="leasekit", version=__version__, description=_DESCRIPTION
    )
    app[PUBLIC_HANDLERS_KEY] = setup_workbench(app) | frozenset(
        operation.handler for group in API for operation in group.operations if operation.public
    )
    app.cleanup_ctx.append(_thread_pool)
    app.cleanup_ctx.append(functools.partial(_runtime, runtime_factory=runtime_factory))
    app.cleanup_ctx.append(_partner_refresh)
    app.cleanup_ctx.append(background_close)
    return app


async def _thread_pool(app: web.Application) -> AsyncIterator[None]:
    """The threads that run synchronous calls. Bounded, so that a burst of requests queues
    here instead of opening a database connection each; and one more for ``/health``."""
    executor = ThreadPoolExecutor(
        max_workers=app[SETTINGS_KEY].server.worker_threads, thread_name_prefix="leasekit"
    )
    health = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leasekit-health")
    app[EXECUTOR_KEY], app[HEALTH_EXECUTOR_KEY] = executor, health
    yield
    # Waiting here would block the event loop; the calls still running finish in a thread.
    await asyncio.to_thread(executor.shutdown, wait=True)
    await asyncio.to_thread(health.shutdown, wait=True)


async def _runtime(
    app: web.Application, *, runtime_factory: Callable[[], Runtime]
) -> AsyncIterator[None]:
    """Build the runtime when the app starts (it may connect to the database and load
    plugins, so in a worker thread) and close it when the app stops."""
    loop = asyncio.get_running_loop()
    runtime = await loop.run_in_executor(app[EXECUTOR_KEY], runtime_factory)
    app[RUNTIME_KEY] = runtime
    yield
    await loop.run_in_executor(app[EXECUTOR_KEY], runtime.close)


async def _partner_refresh(app: web.Application) -> AsyncIterator[None]:
    """Every ``LEASEKIT_PARTNERS__REFRESH_EVERY_HOURS`` (from start-up; 0: never), rate the
    partners and apply the monitoring rules. Each partner is rated once per business date,
    so servers sharing a database, or a restart, repeat nothing."""
    hours = app[SETTINGS_KEY].partners.refresh_every_hours
    task = asyncio.create_task(_refresh_every(app, hours * 3600)) if hours else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _refresh_every(app: web.Application, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            report = await loop.run_in_executor(
                app[EXECUTOR_KEY], refresh_partners, app[RUNTIME_KEY].services
            )
        except Exception:
            logger.exception("the scheduled partner refresh failed; it runs again later")
        else:
            logger.info(
                "partner refresh: %d rated, %d rated earlier today, %d failed",
                report.rated, report.already, len(report.failed),
            )  # fmt: skip
            for partner_id, why in report.failed:
                logger.warning("partner %s was not rated: %s", partner_id, why)
        await asyncio.sleep(seconds)
