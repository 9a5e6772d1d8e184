"""Applications priced with a product over HTTP: the plan's totals on the application, its
rows at ``/applications/{id}/plan``, terms outside the product refused by field and range,
and the parties on the application."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leasekit.demo import resident_id, vin


async def test_a_priced_draft_shows_its_plan_and_a_revision_prices_it_again(demo) -> None:
    body = demo.priced_draft()
    draft = await demo.call("POST", "/applications", "sunrise", 201, json=body)
    plan = draft["plan"]
    assert draft["schedule_method"] == "equal_principal"
    assert draft["product_version_id"] == demo.company.products[0].current_version_id
    assert draft["parties"] == body["parties"]
    assert draft["conditions"] is None
    # 189,000 less 37,800 down, plus the GPS tracker financed (1,500.00, not in the APR);
    # the arrangement fee of 1,000.00 is paid up front, a prepaid finance charge.
    assert (plan["principal"], plan["amount_financed"], plan["upfront_fees"]) == (
        "152700.00", "151700.00", "1000.00")  # fmt: skip
    assert (plan["installments"], plan["currency"], plan["apr_convention"]) == (
        24, "CNY", "us_actuarial")  # fmt: skip
    path = f"/applications/{draft['id']}"
    whole = await demo.call("GET", f"{path}/plan", "sunrise", 200)
    assert whole["summary"] == plan
    assert whole["product_version_id"] == draft["product_version_id"]
    rows = whole["rows"]
    assert [row["number"] for row in rows] == list(range(1, 25))
    assert sum(Decimal(row["principal"]) for row in rows) == Decimal(plan["principal"])
    assert sum(Decimal(row["payment"]) for row in rows) == Decimal(plan["total_of_payments"])
    assert rows[-1]["balance"] == "0.00"
    revised = await demo.call(
        "PUT", path, "sunrise", 200, json=demo.priced_draft(term_months=36, parties=[]),
        headers={"If-Match": '"0"'},
    )  # fmt: skip
    assert revised["plan"]["installments"] == 36
    assert revised["parties"] == []
    assert len((await demo.call("GET", f"{path}/plan", "officer", 200))["rows"]) == 36
    assert await demo.call("GET", path, "officer", 200) == revised


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"term_months": 72}, "term_months", "72 is not one of 12, 24, 36, 48, 60"),
        ({"annual_rate": "0.0999"}, "annual_rate", "0.0999 is outside 0.0399 to 0.0899"),
        ({"down_payment": "30000.00"}, "down_payment", "minimum of 20% of the price"),
        ({"schedule_method": "flat"}, "schedule_method", "'flat' is not one of annuity"),
        ({"business_type": "finance_lease"}, "product_code", "loan product, not finance_lease"),
        ({"product_code": "NO-SUCH"}, "product_code", "no such product"),
        ({"parties": [{"customer_id": "nobody", "role": "guarantor"}]},
         "parties[0].customer_id", "no such customer"),
        ({"parties": [{"customer_id": "x", "role": "witness"}]}, "parties[0].role", "guarantor"),
    ],
)  # fmt: skip
async def test_terms_outside_the_product_are_422_naming_the_field_and_nothing_is_written(
    demo, change, field, words
) -> None:
    before = demo.row_counts()
    problem = await demo.call(
        "POST", "/applications", "sunrise", 422, json=demo.priced_draft(**change)
    )
    assert [e["field"] for e in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"]
    assert demo.row_counts() == before


async def test_a_partner_that_may_not_sell_the_product_is_told_why(demo) -> None:
    """Harbour Auto is a used-car dealer; the new-car loan is for new-car dealers."""
    drafted = demo.company.applications[0]
    person = {
        "kind": "individual",
        "name": "Qian Lu",
        "id_number": resident_id("11010519850307001"),
    }
    customer = await demo.call("POST", "/customers", "harbour", 201, json=person)
    vehicle = await demo.call(
        "POST", "/vehicles", "harbour", 201,
        json={"vin": vin("LFV3A21K5A3049721"), "make": "Audi", "model": "A4L", "year": 2024,
              "condition": "used"},
    )  # fmt: skip
    assert vehicle["id"] != drafted.vehicle_id
    body = demo.priced_draft(
        partner_id=demo.partner_id("Harbour Auto"), customer_id=customer["id"],
        vehicle_id=vehicle["id"], parties=[],
    )  # fmt: skip
    problem = await demo.call("POST", "/applications", "harbour", 422, json=body)
    assert problem["errors"] == [
        {"field": "product_code",
         "message": "a used_car_dealer may not sell it; only new_car_dealer, broker"}
    ]  # fmt: skip


async def test_the_plan_of_an_unpriced_or_unseen_application_is_not_found(demo) -> None:
    draft = await demo.call("POST", "/applications", "sunrise", 201, json=demo.draft())
    assert draft["plan"] is None
    await demo.call("GET", f"/applications/{draft['id']}/plan", "sunrise", 404)
    priced = demo.company.applications[0]
    await demo.call("GET", f"/applications/{priced.id}/plan", "harbour", 404)
    await demo.call("GET", f"/applications/{priced.id}/plan", "sunrise", 200)


async def test_the_application_list_shows_each_plan_and_its_parties(demo) -> None:
    await demo.call("POST", "/applications", "sunrise", 201, json=demo.priced_draft())
    listed = await demo.listing("/applications", "sunrise")
    assert [item["parties"] for item in listed][-1] == demo.priced_draft()["parties"]
    shown = await demo.call("GET", f"/applications/{listed[0]['id']}", "sunrise", 200)
    assert listed[0]["plan"] == shown["plan"]
    assert shown["plan"]["installments"] == 36
