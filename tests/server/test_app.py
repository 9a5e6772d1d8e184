"""The factory: state under typed keys, resources opened at startup and closed at cleanup."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.server import create_app
from leasekit.server.app import API, _build_app
from leasekit.server.keys import EXECUTOR_KEY, RUNTIME_KEY, SETTINGS_KEY
from leasekit.server.routes.helpers import actor
from leasekit.server.runtime import Runtime
from leasekit.services import users
from leasekit.settings import Settings, load_settings


def test_create_app_builds_the_app_without_building_the_runtime(settings: Settings) -> None:
    app = create_app(settings)
    assert app[SETTINGS_KEY] is settings
    assert RUNTIME_KEY not in app, "the runtime must be built at startup, not at import/build"
    paths = {resource.canonical for resource in app.router.resources()}
    assert {"/health", "/openapi.json"} <= paths


def test_every_declared_route_is_registered_and_nothing_else(
    settings: Settings, runtime: Runtime
) -> None:
    app = _build_app(settings, lambda: runtime)
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    declared = {(op.method, op.openapi_path) for group in API for op in group.operations}
    pages = {(method, path) for method, path in registered if path.startswith("/workbench")}
    assert declared == registered - pages
    assert ("GET", "/workbench/queue") in pages


async def test_runtime_is_built_in_a_worker_thread_and_closed_at_cleanup(
    settings: Settings, runtime: Any
) -> None:
    built_in: list[str] = []

    def factory() -> Runtime:
        built_in.append(threading.current_thread().name)
        return runtime

    app = _build_app(settings, factory)
    async with TestClient(TestServer(app)):
        assert app[RUNTIME_KEY] is runtime
        executor = app[EXECUTOR_KEY]
        assert isinstance(executor, ThreadPoolExecutor)
        assert executor._max_workers == settings.server.worker_threads
        assert not runtime.closed
    assert built_in == [built_in[0]]
    assert built_in[0].startswith("leasekit")
    assert runtime.closed
    assert executor._shutdown


whoami = web.RouteTableDef()


@whoami.get("/whoami")
async def who_am_i(request: web.Request) -> web.Response:
    return web.json_response({"user_id": actor(request).user_id, "role": actor(request).role})


async def test_create_app_runs_on_the_real_runtime(tmp_path: Path, aiohttp_client: Any) -> None:
    """End to end: settings in, a served API out, with a token the services issued."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'leasekit.db'}",
        data_dir=tmp_path,
        disable_plugin_autoload=True,
    )
    setup = build_runtime(settings)
    admin, token = users.bootstrap_admin(setup.services, "admin", "The Admin")
    setup.close()

    plugin_manager = create_plugin_manager(load_entrypoints=False)
    app = create_app(settings, plugin_manager=plugin_manager)
    app.router.add_routes(whoami)
    client = await aiohttp_client(app)
    assert app[RUNTIME_KEY].plugin_manager is plugin_manager  # type: ignore[attr-defined]

    health = await client.get("/health")
    assert (health.status, (await health.json())["database"]) == (200, "ok")
    me = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200
    assert await me.json() == {"user_id": admin.id, "role": "admin"}
    stranger = await client.get("/whoami", headers={"Authorization": "Bearer lk_forged"})
    assert stranger.status == 401
