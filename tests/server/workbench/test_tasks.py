"""The approval task's page: what a reviewer decides on, and its forms doing what the API
does (claim, tag, escalate, reassign, decide with conditions), a stale page refused with the
API's 412, dealers kept out, and hostile text shown as text or refused, never a 500."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from leasekit.errors import PermissionDeniedError
from leasekit.server.keys import RUNTIME_KEY
from leasekit.server.workbench.session import COOKIE
from leasekit.services import approvals
from leasekit.testing.photos import sample_face_photo

from .conftest import Desk

if TYPE_CHECKING:
    from tests.server.conftest import Demo

_VERSION = re.compile(r'name="version" value="(\d+)"')
_BACK = re.compile(r'name="back" value="([^"]*)"')
_SCRIPT = "<script>alert(1)</script>"


async def open_task(demo: Demo) -> str:
    """The workbench path of the demo's open approval task."""
    (task,) = await demo.listing("/approval-tasks?state=open", "officer")
    return f"/workbench/tasks/{task['id']}"


def api_path(path: str) -> str:
    return path.replace("/workbench/tasks/", "/approval-tasks/")


async def form(desk: Desk, path: str, target: str, **fields: str) -> dict[str, str]:
    """The hidden fields of the task page's form at *target* (the version, the way back)
    as the page is now, with *fields* filled in."""
    page = await desk.page(path)
    start = page.index(f'action="{path}/{target}"')
    version = _VERSION.search(page, start)
    back = _BACK.search(page, start)
    assert version is not None, "the form carries the task's version"
    assert back is not None, "the form carries the way back"
    return {"version": version.group(1), "back": back.group(1), **fields} | {"_target": target}


async def send(desk: Desk, path: str, target: str, **fields: str) -> str:
    """Fill the task page's form at *target* and submit it; the page it leads to."""
    data = await form(desk, path, target, **fields)
    return await desk.submit(f"{path}/{data.pop('_target')}", data)


async def refused(desk: Desk, path: str, target: str, expect: int, **fields: str) -> str:
    data = await form(desk, path, target, **fields)
    status, body, _ = await desk.post(f"{path}/{data.pop('_target')}", data)
    assert status == expect, body[:2000]
    return body


async def view(demo: Demo, path: str) -> Any:
    return await demo.call("GET", api_path(path), "officer", 200)


async def test_an_officer_claims_reads_the_masked_bureau_report_tags_and_escalates(
    demo: Demo, desk: Any
) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    application = (await view(demo, path))["application"]
    customer = await demo.call("GET", f"/customers/{application['customer_id']}", "officer", 200)
    page = await send(officer, path, "moves", action="claim")
    assert "Task claimed." in page
    assert "Credit bureau report" in page
    assert customer["id_number"] not in page
    assert customer["id_number"][-4:] in page
    page = await send(officer, path, "tags", add="used_vehicle")
    assert "Tags changed." in page
    assert "Task claimed." not in page, "the notice is the last form's"
    page = await send(officer, path, "moves", action="escalate", reason="above my comfort")
    assert "Task escalated to the next tier." in page
    task = (await view(demo, path))["task"]
    assert (task["state"], task["reason"]) == ("escalated", "above my comfort")
    assert "used_vehicle" in task["tags"]
    tiers = {t["tier"] for t in await demo.listing("/approval-tasks?state=open", "officer")}
    assert tiers == {"manager"}


async def test_a_manager_reassigns_the_task(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    manager = await desk("manager")
    officer_id = demo.user("officer").id
    offered = await manager.page(path)
    assert f'<option value="{officer_id}">Li Na (credit officer) (officer)</option>' in offered
    assert demo.user("manager").id not in offered.split('id="reassign-assignee"')[1][:2000]
    page = await send(manager, path, "moves", action="reassign", assignee=officer_id)
    assert "Task reassigned." in page
    assert (await view(demo, path))["task"]["assignee"] == officer_id


async def test_only_senior_reviewers_list_whom_a_task_may_go_to(demo: Demo) -> None:
    path = await open_task(demo)
    task_id = path.rsplit("/", 1)[1]
    ctx = demo.client.app[RUNTIME_KEY].services
    with pytest.raises(PermissionDeniedError):
        approvals.reviewers_for(ctx, demo.user("officer").actor(), task_id)
    names = [
        r.display_name for r in approvals.reviewers_for(ctx, demo.user("director").actor(), task_id)
    ]
    assert names == ["Wang Fang (credit manager)", "Li Na (credit officer)"]


async def test_a_director_approves_with_conditions(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    director = await desk("director")
    await send(director, path, "moves", action="claim")
    page = await send(
        director, path, "moves", action="decide", decision="approve_with_conditions",
        down_payment="60000.00", reason="a larger down payment",
    )  # fmt: skip
    assert "Decision recorded." in page
    case = await view(demo, path)
    assert case["task"]["decision"] == "approve_with_conditions"
    assert case["task"]["conditions"] == {"down_payment": "60000.00"}
    assert case["application"]["state"] == "approved"
    assert case["application"]["conditions"]["down_payment"] == "60000.00"


async def test_a_stale_page_is_refused_and_changes_nothing(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    stale = await form(officer, path, "tags", add="late")
    await send(officer, path, "moves", action="claim")
    stale.pop("_target")
    status, body, _ = await officer.post(f"{path}/tags", stale)
    assert status == 412, body[:2000]
    assert "Changed since the version named" in body
    assert "late" not in (await view(demo, path))["task"]["tags"]
    held = await view(demo, path)
    status, body, _ = await (await desk("director")).post(
        f"{path}/moves", {"action": "release", "version": stale["version"], "back": path}
    )
    assert status == 412, body[:2000]
    assert await view(demo, path) == held


async def test_a_dealer_gets_no_task_page(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    sunrise = await desk("sunrise")
    status, body, _ = await sunrise.get(path)
    assert status in {403, 404}, body[:2000]
    assert "<h1>" in body


async def fetch(person: Desk, path: str) -> tuple[int, str, bytes]:
    """Status, type and bytes of a file, read with the person's session."""
    headers = {"Cookie": f"{COOKIE}={person.cookie}"}
    async with person.client.get(path, headers=headers, allow_redirects=False) as response:
        body = await response.read()
        kind = response.headers.get("Content-Type", "")
    person.client.session.cookie_jar.clear()
    return response.status, kind, body


async def test_documents_show_as_images_to_those_who_may_see_them(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    application = (await view(demo, path))["application"]["id"]
    photo = sample_face_photo()
    params = {"kind": "face_photo", "filename": "signing.jpg"}
    document = await demo.call("POST", f"/applications/{application}/documents", "sunrise", 201,
                                params=params, data=photo)  # fmt: skip
    file = f"/workbench/documents/{document['id']}/file"
    page = await (await desk("officer")).page(path)
    assert f'<img src="{file}"' in page
    assert await fetch(await desk("sunrise"), file) == (200, "image/jpeg", photo)
    status, _, _ = await fetch(await desk("harbour"), file)
    assert status == 404


async def test_hostile_text_is_shown_as_text(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    await send(officer, path, "moves", action="claim")
    page = await send(officer, path, "tags", add=_SCRIPT)
    assert _SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = await send(officer, path, "moves", action="decide", decision="reject", reason=_SCRIPT)
    assert _SCRIPT not in page
    assert "&lt;script&gt;" in page


async def test_hostile_text_is_refused_with_a_page(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    await send(officer, path, "moves", action="claim")
    for target, fields in [
        ("tags", {"add": "bad\x00tag"}),
        ("tags", {"add": "x" * 10_000}),
        ("moves", {"action": "escalate", "reason": "why\x00not"}),
        ("moves", {"action": "escalate", "reason": "y" * 10_000}),
        ("moves", {"action": "decide", "decision": _SCRIPT, "reason": "no"}),
        ("moves", {"action": _SCRIPT}),
    ]:
        body = await refused(officer, path, target, 422, **fields)
        assert _SCRIPT not in body
    task = (await view(demo, path))["task"]
    assert (task["state"], task["tags"], task["reason"]) == (
        "claimed", ["finance_lease", "pre_approval_pass"], None,
    )  # fmt: skip


async def test_the_task_page_speaks_chinese(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    await officer.page(path)
    page = await officer.submit("/workbench/language", {"language": "zh", "back": path})
    assert "征信报告" in page
    assert "认领" in page


async def test_a_version_that_is_not_a_plain_number_is_refused(demo: Demo, desk: Any) -> None:
    path = await open_task(demo)
    officer = await desk("officer")
    for version in ("³", "1e3", "", "9" * 40):
        body = await refused(officer, path, "moves", 422, action="claim", version=version)
        assert "version" in body
    assert (await view(demo, path))["task"]["state"] == "open"
