"""``/applications`` over HTTP: drafting, revising, listing and the application lifecycle."""

from __future__ import annotations

import pytest


async def test_a_dealer_drafts_revises_and_submits_an_application(demo) -> None:
    draft = await demo.call("POST", "/applications", "sunrise", 201, json=demo.draft())
    assert draft["state"] == "draft"
    assert draft["created_by"] == demo.user("sunrise").id
    assert draft["requested"] == {
        "vehicle_price": {"amount": "189000.00", "currency": "CNY"},
        "down_payment": {"amount": "37800.00", "currency": "CNY"},
        "term_months": 24,
        "annual_rate": "0.0488",
        "residual_value": None,
    }
    path = f"/applications/{draft['id']}"
    revised = await demo.call(
        "PUT", path, "sunrise", 200, json=demo.draft(term_months=36, residual_value="9000"),
        headers={"If-Match": '"0"'},
    )  # fmt: skip
    assert revised["requested"]["term_months"] == 36
    assert revised["requested"]["residual_value"] == {"amount": "9000", "currency": "CNY"}
    assert revised["version"] == 1
    submitted = await demo.move(path, "sunrise", 200, action="submit")
    assert submitted["state"] == "submitted"
    assert await demo.call("GET", path, "officer", 200) == submitted


async def test_lists_are_scoped_to_the_partner_and_filtered_by_state(demo) -> None:
    drafted, submitted = demo.company.applications
    everything = await demo.listing("/applications", "sunrise")
    assert [a["id"] for a in everything] == [drafted.id, submitted.id]
    only = await demo.listing("/applications?state=in_review", "officer")
    assert [a["id"] for a in only] == [submitted.id]
    assert await demo.listing("/applications", "harbour") == []
    problem = await demo.call("GET", "/applications?state=pending", "officer", 422)
    assert [e["field"] for e in problem["errors"]] == ["state"]
    problem = await demo.call("GET", "/applications?page=2", "officer", 422)
    assert problem["errors"] == [{"field": "page", "message": "unknown field"}]


async def test_another_partners_application_is_not_found_whatever_is_asked(demo) -> None:
    path = f"/applications/{demo.company.applications[0].id}"
    anything = {"If-Match": "*"}
    await demo.call("GET", path, "harbour", 404)
    await demo.call("PUT", path, "harbour", 404, json=demo.draft(), headers=anything)
    await demo.call(
        "POST", f"{path}/transitions", "harbour", 404, json={"action": "cancel"}, headers=anything
    )
    assert (await demo.call("GET", path, "sunrise", 200))["state"] == "draft", "untouched"


async def test_submitting_twice_is_409_naming_state_and_action(demo) -> None:
    """The demo's submitted application has been pre-approved and is in review since."""
    submitted = demo.company.applications[1]
    path = f"/applications/{submitted.id}"
    problem = await demo.move(path, "sunrise", 409, action="submit")
    assert problem["type"] == "urn:leasekit:problem:illegal-transition"
    assert (problem["state"], problem["action"]) == ("in_review", "submit")
    assert "cancel" in problem["allowed"]
    assert "in_review" in problem["detail"]
    problem = await demo.call(
        "PUT", path, "sunrise", 409, json=demo.draft(), headers={"If-Match": '"3"'}
    )
    assert (problem["state"], problem["action"]) == ("in_review", "revise")


async def test_a_move_reserved_to_another_role_is_403(demo) -> None:
    path = f"/applications/{demo.company.applications[1].id}"
    problem = await demo.move(path, "sunrise", 403, action="approve")
    assert problem["type"] == "urn:leasekit:problem:permission-denied"


async def test_a_dealer_cancels_its_draft_with_a_reason(demo) -> None:
    path = f"/applications/{demo.company.applications[0].id}"
    moved = await demo.move(path, "sunrise", 200, action="cancel", reason="Bought elsewhere")
    assert moved["state"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"vehicle_price": 189000.0}, "vehicle_price", 'write the number as a string, e.g. "'),
        ({"annual_rate": 0.0488}, "annual_rate", "as a string"),
        ({"term_months": 0}, "term_months", "from 1 to 120"),
        ({"down_payment": "189000.00"}, "down_payment", "less than the vehicle price"),
        ({"business_type": "rental"}, "business_type", "loan, finance_lease"),
        ({"customer_id": "nosuchcustomer"}, "customer_id", "no such customer"),
        ({"discount": "100"}, "discount", "unknown field"),
    ],
)
async def test_bad_drafts_are_422_naming_the_field(demo, change, field, words) -> None:
    problem = await demo.call("POST", "/applications", "sunrise", 422, json=demo.draft(**change))
    assert [e["field"] for e in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"]


async def test_a_dealer_cannot_draft_on_another_partners_customer(demo) -> None:
    body = demo.draft(partner_id=demo.partner_id("Harbour Auto"))
    problem = await demo.call("POST", "/applications", "harbour", 422, json=body)
    assert {e["field"] for e in problem["errors"]} == {"customer_id", "vehicle_id"}


async def test_back_office_staff_read_the_face_photos_findings(demo) -> None:
    from leasekit.testing.photos import sample_face_photo

    application = demo.company.applications[0].id
    params = {"kind": "face_photo", "filename": "signing.jpg"}
    await demo.call("POST", f"/applications/{application}/documents", "sunrise", 201,
                    params=params, data=sample_face_photo())  # fmt: skip
    path = f"/applications/{application}/face-check"
    report = await demo.call("GET", path, "officer", 200)
    assert demo.row_counts()["face_photo_hashes"] == 0, "a read records no hash"
    assert report["application_id"] == application
    assert report["facts"]["face_photo_present"] is True
    assert report["facts"]["face_detected_count"] == "1"
    assert report["facts"]["face_photo_reused_count"] == "0"
    assert [f["check"] for f in report["findings"]] == [
        "face", "capture_time", "capture_place", "reuse", "match",
    ]  # fmt: skip
    assert report["findings"][0] == {
        "check": "face", "passed": True, "sentence": "One face was found in the photo."
    }  # fmt: skip
    await demo.call("GET", path, "sunrise", 403)
    await demo.call("GET", "/applications/nothing-here/face-check", "officer", 404)
