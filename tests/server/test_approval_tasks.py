"""``/approval-tasks`` on the running demo server: the submitted application waits as an
officer-tier task once pre-approval has passed it; claims exclude, concurrent claims leave
one holder, decisions move the application, and dealers see no queue."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Demo
from .test_blacklist import eventually, settled


async def open_task(demo: Demo) -> str:
    """The path of the demo's submitted application's task, once the workflow opened it."""
    (task,) = await eventually(demo, "/approval-tasks?state=open", 1)
    await settled(demo)
    return f"/approval-tasks/{task['id']}"


async def claim(demo: Demo, path: str, user: str, expect: int = 200) -> Any:
    return await demo.move(path, user, expect, action="claim")


async def test_the_submitted_application_waits_for_an_officer(served: Demo) -> None:
    path = await open_task(served)
    view = await served.call("GET", path, "officer", 200)
    application = view["application"]
    assert (view["task"]["tier"], view["task"]["state"], application["state"]) == (
        "officer", "open", "in_review",
    )  # fmt: skip
    assert view["pre_approval"]["outcome"] == "pass"
    assert "pre_approval_pass" in view["task"]["tags"]
    claimed = await claim(served, path, "officer")
    assert claimed["locked_by"] == served.user("officer").id
    assert claimed["lock_expires_at"] is not None
    await claim(served, path, "manager", 403)
    decided = await served.move(path, "officer", 200, action="decide", decision="approve")
    assert (decided["state"], decided["decision"]) == ("decided", "approve")
    app = await served.call("GET", f"/applications/{application['id']}", "sunrise", 200)
    assert app["state"] == "approved"


async def test_concurrent_claims_leave_one_holder(served: Demo) -> None:
    path = await open_task(served)
    etag = await served.etag(path)
    users = ("officer", "manager", "director")

    async def attempt(user: str) -> int:
        headers = served.auth(user) | {"If-Match": etag}
        async with served.client.post(
            f"{path}/transitions", json={"action": "claim"}, headers=headers
        ) as response:
            return response.status

    statuses = await asyncio.gather(*(attempt(user) for user in users))
    assert sorted(statuses).count(200) == 1, statuses
    assert set(statuses) <= {200, 403, 409, 412}, statuses
    view = await served.call("GET", path, "officer", 200)
    winner = users[statuses.index(200)]
    assert view["task"]["locked_by"] == served.user(winner).id


async def test_decisions_are_made_on_the_task_only(served: Demo) -> None:
    path = await open_task(served)
    view = await served.call("GET", path, "officer", 200)
    application = f"/applications/{view['application']['id']}"
    problem = await served.move(application, "director", 409, action="approve")
    assert "approval task" in problem["detail"]


async def test_dealers_see_no_queue_and_move_no_task(served: Demo) -> None:
    path = await open_task(served)
    await served.call("GET", "/approval-tasks", "sunrise", 403)
    await served.call("GET", path, "sunrise", 403)
    await served.call(
        "POST", f"{path}/transitions", "sunrise", 403, json={"action": "claim"},
        headers={"If-Match": '"0"'},
    )  # fmt: skip


async def test_tags_filter_the_queue(served: Demo) -> None:
    path = await open_task(served)
    headers = {"If-Match": await served.etag(path)}
    tagged = await served.call(
        "PUT", f"{path}/tags", "officer", 200, json={"add": ["vip"]}, headers=headers
    )
    assert "vip" in tagged["tags"]
    assert len(await served.listing("/approval-tasks?tag=vip", "officer")) == 1
    assert await served.listing("/approval-tasks?tag=vi", "officer") == []
