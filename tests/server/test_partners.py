"""``/partners`` over HTTP: onboarding and the partner lifecycle."""

from __future__ import annotations

from leasekit.demo import credit_code

NEW_PARTNER = {
    "name": "Riverside Autos",
    "registration_number": credit_code("91420100MA4K5E6F7"),
    "credit_limit": "2000000.00",
    "rating": "B",
}


async def test_staff_onboard_a_partner_and_take_it_to_active(demo) -> None:
    created = await demo.call("POST", "/partners", "officer", 201, json=NEW_PARTNER)
    assert created["state"] == "prospect"
    assert created["credit_limit"] == {"amount": "2000000.00", "currency": "CNY"}
    assert created["rating"] == "B"
    path = f"/partners/{created['id']}"
    for action, user, state in (
        ("apply", "officer", "applied"),
        ("start_review", "officer", "under_review"),
        ("approve", "manager", "active"),
    ):
        moved = await demo.move(path, user, 200, action=action)
        assert moved["state"] == state
    assert (await demo.call("GET", path, "officer", 200))["state"] == "active"
    listed = await demo.listing("/partners", "director")
    assert [p["name"] for p in listed] == [
        "Sunrise Motors",
        "Harbour Auto",
        "Lakeside Cars",
        "Riverside Autos",
    ]


async def test_a_dealer_sees_only_its_own_partner(demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    listed = await demo.listing("/partners", "sunrise")
    assert [p["id"] for p in listed] == [sunrise]
    assert (await demo.call("GET", f"/partners/{sunrise}", "sunrise", 200))["state"] == "active"
    await demo.call("GET", f"/partners/{demo.partner_id('Harbour Auto')}", "sunrise", 404)


async def test_an_illegal_move_is_409_naming_state_action_and_what_is_allowed(demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    problem = await demo.move(f"/partners/{sunrise}", "manager", 409, action="approve")
    assert problem["type"] == "urn:leasekit:problem:illegal-transition"
    assert (problem["state"], problem["action"]) == ("active", "approve")
    assert problem["allowed"] == ["blacklist", "start_exit", "suspend"]


async def test_a_role_the_table_does_not_list_is_403(demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    problem = await demo.move(
        f"/partners/{sunrise}", "sunrise", 403, action="suspend", reason="late documents"
    )
    assert problem["type"] == "urn:leasekit:problem:permission-denied"
    await demo.call("POST", "/partners", "sunrise", 403, json=NEW_PARTNER)


async def test_a_sanction_needs_a_reason(demo) -> None:
    path = f"/partners/{demo.partner_id('Harbour Auto')}"
    problem = await demo.move(path, "manager", 422, action="suspend")
    assert [e["field"] for e in problem["errors"]] == ["reason"]
    moved = await demo.move(path, "manager", 200, action="suspend", reason="Overdue invoices")
    assert moved["state"] == "suspended"


async def test_onboarding_input_is_checked(demo) -> None:
    body = NEW_PARTNER | {"credit_limit": 2000000.0, "registration_number": "91420100MA4K5E6F0"}
    problem = await demo.call("POST", "/partners", "officer", 422, json=body)
    assert [e["field"] for e in problem["errors"]] == ["credit_limit"], "JSON structure first"
    assert "as a string" in problem["errors"][0]["message"]
    body = NEW_PARTNER | {"registration_number": "91420100MA4K5E6F0"}
    problem = await demo.call("POST", "/partners", "officer", 422, json=body)
    assert [e["field"] for e in problem["errors"]] == ["registration_number"]
