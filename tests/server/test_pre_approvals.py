"""``/pre-approvals`` over HTTP, on the real runtime: an application submitted by a dealer is
assessed in the background, and neither the answers nor any log line carry the applicant's id
number whole, even when a party's error quotes it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from leasekit.demo import resident_id
from leasekit.domain.blacklist import mask
from leasekit.server.keys import RUNTIME_KEY

from .conftest import Demo

CANARY = resident_id("32010619870215003")
VEHICLE = {"vin": "LSGKB54H1NA123456", "make": "Buick", "model": "GL8", "year": 2025,
           "condition": "new"}  # fmt: skip


async def submitted(demo: Demo) -> str:
    customer = {"kind": "individual", "name": "Canary Chen", "id_number": CANARY}
    customer_id = (await demo.call("POST", "/customers", "sunrise", 201, json=customer))["id"]
    vehicle_id = (await demo.call("POST", "/vehicles", "sunrise", 201, json=VEHICLE))["id"]
    body = demo.draft(customer_id=customer_id, vehicle_id=vehicle_id)
    draft = await demo.call("POST", "/applications", "sunrise", 201, json=body)
    await demo.move(f"/applications/{draft['id']}", "sunrise", 200, action="submit")
    return str(draft["id"])


async def test_the_assessment_never_shows_nor_logs_the_id_number_whole(
    demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = demo.client.app[RUNTIME_KEY]
    bureau = runtime.services.adapters.credit_bureau
    bureau.fail_next(times=1, message=f"timeout looking up {CANARY}")  # the retry answers
    with caplog.at_level(logging.DEBUG):
        application_id = await submitted(demo)
        assert await asyncio.to_thread(runtime.wait_for_delivery)
        texts = [
            await (await demo.client.get(path, headers=demo.auth("officer"))).text()
            for path in (f"/pre-approvals?application_id={application_id}", "/pre-approvals")
        ]
    (assessment,) = await demo.listing(f"/pre-approvals?application_id={application_id}", "officer")
    assert assessment["bureau_report"]["id_number"] == mask(CANARY)
    assert assessment["outcome"] == "pass"
    assert all(CANARY not in text and mask(CANARY) in text for text in texts)
    assert caplog.records, "the request and the assessment were logged"
    assert all(CANARY not in record.getMessage() for record in caplog.records)
