"""Vouchers and the unmapped queue over HTTP on the demo company: a payment recorded is
booked by the background worker as balanced vouchers with their dimensions, in its own
currency's ledger; an event that would post to a closed account waits in the queue, and a
replay books it once the account is open again; finance only."""

from __future__ import annotations

import contextlib
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from leasekit.demo import DemoCompany
from leasekit.domain.bookings import UnmappedEvent, UnmappedState
from leasekit.domain.identity import new_id
from leasekit.server import create_app
from leasekit.server.keys import RUNTIME_KEY
from leasekit.settings import AccountingSettings

from .conftest import Demo, DemoTemplate, _demo_settings, _plugins, ledger_as_seeded
from .test_blacklist import settled


async def pay(demo: Demo, index: int, amount: str, currency: str, ref: str) -> str:
    """Record a payment for the demo book's contract *index*; its contract's id."""
    contract_id = demo.company.book[index].id
    body = {"contract_id": contract_id, "amount": {"amount": amount, "currency": currency},
            "reference": ref, "source": "cash"}  # fmt: skip
    await demo.call("POST", "/payments", "finance", 201, json=body)
    await settled(demo)
    return contract_id


def totals(voucher: dict[str, Any]) -> tuple[Decimal, Decimal]:
    sums = {"debit": Decimal(0), "credit": Decimal(0)}
    for line in voucher["lines"]:
        sums[line["side"]] += Decimal(line["amount"]["amount"])
    return sums["debit"], sums["credit"]


async def unmapped_fee(demo: Demo) -> str:
    """The path of an open entry of the unmapped queue that a replay books: a return fee
    charged while fee income (4200) was closed, queued as the handler queues one."""
    services = demo.client.app[RUNTIME_KEY].services
    contract_id = demo.company.book[4].id  # Wang Fang, in yuan
    with services.uow_factory() as uow:
        line = uow.receivables.list_for_contract(contract_id)[0]
        unmapped = UnmappedEvent(
            id=new_id(), event_key=f"return-fee:{new_id()}", event_type="return_fee_charged",
            subject="receivable", subject_id=line.id,
            business_date=services.clock.business_date(),
            reason="account 4200 (Fee income) is closed to postings",
            payload={"contract_id": contract_id, "amount": "10.00", "currency": "CNY",
                     "reason_code": "R01"},
            state=UnmappedState.OPEN, created_at=services.clock.now(),
        )  # fmt: skip
        uow.unmapped_events.add(unmapped)
        uow.commit()
    return f"/accounting/unmapped/{unmapped.id}"


async def booked_voucher(demo: Demo) -> str:
    """The path of a voucher the demo booked: a cash payment's receipt."""
    contract_id = await pay(demo, 4, "120.00", "CNY", "cash, booked")
    path = f"/vouchers?contract_id={contract_id}&event_type=payment_received"
    (received,) = await demo.listing(path, "finance")
    return f"/vouchers/{received['id']}"


def last_month(demo: Demo) -> str:
    """The month before the demo's business date, as ``YYYY-MM``: one that may be closed."""
    today = demo.client.app[RUNTIME_KEY].services.clock.business_date()
    return f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"


async def served_with(
    aiohttp_client: Any, company: DemoCompany, root: Path, accounting: AccountingSettings
) -> Demo:
    """The demo app on the company's database under *root*, its books set up so."""
    database = root / "leasekit.db"
    settings = _demo_settings(root, database).model_copy(update={"accounting": accounting})
    client = await aiohttp_client(create_app(settings, plugin_manager=_plugins()))
    ledger_as_seeded(client.app)
    return Demo(client, company, root, f"sqlite:///{database}")


async def test_a_payment_is_booked_as_balanced_vouchers_with_dimensions(demo: Demo) -> None:
    contract_id = await pay(demo, 4, "300.00", "CNY", "cash at the counter")  # Wang Fang
    opened, *found = await demo.listing(f"/vouchers?contract_id={contract_id}", "finance")
    assert (opened["event_type"], opened["template"]) == ("contract_taken_over", "loan_taken_over")
    assert [v["event_type"] for v in found] == ["payment_received", "payment_allocated"]
    assert [v["template"] for v in found] == ["payment_received", "loan_payment_allocated"]
    for summary in found:
        voucher = await demo.call("GET", f"/vouchers/{summary['id']}", "finance", 200)
        debit, credit = totals(voucher)
        assert debit == credit > 0
        assert {line["contract_id"] for line in voucher["lines"]} == {contract_id}
        assert all(line["partner_id"] for line in voucher["lines"])
    received = await demo.call("GET", f"/vouchers/{found[0]['id']}", "finance", 200)
    assert [(line["account"], line["side"], line["amount"]) for line in received["lines"]] == [
        ("1100", "debit", {"amount": "300.00", "currency": "CNY"}),
        ("2900", "credit", {"amount": "300.00", "currency": "CNY"}),
    ]
    assert await demo.listing("/vouchers?event_type=payment_received", "finance") == [found[0]]
    today = found[0]["business_date"]
    assert len(await demo.listing(f"/vouchers?business_date={today}", "finance")) >= 2
    page = await demo.call("GET", "/vouchers?limit=1", "finance", 200)
    assert len(page["items"]) == 1
    assert page["next"] is not None


async def test_an_unmapped_event_is_refused_until_it_can_be_booked(
    aiohttp_client: Any, demo_template: DemoTemplate, tmp_path: Path
) -> None:
    """Suspense (2900) closed: receipts wait; reopened after a restart, a replay books one."""
    with (
        contextlib.closing(sqlite3.connect(demo_template.database)) as source,
        contextlib.closing(sqlite3.connect(tmp_path / "leasekit.db")) as target,
    ):
        source.backup(target)
    company = demo_template.company
    closed = await served_with(aiohttp_client, company, tmp_path,
                               AccountingSettings(closed=["2900"]))  # fmt: skip
    contract_id = await pay(closed, 1, "40.00", "USD", "cash")
    waiting = await closed.listing("/accounting/unmapped?state=open", "finance")
    (received,) = [
        w for w in waiting
        if w["event_type"] == "payment_received" and w["payload"]["contract_id"] == contract_id
    ]  # fmt: skip
    assert "account 2900 (Suspense" in received["reason"]
    path = f"/accounting/unmapped/{received['id']}"
    problem = await closed.call("POST", f"{path}/replay", "finance", 409)
    assert "2900" in problem["detail"]
    await closed.client.close()

    reopened = await served_with(aiohttp_client, company, tmp_path, AccountingSettings())
    resolved = await reopened.call("POST", f"{path}/replay", "finance", 200)
    assert (resolved["state"], resolved["resolved_by"]) == (
        "resolved", reopened.company.tokens["finance"][0].id,
    )  # fmt: skip
    voucher = await reopened.call("GET", f"/vouchers/{resolved['voucher_id']}", "finance", 200)
    assert (voucher["event_type"], voucher["source_key"]) == (
        "payment_received", resolved["event_key"],
    )  # fmt: skip
    assert {line["amount"]["currency"] for line in voucher["lines"]} == {"USD"}
    await reopened.call("POST", f"{path}/replay", "finance", 409)
    assert resolved in await reopened.listing("/accounting/unmapped?state=resolved", "finance")


async def test_the_books_are_finances(demo: Demo) -> None:
    await pay(demo, 4, "10.00", "CNY", "cash")
    (voucher, *_) = await demo.listing("/vouchers", "finance")
    for user in ("officer", "admin"):
        await demo.call("GET", "/vouchers", user, 403)
        await demo.call("GET", f"/vouchers/{voucher['id']}", user, 403)
        await demo.call("GET", "/accounting/unmapped", user, 403)
        await demo.call("POST", "/accounting/unmapped/x/replay", user, 403)
    await demo.call("GET", "/vouchers/no-such-voucher", "finance", 404)
    await demo.call("POST", "/accounting/unmapped/no-such-event/replay", "finance", 404)
    await demo.call("GET", "/accounting/unmapped?state=lost", "finance", 422)
    await demo.call("GET", "/vouchers?business_date=yesterday", "finance", 422)


async def test_a_payment_reaches_the_ledger_and_the_books_agree(demo: Demo) -> None:
    contract_id = await pay(demo, 4, "300.00", "CNY", "cash for the ledger")
    found = await demo.listing(f"/vouchers?contract_id={contract_id}", "finance")
    assert {v["sync"] for v in found} == {"synced"}
    assert await demo.listing("/vouchers?sync=failed", "finance") == []
    voucher = await demo.call("GET", f"/vouchers/{found[0]['id']}", "finance", 200)
    assert voucher["ledger"]["status"] == "synced"
    assert voucher["ledger"]["ledger_reference"]
    report = await demo.call("GET", "/accounting/ledger-reconciliation", "finance", 200)
    assert report["agrees"], report["differences"]
    assert report["currency"] == "CNY"
    for odd in ("XYZ", "%00", "%ED%A0%80", "C" * 4_000, "%E2%80%AE"):
        await demo.call("GET", f"/accounting/ledger-reconciliation?currency={odd}", "finance", 422)
    await demo.call("GET", "/accounting/ledger-reconciliation", "officer", 403)


async def test_a_voucher_is_reversed_once_over_http(demo: Demo) -> None:
    contract_id = await pay(demo, 4, "300.00", "CNY", "cash to reverse")
    path = f"/vouchers?contract_id={contract_id}&event_type=payment_received"
    (received,) = await demo.listing(path, "finance")
    path = f"/vouchers/{received['id']}/reversal"
    body = {"reason": "posted to the wrong contract"}
    headers = {"Idempotency-Key": "reverse-1"}
    made = await demo.call("POST", path, "finance", 201, json=body, headers=headers)
    again = await demo.call("POST", path, "finance", 201, json=body, headers=headers)
    assert made == again
    assert made["reverses"] == received["id"]
    await demo.call("POST", path, "finance", 422, json=body)  # reversed already
    await demo.call("POST", path, "officer", 403, json=body)
    await demo.call("POST", f"/vouchers/{new_id()}/reversal", "finance", 404, json=body)


async def test_the_books_are_closed_by_the_finance_director(demo: Demo) -> None:
    assert (await demo.call("GET", "/accounting/books", "finance", 200))["closed_through"] is None
    today = demo.client.app[RUNTIME_KEY].services.clock.business_date()
    body = {"period": last_month(demo)}
    await demo.call("POST", "/accounting/books/close", "finance", 403, json=body)
    await demo.call("POST", "/accounting/books/close", "cfo", 422, json={"period": "2026-13"})
    this_month = {"period": f"{today.year}-{today.month:02d}"}
    await demo.call("POST", "/accounting/books/close", "cfo", 409, json=this_month)
    books = await demo.call("POST", "/accounting/books/close", "cfo", 200, json=body)
    assert (books["closed_through"], books["version"]) == (body["period"], 1)
    await demo.call("POST", "/accounting/books/close", "cfo", 409, json=body)
