"""``PUT /partners/{id}`` and ``/partners/{id}/history`` over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

from .test_partners import NEW_PARTNER

ACCOUNT = {"scheme": "iban", "holder": "Harbour Auto", "bank_name": "Deutsche Bank",
           "iban": "DE89370400440532013000", "primary": True}  # fmt: skip


def profile(partner: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fields = ("name", "legal_representative", "contacts", "registered_address",
              "business_address", "brands", "bank_accounts", "branch")  # fmt: skip
    return {field: partner[field] for field in fields} | changes


async def test_an_officer_revises_and_the_history_explains_it(served) -> None:
    path = f"/partners/{served.partner_id('Harbour Auto')}"
    before = await served.call("GET", path, "officer", 200)
    body = profile(before, bank_accounts=[ACCOUNT], reason="settlement account opened")
    headers = {"If-Match": await served.etag(path)}
    revised = await served.call("PUT", path, "officer", 200, json=body, headers=headers)
    assert revised["version"] == before["version"] + 1
    assert revised["bank_accounts"][0]["iban"] == ACCOUNT["iban"]
    history = await served.listing(f"{path}/history", "harbour")
    assert [entry["revision"] for entry in history] == [0, revised["version"]]
    assert history[-1]["reason"] == "settlement account opened"
    assert history[-1]["changes"] == [
        {"field": "bank_accounts", "before": [], "after": [ACCOUNT | {
            "iban": "****3000", "bic": None, "card_number": None, "routing_number": None,
            "account_number": None}]},
    ]  # fmt: skip


async def test_a_stale_if_match_is_412_and_changes_nothing(served) -> None:
    path = f"/partners/{served.partner_id('Harbour Auto')}"
    before = await served.call("GET", path, "officer", 200)
    body = profile(before, brands=["Buick"], reason="brands listed")
    await served.call("PUT", path, "officer", 428, json=body)
    stale = {"If-Match": f'"{before["version"] - 1}"'}
    rows = served.row_counts()
    await served.call("PUT", path, "manager", 412, json=body, headers=stale)
    assert served.row_counts() == rows
    assert await served.call("GET", path, "officer", 200) == before


async def test_a_dealer_may_not_edit_but_reads_its_own_history(served) -> None:
    sunrise = f"/partners/{served.partner_id('Sunrise Motors')}"
    body = profile(await served.call("GET", sunrise, "sunrise", 200), reason="ours")
    headers = {"If-Match": await served.etag(sunrise)}
    await served.call("PUT", sunrise, "sunrise", 403, json=body, headers=headers)
    await served.call("PUT", sunrise, "director", 403, json=body, headers=headers)
    assert len(await served.listing(f"{sunrise}/history", "sunrise")) == 1
    harbour = f"/partners/{served.partner_id('Harbour Auto')}"
    await served.call("GET", f"{harbour}/history", "sunrise", 404)


async def test_faults_are_named_by_their_path_in_the_body(demo) -> None:
    bad = {"scheme": "us_aba", "holder": "R", "bank_name": "B", "routing_number": "011000015",
           "account_number": "12"}  # fmt: skip
    body = NEW_PARTNER | {
        "bank_accounts": [ACCOUNT, bad],
        "contacts": [{"name": "Zhou", "role": "owner", "email": "zhou@"}],
    }
    problem = await demo.call("POST", "/partners", "officer", 422, json=body)
    assert [e["field"] for e in problem["errors"]] == [
        "contacts[0].email",
        "bank_accounts[1].account_number",
    ]


async def test_the_history_pages_oldest_first(demo) -> None:
    path = f"/partners/{demo.partner_id('Harbour Auto')}"
    for brand in ("Buick", "Audi", "BYD"):
        body = profile(await demo.call("GET", path, "officer", 200), brands=[brand], reason=brand)
        await demo.call("PUT", path, "officer", 200, json=body,
                        headers={"If-Match": await demo.etag(path)})  # fmt: skip
    first = await demo.call("GET", f"{path}/history?limit=2", "officer", 200)
    rest = await demo.call("GET", first["next"], "officer", 200)
    reasons = [entry["reason"] for entry in first["items"] + rest["items"]]
    assert reasons == ["onboarded", "Buick", "Audi", "BYD"]
    assert rest["next"] is None


async def test_the_business_address_keeps_its_coordinates_exactly(served) -> None:
    path = f"/partners/{served.partner_id('Harbour Auto')}"
    address = {"line": "88 Century Ave", "city": "Shanghai", "country": "CN",
               "latitude": "31.2304", "longitude": "121.4737"}  # fmt: skip
    body = profile(await served.call("GET", path, "officer", 200), business_address=address,
                   reason="mapped")  # fmt: skip
    headers = {"If-Match": await served.etag(path)}
    await served.call("PUT", path, "officer", 200, json=body, headers=headers)
    shown = (await served.call("GET", path, "officer", 200))["business_address"]
    assert (shown["latitude"], shown["longitude"]) == ("31.2304", "121.4737")
    history = await served.listing(f"{path}/history", "officer")
    assert history[-1]["changes"][0]["after"]["latitude"] == "31.2304"


async def test_coordinates_come_in_pairs_and_on_the_globe(demo) -> None:
    path = f"/partners/{demo.partner_id('Harbour Auto')}"
    before = await demo.call("GET", path, "officer", 200)
    registered = {"line": "1 Pier Rd", "city": "Ningbo", "country": "CN", "latitude": "29.87"}
    business = {"line": "2 Pier Rd", "city": "Ningbo", "country": "CN", "latitude": "95",
                "longitude": "121.55"}  # fmt: skip
    body = profile(before, registered_address=registered, business_address=business,
                   reason="mapped")  # fmt: skip
    headers = {"If-Match": await demo.etag(path)}
    problem = await demo.call("PUT", path, "officer", 422, json=body, headers=headers)
    assert [e["field"] for e in problem["errors"]] == [
        "registered_address.longitude",
        "business_address.latitude",
    ]
