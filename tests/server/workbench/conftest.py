"""The workbench on the demo app: people signed in with their own sessions, pages read as
HTML and forms posted with their CSRF token, as a browser would."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient

from leasekit.server.workbench.session import COOKIE

if TYPE_CHECKING:
    from tests.server.conftest import Demo

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


class Desk:
    """One person's browser: their session cookie and the CSRF token of the last page."""

    def __init__(self, demo: Demo, username: str) -> None:
        self.demo = demo
        self.client: TestClient[Any, Any] = demo.client
        self.username = username
        self.cookie = ""
        self.csrf = ""

    async def sign_in(self) -> Desk:
        data = {"username": self.username, "token": self.demo.token(self.username)}
        async with self.client.post(
            "/workbench/sign-in", data=data, allow_redirects=False
        ) as response:
            assert response.status == 303, await response.text()
            self.cookie = response.cookies[COOKIE].value
        self.client.session.cookie_jar.clear()
        status, _, headers = await self.get("/workbench")
        assert status == 303, f"{self.username} has no first page"
        await self.page(headers["Location"])
        return self

    def _headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        """Status, body and headers of *path*, redirects not followed."""
        async with self.client.get(
            path, headers=self._headers(), allow_redirects=False
        ) as response:
            body = await response.text()
            headers = dict(response.headers)
        self.client.session.cookie_jar.clear()
        found = _CSRF.search(body)
        if found:
            self.csrf = found.group(1)
        return response.status, body, headers

    async def page(self, path: str, expect: int = 200) -> str:
        status, body, _ = await self.get(path)
        assert status == expect, f"GET {path}: {status} {body[:2000]}"
        return body

    async def post(
        self, path: str, data: dict[str, Any] | list[tuple[str, str]], *, csrf: bool = True
    ) -> tuple[int, str, dict[str, str]]:
        """A form post with this page's CSRF token (unless *csrf* is False)."""
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            fields.append(("csrf", self.csrf))
        async with self.client.post(
            path, data=fields, headers=self._headers(), allow_redirects=False
        ) as response:
            body = await response.text()
            headers = dict(response.headers)
        self.client.session.cookie_jar.clear()
        return response.status, body, headers

    async def submit(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> str:
        """Post a form that must succeed (303), and read the page it leads to."""
        status, body, headers = await self.post(path, data)
        assert status == 303, f"POST {path}: {status} {body[:2000]}"
        return await self.page(headers["Location"])


@pytest.fixture
def desk(demo: Demo) -> Any:
    """``await desk("officer")``: that demo user signed in to the workbench."""

    async def sign_in(username: str) -> Desk:
        return await Desk(demo, username).sign_in()

    return sign_in
