"""The contract pages: a demo application driven to a contract through the API, then in
the workbench its data entered, sent for signature, signed by the customer with the local
provider, its signature checked and the invoice uploaded, until its payout is queued; what a
dealer may see; hostile input."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import aiohttp
from tests.server.test_blacklist import eventually, settled
from tests.server.test_contracts import EMAIL, INVOICE, drawn_up, local_provider

from leasekit.server.keys import SETTINGS_KEY
from leasekit.server.workbench.session import COOKIE


async def fetch(desk: Any, path: str) -> tuple[int, bytes, dict[str, str]]:
    """A file the page links to, as bytes."""
    async with desk.client.get(
        path, headers={"Cookie": f"{COOKIE}={desk.cookie}"}, allow_redirects=False
    ) as response:
        content, headers = await response.read(), dict(response.headers)
    desk.client.session.cookie_jar.clear()
    return response.status, content, headers


def version_of(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


async def upload(
    desk: Any,
    contract_path: str,
    content: bytes,
    kind: str = "vehicle_invoice",
    filename: str = "invoice.pdf",
) -> tuple[int, str, dict[str, str]]:
    """Post the upload form as a browser does: multipart, with the page's CSRF token."""
    form = aiohttp.FormData()
    form.add_field("csrf", desk.csrf)
    form.add_field("back", contract_path)
    form.add_field("kind", kind)
    form.add_field("file", io.BytesIO(content), filename=filename, content_type="application/pdf")
    async with desk.client.post(
        f"{contract_path}/documents",
        data=form,
        headers={"Cookie": f"{COOKIE}={desk.cookie}"},
        allow_redirects=False,
    ) as response:
        body, headers = await response.text(), dict(response.headers)
    desk.client.session.cookie_jar.clear()
    return response.status, body, headers


async def entered_and_sent(demo: Any, desk: Any) -> tuple[str, dict[str, Any]]:
    """The demo's contract, its signer's e-mail entered and sent for signature in the
    workbench: its page path and the contract as the API shows it."""
    api_path = await drawn_up(demo)
    page = f"/workbench{api_path}"
    officer = await desk("officer")
    body = await officer.page(page)
    contract = await demo.call("GET", api_path, "officer", 200)
    signer = contract["signers"][0]["customer_id"]
    saved = await officer.submit(f"{page}/draft", {
        "back": page, "version": version_of(body), "language": "zh",
        "customer_id": signer, "email": EMAIL, "phone": "",
    })  # fmt: skip
    assert "rendered again" in saved
    assert EMAIL in saved
    sent = await officer.submit(f"{page}/moves", {
        "back": page, "version": version_of(saved), "action": "send_for_signature",
    })  # fmt: skip
    assert "out for signature" in sent
    return page, await demo.call("GET", api_path, "officer", 200)


async def signed_in_workbench(demo: Any, desk: Any) -> str:
    """:func:`entered_and_sent`, signed by the customer and checked from the page."""
    page, contract = await entered_and_sent(demo, desk)
    await asyncio.to_thread(local_provider(demo).sign, contract["envelope_id"], EMAIL)
    officer = await desk("officer")
    await officer.page(page)
    checked = await officer.submit(f"{page}/signature-checks", {"back": page})
    assert "state-signed" in checked or "state-disbursement_requested" in checked
    await settled(demo)
    return page


async def test_a_contract_goes_from_data_entry_to_a_queued_payout(demo: Any, desk: Any) -> None:
    page = await signed_in_workbench(demo, desk)
    officer = await desk("officer")
    body = await officer.page(page)
    assert "Open the signed document" in body
    assert "contract signed" in body  # the timeline
    status, content, headers = await fetch(officer, f"{page}/signed-document")
    assert (status, headers["Content-Type"], content[:5]) == (200, "application/pdf", b"%PDF-")
    assert headers["Content-Disposition"].startswith("inline")
    dealer = await desk("sunrise")
    await dealer.page(page)
    status, _, headers = await upload(dealer, page, INVOICE)
    assert status == 303, headers
    after = await dealer.page(headers["Location"])
    assert "invoice.pdf" in after
    contract_id = page.rsplit("/", 1)[1]
    (item,) = await eventually(demo, f"/disbursements?contract_id={contract_id}", 1)
    finance = await desk("finance")
    queue = await finance.page(f"/workbench/payouts?contract_id={contract_id}")
    assert f'id="payout-state-{item["id"]}"' in queue
    assert "state-queued" in queue


async def test_the_document_previews_in_the_page_and_downloads(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    officer = await desk("officer")
    body = await officer.page(f"/workbench{api_path}")
    assert f'data="/workbench{api_path}/document"' in body
    assert f'href="/workbench{api_path}/document?download=1"' in body
    status, _, headers = await fetch(officer, f"/workbench{api_path}/document?download=1")
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment")
    assert "Receivables" in body


async def test_the_contract_list_filters_by_state(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    officer = await desk("officer")
    drafts = await officer.page("/workbench/contracts?state=draft")
    assert f"/workbench{api_path}" in drafts
    signed = await officer.page("/workbench/contracts?state=signed")
    assert f"/workbench{api_path}" not in signed


async def test_a_dealer_sees_only_its_own_partners_contracts(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    sunrise = await desk("sunrise")
    assert f"/workbench{api_path}" in await sunrise.page("/workbench/contracts")
    body = await sunrise.page(f"/workbench{api_path}")
    assert "Timeline" not in body  # the trace is the back office's
    harbour = await desk("harbour")
    assert f"/workbench{api_path}" not in await harbour.page("/workbench/contracts")
    status, body, _ = await harbour.get(f"/workbench{api_path}")
    assert status == 404
    assert "<html" in body
    status, _, _ = await fetch(harbour, f"/workbench{api_path}/document")
    assert status == 404


async def test_a_stale_draft_form_is_refused_with_412(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    page = f"/workbench{api_path}"
    officer = await desk("officer")
    body = await officer.page(page)
    stale = version_of(body)
    await officer.submit(f"{page}/draft", {"back": page, "version": stale, "language": "zh"})
    await officer.page(page)
    status, body, _ = await officer.post(f"{page}/moves", {
        "back": page, "version": stale, "action": "send_for_signature",
    })  # fmt: skip
    assert status == 412, body[:500]
    assert "<html" in body


HOSTILE = ("<script>alert(1)</script>", "a\x00b", "x" * 10_000)


async def test_hostile_form_fields_give_a_4xx_page_or_text(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    page = f"/workbench{api_path}"
    contract = await demo.call("GET", api_path, "officer", 200)
    signer = contract["signers"][0]["customer_id"]
    officer = await desk("officer")
    for text in HOSTILE:
        body = await officer.page(page)
        fields = [("language", text), ("email", text), ("phone", text)]
        for name, value in fields:
            data = {"back": page, "version": version_of(body), "language": "en",
                    "customer_id": signer, "email": "", "phone": "", name: value}  # fmt: skip
            status, answer, _ = await officer.post(f"{page}/draft", data)
            assert 400 <= status < 500, (name, status, answer[:300])
            assert "<script>alert" not in answer
        for name in ("action", "reason", "version"):
            data = {"back": page, "version": version_of(body), "action": "recall", name: text}
            status, answer, _ = await officer.post(f"{page}/moves", data)
            assert 400 <= status < 500, (name, status, answer[:300])
            assert "<script>alert" not in answer
        listing = await officer.get(f"/workbench/contracts?number={text[:200]}&state=draft")
        assert listing[0] < 500
        assert "<script>alert" not in listing[1]
    status, answer, _ = await upload(officer, page, b"<script>alert(1)</script>", kind="x" * 10_000)
    assert 400 <= status < 500, answer[:300]
    status, answer, _ = await upload(officer, page, b"<html><script>alert(1)</script></html>")
    assert status == 422, answer[:300]


async def test_an_upload_is_held_to_the_apis_size_limit(demo: Any, desk: Any) -> None:
    api_path = await drawn_up(demo)
    page = f"/workbench{api_path}"
    dealer = await desk("sunrise")
    await dealer.page(page)
    limit = demo.client.app[SETTINGS_KEY].server.max_upload_bytes
    within = INVOICE + b"\n%" + b"0" * (limit - len(INVOICE) - 2)
    status, body, _ = await upload(dealer, page, within)
    assert status == 303, body[:500]
    status, body, _ = await upload(dealer, page, within + b"0")
    assert status in (413, 422), body[:500]
    assert "<html" in body
