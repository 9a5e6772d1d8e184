"""A server killed with SIGKILL in the middle of a burst of writes, then started again: every
request retried with its Idempotency-Key takes effect once, every committed event reaches the
notifier once and in order for its subject, and the audit chain still verifies.

This runs ``leasekit serve`` as a process, because only a process can be killed mid-commit."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pytest

from leasekit.builtin.filesystem import EVENTS_FILE
from leasekit.demo import DEMO_ADAPTERS, credit_code, seed_demo
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings

from .test_walkthrough import clean_environment, free_port, leasekit_executable

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

PARTNERS = 60
"""Partners onboarded in the burst; each is then moved once, so it has two events in order."""
WORKER = "node-1"


def _environment(root: Path, port: int) -> dict[str, str]:
    adapters = {f"LEASEKIT_ADAPTERS__{kind.upper()}": id_ for kind, id_ in DEMO_ADAPTERS.items()}
    return (
        clean_environment()
        | adapters
        | {
            "LEASEKIT_DATABASE_URL": f"sqlite:///{root / 'leasekit.db'}",
            "LEASEKIT_DATA_DIR": str(root),
            "LEASEKIT_SECRET_KEY": "k" * 32,
            "LEASEKIT_OUTBOX__WORKER_ID": WORKER,
            # Longer than the test waits: a claim the killed process held is only delivered
            # in time if the restarted process takes its own claims back at once.
            "LEASEKIT_OUTBOX__LEASE_SECONDS": "3600",
            "LEASEKIT_SERVER__PORT": str(port),
        }
    )


def _seed(root: Path) -> str:
    """The demo company in *root*; the officer's token."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in _environment(root, 8080).items():
            monkeypatch.setenv(name, value)
        runtime = build_runtime(load_settings(), create_plugin_manager(load_entrypoints=False))
        try:
            return seed_demo(runtime.services).tokens["officer"][1]
        finally:
            runtime.close()


class Server:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.root / "serve.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*leasekit_executable(), "serve"],
                cwd=self.root,
                stdout=log,
                stderr=log,
                env=_environment(self.root, self.port),
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.root / "serve.log").read_text()
            try:
                with urllib.request.urlopen(self.url("/health"), timeout=2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the server did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _post(server: Server, token: str, path: str, body: Any, key: str, **headers: str) -> Any:
    """POST *body*; the answer's JSON, or None when the server went away mid-request."""
    request = urllib.request.Request(
        server.url(path),
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _onboard(server: Server, token: str, n: int) -> bool:
    """Onboard partner *n* and move it to ``applied``; False if the server went away."""
    body = {
        "name": f"Partner {n}",
        "registration_number": credit_code(f"9144030{n:03d}MA5F0A1"),
        "credit_limit": "100000.00",
        "rating": "C",
    }
    partner = _post(server, token, "/partners", body, f"onboard-{n}")
    if partner is None:
        return False
    moved = _post(
        server,
        token,
        f"/partners/{partner['id']}/transitions",
        {"action": "apply"},
        f"apply-{n}",
        **{"If-Match": '"0"'},
    )
    return moved is not None


def _burst(server: Server, token: str, kill_after: int | None) -> list[bool]:
    """Every partner's requests, eight clients at once; SIGKILL after *kill_after* are done."""
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_onboard, server, token, n) for n in range(PARTNERS)]
        for count, _ in enumerate(as_completed(futures), start=1):
            if count == kill_after:
                server.kill()
    return [future.result() for future in futures]


def _committed_events(root: Path) -> list[tuple[str, str]]:
    """(subject id, idempotency key) of every committed event, in commit order."""
    with sqlite3.connect(root / "leasekit.db") as db:
        rows = db.execute("SELECT subject_id, idempotency_key FROM outbox ORDER BY id")
        return [(subject, key) for subject, key in rows]


def _notified(root: Path) -> list[tuple[str, str]]:
    path = root / "messages" / EVENTS_FILE
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [(line["subject_id"], line["idempotency_key"]) for line in lines]


def _wait_for_notifier(root: Path, timeout: float = 60) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notified = _notified(root)
        if len(notified) >= len(_committed_events(root)):
            return notified
        time.sleep(0.1)
    raise AssertionError("the notifier did not get every event")


def test_a_killed_server_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    token = _seed(tmp_path)
    server = Server(tmp_path)
    server.start()
    try:
        first = _burst(server, token, kill_after=PARTNERS // 4)
        assert not all(first), "the kill came after the burst; nothing was interrupted"
        server.start()
        assert all(_burst(server, token, kill_after=None)), "a retry failed after the restart"
        notified = _wait_for_notifier(tmp_path)
    finally:
        server.stop()

    committed = _committed_events(tmp_path)
    assert sorted(notified) == sorted(committed), "each event exactly once"
    for subject in {subject for subject, _ in committed}:
        in_commit_order = [key for s, key in committed if s == subject]
        assert [key for s, key in notified if s == subject] == in_commit_order, subject
    with sqlite3.connect(tmp_path / "leasekit.db") as db:
        partners = db.execute("SELECT count(*) FROM partners WHERE name LIKE 'Partner %'")
        assert partners.fetchone() == (PARTNERS,), "one partner per Idempotency-Key"
        applied = db.execute("SELECT count(*) FROM partners WHERE state = 'applied'")
        assert applied.fetchone() == (PARTNERS,)
    verified = subprocess.run(
        [*leasekit_executable(), "audit", "verify"],
        cwd=tmp_path,
        env=_environment(tmp_path, 8080),
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert os.path.getsize(tmp_path / "leasekit.db") > 0
