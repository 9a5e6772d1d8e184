"""``/customers`` over HTTP, on the real runtime with the demo company."""

from __future__ import annotations

import pytest

from leasekit.demo import resident_id

NEW_CUSTOMER = {
    "kind": "individual",
    "name": "Wang Xiu",
    # As people type it: blanks and a small check letter are forgiven and compacted.
    "id_number": "110105 19900307 451x",
}


async def test_a_dealer_registers_a_customer_for_its_own_partner(demo) -> None:
    created = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    assert created["id_number"] == resident_id("11010519900307451") == "11010519900307451X"
    assert created["partner_id"] == demo.partner_id("Sunrise Motors")
    assert (created["kind"], created["name"], created["country"]) == (
        "individual",
        "Wang Xiu",
        "CN",
    )
    assert set(created) == {
        "id",
        "kind",
        "name",
        "country",
        "id_number",
        "partner_id",
        "created_at",
        "phone",
        "version",
    }
    fetched = await demo.call("GET", f"/customers/{created['id']}", "sunrise", 200)
    assert fetched == created


async def test_each_dealer_lists_its_own_customers_and_the_back_office_all(demo) -> None:
    created = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    sunrise = {c["id"] for c in await demo.listing("/customers", "sunrise")}
    harbour = await demo.listing("/customers", "harbour")
    everyone = {c["id"] for c in await demo.listing("/customers", "officer")}
    assert created["id"] in sunrise
    assert len(sunrise) == 3, "the demo's two customers and the new one"
    assert harbour == []
    assert sunrise <= everyone


async def test_another_partners_customer_is_not_found(demo) -> None:
    customer_id = demo.company.applications[0].customer_id
    problem = await demo.call("GET", f"/customers/{customer_id}", "harbour", 404)
    assert problem["type"] == "urn:leasekit:problem:not-found"
    assert (await demo.call("GET", "/customers/nosuchid", "officer", 404))["status"] == 404


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id_number": "110105199003074511"}, "id_number", "resident identity card number"),
        ({"kind": "robot"}, "kind", "individual, company"),
        ({"nickname": "Xiu"}, "nickname", "unknown field"),
        ({"name": 42}, "name", "expected a string"),
    ],
)
async def test_bad_input_is_422_naming_the_field(demo, change, field, words) -> None:
    problem = await demo.call("POST", "/customers", "sunrise", 422, json=NEW_CUSTOMER | change)
    assert problem["type"] == "urn:leasekit:problem:validation"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"]
    assert len(await demo.call("GET", "/customers", "sunrise", 200)) == 2, "nothing was added"


async def test_the_same_id_number_twice_for_one_partner_is_refused(demo) -> None:
    await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER)
    problem = await demo.call("POST", "/customers", "sunrise", 422, json=NEW_CUSTOMER)
    assert problem["errors"][0]["field"] == "id_number"
    assert "already registered" in problem["errors"][0]["message"]


async def test_an_administrator_may_not_register_customers(demo) -> None:
    problem = await demo.call("POST", "/customers", "admin", 403, json=NEW_CUSTOMER)
    assert problem["type"] == "urn:leasekit:problem:permission-denied"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer lk_forged"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}],
)
async def test_without_a_valid_token_every_resource_is_401(demo, headers) -> None:
    for method, path in (
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("GET", "/me"),
        ("GET", f"/applications/{demo.company.applications[0].id}"),
        ("GET", "/documents/abc/content"),
    ):
        async with demo.client.request(method, path, headers=headers, json={}) as response:
            assert response.status == 401, (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            body = await response.json()
            assert body["type"] == "urn:leasekit:problem:authentication"
