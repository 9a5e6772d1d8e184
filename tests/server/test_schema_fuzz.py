"""Schemathesis against the demo server on a real socket: every operation of the published
OpenAPI document, fed what its schema allows and what it does not, answers as the document
says (status, headers, body), never with a 5xx, and refuses what the schema refuses.

Data the schema allows can still break a rule no schema expresses (a check digit, a row that
does not exist, a version that is not the current one), so those refusals count as accepted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from leasekit.demo import DemoCompany, seed_demo
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.server import create_app
from leasekit.server.keys import OPENAPI_KEY
from leasekit.settings import load_settings

from .conftest import _clear_settings_environment, _demo_settings

ACCEPTED_STATUSES = ["2xx", "401", "403", "404", "409", "412", "422", "428"]
"""What data that fits the schema may get: 409 for a move the state forbids, 412 for an
If-Match that is not the current version, 422 for a rule no schema expresses."""

REFUSED_STATUSES = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428]
"""What data that breaks the schema may get: schemathesis's list and 412, because a server
evaluates If-Match before it reads the body (RFC 9110 §13.2.1)."""

MISSING_HEADER_STATUSES = [400, 401, 403, 406, 415, 422, 428]
"""A change without If-Match is 428 Precondition Required, the status made for it (RFC 6585)."""

ADMIN_PATHS = ("/users", "/events")
"""Operations only an administrator may call; the rest are called as the credit officer."""


class LiveServer:
    """The demo app on a socket, served from its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, handle_signals=False)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)

    async def _serve(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, DemoCompany]]:
    root: Path = tmp_path_factory.mktemp("schema-fuzz")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear_settings_environment(monkeypatch)
        settings_ = _demo_settings(root, root / "leasekit.db")
        plugins = create_plugin_manager(load_entrypoints=False, blocked=())
        runtime = build_runtime(settings_, plugins)
        try:
            company = seed_demo(runtime.services)
        finally:
            runtime.close()
        server = LiveServer(create_app(settings_, plugin_manager=plugins))
        server.start()
        try:
            yield server, company
        finally:
            server.stop()


def _schema() -> schemathesis.BaseSchema:
    """The document the server publishes, checked as the configuration says."""
    config = schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": 25},
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTED_STATUSES},
                "negative_data_rejection": {"expected-statuses": REFUSED_STATUSES},
                "missing_required_header": {"expected-statuses": MISSING_HEADER_STATUSES},
                "max_response_time": 5,
            },
        }
    )
    document = create_app(load_settings())[OPENAPI_KEY]
    return schemathesis.openapi.from_dict(document, config=config)


schema = _schema()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_keeps_the_promises_of_its_document(
    case: schemathesis.Case, live_demo: tuple[LiveServer, DemoCompany]
) -> None:
    server, company = live_demo
    user = "admin" if case.path.startswith(ADMIN_PATHS) else "officer"
    token = company.tokens[user][1]
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
