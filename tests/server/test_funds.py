"""Collections over HTTP on the demo's taken-over book: runs and results once under races, on
both databases; hostile input refused cleanly; the back office's alone."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from leasekit.demo import DEMO_US_ACCOUNT, company_statement

from .conftest import Demo
from .test_blacklist import settled

PARALLEL = 6


async def _contract(demo: Demo, number: str) -> str:
    (found,) = await demo.listing(f"/contracts?number={number}", "finance")
    return str(found["id"])


async def _run(demo: Demo, account: str) -> dict[str, Any]:
    made: dict[str, Any] = await demo.call(
        "POST", "/debit-runs", "finance", 201, json={"account_id": account}
    )
    return made


async def us_run(demo: Demo) -> str:
    """The path of the demo's first US debit run."""
    made = await _run(demo, "us")
    await settled(demo)
    return f"/debit-runs/{made['id']}"


async def mary_mandate(demo: Demo) -> str:
    """The path of Mary Jones's mandate (``TB-0002``), at version 0."""
    mary = await _contract(demo, "TB-0002")
    (mandate,) = await demo.listing(f"/mandates?contract_id={mary}", "finance")
    return f"/mandates/{mandate['id']}"


def todays_statement() -> bytes:
    """The demo company's statement of its US account for today (the demo's business date)."""
    return company_statement(DEMO_US_ACCOUNT, date.today())


async def queued_entry(demo: Demo) -> str:
    """The path of the entry today's statement leaves on the queue (120.00 USD from
    Northwind Trading), at version 0."""
    await demo.call("POST", "/statements", "finance", 201, data=todays_statement(),
                    headers={"Content-Type": "application/xml"})  # fmt: skip
    await settled(demo)
    queued = await demo.listing("/statement-entries?state=queued", "finance")
    (entry,) = [entry for entry in queued if entry["payer_name"] == "NORTHWIND TRADING"]
    return f"/statement-entries/{entry['id']}"


def us_results(demo: Demo) -> bytes:
    """A results file for no debit of the demo's: applied, it reports one unknown line."""
    return (
        b"item_id,batch_id,status,amount,currency,reason_code,reason\n"
        b"021000029999999,b,collected,1.00,USD,,\n"
    )


def _results(items: list[dict[str, Any]], returned: dict[str, str]) -> bytes:
    """The bank's CSV results: *returned* (trace → code) came back, the rest was collected."""
    lines = ["item_id,batch_id,status,amount,currency,reason_code,reason"]
    for item in items:
        code = returned.get(item["trace"])
        status = "returned" if code else "collected"
        lines.append(f"{item['trace']},b,{status},{item['amount']['amount']},"
                     f"{item['amount']['currency']},{code or ''},")  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


async def test_the_same_run_asked_for_at_once_is_made_once(served: Demo) -> None:
    async def ask() -> tuple[int, Any]:
        async with served.client.post(
            "/debit-runs", json={"account_id": "us"}, headers=served.auth("finance")
        ) as response:
            return response.status, await response.json()

    answers = await asyncio.gather(*(ask() for _ in range(PARALLEL)))
    made = {body["id"] for status, body in answers if status == 201}
    assert len(made) == 1, answers
    assert {status for status, _ in answers} <= {201, 422}, answers
    run_id = made.pop()
    items = await served.listing(f"/debit-runs/{run_id}/items", "finance")
    assert len(items) == 2


async def test_a_result_file_sent_at_once_is_applied_once(served: Demo) -> None:
    run = await _run(served, "us")
    items = await served.listing(f"/debit-runs/{run['id']}/items", "finance")
    content = _results(items, {items[1]["trace"]: "R01"})

    async def send() -> tuple[int, Any]:
        async with served.client.post(
            "/debit-results", data=content,
            headers=served.auth("finance") | {"Content-Type": "text/csv"},
        ) as response:  # fmt: skip
            return response.status, await response.json()

    answers = await asyncio.gather(*(send() for _ in range(PARALLEL)))
    assert sorted(status for status, _ in answers) == [200] * (PARALLEL - 1) + [201], answers
    assert len({body["id"] for _, body in answers}) == 1
    john = await _contract(served, "TB-0001")
    payments = await served.listing(f"/contracts/{john}/payments", "finance")
    assert [payment["source"] for payment in payments] == ["direct_debit"]
    page = await served.call("GET", f"/contracts/{john}/receivables?limit=2", "finance", 200)
    assert [line["status"] for line in page["items"]] == ["paid", "paid"]


async def test_a_malformed_result_file_changes_nothing(demo: Demo) -> None:
    run = await _run(demo, "us")
    items = await demo.listing(f"/debit-runs/{run['id']}/items", "finance")
    content = _results(items, {}).replace(b",collected,", b",colected,", 1)
    problem = await demo.call(
        "POST", "/debit-results", "finance", 422, data=content,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert problem["errors"][0]["field"] == "line 2, column status"
    after = await demo.listing(f"/debit-runs/{run['id']}/items", "finance")
    assert {item["state"] for item in after} == {"in_flight"}


async def test_collections_are_the_back_offices(demo: Demo) -> None:
    john = await _contract(demo, "TB-0001")
    await demo.call("POST", "/debit-runs", "sunrise", 403, json={"account_id": "us"})
    await demo.call("GET", "/debit-runs", "sunrise", 403)
    await demo.call("GET", "/mandates", "sunrise", 403)
    await demo.call("POST", "/debit-results", "officer", 403, data=b"x")
    body = {"contract_id": john, "amount": {"amount": "10.00", "currency": "USD"},
            "reference": "cash"}  # fmt: skip
    await demo.call("POST", "/payments", "officer", 403, json=body)
    # Another dealer's contract is not found.
    await demo.call("GET", f"/contracts/{john}/receivables", "sunrise", 404)
    await demo.call("GET", f"/contracts/{john}/payments", "harbour", 404)


async def test_hostile_text_is_refused_and_changes_nothing(served: Demo) -> None:
    wang = await _contract(served, "TB-0005")
    for odd in ("\x00", "\ud800", "a\x07b", "x" * 1_000_000):
        body = {"contract_id": wang, "reference": "MD-X", "scheme": "csv", "debtor_name": odd,
                "account": "6222020200112233446", "signed_on": "2026-01-05"}  # fmt: skip
        await served.call("POST", "/mandates", "officer", 422, json=body)
    for odd in ("%00", "%ED%A0%80", "a%07b"):
        await served.call(
            "POST", f"/debit-results?filename={odd}", "finance", 422, data=b"x",
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
    assert await served.listing(f"/mandates?contract_id={wang}", "finance") == []


async def test_a_retried_payment_is_recorded_once(served: Demo) -> None:
    mary = await _contract(served, "TB-0002")
    body = {"contract_id": mary, "amount": {"amount": "900.00", "currency": "USD"},
            "reference": "TRANSFER", "source_ref": "STMT-1"}  # fmt: skip
    headers = {"Idempotency-Key": "pay-mary-1"}
    first = await served.call("POST", "/payments", "finance", 201, json=body, headers=headers)
    again = await served.call("POST", "/payments", "finance", 201, json=body, headers=headers)
    assert first["id"] == again["id"]
    view = await served.call("GET", f"/payments/{first['id']}", "finance", 200)
    paid = sum(int(row["amount"]["amount"].replace(".", "")) for row in view["allocations"])
    assert paid + int(view["payment"]["unallocated"]["amount"].replace(".", "")) == 90000


async def test_a_statement_over_http_matches_and_queues(demo: Demo) -> None:
    path = await queued_entry(demo)
    john = await _contract(demo, "TB-0001")
    body = {"parts": [{"contract_id": john, "amount": {"amount": "100.00", "currency": "USD"}}]}
    await demo.call("POST", f"{path}/matches", "finance", 428, json=body)
    problem = await demo.call("POST", f"{path}/matches", "finance", 422, json=body,
                              headers={"If-Match": '"0"'})  # fmt: skip
    assert problem["errors"][0]["field"] == "parts"
    body["parts"][0]["amount"]["amount"] = "120.00"  # type: ignore[index]
    matched = await demo.call("POST", f"{path}/matches", "finance", 200, json=body,
                              headers={"If-Match": '"0"'})  # fmt: skip
    assert (matched["state"], matched["rule"], len(matched["payments"])) == ("matched", "manual", 1)
    await demo.call("POST", f"{path}/suspense", "finance", 409, json={"reason": "x"},
                    headers={"If-Match": '"1"'})  # fmt: skip


async def test_a_csv_statement_of_the_yuan_account_is_reconciled(demo: Demo) -> None:
    """The demo's bank exports the yuan account as CSV; Wang Fang's transfer quoting her
    contract pays it."""
    wang = demo.company.book[4].id
    owed = await demo.call("GET", f"/contracts/{wang}/receivables?limit=1", "finance", 200)
    due = owed["items"][0]["outstanding"]["amount"]
    content = (
        "date,amount,counterparty,counterparty_account,reference,id\n"
        f"{date.today()},{due},Wang Fang,6222020200112233445,TB-0005 installment 1,CN-1\n"
        f"{date.today()},-10.00,Bank,,fees,CN-2\n"
    ).encode()
    report = await demo.call("POST", "/statements", "finance", 201, data=content,
                             headers={"Content-Type": "text/csv"})  # fmt: skip
    assert (report["credits"], report["matched"], report["queued"]) == (1, 1, 0)
    payments = await demo.listing(f"/contracts/{wang}/payments", "finance")
    assert [p["amount"]["amount"] for p in payments] == [due]
