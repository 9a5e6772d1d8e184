"""``/contracts/{id}/settlement-quotes`` and ``/settlement-quotes``: quoting a contract's
payoff, paying it off by hand, cancelling; on the demo company's taken-over book."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .conftest import Demo
from .test_blacklist import settled


async def open_quote(demo: Demo, kind: str = "early_settlement") -> str:
    """The path of a new quote on John Smith's loan (``TB-0001``, USD), at version 0, its
    events delivered."""
    made = await quote(demo, kind)
    await settled(demo)
    return f"/settlement-quotes/{made['id']}"


async def quote(demo: Demo, kind: str = "early_settlement") -> dict[str, Any]:
    john = demo.company.book[0].id
    made: dict[str, Any] = await demo.call(
        "POST", f"/contracts/{john}/settlement-quotes", "finance", 201, json={"kind": kind}
    )
    return made


async def test_a_quote_is_made_read_and_listed(served: Demo) -> None:
    john = served.company.book[0].id
    async with served.client.post(
        f"/contracts/{john}/settlement-quotes", json={"kind": "buy_back"},
        headers=served.auth("finance"),
    ) as response:  # fmt: skip
        assert response.status == 201, await response.text()
        made = await response.json()
        assert response.headers["Location"] == f"/settlement-quotes/{made['id']}"
    assert (made["number"], made["kind"], made["state"]) == ("SQ-TB-0001-1", "buy_back", "open")
    figures = ("overdue", "outstanding_principal", "accrued_interest", "fee")
    total = sum(Decimal(made[name]["amount"]) for name in figures)
    assert Decimal(made["total"]["amount"]) == total
    assert made["total"]["currency"] == "USD"
    assert await served.call("GET", f"/settlement-quotes/{made['id']}", "finance", 200) == made
    listed = await served.listing(f"/contracts/{john}/settlement-quotes", "finance")
    assert [item["id"] for item in listed] == [made["id"]]
    problem = await served.call(
        "POST", f"/contracts/{john}/settlement-quotes", "finance", 422, json={}
    )
    assert [error["field"] for error in problem["errors"]] == ["contract_id"]
    # The book's dealer's users see it; another dealer's do not.
    await served.call("GET", f"/settlement-quotes/{made['id']}", "sunrise", 404)


async def test_paying_the_total_by_hand_settles_the_contract(served: Demo) -> None:
    made = await quote(served)
    john = served.company.book[0].id
    body = {"amount": made["total"], "reference": "payoff by transfer", "source_ref": "TRF-9"}
    payment = await served.call(
        "POST", f"/settlement-quotes/{made['id']}/payments", "finance", 201, json=body
    )
    assert payment["amount"] == made["total"]
    assert payment["source"] == "bank_transfer"
    paid = await served.call("GET", f"/settlement-quotes/{made['id']}", "finance", 200)
    assert (paid["state"], paid["payment_id"]) == ("paid", payment["id"])
    contract = await served.call("GET", f"/contracts/{john}", "finance", 200)
    assert contract["state"] == "settled"
    lines = await served.listing(f"/contracts/{john}/receivables", "finance")
    assert {line["status"] for line in lines} == {"paid"}
    again = body | {"source_ref": "TRF-10"}
    await served.call("POST", f"/settlement-quotes/{made['id']}/payments", "finance", 422,
                      json=again)  # fmt: skip
    # Finance only.
    await served.call("POST", f"/settlement-quotes/{made['id']}/payments", "officer", 403,
                      json=again)  # fmt: skip


async def test_a_quote_is_cancelled_at_the_version_read(served: Demo) -> None:
    path = await open_quote(served)
    move = {"action": "cancel", "reason": "the customer keeps the car"}
    await served.call("POST", f"{path}/transitions", "finance", 428, json=move)
    cancelled = await served.call(
        "POST", f"{path}/transitions", "finance", 200, json=move, headers={"If-Match": '"0"'}
    )
    assert cancelled["state"] == "cancelled"
    await served.call("POST", f"{path}/transitions", "finance", 412, json=move,
                      headers={"If-Match": '"0"'})  # fmt: skip
    # A new quote may be made once the old one is closed.
    assert (await quote(served))["number"] == "SQ-TB-0001-2"
