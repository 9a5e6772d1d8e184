"""The real app, built by ``_build_app`` around a stub runtime, and a client for it.

The stub stands in for ``leasekit.runtime.build_runtime``: it knows two tokens, counts its
calls and records the threads they ran in, so tests can see what the server did with it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from leasekit.domain.identity import Actor, Role
from leasekit.errors import AuthenticationError
from leasekit.server.app import _build_app
from leasekit.settings import Settings, load_settings

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


class StubRuntime:
    """What ``build_runtime`` will return, reduced to what the server touches."""

    def __init__(self) -> None:
        self.services = object()
        self.officer = Actor("u-officer", Role.OFFICER)
        self.dealer = Actor("u-dealer", Role.DEALER_USER, partner_id="p-1")
        self.tokens = {"officer-token": self.officer, "dealer-token": self.dealer}
        self.database_error: BaseException | None = None
        self.database_delay = 0.0
        self.closed = False
        self.threads: list[str] = []

    def authenticate(self, token: str) -> Actor:
        self.threads.append(threading.current_thread().name)
        try:
            return self.tokens[token]
        except KeyError:
            raise AuthenticationError("unknown token") from None

    def check_database(self) -> None:
        self.threads.append(threading.current_thread().name)
        if self.database_delay:
            threading.Event().wait(self.database_delay)
        if self.database_error is not None:
            raise self.database_error

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def _no_leasekit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.upper().startswith("LEASEKIT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings() -> Settings:
    return load_settings(server={"max_upload_bytes": 1000, "worker_threads": 2})


@pytest.fixture
def runtime() -> StubRuntime:
    return StubRuntime()


@pytest.fixture
def make_client(aiohttp_client: Any, settings: Settings, runtime: StubRuntime) -> ClientFactory:
    """A client for the app, with extra test-only route tables added before it starts."""

    async def make(
        *tables: web.RouteTableDef, settings: Settings = settings
    ) -> TestClient[web.Request, web.Application]:
        app = _build_app(settings, lambda: runtime)
        for table in tables:
            app.router.add_routes(table)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
        return client

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[web.Request, web.Application]:
    return await make_client()


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers that authenticate as the stub runtime's officer."""
    return {"Authorization": "Bearer officer-token"}
