"""The payout queue page: payouts with their checks, a batch approved with each outcome
shown, claims and fraud reports at the version shown, the live status stream, and what a
dealer may see."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.server.test_approval_tasks import open_task
from tests.server.test_blacklist import eventually, settled
from tests.server.test_contracts import EMAIL, local_provider, ready


async def second_payout(demo: Any) -> str:
    """The payout of the demo's other application (Zhang Wei's), submitted, approved,
    signed and queued through the API without its invoice: its documents check fails."""
    application = demo.company.applications[0].id
    await demo.move(f"/applications/{application}", "sunrise", 200, action="submit")
    task = await open_task(demo)
    await demo.move(task, "officer", 200, action="claim")
    await demo.move(task, "officer", 200, action="decide", decision="approve")
    (contract,) = await eventually(demo, f"/contracts?application_id={application}", 1)
    await settled(demo)
    path = f"/contracts/{contract['id']}"
    contact = {"customer_id": contract["signers"][0]["customer_id"], "email": EMAIL}
    await demo.call("PUT", f"{path}/draft", "officer", 200, json={"contacts": [contact]},
                    headers={"If-Match": await demo.etag(path)})  # fmt: skip
    moved = await demo.move(path, "officer", 200, action="send_for_signature")
    await asyncio.to_thread(local_provider(demo).sign, moved["envelope_id"], EMAIL)
    await demo.call("POST", f"{path}/signature-checks", "officer", 200)
    (item,) = await eventually(demo, f"/disbursements?contract_id={contract['id']}", 1)
    await settled(demo)
    return str(item["id"])


def version_of(page: str, item_id: str) -> str:
    found = re.search(
        rf'action="/workbench/payouts/{item_id}/moves" id="move-{item_id}">.*?'
        r'name="version" value="(\d+)"', page, re.S,
    )  # fmt: skip
    assert found is not None, page[:3000]
    return found.group(1)


async def test_a_batch_shows_one_payout_approved_and_one_refused_with_why(
    demo: Any, desk: Any
) -> None:
    good = (await ready(demo)).rsplit("/", 1)[1]
    bad = await second_payout(demo)
    finance = await desk("finance")
    queue = await finance.page("/workbench/payouts?state=queued")
    assert 'data-select-all="ids"' in queue
    assert 'data-payout-stream="/workbench/payout-events"' in queue
    assert 'id="payout-live" class="visually-hidden" aria-live="polite"' in queue
    assert "missing: vehicle_invoice" in queue  # the failed check, shown before approving
    assert "****3446" in queue
    assert "6222020200112233446" not in queue
    status, result, _ = await finance.post(
        "/workbench/payout-approvals",
        [("back", "/workbench/payouts"), ("ids", good), ("ids", bad)],
    )
    assert status == 200, result[:2000]
    assert "1 of 2 payouts approved." in result
    approved = re.search(rf'<tr id="outcome-{good}">(.*?)</tr>', result, re.S)
    refused = re.search(rf'<tr id="outcome-{bad}">(.*?)</tr>', result, re.S)
    assert approved is not None
    assert "state-approved" in approved.group(1)
    assert refused is not None
    assert "refused" in refused.group(1)
    assert "vehicle_invoice" in refused.group(1)
    for item_id, row in ((good, approved), (bad, refused)):
        number = (await demo.call("GET", f"/disbursements/{item_id}", "finance", 200))[
            "contract_number"
        ]
        assert f"<td>{number}</td>" in row.group(1), "each outcome names its contract"
    await settled(demo)
    after = await finance.page("/workbench/payouts")
    assert re.search(rf'id="payout-state-{good}"><span class="state state-(approved|sent|paid)',
                     after)  # fmt: skip
    asked = await finance.submit(
        f"/workbench/payouts/{good}/bank-checks", {"back": "/workbench/payouts"}
    )
    assert "The bank was asked where the payout stands." in asked


async def test_a_reviewer_claims_releases_and_reports_fraud_at_the_version_shown(
    demo: Any, desk: Any
) -> None:
    item = (await ready(demo)).rsplit("/", 1)[1]
    finance = await desk("finance")
    queue = await finance.page("/workbench/payouts")
    stale = version_of(queue, item)
    claimed = await finance.submit(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": stale, "action": "claim",
    })  # fmt: skip
    assert "Payout claimed." in claimed
    assert f'id="payout-state-{item}"><span class="state state-claimed"' in claimed
    status, body, _ = await finance.post(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": stale, "action": "release",
    })  # fmt: skip
    assert status == 412, body[:500]
    assert "<html" in body
    released = await finance.submit(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": version_of(claimed, item), "action": "release",
    })  # fmt: skip
    assert "Payout released." in released
    reported = await finance.submit(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": version_of(released, item),
        "action": "report_fraud", "reason": "the invoice is forged",
    })  # fmt: skip
    assert "Fraud reported" in reported
    assert f'id="payout-state-{item}"><span class="state state-rejected"' in reported


async def test_a_batch_approval_is_not_done_by_a_form_through_moves(demo: Any, desk: Any) -> None:
    item = (await ready(demo)).rsplit("/", 1)[1]
    finance = await desk("finance")
    queue = await finance.page("/workbench/payouts")
    status, _, _ = await finance.post(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": version_of(queue, item), "action": "approve",
    })  # fmt: skip
    assert status == 422


async def test_the_stream_answers_events_to_a_signed_in_person_only(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    async with demo.client.get(
        "/workbench/payout-events", headers={"Cookie": f"leasekit_session={finance.cookie}"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
    demo.client.session.cookie_jar.clear()
    async with demo.client.get("/workbench/payout-events", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"].startswith("/workbench/sign-in")


async def test_a_dealer_sees_its_own_payouts_and_may_not_move_them(demo: Any, desk: Any) -> None:
    item = (await ready(demo)).rsplit("/", 1)[1]
    sunrise = await desk("sunrise")
    own = await sunrise.page("/workbench/payouts")
    assert f'id="payout-state-{item}"' in own
    assert 'name="ids"' not in own
    harbour = await desk("harbour")
    assert f'id="payout-state-{item}"' not in await harbour.page("/workbench/payouts")
    status, _, _ = await harbour.post(f"/workbench/payouts/{item}/moves", {
        "back": "/workbench/payouts", "version": "0", "action": "claim",
    })  # fmt: skip
    assert status in (403, 404)


HOSTILE = ("<script>alert(1)</script>", "a\x00b", "x" * 10_000)


async def test_hostile_form_fields_give_a_4xx_page_or_text(demo: Any, desk: Any) -> None:
    item = (await ready(demo)).rsplit("/", 1)[1]
    finance = await desk("finance")
    for text in HOSTILE:
        queue = await finance.page("/workbench/payouts")
        for name in ("action", "version"):
            data = {"back": "/workbench/payouts", "version": version_of(queue, item),
                    "action": "reject", "reason": "checked", name: text}  # fmt: skip
            status, body, _ = await finance.post(f"/workbench/payouts/{item}/moves", data)
            assert 400 <= status < 500, (name, status, body[:300])
            assert "<script>alert" not in body
        status, body, _ = await finance.post(
            "/workbench/payout-approvals", {"back": text, "ids": text}
        )
        assert status == 200, body[:300]  # each payout refused on its own, as not found
        assert "<script>alert" not in body
        assert "0 of 1 payouts approved." in body
        status, body, _ = await finance.get(f"/workbench/payouts?state={text[:300]}")
        assert 400 <= status < 500
        assert "<script>alert" not in body
    for text in HOSTILE:  # a reason is text: the first rejects, the others find it rejected
        queue = await finance.page("/workbench/payouts?contract_id=&state=")
        found = re.search(r'name="version" value="(\d+)"', queue)
        data = {"back": "/workbench/payouts", "version": found.group(1) if found else "0",
                "action": "reject", "reason": text}  # fmt: skip
        status, body, _ = await finance.post(f"/workbench/payouts/{item}/moves", data)
        assert status < 500, body[:300]
        assert "<script>alert" not in body
    queue = await finance.page("/workbench/payouts")
    assert "<script>alert" not in queue
    contract = re.search(r'href="(/workbench/contracts/[0-9a-f]+)"', queue)
    assert contract is not None
    timeline = await finance.page(contract.group(1))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in timeline  # the reason, as text
    assert "<script>alert" not in timeline


async def test_the_payout_and_contract_pages_speak_chinese(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    await finance.page("/workbench/payouts")
    chinese = await finance.submit(
        "/workbench/language", {"language": "zh", "back": "/workbench/payouts"}
    )
    assert "筛选放款" in chinese
    assert "没有符合条件的放款。" in chinese
    assert "没有符合条件的合同。" in await finance.page("/workbench/contracts?state=closed")
