"""The workbench in a real browser: Debian's Chromium driven by Playwright against a real
``leasekit demo`` server, as a new user would run it.

Playwright's own browser download cannot reach its servers from CI machines, so the tests
use the system's Chromium (``.ci/run`` installs it); ``LEASEKIT_TEST_CHROMIUM`` names
another. Without one the tests are skipped on a developer's machine and fail on CI. Every
page visited is kept as a screenshot under ``test-artifacts/workbench/`` and checked with
axe-core for critical accessibility violations.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

ARTIFACTS = Path("test-artifacts") / "workbench"
_CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # The machines' network is closed: without these Chromium keeps dialling out.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_START_SECONDS = 60


def _chromium() -> str | None:
    return os.environ.get("LEASEKIT_TEST_CHROMIUM") or shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.frozen
class DemoServer:
    """A running ``leasekit demo``: where it answers, its folder and the users' tokens."""

    url: str
    folder: Path
    tokens: dict[str, str]

    def leasekit(self, *arguments: str) -> Any:
        """Run ``leasekit ARGUMENTS`` in the demo's folder, as its user would; JSON out."""
        done = subprocess.run(
            [sys.executable, "-c", "from leasekit.cli import cli; cli()", *arguments],
            cwd=self.folder, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        return json.loads(done.stdout) if done.stdout.strip().startswith("{") else done.stdout


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"leasekit demo stopped with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"leasekit demo did not answer at {url} within {_START_SECONDS} s")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    """A fresh demo company served on a free port, stopped after the test."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEASEKIT_")}
    environment["LEASEKIT_SERVER__PORT"] = str(port)
    command = [sys.executable, "-c", "from leasekit.cli import cli; cli()",
               "demo", "--tokens-file", "tokens.json"]  # fmt: skip
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        tokens = json.loads((tmp_path / "tokens.json").read_text())
        yield DemoServer(url, tmp_path, tokens)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API runs an event loop of its own in this thread while it is open:
    opened per module and closed after it, so no other test finds that loop running."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium on this CI machine: .ci/run should have installed it")
        pytest.skip("no Chromium (install Debian's chromium or set LEASEKIT_TEST_CHROMIUM)")
    launched = playwright.chromium.launch(executable_path=executable, args=_CHROMIUM_FLAGS)
    yield launched
    launched.close()


class Person:
    """One person at their own browser (a context of its own: cookies apart)."""

    def __init__(self, browser: Browser, server: DemoServer, username: str, test: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page: Page = self.context.new_page()
        self.server = server
        self.username = username
        self.shots = ARTIFACTS / test
        self._count = 0

    def sign_in(self) -> Person:
        page = self.page
        page.goto(f"{self.server.url}/workbench")
        page.get_by_label("User name").fill(self.username)
        page.get_by_label("API token").fill(self.server.tokens[self.username])
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.get_by_role("button", name="Sign in").press("Enter")
        assert "/workbench/sign-in" not in page.url, f"{self.username} was not signed in"
        return self

    def goto(self, path: str) -> Page:
        self.page.goto(f"{self.server.url}{path}")
        return self.page

    def check(self, name: str) -> Path:
        """Keep a screenshot of the page as it is (its path), and refuse critical
        accessibility violations on it."""
        self._count += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        shot = self.shots / f"{self._count:02d}-{self.username}-{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        violations = Axe().run(self.page).response["violations"]
        critical = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                    for v in violations if v["impact"] == "critical"]  # fmt: skip
        assert not critical, f"{name}: {critical}"
        return shot

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(
    browser: Browser, demo_server: DemoServer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """``person("officer")``: that demo user at a browser of their own, signed in."""
    opened: list[Person] = []

    def sign_in(username: str) -> Person:
        someone = Person(browser, demo_server, username, request.node.name)
        opened.append(someone)
        return someone.sign_in()

    yield sign_in
    for someone in opened:
        someone.close()
