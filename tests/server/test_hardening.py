"""What a hostile tester tried on the demo server, each closed: odd text, authorization order,
versions, paging, uniqueness, headers, the access log, and load that must not starve it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from leasekit.demo import DEMO_BOOK
from leasekit.server.access import AccessLogger
from leasekit.server.app import _build_app

from .test_customers import NEW_CUSTOMER
from .test_partners import NEW_PARTNER
from .test_vehicles import NEW_VEHICLE

HOSTILE = {
    "a lone surrogate": "Wang \ud800 Xiu",
    "NUL": "Wang\x00Xiu",
    "a control character": "Wang\x1bXiu",
    "a right-to-left override": "Wang \u202eXiu",
    "a line break": "Wang\nXiu",
}


def _json(body: dict[str, Any]) -> bytes:
    """JSON as a client may write it, lone surrogates escaped (valid JSON, invalid text)."""
    return json.dumps(body).encode()


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
async def test_text_that_is_not_printable_is_refused_naming_the_field(demo, text: str) -> None:
    body = _json(NEW_CUSTOMER | {"name": text})
    problem = await demo.call(
        "POST", "/customers", "sunrise", 422, data=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert [e["field"] for e in problem["errors"]] == ["name"]
    assert await demo.listing("/customers", "sunrise") == await demo.listing(
        "/customers", "sunrise"
    )
    assert len(await demo.listing("/customers", "sunrise")) == 2, "nothing was written"


async def test_an_overlong_string_is_refused_with_its_limit(demo) -> None:
    problem = await demo.call(
        "POST", "/customers", "sunrise", 422, json=NEW_CUSTOMER | {"name": "x" * 256}
    )
    assert problem["errors"] == [{"field": "name", "message": "at most 255 characters"}]
    path = f"/applications/{demo.company.applications[0].id}"
    problem = await demo.move(path, "sunrise", 422, action="cancel", reason="x" * 1_000_000)
    assert problem["errors"] == [{"field": "reason", "message": "at most 1000 characters"}]


async def test_a_reason_may_span_lines_but_a_name_may_not(demo) -> None:
    path = f"/applications/{demo.company.applications[0].id}"
    moved = await demo.move(path, "sunrise", 200, action="cancel", reason="Line one.\nLine two.")
    assert moved["state"] == "cancelled"


async def test_an_unknown_key_is_named_safely(demo) -> None:
    body = _json(NEW_CUSTOMER | {"ni\ud800ck": "x"})
    problem = await demo.call(
        "POST", "/customers", "sunrise", 422, data=body,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    [error] = problem["errors"]
    assert error["message"] == "unknown field"
    error["field"].encode("utf-8")


@pytest.mark.parametrize(
    "path", ["/customers/%00", "/customers/%ED%A0%80", "/customers/" + "a" * 65]
)
async def test_a_hostile_id_in_a_path_is_a_plain_404(demo, path: str) -> None:
    async with demo.client.get(path, headers=demo.auth("officer")) as response:
        assert response.status == 404


async def test_a_hostile_query_is_a_422(demo) -> None:
    for query in ("q=%00", "q=%E2%80%AE", "limit=1000000", "limit=-1", "after=%00"):
        async with demo.client.get(f"/customers?{query}", headers=demo.auth("officer")) as answer:
            assert answer.status == 422, query


async def test_the_role_is_checked_before_the_body(demo) -> None:
    """A dealer posting a partner learns it may not, not what its body lacks."""
    problem = await demo.call("POST", "/partners", "sunrise", 403, json={})
    assert problem["type"] == "urn:leasekit:problem:permission-denied"
    await demo.call("POST", "/users", "officer", 403, data=b"not even json")


async def test_an_unknown_action_is_malformed_not_illegal(demo) -> None:
    path = f"/applications/{demo.company.applications[0].id}"
    problem = await demo.move(path, "sunrise", 422, action="fly_to_the_moon")
    assert [e["field"] for e in problem["errors"]] == ["action"]


async def test_changes_need_the_version_they_were_decided_on(demo) -> None:
    path = f"/applications/{demo.company.applications[0].id}"
    body = {"action": "cancel", "reason": "withdrawn"}
    problem = await demo.call("POST", f"{path}/transitions", "sunrise", 428, json=body)
    assert "If-Match" in problem["detail"]
    stale = {"If-Match": '"7"'}
    problem = await demo.call(
        "POST", f"{path}/transitions", "sunrise", 412, json=body, headers=stale
    )
    assert problem["type"] == "urn:leasekit:problem:stale"
    problem = await demo.call("PUT", path, "sunrise", 412, json=demo.draft(), headers=stale)
    async with demo.client.get(path, headers=demo.auth("sunrise")) as answer:
        assert answer.headers["ETag"] == '"0"'
        assert (await answer.json())["state"] == "draft", "untouched"


CREATES = {
    "/customers": ("sunrise", NEW_CUSTOMER, "/customers/"),
    "/vehicles": ("sunrise", NEW_VEHICLE, "/vehicles/"),
    "/partners": ("officer", NEW_PARTNER, "/partners/"),
    "/me/tokens": ("officer", {"label": "phone"}, "/tokens/"),
}


@pytest.mark.parametrize("path", CREATES)
async def test_a_created_object_is_named_by_location(demo, path: str) -> None:
    user, body, prefix = CREATES[path]
    async with demo.client.post(path, json=body, headers=demo.auth(user)) as answer:
        assert answer.status == 201
        made = await answer.json()
        assert answer.headers["Location"] == f"{prefix}{made['id']}"
    await demo.call("GET", answer.headers["Location"], user, 200)


async def test_one_customer_per_id_number_and_owner_one_registered_vin(demo) -> None:
    await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    problem = await demo.call("POST", "/customers", "sunrise", 422, json=NEW_CUSTOMER)
    assert problem["errors"][0]["field"] == "id_number"
    await demo.call("POST", "/customers", "harbour", 201, json=NEW_CUSTOMER)
    created = await demo.call("POST", "/vehicles", "sunrise", 201, json=NEW_VEHICLE)
    problem = await demo.call("POST", "/vehicles", "harbour", 422, json=NEW_VEHICLE)
    assert [e["field"] for e in problem["errors"]] == ["vin"]
    await demo.move(
        f"/vehicles/{created['id']}", "officer", 200, action="release", reason="sold on"
    )
    await demo.call("POST", "/vehicles", "harbour", 201, json=NEW_VEHICLE)


async def test_a_frozen_dealer_registers_and_uploads_nothing(demo) -> None:
    sunrise = f"/partners/{demo.partner_id('Sunrise Motors')}"
    await demo.move(sunrise, "director", 200, action="freeze", reason="invoices under inquiry")
    for path, body, capability in (
        ("/customers", NEW_CUSTOMER, "create_customers"),
        ("/vehicles", NEW_VEHICLE, "register_vehicles"),
    ):
        problem = await demo.call("POST", path, "sunrise", 409, json=body)
        assert problem["type"] == "urn:leasekit:problem:partner-restricted"
        assert (problem["partner_state"], problem["capability"]) == ("frozen", capability)
        assert problem["detail"] == f"partner 'Sunrise Motors' is frozen and may not {capability}"
    customer = demo.company.applications[0].customer_id
    async with demo.client.post(
        f"/customers/{customer}/documents?kind=other&filename=a.png",
        data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        headers=demo.auth("sunrise"),
    ) as answer:
        assert answer.status == 409
        assert (await answer.json())["capability"] == "upload_documents"
    assert demo.stored_paths() == [], "nothing on disk, folders included"


async def test_pages_are_bounded_and_linked(demo) -> None:
    for n in range(5):
        body = NEW_CUSTOMER | {"id_number": _resident(n), "name": f"Customer {n}"}
        await demo.call("POST", "/customers", "sunrise", 201, json=body)
    seen: list[str] = []
    path: str | None = "/customers?limit=2"
    while path is not None:
        async with demo.client.get(path, headers=demo.auth("sunrise")) as answer:
            page = await answer.json()
            assert len(page["items"]) <= 2
            assert (page["next"] is None) == ("Link" not in answer.headers)
        seen += [customer["id"] for customer in page["items"]]
        path = page["next"]
    assert len(seen) == len(set(seen)) == 7, "the demo's two and the five new ones"
    assert seen == sorted(seen), "oldest first"
    problem = await demo.call("GET", "/customers?limit=201", "sunrise", 422)
    assert problem["errors"][0]["field"] == "limit"


async def test_paging_neither_repeats_nor_skips_while_rows_are_added(demo) -> None:
    first = await demo.call("GET", "/customers?limit=1", "officer", 200)
    body = NEW_CUSTOMER | {"id_number": _resident(9)}
    added = await demo.call("POST", "/customers", "sunrise", 201, json=body)
    rest: list[str] = []
    path = first["next"]
    while path is not None:
        page = await demo.call("GET", path, "officer", 200)
        rest += [customer["id"] for customer in page["items"]]
        path = page["next"]
    everything = [c["id"] for c in first["items"]] + rest
    # The demo's two customers, the book's, and the one added while paging.
    assert len(everything) == len(set(everything)) == 3 + len(DEMO_BOOK)
    assert everything[-1] == added["id"]


def _resident(n: int) -> str:
    from leasekit.demo import resident_id

    return resident_id(f"11010519900101{n:03d}")


async def test_every_answer_names_its_request(demo) -> None:
    async with demo.client.get("/health") as answer:
        assert len(answer.headers["X-Request-Id"]) == 32
    mine = {"X-Request-Id": "support-ticket-4711"}
    async with demo.client.get("/nowhere", headers=mine) as answer:
        assert answer.status == 404
        assert answer.headers["X-Request-Id"] == "support-ticket-4711"
    forged = {"X-Request-Id": "<script>" + "x" * 100}
    async with demo.client.get("/health", headers=forged) as answer:
        assert answer.headers["X-Request-Id"] != forged["X-Request-Id"]


async def test_the_access_log_has_a_line_per_request_and_no_secret(
    aiohttp_client: Any, settings: Any, runtime: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(_build_app(settings, lambda: runtime))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    answer = await client.get(
        "/me?id_number=11010519491231002X",
        headers={"Authorization": "Bearer officer-token", "X-Request-Id": "req-00000001"},
    )
    assert answer.status == 200
    await asyncio.sleep(0)
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    method, path, status, duration, user, request = line.split()
    assert (method, path, status, user, request) == (
        "GET", "/me", "200", "user=u-officer", "request=req-00000001",
    )  # fmt: skip
    assert duration.endswith("ms")
    assert "officer-token" not in line
    assert "11010519491231002X" not in line


def _slow_routes(release: asyncio.Event) -> web.RouteTableDef:
    from leasekit.server.routes.helpers import run_sync

    routes = web.RouteTableDef()

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        waited = loop.create_future()

        def block() -> None:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(30)

        await run_sync(request, block)
        waited.cancel()
        return web.json_response({})

    return routes


async def test_a_full_queue_sheds_load_and_health_still_answers(
    make_client: Any, settings: Any
) -> None:
    release = asyncio.Event()
    tight = settings.model_copy(
        update={"server": settings.server.model_copy(update={"max_queued": 1})}
    )
    client = await make_client(_slow_routes(release), settings=tight)
    auth = {"Authorization": "Bearer officer-token"}
    busy = [asyncio.create_task(client.get("/slow", headers=auth)) for _ in range(3)]
    await asyncio.sleep(0.2)
    shed = await client.get("/slow", headers=auth)
    assert shed.status == 503
    assert shed.headers["Retry-After"] == "1"
    health = await client.get("/health")
    assert health.status == 200, "the health check has a thread of its own"
    release.set()
    answers = [await task for task in busy]
    assert [answer.status for answer in answers] == [200, 200, 200], (
        "two threads and one place in the queue"
    )


@pytest.mark.parametrize("limit", ["³", "٣", "0", "-1", "1e2", "9999"])
async def test_a_limit_is_ascii_digits_in_range(demo, limit: str) -> None:
    problem = await demo.call("GET", "/customers", "officer", 422, params={"limit": limit})
    assert problem["errors"][0]["field"] == "limit"


async def test_a_delivery_cursor_that_is_not_one_is_refused(demo) -> None:
    problem = await demo.call("GET", "/events/deliveries?after=abc", "admin", 422)
    assert problem["errors"][0]["field"] == "after"
