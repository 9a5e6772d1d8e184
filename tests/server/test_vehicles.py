"""``/vehicles`` over HTTP, on the real runtime with the demo company."""

from __future__ import annotations

import pytest

NEW_VEHICLE = {
    "vin": "lsgkb54h1na 123456",  # as typed: blanks and small letters are forgiven
    "make": "Buick",
    "model": "GL8",
    "year": 2025,
    "condition": "new",
}


async def test_a_dealer_registers_a_vehicle_and_reads_it_back(demo) -> None:
    created = await demo.call("POST", "/vehicles", "sunrise", 201, json=NEW_VEHICLE)
    assert created["vin"] == "LSGKB54H1NA123456", "the VIN is a plain string, canonical"
    assert created["partner_id"] == demo.partner_id("Sunrise Motors")
    assert (created["make"], created["model"], created["year"], created["condition"]) == (
        "Buick",
        "GL8",
        2025,
        "new",
    )
    assert await demo.call("GET", f"/vehicles/{created['id']}", "sunrise", 200) == created
    listed = await demo.listing("/vehicles", "sunrise")
    assert created in listed
    assert len(listed) == 3


async def test_another_partners_vehicle_is_hidden(demo) -> None:
    vehicle_id = demo.company.applications[0].vehicle_id
    await demo.call("GET", f"/vehicles/{vehicle_id}", "harbour", 404)
    assert await demo.listing("/vehicles", "harbour") == []
    assert (await demo.call("GET", f"/vehicles/{vehicle_id}", "manager", 200))["id"] == vehicle_id


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"vin": "LSGKB54H2NA123456"}, "vin", "check digit is '2' but should be '1'"),
        ({"vin": "LSGKB54H1NA12345O"}, "vin", "other than I, O and Q"),
        ({"year": "2025"}, "year", "expected an integer"),
        ({"year": 1970}, "year", "model year"),
        ({"condition": "mint"}, "condition", "new, used"),
        ({"colour": "black"}, "colour", "unknown field"),
    ],
)
async def test_bad_input_is_422_naming_the_field(demo, change, field, words) -> None:
    problem = await demo.call("POST", "/vehicles", "sunrise", 422, json=NEW_VEHICLE | change)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"]


async def test_every_field_at_fault_is_named_at_once(demo) -> None:
    body = {"vin": "SHORT", "make": " ", "model": "GL8", "year": 2025, "condition": "new"}
    problem = await demo.call("POST", "/vehicles", "sunrise", 422, json=body)
    assert {e["field"] for e in problem["errors"]} == {"vin", "make"}


async def test_a_json_body_is_required(demo) -> None:
    problem = await demo.call("POST", "/vehicles", "sunrise", 415, data=b"vin=LSGKB54H1NA123456")
    assert "application/json" in problem["detail"]
