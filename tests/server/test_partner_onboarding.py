"""A partner's kind and its onboarding documents over HTTP: the checklist says what is
missing, and ``approve`` is a 409 naming it until the documents are there."""

from __future__ import annotations

from typing import Any

from .conftest import Demo
from .test_documents import png
from .test_partners import NEW_PARTNER

BROKER_DOCUMENTS = ["business_license", "legal_representative_id", "bank_account_proof"]


async def supply(demo: Demo, partner_id: str, kind: str) -> Any:
    """An officer uploads the partner's document of *kind*."""
    return await demo.call(
        "POST", f"/partners/{partner_id}/documents", "officer", 201,
        params={"kind": kind, "filename": f"{kind}.png"}, data=png(),
    )  # fmt: skip


async def test_a_partner_is_approved_only_once_its_documents_are_there(demo: Demo) -> None:
    created = await demo.call(
        "POST", "/partners", "officer", 201, json=NEW_PARTNER | {"kind": "broker"}
    )
    assert created["kind"] == "broker"
    path = f"/partners/{created['id']}"
    await demo.move(path, "officer", 200, action="apply")
    await demo.move(path, "officer", 200, action="start_review")
    checklist = await demo.call("GET", f"{path}/onboarding-documents", "officer", 200)
    assert (checklist["partner_kind"], checklist["complete"]) == ("broker", False)
    assert checklist["missing"] == BROKER_DOCUMENTS
    assert [item["kind"] for item in checklist["items"]] == BROKER_DOCUMENTS

    await supply(demo, created["id"], "business_license")
    problem = await demo.move(path, "manager", 409, action="approve")
    assert problem["type"] == "urn:leasekit:problem:business-rule"
    assert problem["detail"] == (
        "the partner cannot be approved yet; its onboarding documents are incomplete: "
        "legal_representative_id: none uploaded; bank_account_proof: none uploaded"
    )
    assert (await demo.call("GET", path, "officer", 200))["state"] == "under_review"

    for kind in BROKER_DOCUMENTS[1:]:
        await supply(demo, created["id"], kind)
    checklist = await demo.call("GET", f"{path}/onboarding-documents", "manager", 200)
    assert (checklist["complete"], checklist["missing"]) == (True, [])
    [document] = checklist["items"][0]["documents"]
    assert (document["filename"], document["open_defect"]) == ("business_license.png", False)
    approved = await demo.move(path, "manager", 200, action="approve")
    assert approved["state"] == "active"


async def test_a_partner_is_a_new_car_dealer_unless_said(demo: Demo) -> None:
    created = await demo.call("POST", "/partners", "officer", 201, json=NEW_PARTNER)
    assert created["kind"] == "new_car_dealer"
    checklist = await demo.call(
        "GET", f"/partners/{created['id']}/onboarding-documents", "officer", 200
    )
    assert checklist["missing"] == [*BROKER_DOCUMENTS, "brand_authorization"]
    problem = await demo.call(
        "POST", "/partners", "officer", 422, json=NEW_PARTNER | {"kind": "dealer"}
    )
    assert [error["field"] for error in problem["errors"]] == ["kind"]


async def test_a_dealer_reads_its_own_checklist_only(demo: Demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    checklist = await demo.call("GET", f"/partners/{sunrise}/onboarding-documents", "sunrise", 200)
    assert checklist["complete"], "the demo's dealers were approved with their documents"
    assert len(checklist["items"]) == 4
    harbour = demo.partner_id("Harbour Auto")
    await demo.call("GET", f"/partners/{harbour}/onboarding-documents", "sunrise", 404)
    await demo.call("GET", "/partners/unknown/onboarding-documents", "officer", 404)
