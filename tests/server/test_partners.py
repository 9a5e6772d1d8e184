"""``/partners`` over HTTP: onboarding, the partner lifecycle, and what a partner's state
lets its users do."""

from __future__ import annotations

import pytest

from leasekit.demo import DEMO_BOOK_DEALER, credit_code

from .test_customers import NEW_CUSTOMER
from .test_documents import png
from .test_vehicles import NEW_VEHICLE

NEW_PARTNER = {
    "name": "Riverside Autos",
    "registration_number": credit_code("91420100MA4K5E6F7"),
    "credit_limit": "2000000.00",
    "rating": "B",
}


async def test_staff_onboard_a_partner_and_take_it_to_active(demo) -> None:
    created = await demo.call("POST", "/partners", "officer", 201, json=NEW_PARTNER)
    assert created["state"] == "prospect"
    assert "credit_limit" not in created, "the limit is an account of its own"
    figures = await demo.call("GET", f"/partners/{created['id']}/credit-limit", "officer", 200)
    assert figures["limit"] == {"amount": "2000000.00", "currency": "CNY"}
    assert created["rating"] == "B"
    path = f"/partners/{created['id']}"
    assert (await demo.move(path, "officer", 200, action="apply"))["state"] == "applied"
    for kind in ("business_license", "legal_representative_id", "bank_account_proof",
                 "brand_authorization"):  # fmt: skip
        await demo.call(
            "POST", f"{path}/documents", "officer", 201,
            params={"kind": kind, "filename": f"{kind}.png"}, data=png(),
        )  # fmt: skip
    for action, user, state in (
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
        DEMO_BOOK_DEALER,
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
    assert problem["allowed"] == ["blacklist", "freeze", "start_exit", "suspend", "watch"]


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


async def test_a_blacklisted_partners_users_are_refused_on_their_very_next_request(
    served,
) -> None:
    sunrise = served.partner_id("Sunrise Motors")
    created = await served.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    await served.call("GET", "/me", "sunrise", 200)
    await served.move(
        f"/partners/{sunrise}", "director", 200, action="blacklist", reason="forged invoices"
    )
    for method, path, body in (
        ("GET", "/me", None),
        ("GET", "/customers", None),
        ("GET", f"/customers/{created['id']}", None),
        ("GET", f"/partners/{sunrise}", None),
        ("POST", "/me/tokens", {"label": "another way in"}),
        ("POST", "/customers", NEW_CUSTOMER),
    ):
        async with served.client.request(
            method, path, headers=served.auth("sunrise"), json=body
        ) as answer:
            assert answer.status == 403, (method, path)
            assert answer.content_type == "application/problem+json"
            problem = await answer.json()
        assert problem["type"] == "urn:leasekit:problem:partner-barred"
        assert problem["partner_state"] == "blacklisted"
        assert "blacklisted" in problem["detail"]
    assert await served.listing("/customers", "harbour") == [], "other partners are untouched"
    staff_view = await served.listing(f"/customers?partner_id={sunrise}", "officer")
    assert created["id"] in [c["id"] for c in staff_view]


async def test_a_watched_partners_users_keep_creating(served) -> None:
    sunrise = f"/partners/{served.partner_id('Sunrise Motors')}"
    watched = await served.move(sunrise, "supervisor", 200, action="watch", reason="overdue 4%")
    assert watched["state"] == "watch"
    await served.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    await served.call("POST", "/vehicles", "sunrise", 201, json=NEW_VEHICLE)
    await served.call("POST", "/applications", "sunrise", 201, json=served.draft())


async def test_a_freeze_and_its_thaw(demo) -> None:
    path = f"/partners/{demo.partner_id('Harbour Auto')}"
    for action, user, state in (
        ("watch", "manager", "watch"),
        ("freeze", "supervisor", "frozen"),
        ("unfreeze", "director", "suspended"),
        ("reinstate", "manager", "active"),
    ):
        moved = await demo.move(path, user, 200, action=action, reason="as the file shows")
        assert moved["state"] == state
    await demo.call("GET", "/customers", "harbour", 200)


@pytest.mark.parametrize(
    ("before", "action", "user", "status"),
    [
        ((), "unfreeze", "director", 409),
        ((), "clear_watch", "manager", 409),
        (("freeze",), "start_exit", "director", 409),
        (("freeze",), "reinstate", "manager", 409),
        ((), "watch", "officer", 403),
        ((), "watch", "sunrise", 403),
        ((), "freeze", "manager", 403),
        (("freeze",), "unfreeze", "manager", 403),
        (("watch",), "clear_watch", "finance", 403),
    ],
)
async def test_new_moves_refused_by_state_or_role(demo, before, action, user, status) -> None:
    path = f"/partners/{demo.partner_id('Sunrise Motors')}"
    for step in before:
        await demo.move(path, "director", 200, action=step, reason="overdue invoices")
    state = (await demo.call("GET", path, "officer", 200))["state"]
    problem = await demo.move(path, user, status, action=action, reason="why not")
    kind = "illegal-transition" if status == 409 else "permission-denied"
    assert problem["type"] == f"urn:leasekit:problem:{kind}"
    assert (await demo.call("GET", path, "officer", 200))["state"] == state
