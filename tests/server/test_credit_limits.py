"""Partners' credit limits over HTTP: the figures, manual adjustments refused beyond the
available amount with the numbers, limit changes approved by another person, and the races a
busy back office makes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import Demo
from .test_blacklist import settled


def limit_path(demo: Demo, partner: str = "Sunrise Motors") -> str:
    return f"/partners/{demo.partner_id(partner)}/credit-limit"


def adjustment(
    demo: Demo, kind: str, amount: str, reference: str = "contract:demo-1"
) -> dict[str, Any]:
    return {"partner_id": demo.partner_id("Sunrise Motors"), "kind": kind,
            "reference": reference, "amount": amount, "reason": "manual correction"}  # fmt: skip


def written(demo: Demo) -> dict[str, int]:
    """The rows a command writes (the background worker moves events on meanwhile)."""
    counts = demo.row_counts()
    return {table: counts[table] for table in ("limit_movements", "outbox", "audit_log")}


async def test_the_figures_add_up_and_a_dealer_reads_its_own(demo: Demo) -> None:
    figures = await demo.call("GET", limit_path(demo), "sunrise", 200)
    assert figures["limit"] == figures["total"] == {"amount": "5000000.00", "currency": "CNY"}
    assert figures["available"] == figures["limit"]
    await demo.call("GET", limit_path(demo, "Harbour Auto"), "sunrise", 404)


async def test_a_take_beyond_the_available_amount_is_409_with_the_numbers(demo: Demo) -> None:
    taken = await demo.call("POST", "/limit-movements", "finance", 201,
                            json=adjustment(demo, "take", "4999999.99"))  # fmt: skip
    assert taken["used_after"]["amount"] == "4999999.99"
    await settled(demo)  # monitoring puts Sunrise, nearly out of limit, on watch
    before = written(demo)
    problem = await demo.call("POST", "/limit-movements", "finance", 409,
                              json=adjustment(demo, "take", "0.02", "contract:demo-2"))  # fmt: skip
    assert "available 0.01" in problem["detail"]
    assert "used 4,999,999.99" in problem["detail"]
    assert written(demo) == before
    figures = await demo.call("GET", limit_path(demo), "finance", 200)
    assert figures["available"]["amount"] == "0.01"
    sunrise = demo.partner_id("Sunrise Motors")
    movements = await demo.listing(f"/limit-movements?partner_id={sunrise}", "sunrise")
    assert [m["amount"]["amount"] for m in movements] == ["4999999.99"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "0.001"}, "amount"),
        ({"kind": "borrow"}, "kind"),
        ({"reference": "\ud800"}, "reference"),
        ({"reason": "x" * 1001}, "reason"),
        ({"partner_id": "nobody"}, "partner_id"),
    ],
)
async def test_a_bad_adjustment_names_its_field(
    demo: Demo, changes: dict[str, str], field: str
) -> None:
    body = adjustment(demo, "take", "1.00") | changes
    problem = await demo.call("POST", "/limit-movements", "finance", 422, json=body)
    assert field in {error["field"] for error in problem["errors"]}


async def test_a_dealer_may_not_adjust_its_limit(demo: Demo) -> None:
    await demo.call("POST", "/limit-movements", "sunrise", 403, json=adjustment(demo, "take", "1"))


async def test_an_increase_is_requested_and_approved_by_another_person(demo: Demo) -> None:
    body = {"partner_id": demo.partner_id("Sunrise Motors"), "kind": "standing",
            "amount": "5800000.00", "reason": "spring campaign volume"}  # fmt: skip
    request = await demo.call("POST", "/limit-requests", "officer", 201, json=body)
    assert request["increase"] == {"amount": "800000.00", "currency": "CNY"}
    path = f"/limit-requests/{request['id']}"
    await demo.move(path, "officer", 403, action="approve")
    approved = await demo.move(path, "manager", 200, action="approve")
    assert (approved["state"], approved["decided_by"]) == ("approved", demo.user("manager").id)
    figures = await demo.call("GET", limit_path(demo), "officer", 200)
    assert figures["limit"]["amount"] == "5800000.00"


async def test_an_increase_above_the_threshold_is_a_directors(demo: Demo) -> None:
    body = {"partner_id": demo.partner_id("Sunrise Motors"), "kind": "temporary",
            "amount": "1500000.00", "until": "2026-12-31", "reason": "year-end"}  # fmt: skip
    request = await demo.call("POST", "/limit-requests", "officer", 201, json=body)
    path = f"/limit-requests/{request['id']}"
    problem = await demo.move(path, "manager", 403, action="approve")
    assert "a director must" in problem["detail"]
    await demo.move(path, "director", 200, action="approve")


async def test_racing_takes_never_exceed_the_limit(served: Demo) -> None:
    """Twenty takes of 300,000.00 race for a limit of 5,000,000.00: sixteen win, four are
    refused with 409, and nothing else happens (no 5xx, no lost update)."""
    bodies = [adjustment(served, "take", "300000.00", f"contract:race-{n}") for n in range(20)]
    statuses = await asyncio.gather(*(_status(served, body) for body in bodies))
    assert sorted(statuses) == [201] * 16 + [409] * 4
    figures = await served.call("GET", limit_path(served), "finance", 200)
    assert (figures["used"]["amount"], figures["available"]["amount"]) == (
        "4800000.00", "200000.00",
    )  # fmt: skip


async def _status(demo: Demo, body: dict[str, Any]) -> int:
    async with demo.client.post("/limit-movements", json=body, headers=demo.auth("finance")) as r:
        return r.status
