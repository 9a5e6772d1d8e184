"""The close of business over HTTP, on the demo company: an administrator starts it, the
server runs it in the background, the progress reaches ``closed`` and the business date
moves; nobody else may start it, dealers may not read it, two starts at once make one close,
and a close that failed resumes when started again."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from yarl import URL

from leasekit.errors import AdapterError
from leasekit.server.keys import CLOSER_KEY
from leasekit.services import partner_monitoring
from leasekit.store.database import create_engine

from .conftest import Demo
from .test_hostile_input import ODD_TEXT


async def _today(demo: Demo) -> date:
    day = await demo.call("GET", "/end-of-day", "officer", 200)
    return date.fromisoformat(day["business_date"])


async def settled_close(demo: Demo, path: str) -> Any:
    """The close at *path* once the server's background close has ended (closed, or stopped
    by a failure)."""
    for _ in range(600):
        progress = await demo.call("GET", path, "officer", 200)
        if progress["state"] == "closed" or not _running(demo):
            return await demo.call("GET", path, "officer", 200)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the close at {path} did not settle: {progress}")


def _running(demo: Demo) -> bool:
    return bool(demo.client.app[CLOSER_KEY].running)


def _close_starts(demo: Demo) -> int:
    """How many starts of a close the audit log holds."""
    engine = create_engine(demo.database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    sa.text("SELECT count(*) FROM audit_log WHERE action = :action"),
                    {"action": "business_day_close_started"},
                )
            )
    finally:
        engine.dispose()


async def _start(demo: Demo, as_: str = "admin", expect: int = 202, **body: Any) -> Any:
    async with demo.client.post("/end-of-day/close", json=body, headers=demo.auth(as_)) as answer:
        text = await answer.text()
        assert answer.status == expect, text
        return await answer.json(), answer.headers.get("Location")


async def test_an_admin_closes_the_day_and_the_business_date_moves(demo: Demo) -> None:
    today = await _today(demo)
    before = await demo.call("GET", "/end-of-day", "officer", 200)
    assert before["newest_close"] is None
    started, location = await _start(demo)
    assert location == f"/end-of-day/closes/{today.isoformat()}"
    assert started["business_date"] == today.isoformat()
    assert [step["name"] for step in started["steps"]][:5] == [
        "receivables", "interest", "expiries", "partners", "debit_runs",
    ]  # fmt: skip
    closed = await settled_close(demo, location)
    assert closed["state"] == "closed"
    assert all(step["done"] == step["total"] >= 1 for step in closed["steps"])
    assert set(closed["summary"]) >= {
        "receivables",
        "interest",
        "expiries",
        "partners",
        "debit_runs",
    }
    after = await demo.call("GET", "/end-of-day", "officer", 200)
    assert after["business_date"] == (today + timedelta(days=1)).isoformat()
    assert after["newest_close"] == closed
    assert _close_starts(demo) == 1


async def test_only_an_admin_may_start_the_close(demo: Demo) -> None:
    for user in ("officer", "director", "finance", "sunrise"):
        problem, _ = await _start(demo, user, 403)
        assert problem["status"] == 403
    assert _close_starts(demo) == 0
    assert (await demo.call("GET", "/end-of-day", "officer", 200))["newest_close"] is None


async def test_a_dealer_reads_neither_the_date_nor_a_close(demo: Demo) -> None:
    today = (await _today(demo)).isoformat()
    await demo.call("GET", "/end-of-day", "sunrise", 403)
    await demo.call("GET", f"/end-of-day/closes/{today}", "sunrise", 403)


async def test_a_close_never_begun_is_a_404_and_a_bad_date_a_422(demo: Demo) -> None:
    await demo.call("GET", "/end-of-day/closes/2001-01-01", "officer", 404)
    for bad in ("2026-02-30", "yesterday", "20260101", "2026-1-1"):
        problem = await demo.call("GET", f"/end-of-day/closes/{bad}", "officer", 422)
        assert [error["field"] for error in problem["errors"]] == ["date"]


async def test_naming_another_date_than_the_current_one_is_a_conflict(demo: Demo) -> None:
    tomorrow = await _today(demo) + timedelta(days=1)
    await _start(demo, expect=409, business_date=tomorrow.isoformat())
    assert _close_starts(demo) == 0


async def test_two_starts_at_once_make_one_close(demo: Demo) -> None:
    today = (await _today(demo)).isoformat()
    (first, _), (second, _) = await asyncio.gather(_start(demo), _start(demo))
    assert first["business_date"] == second["business_date"] == today
    await settled_close(demo, f"/end-of-day/closes/{today}")
    assert _close_starts(demo) == 1
    assert (await _today(demo)) == date.fromisoformat(today) + timedelta(days=1)


async def test_a_failed_close_shows_running_and_a_later_start_resumes_it(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = await _today(demo)

    def down(ctx: object) -> object:
        raise AdapterError("the rating service is down")

    monkeypatch.setattr(partner_monitoring, "refresh_partners", down)
    _, location = await _start(demo)
    stopped = await settled_close(demo, location)
    assert stopped["state"] == "running"
    steps = {step["name"]: (step["done"], step["total"]) for step in stopped["steps"]}
    assert steps["partners"] == (0, 1)
    assert steps["receivables"][0] == steps["receivables"][1]
    assert await _today(demo) == today

    monkeypatch.undo()
    resumed, _ = await _start(demo)
    assert resumed["business_date"] == today.isoformat()
    assert (await settled_close(demo, location))["state"] == "closed"
    assert await _today(demo) == today + timedelta(days=1)
    assert _close_starts(demo) == 2


async def test_a_hostile_date_in_the_path_is_a_clean_4xx(demo: Demo) -> None:
    for what, text in ODD_TEXT.items():
        if what == "a megabyte":
            text = "x" * 4000  # a URL that long is still a request line aiohttp reads
        encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
        async with demo.client.get(
            URL(f"/end-of-day/closes/{encoded}", encoded=True), headers=demo.auth("officer")
        ) as answer:
            assert answer.status in (404, 422), f"{what}: {await answer.text()}"
