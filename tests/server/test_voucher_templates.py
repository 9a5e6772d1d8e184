"""Voucher templates over HTTP on the demo company: finance saves a new version, which books
the next payment; a template that cannot balance is refused naming the field, a version
taken already is a 409 (also when two saves race, on both databases); dealers and the credit
staff are refused."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Demo
from .test_accounting import pay


def template_body(**changes: Any) -> dict[str, Any]:
    """``payment_received`` again, its lines with memos of their own."""
    body = {
        "name": "payment_received",
        "event_type": "payment_received",
        "description": "Payment received (v2)",
        "dimensions": {"contract": "contract_id", "partner": "partner_id"},
        "lines": [
            {"account": "1100", "side": "debit", "amount": "amount", "memo": "received v2"},
            {"account": "2900", "side": "credit", "amount": "amount", "memo": "to allocate"},
        ],
    }
    return body | changes


async def test_a_saved_version_is_shown_and_books_the_next_payment(demo: Demo) -> None:
    saved = await demo.call("POST", "/accounting/templates", "finance", 201, json=template_body())
    assert (saved["template"]["name"], saved["template"]["version"]) == ("payment_received", 2)
    assert saved["created_by"] == demo.user("finance").id

    shown = await demo.call("GET", "/accounting/templates/payment_received", "cfo", 200)
    assert shown["in_force"] == 2
    versions = [
        (v["template"]["version"], v["in_force"], v["created_by"]) for v in shown["versions"]
    ]
    assert versions == [(1, False, None), (2, True, demo.user("finance").id)]
    listed = await demo.listing("/accounting/templates?event_type=payment_received", "finance")
    assert [(t["name"], t["version"], t["saved"]) for t in listed] == [
        ("payment_received", 2, True), ("payment_received_direct_debit", 1, False),
    ]  # fmt: skip
    every = await demo.listing(
        "/accounting/templates?name=payment_received&versions=all", "finance"
    )
    assert [t["version"] for t in every] == [1, 2]
    await demo.call("GET", "/accounting/templates/no_such", "finance", 404)

    contract_id = await pay(demo, 4, "300.00", "CNY", "cash at the counter")
    found = await demo.listing(f"/vouchers?contract_id={contract_id}", "finance")
    (received,) = [v for v in found if v["event_type"] == "payment_received"]
    assert (received["template"], received["template_version"]) == ("payment_received", 2)
    voucher = await demo.call("GET", f"/vouchers/{received['id']}", "finance", 200)
    assert [line["memo"] for line in voucher["lines"]] == ["received v2", "to allocate"]


async def test_a_template_that_cannot_book_is_refused_naming_the_field(demo: Demo) -> None:
    cases = {
        "lines": [
            {"account": "1100", "side": "debit", "amount": "amount"},
            {"account": "2900", "side": "credit", "amount": "amount * 2"},
        ],
        "lines[1].amount": [
            {"account": "1100", "side": "debit", "amount": "amount"},
            {"account": "2900", "side": "credit", "amount": "amount +"},
        ],
        "lines[0].account": [
            {"account": "9999", "side": "debit", "amount": "amount"},
            {"account": "2900", "side": "credit", "amount": "amount"},
        ],
    }
    for field, lines in cases.items():
        problem = await demo.call(
            "POST", "/accounting/templates", "finance", 422, json=template_body(lines=lines)
        )
        assert [error["field"] for error in problem["errors"]] == [field]
    problem = await demo.call(
        "POST", "/accounting/templates", "finance", 422, json=template_body(version=5)
    )
    assert problem["errors"] == [{"field": "version", "message": "must be 2, the next version"}]
    await demo.call("POST", "/accounting/templates", "finance", 409, json=template_body(version=1))
    shown = await demo.call("GET", "/accounting/templates/payment_received", "finance", 200)
    assert shown["in_force"] == 1


async def test_templates_are_finances(demo: Demo) -> None:
    for user in ("sunrise", "officer", "director", "admin"):
        await demo.call("POST", "/accounting/templates", user, 403, json=template_body())
        await demo.call("GET", "/accounting/templates", user, 403)
        await demo.call("GET", "/accounting/templates/payment_received", user, 403)
    await demo.call("POST", "/accounting/templates", "cfo", 201, json=template_body())


async def test_two_saves_of_one_version_at_once_store_one(served: Demo) -> None:
    async def save() -> int:
        async with served.client.post(
            "/accounting/templates", json=template_body(version=2), headers=served.auth("finance")
        ) as answer:
            return answer.status

    statuses = await asyncio.gather(save(), save())
    assert sorted(statuses) == [201, 409]
    shown = await served.call("GET", "/accounting/templates/payment_received", "finance", 200)
    assert [v["template"]["version"] for v in shown["versions"]] == [1, 2]
