"""Two ``leasekit serve`` processes on one PostgreSQL database, as behind a load balancer:
what one server does, the other sees (a token, a move, the business date), and a move sent
to both at once on the same version is made exactly once, the losers answered with a clean
problem, never a 5xx or the database's words. And a close started over HTTP on a server
that distributes its partitions is done by a ``leasekit worker`` process.

Processes, not two apps in this one: nothing may pass between the servers but the database."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from leasekit.demo import DEMO_ADAPTERS, DemoCompany, seed_demo
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings

from .test_walkthrough import clean_environment, free_port, leasekit_executable

pytestmark = pytest.mark.postgres

REQUESTS = 16
"""Moves sent at once, half to each server."""


def _environment(url: str, root: Path) -> dict[str, str]:
    """What both servers share: the database, the documents' folder and the secret key."""
    adapters = {f"LEASEKIT_ADAPTERS__{kind.upper()}": id_ for kind, id_ in DEMO_ADAPTERS.items()}
    return clean_environment() | adapters | {
        "LEASEKIT_DATABASE_URL": url,
        "LEASEKIT_DATA_DIR": str(root),
        "LEASEKIT_SECRET_KEY": "k" * 32,
    }  # fmt: skip


def _seed(url: str, root: Path) -> DemoCompany:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in _environment(url, root).items():
            monkeypatch.setenv(name, value)
        runtime = build_runtime(load_settings(), create_plugin_manager(load_entrypoints=False))
        try:
            return seed_demo(runtime.services)
        finally:
            runtime.close()


class Server:
    """One ``leasekit serve`` process, with its own port and outbox worker id."""

    def __init__(self, url: str, root: Path, name: str, **settings: str) -> None:
        self.port = free_port()
        self.log = root / f"{name}.log"
        environment = (
            _environment(url, root)
            | settings
            | {
                "LEASEKIT_SERVER__PORT": str(self.port),
                "LEASEKIT_OUTBOX__WORKER_ID": name,
            }
        )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*leasekit_executable(), "serve"], cwd=root, stdout=log, stderr=log,
                env=environment,
            )  # fmt: skip

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(self.url("/health"), timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def call(
        self, method: str, path: str, token: str, body: Any = None, **headers: str
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url(path),
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     **headers},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def company(postgres_schema_url: str, tmp_path: Path) -> DemoCompany:
    return _seed(postgres_schema_url, tmp_path)


@pytest.fixture
def servers(
    company: DemoCompany, postgres_schema_url: str, tmp_path: Path
) -> Iterator[tuple[Server, Server]]:
    """Two servers on the seeded schema, started together."""
    started = [Server(postgres_schema_url, tmp_path, name) for name in ("node-a", "node-b")]
    try:
        for server in started:
            server.wait_until_healthy()
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _token(company: DemoCompany, username: str) -> str:
    return company.tokens[username][1]


def test_one_move_sent_to_both_servers_at_once_is_made_once(
    company: DemoCompany, servers: tuple[Server, Server]
) -> None:
    path = f"/applications/{company.applications[0].id}"
    sunrise = _token(company, "sunrise")
    lined_up = threading.Barrier(REQUESTS)

    def cancel(n: int) -> tuple[int, Any]:
        lined_up.wait()
        return servers[n % 2].call("POST", f"{path}/transitions", sunrise,
                                   {"action": "cancel", "reason": "withdrawn"},
                                   **{"If-Match": '"0"'})  # fmt: skip

    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = list(pool.map(cancel, range(REQUESTS)))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(200) == 1, answers
    assert set(statuses) - {200} <= {409, 412}, answers
    for status, body in answers:
        if status != 200:
            assert body["status"] == status
            assert body["type"].startswith("urn:leasekit:")
            assert not [word for word in ("sql", "constraint", "unique") if word in str(body)]
    for server in servers:
        _, seen = server.call("GET", path, sunrise)
        assert (seen["state"], seen["version"]) == ("cancelled", 1)


def _closed(server: Server, token: str, before: str) -> Any:
    """``GET /end-of-day`` once the business date has moved past *before*."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, day = server.call("GET", "/end-of-day", token)
        if day["business_date"] != before:
            return day
        time.sleep(0.2)
    raise AssertionError(f"the close of {before} did not finish: {day}")


def test_what_one_server_does_the_other_sees(
    company: DemoCompany, servers: tuple[Server, Server]
) -> None:
    """A token made on one works on the other; a close started on one moves the business
    date on both (it lives in the database)."""
    one, other = servers
    status, made = one.call("POST", "/me/tokens", _token(company, "officer"), {"label": "b"})
    assert status == 201
    status, me = other.call("GET", "/me", made["token"])
    assert (status, me["token_id"]) == (200, made["id"])

    admin = _token(company, "admin")
    _, before = other.call("GET", "/end-of-day", admin)
    status, started = one.call("POST", "/end-of-day/close", admin, {})
    assert status == 202, started
    assert started["business_date"] == before["business_date"]
    day = _closed(other, admin, before["business_date"])
    assert day["newest_close"]["business_date"] == before["business_date"]
    assert day["newest_close"]["state"] == "closed"
    _, seen_by_one = one.call("GET", "/end-of-day", admin)
    assert seen_by_one == day


def test_a_close_started_over_http_is_done_by_a_worker(
    company: DemoCompany, postgres_schema_url: str, tmp_path: Path
) -> None:
    """With ``LEASEKIT_EOD__DISTRIBUTE``, the server queues the partitions and a ``leasekit
    worker`` process does them."""
    server = Server(postgres_schema_url, tmp_path, "node-a", LEASEKIT_EOD__DISTRIBUTE="true",
                    LEASEKIT_EOD__WORKER_HEARTBEAT_SECONDS="1")  # fmt: skip
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [*leasekit_executable(), "worker"], cwd=tmp_path, stdout=log, stderr=log,
            env=_environment(postgres_schema_url, tmp_path),
        )  # fmt: skip
    try:
        server.wait_until_healthy()
        admin = _token(company, "admin")
        _, before = server.call("GET", "/end-of-day", admin)
        status, _ = server.call("POST", "/end-of-day/close", admin, {})
        assert status == 202
        day = _closed(server, admin, before["business_date"])
        assert day["newest_close"]["state"] == "closed"
    finally:
        server.stop()
        worker.terminate()
        worker.wait(timeout=30)
    assert "end_of_day_partition" in (tmp_path / "worker.log").read_text()
