"""``/users`` and ``/me`` over HTTP: accounts are the administrator's, tokens are shown once."""

from __future__ import annotations


async def test_me_says_who_the_token_belongs_to(demo) -> None:
    me = await demo.call("GET", "/me", "sunrise", 200)
    assert me == {
        "user_id": demo.user("sunrise").id,
        "role": "dealer_user",
        "partner_id": demo.partner_id("Sunrise Motors"),
    }
    officer = await demo.call("GET", "/me", "officer", 200)
    assert (officer["role"], officer["partner_id"]) == ("officer", None)


async def test_an_administrator_creates_a_user_and_issues_its_first_token(demo) -> None:
    body = {
        "username": "harbour2",
        "display_name": "Harbour Auto finance desk",
        "role": "dealer_user",
        "partner_id": demo.partner_id("Harbour Auto"),
    }
    user = await demo.call("POST", "/users", "admin", 201, json=body)
    assert (user["username"], user["role"], user["active"]) == ("harbour2", "dealer_user", True)
    assert not {"token", "token_hash"} & set(user), "a user record carries no token"
    listed = await demo.call("GET", "/users", "admin", 200)
    assert user in listed
    assert len(listed) == 10, "the demo's nine users and the new one"

    async with demo.client.post(
        f"/users/{user['id']}/tokens", headers=demo.auth("admin")
    ) as response:
        assert response.status == 201
        assert response.headers["Cache-Control"] == "no-store"
        issued = await response.json()
    assert set(issued) == {"token"}
    assert issued["token"].startswith("lk_")
    async with demo.client.get(
        "/me", headers={"Authorization": f"Bearer {issued['token']}"}
    ) as response:
        assert (await response.json())["user_id"] == user["id"]


async def test_users_issue_their_own_tokens_but_nobody_elses(demo) -> None:
    own = demo.user("officer").id
    assert (await demo.call("POST", f"/users/{own}/tokens", "officer", 201))["token"]
    other = demo.user("manager").id
    problem = await demo.call("POST", f"/users/{other}/tokens", "officer", 403)
    assert problem["type"] == "urn:leasekit:problem:permission-denied"
    await demo.call("POST", "/users/nosuchuser/tokens", "admin", 404)


async def test_only_administrators_manage_users(demo) -> None:
    body = {"username": "mallory", "display_name": "Mallory", "role": "admin"}
    for username in ("sunrise", "director"):
        await demo.call("POST", "/users", username, 403, json=body)
        await demo.call("GET", "/users", username, 403)


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
