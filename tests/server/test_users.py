"""Users and credentials over HTTP: accounts are the administrator's, credentials their own.

Each step by which an administrator could once act as somebody else is closed here: there is
no route that makes a token for another user, a new user's first token comes from a secret
sent to the user, ``system`` accounts are not made over HTTP, and a revoked token or a
disabled user fails on the very next request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from leasekit.server.app import API
from leasekit.server.keys import RUNTIME_KEY
from leasekit.services.users import IssuedToken


async def test_me_says_who_the_token_belongs_to_and_which_token_it_is(demo) -> None:
    me = await demo.call("GET", "/me", "sunrise", 200)
    assert me.pop("token_id").isalnum()
    assert me == {
        "user_id": demo.user("sunrise").id,
        "role": "dealer_user",
        "partner_id": demo.partner_id("Sunrise Motors"),
    }
    officer = await demo.call("GET", "/me", "officer", 200)
    assert (officer["role"], officer["partner_id"]) == ("officer", None)


def test_no_route_but_enrolment_and_ones_own_makes_a_token() -> None:
    issuing = sorted(
        f"{op.method} {op.openapi_path}"
        for group in API
        for op in group.operations
        if any(reply.body is IssuedToken for reply in op.responses.values())
    )
    assert issuing == ["POST /enrolments", "POST /me/tokens"]


async def _delivered(demo: Any) -> None:
    runtime = demo.client.app[RUNTIME_KEY]
    assert await asyncio.to_thread(runtime.wait_for_delivery, 30)


def _secret_in(messages: Path, recipient: str) -> str:
    [message] = [p.read_text() for p in messages.glob("*.txt") if recipient in p.read_text()]
    return next(word for word in message.split() if word.startswith("lke_"))


async def test_a_new_user_enrols_with_the_secret_sent_to_it(demo, tmp_path: Path) -> None:
    body = {
        "username": "harbour2",
        "display_name": "Harbour Auto finance desk",
        "role": "dealer_user",
        "partner_id": demo.partner_id("Harbour Auto"),
        "email": "finance@harbour.example",
    }
    user = await demo.call("POST", "/users", "admin", 201, json=body)
    assert (user["username"], user["role"], user["state"]) == ("harbour2", "dealer_user", "active")
    assert not {"token", "token_hash", "secret"} & set(user), "nothing the admin could use"
    listed = await demo.listing("/users", "admin")
    assert user in listed
    assert len(listed) == 11, "the demo's nine users, the system account and the new one"
    await _delivered(demo)
    secret = _secret_in(tmp_path / "messages", "finance@harbour.example")
    async with demo.client.post("/enrolments", json={"secret": secret, "label": "desk"}) as answer:
        assert answer.status == 201
        assert answer.headers["Cache-Control"] == "no-store"
        issued = await answer.json()
    assert set(issued) == {"id", "token"}
    me = await demo.client.get("/me", headers={"Authorization": f"Bearer {issued['token']}"})
    assert (await me.json())["user_id"] == user["id"]
    again = await demo.client.post("/enrolments", json={"secret": secret})
    assert again.status == 401, "a secret works once"


async def test_system_accounts_are_not_made_over_http(demo) -> None:
    body = {"username": "robot", "display_name": "Robot", "role": "system"}
    problem = await demo.call("POST", "/users", "admin", 422, json=body)
    assert [e["field"] for e in problem["errors"]] == ["role"]


async def test_users_issue_and_revoke_their_own_tokens(demo) -> None:
    issued = await demo.call("POST", "/me/tokens", "officer", 201, json={"label": "phone"})
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert (await demo.client.get("/me", headers=headers)).status == 200
    mine = await demo.call("GET", "/me/tokens", "officer", 200)
    assert [t["label"] for t in mine] == ["demo", "phone"]
    assert all("token" not in t and "token_hash" not in t for t in mine)
    await demo.call("DELETE", f"/tokens/{issued['id']}", "manager", 404)
    revoked = await demo.call("DELETE", f"/tokens/{issued['id']}", "officer", 200)
    assert revoked["revoked_at"] is not None
    assert (await demo.client.get("/me", headers=headers)).status == 401, "at once"
    await demo.call("DELETE", f"/tokens/{issued['id']}", "officer", 409)


async def test_disabling_a_user_stops_every_token_on_the_next_request(demo) -> None:
    extra = await demo.call("POST", "/me/tokens", "officer", 201, json={"label": "laptop"})
    path = f"/users/{demo.user('officer').id}"
    version = await demo.etag(path, "admin")
    body = {"action": "disable", "reason": "left the company"}
    disabled = await demo.call(
        "POST", f"{path}/transitions", "admin", 200, json=body, headers={"If-Match": version}
    )
    assert disabled["state"] == "disabled"
    for token in (demo.token("officer"), extra["token"]):
        answer = await demo.client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 401
    tokens = await demo.call("GET", f"{path}/tokens", "admin", 200)
    assert all(t["revoked_at"] is not None for t in tokens)


async def test_an_administrator_revokes_but_never_uses_anothers_token(demo) -> None:
    officer = demo.user("officer").id
    [token] = await demo.call("GET", f"/users/{officer}/tokens", "admin", 200)
    assert set(token) == {"id", "user_id", "label", "created_at", "revoked_at"}
    await demo.call("GET", f"/tokens/{token['id']}", "admin", 200)
    await demo.call("DELETE", f"/tokens/{token['id']}", "admin", 200)
    answer = await demo.client.get("/me", headers=demo.auth("officer"))
    assert answer.status == 401
    await demo.call("POST", f"/users/{officer}/tokens", "admin", 405)


async def test_only_administrators_manage_users(demo) -> None:
    body = {"username": "mallory", "display_name": "Mallory", "role": "admin"}
    for username in ("sunrise", "director"):
        await demo.call("POST", "/users", username, 403, json=body)
        await demo.call("GET", "/users", username, 403)
        await demo.call("POST", f"/users/{demo.user('officer').id}/enrolment", username, 403)


async def test_user_input_is_checked(demo) -> None:
    body = {"username": "Bad Name", "display_name": " ", "role": "dealer_user"}
    problem = await demo.call("POST", "/users", "admin", 422, json=body)
    assert {e["field"] for e in problem["errors"]} == {"username", "display_name", "partner_id"}
    problem = await demo.call(
        "POST", "/users", "admin", 422, json={"username": "x1", "display_name": "X", "role": "god"}
    )
    assert [e["field"] for e in problem["errors"]] == ["role"]
    body = {"username": "sunrise", "display_name": "Again", "role": "officer"}
    problem = await demo.call("POST", "/users", "admin", 422, json=body)
    assert problem["errors"][0] == {"field": "username", "message": "'sunrise' is already taken"}
    body = {"username": "x2", "display_name": "X", "role": "officer", "email": "not an address"}
    problem = await demo.call("POST", "/users", "admin", 422, json=body)
    assert [e["field"] for e in problem["errors"]] == ["email"]
