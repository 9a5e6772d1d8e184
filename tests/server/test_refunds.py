"""Refunds over HTTP on the demo company: a refund of an overpaid contract's credit is paid
out by the background worker, read back, listed by contract with the account masked, and
asked about at the bank by finance alone."""

from __future__ import annotations

import asyncio
from typing import Any

from leasekit.money import Money
from leasekit.server.keys import RUNTIME_KEY
from leasekit.services import refunds
from leasekit.services.commands import Work

from .conftest import Demo
from .test_accounting import pay
from .test_blacklist import settled

IBAN = "DE89370400440532013000"


def _pay_out(demo: Demo, contract_id: str, amount: Money) -> str:
    """A refund made as an approved exception request's execution makes it."""
    ctx = demo.client.app[RUNTIME_KEY].services
    with ctx.uow_factory() as uow:
        at, business_date = ctx.moment()
        work = Work(ctx, uow, demo.user("cfo").actor(), at, business_date)
        made = refunds.pay_out_refund(
            work, contract_id=contract_id, amount=amount, iban=IBAN, holder="Mary Jones",
            exception_request_id="ER-7",
        )  # fmt: skip
        uow.commit()
    return made.id


async def refunded(demo: Demo) -> tuple[str, str]:
    """The demo book's second contract overpaid and 100.00 of its credit refunded; the
    contract's id and the refund's, once the worker has sent it."""
    contract: dict[str, Any] = await demo.call(
        "GET", f"/contracts/{demo.company.book[1].id}", "finance", 200
    )
    cur = contract["principal"]["currency"]
    await pay(demo, 1, "90000.00", cur, "OVERPAID-1")
    refund_id = await asyncio.to_thread(_pay_out, demo, contract["id"], Money("100.00", cur))
    await settled(demo)
    return contract["id"], refund_id


async def test_a_refund_is_read_listed_and_followed_at_the_bank(demo: Demo) -> None:
    contract_id, refund_id = await refunded(demo)
    shown = await demo.call("GET", f"/refunds/{refund_id}", "finance", 200)
    assert shown["state"] in ("sent", "paid"), "the worker sent it to the bank"
    assert (shown["iban"], shown["exception_request_id"]) == (IBAN, "ER-7")
    assert shown["amount"]["amount"] == "100.00"
    assert [part["amount"] for part in shown["taken"]] == ["100.00"]
    (listed,) = await demo.listing(f"/contracts/{contract_id}/refunds", "finance")
    assert listed["id"] == refund_id
    assert listed["iban"] != IBAN
    assert listed["iban"].endswith(IBAN[-4:])
    checked = await demo.call("POST", f"/refunds/{refund_id}/payout-checks", "finance", 200)
    assert checked["id"] == refund_id
    assert checked["state"] in ("sent", "paid")


async def test_refunds_are_the_back_office_s_and_asking_the_bank_finance_s(demo: Demo) -> None:
    contract_id, refund_id = await refunded(demo)
    await demo.call("GET", f"/refunds/{refund_id}", "sunrise", 403)
    await demo.call("GET", f"/contracts/{contract_id}/refunds", "sunrise", 403)
    await demo.call("POST", f"/refunds/{refund_id}/payout-checks", "officer", 403)
    await demo.call("GET", "/refunds/no-such-refund", "finance", 404)
    await demo.call("POST", "/refunds/no-such-refund/payout-checks", "cfo", 404)
    await demo.call("GET", "/contracts/no-such-contract/refunds", "finance", 404)
