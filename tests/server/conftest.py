"""The real app, built by ``_build_app`` around a stub runtime, and a client for it; and the
app as ``leasekit demo`` serves it, on the real runtime, for the resource tests.

The stub stands in for ``leasekit.runtime.build_runtime``: it knows two tokens, counts its
calls and records the threads they ran in, so tests can see what the server did with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from leasekit.demo import (
    DEMO_ADAPTER_OPTIONS,
    DEMO_ADAPTERS,
    DEMO_FUNDS,
    DemoCompany,
    seed_demo,
)
from leasekit.domain.identity import Actor, Role
from leasekit.domain.users import User
from leasekit.errors import AuthenticationError
from leasekit.plugins import PluginManager, create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.server import create_app
from leasekit.server.app import _build_app
from leasekit.server.keys import RUNTIME_KEY, SETTINGS_KEY
from leasekit.services.ledger_sync import ledger_key, ledger_voucher
from leasekit.settings import Settings, load_settings
from leasekit.store.accounting_books import VoucherSyncRow
from leasekit.store.database import create_engine
from leasekit.store.tables import metadata

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
        self.authenticated: list[str] = []
        """The tokens ``authenticate`` was asked about, in order."""

    def authenticate(self, token: str) -> Actor:
        self.threads.append(threading.current_thread().name)
        self.authenticated.append(token)
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
    _clear_settings_environment(monkeypatch)


def _clear_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every ``LEASEKIT_`` variable but the test suite's own (``LEASEKIT_TEST_``),
    which name servers, not settings."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith("LEASEKIT_") and not upper.startswith("LEASEKIT_TEST_"):
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


# --- the real app on the real runtime, with the demo company --------------------------------


DEMO_UPLOAD_LIMIT = 16 * 1024
"""settings.server.max_upload_bytes of the demo app in these tests."""


@attrs.frozen
class DemoTemplate:
    """The demo company, seeded once per session; each test runs on a copy of its database."""

    database: Path
    company: DemoCompany


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplate:
    """Seeding takes a third of a second; copying the seeded file takes a hundredth."""
    directory = tmp_path_factory.mktemp("demo-template")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear_settings_environment(monkeypatch)
        company = seed(_demo_settings(directory, directory / "leasekit.db"))
    return DemoTemplate(directory / "leasekit.db", company)


def _plugins() -> PluginManager:
    """The built-in plugins only, whatever this machine has installed."""
    return create_plugin_manager(load_entrypoints=False, blocked=())


def seed(settings: Settings) -> DemoCompany:
    """The demo company, seeded in the database *settings* name."""
    runtime = build_runtime(settings, _plugins())
    try:
        return seed_demo(runtime.services)
    finally:
        runtime.close()


def _demo_settings(data_dir: Path, database: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{database}",
        data_dir=data_dir,
        adapters=DEMO_ADAPTERS,
        adapter_options=DEMO_ADAPTER_OPTIONS,
        funds=DEMO_FUNDS,
        server={"max_upload_bytes": DEMO_UPLOAD_LIMIT, "worker_threads": 4},
    )


class Demo:
    """A client for the demo app, speaking as one demo user or another."""

    def __init__(
        self,
        client: TestClient[web.Request, web.Application],
        company: DemoCompany,
        root: Path,
        database_url: str,
    ) -> None:
        self.client = client
        self.company = company
        self.database_url = database_url
        self.documents_dir = root / "documents"
        """Where the filesystem document store keeps the files."""
        self.upload_limit = client.app[SETTINGS_KEY].server.max_upload_bytes

    def token(self, username: str) -> str:
        return self.company.tokens[username][1]

    def user(self, username: str) -> User:
        return self.company.tokens[username][0]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def partner_id(self, name: str) -> str:
        """The id of the demo partner called *name* (``Sunrise Motors``)."""
        return next(p.id for p in self.company.partners if p.name == name)

    async def call(self, method: str, path: str, as_: str, expect: int, **kwargs: Any) -> Any:
        """*method* on *path* as the demo user *as_*; asserts the status, returns the JSON."""
        headers = self.auth(as_) | kwargs.pop("headers", {})
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            text = await response.text()
            assert response.status == expect, f"{method} {path}: {response.status} {text}"
            return json.loads(text) if text else None

    async def listing(self, path: str, as_: str, expect: int = 200) -> Any:
        """The items of the first page *path* answers (a list), asserting it is the only one."""
        page = await self.call("GET", path, as_, expect)
        assert page["next"] is None, "more than one page"
        return page["items"]

    async def etag(self, path: str, as_: str = "officer") -> str:
        """The version of the object at *path*, as ``If-Match`` wants it."""
        async with self.client.get(path, headers=self.auth(as_)) as response:
            assert response.status == 200, await response.text()
            return response.headers["ETag"]

    async def move(self, path: str, as_: str, expect: int, **body: Any) -> Any:
        """A transition of the object at *path*, at the version the back office reads now."""
        headers = {"If-Match": await self.etag(path)}
        return await self.call(
            "POST", f"{path}/transitions", as_, expect, json=body, headers=headers
        )

    def draft(self, **changes: Any) -> dict[str, Any]:
        """A draft body for Sunrise Motors on the customer and car of the demo's first
        draft, with *changes*."""
        first = self.company.applications[0]
        return {
            "partner_id": first.partner_id,
            "customer_id": first.customer_id,
            "vehicle_id": first.vehicle_id,
            "business_type": "loan",
            "vehicle_price": "189000.00",
            "down_payment": "37800.00",
            "term_months": 24,
            "annual_rate": "0.0488",
        } | changes

    def priced_draft(self, **changes: Any) -> dict[str, Any]:
        """:meth:`draft` priced with the new-car loan, with the customer of the demo's second
        application as guarantor, and *changes*."""
        guarantor = self.company.applications[1].customer_id
        return (
            self.draft(
                product_code="NCL-NEW",
                schedule_method="equal_principal",
                parties=[{"customer_id": guarantor, "role": "guarantor"}],
            )
            | changes
        )

    def row_counts(self) -> dict[str, int]:
        """How many rows each table holds, to show a refused request wrote nothing."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return {
                    table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
                    for table in metadata.sorted_tables
                }
        finally:
            engine.dispose()

    def stored_files(self) -> list[Path]:
        """Every file the document store holds."""
        return [path for path in self.stored_paths() if path.is_file()]

    def stored_paths(self) -> list[Path]:
        """Every file and folder under the document store's root."""
        if not self.documents_dir.exists():
            return []
        return list(self.documents_dir.rglob("*"))


@pytest.fixture
async def demo(aiohttp_client: Any, demo_template: DemoTemplate, tmp_path: Path) -> Demo:
    """The app from ``create_app`` on the real runtime (SQLite file, fake adapters, documents
    on the filesystem under *tmp_path*), its database a copy of the seeded demo company."""
    database = tmp_path / "leasekit.db"
    with (
        contextlib.closing(sqlite3.connect(demo_template.database)) as source,
        contextlib.closing(sqlite3.connect(database)) as target,
    ):
        source.backup(target)
    app = create_app(
        _demo_settings(tmp_path, database),
        plugin_manager=_plugins(),
    )
    client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
    ledger_as_seeded(client.app)
    return Demo(client, demo_template.company, tmp_path, f"sqlite:///{database}")


def ledger_as_seeded(app: web.Application) -> None:
    """Give *app*'s fake ledger the vouchers the seeding synced (the taken-over book's
    opening balances): they went to the seeding runtime's own fake ledger, held in memory and
    gone with it, where a real ledger would still hold them."""
    services = app[RUNTIME_KEY].services
    engine = create_engine(app[SETTINGS_KEY].database_url.get_secret_value())
    try:
        with engine.connect() as connection:
            synced = connection.scalars(
                sa.select(VoucherSyncRow.voucher_id).where(VoucherSyncRow.status == "synced")
            ).all()
    finally:
        engine.dispose()
    with services.uow_factory() as uow:
        seeded = uow.vouchers.views(synced)
    for voucher in seeded:
        services.adapters.ledger.post(ledger_voucher(voucher), ledger_key(voucher))


@pytest.fixture
async def served(database_url: str, aiohttp_client: Any, tmp_path: Path) -> Demo:
    """The demo company served by ``create_app``, once on SQLite and once on PostgreSQL, for
    the tests whose promise is the same on both (races, hostile input).

    The database comes first so that it is dropped last, after the server has stopped."""
    settings = _demo_settings(tmp_path, tmp_path / "unused.db").model_copy(
        update={"database_url": SecretStr(database_url)}
    )
    company = seed(settings)
    client: TestClient[web.Request, web.Application] = await aiohttp_client(
        create_app(settings, plugin_manager=_plugins())
    )
    ledger_as_seeded(client.app)
    return Demo(client, company, tmp_path, database_url)
