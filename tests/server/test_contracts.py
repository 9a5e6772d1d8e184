"""``/contracts`` and ``/disbursements`` on the running demo server: the demo's submitted
application, once approved, is drawn up; its PDF downloads; signed with the local provider,
the signed PDF validates with pyHanko and a changed byte does not; the payout waits in the
queue, a batch approval pays it while a client watches the stream, and the contract is
active with its receivables; racing reviewers leave one holder."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from leasekit.builtin.signatures import FOLDER, LocalSignatureProvider, verify_signed_pdf
from leasekit.domain.clock import SystemClock

from .conftest import Demo
from .test_approval_tasks import open_task
from .test_blacklist import eventually, settled

EMAIL = "liu.yang@example.com"
INVOICE = resources.files("leasekit.samples").joinpath("vehicle-invoice.pdf").read_bytes()
ACCOUNT = {"scheme": "cn_bank_card", "holder": "Sunrise Motors", "bank_name": "ICBC Shenzhen",
           "card_number": "6222020200112233446", "primary": True}  # fmt: skip


async def drawn_up(demo: Demo) -> str:
    """The path of the contract the workflow draws up once an officer approves the demo's
    submitted application."""
    task = await open_task(demo)
    await demo.move(task, "officer", 200, action="claim")
    await demo.move(task, "officer", 200, action="decide", decision="approve")
    application_id = demo.company.applications[1].id
    (contract,) = await eventually(demo, f"/contracts?application_id={application_id}", 1)
    await settled(demo)
    return f"/contracts/{contract['id']}"


def local_provider(demo: Demo) -> LocalSignatureProvider:
    """The demo's signature provider, as ``leasekit signatures sign`` opens it."""
    folder = demo.documents_dir.parent / FOLDER
    return LocalSignatureProvider(folder, SystemClock(), expire_after=timedelta(days=30))


async def sent(demo: Demo) -> tuple[str, str]:
    """A drawn-up contract with its signer's e-mail entered, sent for signature: its path
    and its envelope."""
    path = await drawn_up(demo)
    contract = await demo.call("GET", path, "officer", 200)
    contact = {"customer_id": contract["signers"][0]["customer_id"], "email": EMAIL}
    await demo.call("PUT", f"{path}/draft", "officer", 200, json={"contacts": [contact]},
                    headers={"If-Match": await demo.etag(path)})  # fmt: skip
    moved = await demo.move(path, "officer", 200, action="send_for_signature")
    return path, moved["envelope_id"]


async def signed(demo: Demo) -> str:
    """A contract signed by its customer with the local provider, checked by an officer."""
    path, envelope = await sent(demo)
    await asyncio.to_thread(local_provider(demo).sign, envelope, EMAIL)
    checked = await demo.call("POST", f"{path}/signature-checks", "officer", 200)
    assert checked["state"] == "signed"
    return path


async def queued(demo: Demo) -> str:
    """The path of a signed contract's payout, queued by the workflow."""
    path = await signed(demo)
    contract_id = path.rsplit("/", 1)[1]
    (item,) = await eventually(demo, f"/disbursements?contract_id={contract_id}", 1)
    await settled(demo)
    return f"/disbursements/{item['id']}"


async def ready(demo: Demo) -> str:
    """:func:`queued`, with the invoice uploaded and the dealer's settlement account on file,
    so that every check passes."""
    item_path = await queued(demo)
    item = await demo.call("GET", item_path, "finance", 200)
    upload = f"/contracts/{item['contract_id']}/documents?kind=vehicle_invoice&filename=invoice.pdf"
    await demo.call("POST", upload, "sunrise", 201, data=INVOICE,
                    headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    partner = f"/partners/{item['partner_id']}"
    profile = await demo.call("GET", partner, "officer", 200)
    body = {"name": profile["name"], "bank_accounts": [ACCOUNT], "reason": "settlement account"}
    await demo.call("PUT", partner, "officer", 200, json=body,
                    headers={"If-Match": await demo.etag(partner)})  # fmt: skip
    return item_path


async def test_an_approved_application_is_drawn_up_and_its_document_downloads(
    served: Demo,
) -> None:
    path = await drawn_up(served)
    contract = await served.call("GET", path, "sunrise", 200)
    assert (contract["state"], contract["number"][:3]) == ("draft", "LK-")
    async with served.client.get(f"{path}/document", headers=served.auth("sunrise")) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
        content = await response.read()
    assert hashlib.sha256(content).hexdigest() == contract["document"]["sha256"]
    schedule = await served.call("GET", f"{path}/receivables?limit=200", "sunrise", 200)
    assert len(schedule["items"]) == contract["term_months"]
    assert schedule["next"] is None
    await served.call("GET", path, "harbour", 404)


async def test_the_signed_pdf_validates_and_a_changed_byte_does_not(served: Demo) -> None:
    path = await signed(served)
    async with served.client.get(
        f"{path}/signed-document", headers=served.auth("officer")
    ) as response:
        assert response.status == 200
        content = await response.read()
    root = local_provider(served).root_certificate_pem()
    # pyHanko validates in an event loop of its own: not on the server's.
    (check,) = await asyncio.to_thread(verify_signed_pdf, content, [root])
    assert check.ok
    assert check.signer == "Liu Yang"
    at = content.index(b"/MediaBox [ 0 0 ") + len(b"/MediaBox [ 0 0 ")  # a page's width
    tampered = content[:at] + bytes([content[at] ^ 1]) + content[at + 1 :]
    (broken,) = await asyncio.to_thread(verify_signed_pdf, tampered, [root])
    assert not broken.intact
    assert not broken.ok


async def test_a_batch_approval_pays_out_while_a_client_watches(served: Demo) -> None:
    item_path = await ready(served)
    item = await served.call("GET", item_path, "finance", 200)
    assert not all(check["passed"] for check in item["checks"]), "queued before the papers"
    stream = asyncio.create_task(_watch(served, item["contract_id"]))
    await asyncio.sleep(0.3)
    limit = f"/partners/{item['partner_id']}/credit-limit"
    used_before = Decimal((await served.call("GET", limit, "officer", 200))["used"]["amount"])
    outcome = await served.call(
        "POST", "/disbursement-approvals", "finance", 200, json={"ids": [item["id"]]}
    )
    assert outcome["items"] == [{"id": item["id"], "approved": True, "error": None,
                                 "detail": None}]  # fmt: skip
    events = await asyncio.wait_for(stream, 30)
    assert [event["name"] for event in events] == [
        "disbursement_approved", "disbursement_sent", "disbursement_paid",
    ]  # fmt: skip
    paid = await served.call("GET", item_path, "finance", 200)
    assert paid["state"] == "paid"
    assert paid["payee"]["account"] == "****3446"
    contract = await served.call("GET", f"/contracts/{item['contract_id']}", "sunrise", 200)
    assert contract["state"] == "active"
    used_after = Decimal((await served.call("GET", limit, "officer", 200))["used"]["amount"])
    assert used_after - used_before == Decimal(contract["principal"]["amount"])
    trace = await served.call("GET", f"/contracts/{item['contract_id']}/trace", "officer", 200)
    actions = [entry["action"] for entry in trace["entries"]]
    assert actions.index("application_approved") < actions.index("contract_drawn_up")
    assert actions.index("contract_signed") < actions.index("disbursement_paid")
    await served.call("GET", f"/contracts/{item['contract_id']}/trace", "sunrise", 403)


async def _watch(demo: Demo, contract_id: str) -> list[dict[str, Any]]:
    """The events a client following one contract's payout receives, until the stream ends."""
    events = []
    async with demo.client.get(
        f"/disbursement-events?contract_id={contract_id}", headers=demo.auth("sunrise")
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        async for line in response.content:
            text = line.decode().strip()
            if text.startswith("data:"):
                events.append(json.loads(text.removeprefix("data:").strip()))
    return events


async def test_two_claims_sent_at_once_on_one_version_leave_one_holder(served: Demo) -> None:
    """Two claims sent at once, each with the version it read: one wins, the other is told
    the payout changed. (Two different reviewers racing is tested in the services, on both
    databases.)"""
    item_path = await queued(served)
    etag = await served.etag(item_path, "finance")
    statuses = await asyncio.gather(
        *(
            served.client.post(
                f"{item_path}/transitions", json={"action": "claim"},
                headers=served.auth(user) | {"If-Match": etag},
            )
            for user in ("finance", "finance")
        )
    )  # fmt: skip
    codes = sorted(response.status for response in statuses)
    assert codes.count(200) == 1, codes
    assert set(codes) <= {200, 409, 412}, codes
