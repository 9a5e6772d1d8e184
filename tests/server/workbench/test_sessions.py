"""Signing in and out of the workbench: the session cookie, CSRF, idle expiry, and that a
session is only ever its own person's."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from leasekit.server.keys import RUNTIME_KEY
from leasekit.server.workbench.session import COOKIE
from leasekit.services import approvals, users
from leasekit.store.database import create_engine
from leasekit.store.identity import SignInRow


async def test_a_page_without_a_session_sends_to_sign_in_and_back(demo: Any) -> None:
    async with demo.client.get("/workbench/queue?tier=officer", allow_redirects=False) as r:
        assert r.status == 303
        location = urlsplit(r.headers["Location"])
    assert location.path == "/workbench/sign-in"
    assert parse_qs(location.query) == {"next": ["/workbench/queue?tier=officer"]}


async def test_signing_in_sets_a_strict_http_only_cookie_and_goes_where_asked(demo: Any) -> None:
    data = {"username": "officer", "token": demo.token("officer"), "next": "/workbench/partners"}
    async with demo.client.post("/workbench/sign-in", data=data, allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == "/workbench/partners"
        cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/workbench" in cookie
    assert demo.token("officer") not in r.headers["Location"]


async def test_a_sign_in_never_sends_the_person_to_another_site(demo: Any) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/workbench/..//evil", "/\\evil"):
        data = {"username": "officer", "token": demo.token("officer"), "next": target}
        async with demo.client.post("/workbench/sign-in", data=data, allow_redirects=False) as r:
            assert r.headers["Location"] == "/workbench/queue", target
        demo.client.session.cookie_jar.clear()


async def test_someone_elses_token_or_a_wrong_one_signs_nobody_in(demo: Any) -> None:
    for username, token in (("manager", demo.token("officer")), ("officer", "lk_nothing")):
        data = {"username": username, "token": token}
        async with demo.client.post("/workbench/sign-in", data=data, allow_redirects=False) as r:
            assert r.status == 401
            assert COOKIE not in r.cookies
            assert "unknown user name or token" in await r.text()


async def test_a_sign_in_form_from_another_site_is_refused(demo: Any) -> None:
    data = {"username": "officer", "token": demo.token("officer")}
    headers = {"Origin": "https://evil.example"}
    async with demo.client.post(
        "/workbench/sign-in", data=data, headers=headers, allow_redirects=False
    ) as r:
        assert r.status == 403
        assert COOKIE not in r.cookies


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(desk: Any) -> None:
    officer = await desk("officer")
    for fields in ({}, {"csrf": "0" * 64}):
        status, body, _ = await officer.post(
            "/workbench/language",
            {"language": "zh", "back": "/workbench/queue", **fields},
            csrf=False,
        )
        assert status == 403, body
    assert 'lang="en"' in await officer.page("/workbench/queue")


async def test_another_sessions_csrf_token_is_refused(desk: Any) -> None:
    officer, manager = await desk("officer"), await desk("manager")
    status, _, _ = await officer.post(
        "/workbench/language", {"language": "zh", "csrf": manager.csrf}, csrf=False
    )
    assert status == 403


async def test_the_language_follows_the_session(desk: Any) -> None:
    officer = await desk("officer")
    page = await officer.submit(
        "/workbench/language", {"language": "zh", "back": "/workbench/queue"}
    )
    assert 'lang="zh"' in page
    assert "我的队列" in page


async def test_signing_out_ends_the_session_on_the_server(desk: Any) -> None:
    officer = await desk("officer")
    status, _, headers = await officer.post("/workbench/sign-out", {})
    assert status == 303
    assert headers["Location"] == "/workbench/sign-in"
    status, _, headers = await officer.get("/workbench/queue")
    assert status == 303
    assert headers["Location"].startswith("/workbench/sign-in?")
    assert "expired=1" in headers["Location"]


async def test_an_idle_session_ends(desk: Any, demo: Any) -> None:
    officer = await desk("officer")
    engine = create_engine(demo.database_url)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    with engine.begin() as connection:
        connection.execute(sa.update(SignInRow).values(last_seen_at=long_ago))
    engine.dispose()
    status, _, headers = await officer.get("/workbench/queue")
    assert status == 303
    assert "expired=1" in headers["Location"]


async def test_revoking_the_token_ends_its_sessions(desk: Any, demo: Any) -> None:
    officer = await desk("officer")
    for token in await demo.call("GET", "/me/tokens", "officer", 200):
        await demo.call("DELETE", f"/tokens/{token['id']}", "officer", 200)
    status, _, _ = await officer.get("/workbench/queue")
    assert status == 303


async def test_the_api_does_not_take_a_session_cookie(desk: Any, demo: Any) -> None:
    officer = await desk("officer")
    async with demo.client.get(
        "/applications", headers={"Cookie": f"{COOKIE}={officer.cookie}"}
    ) as r:
        assert r.status == 401


async def test_pages_forbid_inline_script_and_foreign_frames(desk: Any) -> None:
    officer = await desk("officer")
    _, _, headers = await officer.get("/workbench/queue")
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["Cache-Control"] == "no-store"


async def test_hostile_sign_in_fields_are_refused_cleanly(demo: Any) -> None:
    bodies = [
        {"username": "officer\x00", "token": demo.token("officer")},
        {"username": "<script>alert(1)</script>", "token": "x" * 100_000},
        {"username": "\u202eofficer", "token": "\x07\x1b[31m"},
    ]
    for data in bodies:
        async with demo.client.post("/workbench/sign-in", data=data, allow_redirects=False) as r:
            body = await r.text()
            assert r.status == 401, body
            assert "<script>alert(1)</script>" not in body
            assert COOKIE not in r.cookies


async def test_a_sign_in_form_that_is_not_utf8_or_too_large_gets_a_4xx(demo: Any) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for raw in (b"username=%ED%A0%80&token=%FF%FE", b"username=" + b"a" * 2_000_000):
        async with demo.client.post(
            "/workbench/sign-in", data=io.BytesIO(raw), headers=headers, allow_redirects=False
        ) as r:
            assert 400 <= r.status < 500, await r.text()


async def test_an_unexpected_error_is_a_page_with_its_logged_reference(
    desk: Any, monkeypatch: Any, caplog: Any
) -> None:
    officer = await desk("officer")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(approvals, "list_approval_tasks", broken)
    status, body, headers = await officer.get("/workbench/queue")
    assert status == 500
    assert headers["Content-Type"].startswith("text/html")
    assert "secret internals" not in body
    reference = re.search(r"<code>(urn:uuid:[0-9a-f-]+)</code>", body)
    assert reference is not None
    assert reference.group(1) in caplog.text


async def test_an_automated_account_does_not_sign_in_to_the_workbench(demo: Any) -> None:
    ctx = demo.client.app[RUNTIME_KEY].services
    _, token = users.create_system_account(ctx, "bank-callback", "Bank callback")
    data = {"username": "bank-callback", "token": token}
    async with demo.client.post("/workbench/sign-in", data=data, allow_redirects=False) as r:
        assert r.status == 401
        assert COOKIE not in r.cookies
        assert "automated accounts" in await r.text()
