"""The product catalogue over HTTP, on the demo company's real server: the published demo
products, a new product taken from draft to sale by two people, new terms as a new version
at ``If-Match``, retirement, and the faults named by their fields."""

from __future__ import annotations

from typing import Any

from .conftest import Demo


def product_body(code: str = "UCL-USED", **terms: Any) -> dict[str, Any]:
    return {
        "code": code,
        "business_type": "loan",
        "terms": {
            "name": "Used-car loan",
            "currency": "CNY",
            "annual_rate_min": "0.0599",
            "annual_rate_max": "0.1199",
            "term_months": [12, 24, 36],
            "min_down_payment_ratio": "0.3",
            "max_financed_ratio": "0.7",
            "schedule_methods": ["annuity"],
            "fees": [{"name": "valuation", "amount": "800.00", "financed": False,
                      "in_apr": True}],
            "documents": ["id_card_front", "vehicle_registration"],
            "min_partner_rating": "B",
            "partner_kinds": ["used_car_dealer"],
        }
        | terms,
    }  # fmt: skip


def first_product(demo: Demo, code: str = "FL-STD") -> Any:
    return next(product for product in demo.company.products if product.code == code)


async def test_the_demo_catalogue_is_published(demo: Demo) -> None:
    listed = await demo.listing("/products?state=published", "officer")
    assert [item["code"] for item in listed] == ["NCL-NEW", "FL-STD", "OL-FLEET"]
    leases = await demo.listing("/products?business_type=operating_lease", "officer")
    assert [item["name"] for item in leases] == ["Operating lease"]
    product = first_product(demo)
    version = await demo.call(
        "GET", f"/product-versions/{product.current_version_id}", "officer", 200
    )
    assert version["terms"]["residual"] == "allowed"
    assert version["terms"]["fees"] == [
        {"name": "handling", "amount": None, "rate": "0.01", "financed": True, "in_apr": True}
    ]
    assert version["published_by"] == demo.user("director").id


async def test_a_product_goes_from_draft_to_sale_with_two_people(demo: Demo) -> None:
    made = await demo.call("POST", "/products", "manager", 201, json=product_body())
    assert (made["state"], made["current_version_id"]) == ("draft", None)
    draft = f"/product-versions/{made['draft_version_id']}"
    problem = await demo.move(draft, "manager", 403, action="publish")
    assert "author" in problem["detail"]
    await demo.move(draft, "officer", 403, action="publish")
    published = await demo.move(draft, "director", 200, action="publish")
    assert published["state"] == "published"
    product = await demo.call("GET", f"/products/{made['id']}", "officer", 200)
    assert (product["state"], product["current_version_id"]) == ("published", published["id"])


async def test_new_terms_are_a_new_version_at_if_match(demo: Demo) -> None:
    product = first_product(demo)
    path = f"/products/{product.id}"
    terms = product_body(annual_rate_max="0.1299")["terms"] | {"name": "Direct finance lease"}
    await demo.call("PUT", path, "manager", 428, json=terms)
    await demo.call("PUT", path, "manager", 412, json=terms, headers={"If-Match": '"99"'})
    await demo.call("PUT", path, "officer", 403, json=terms, headers={"If-Match": '"0"'})
    etag = await demo.etag(path)
    revised = await demo.call("PUT", path, "manager", 200, json=terms, headers={"If-Match": etag})
    assert (revised["latest"], revised["current_version_id"]) == (2, product.current_version_id)
    versions = await demo.listing(f"{path}/versions", "officer")
    assert [(v["number"], v["state"]) for v in versions] == [(1, "published"), (2, "draft")]
    assert versions[0]["terms"]["annual_rate_max"] == "0.0999", "the published one is unchanged"
    await demo.move(f"/product-versions/{revised['draft_version_id']}", "director", 200,
                    action="publish")  # fmt: skip
    versions = await demo.listing(f"{path}/versions", "officer")
    assert [v["state"] for v in versions] == ["retired", "published"]


async def test_retiring_takes_a_product_off_sale_and_says_why(demo: Demo) -> None:
    product = first_product(demo, "OL-FLEET")
    version = f"/product-versions/{product.current_version_id}"
    problem = await demo.move(version, "manager", 422, action="retire")
    assert [error["field"] for error in problem["errors"]] == ["reason"]
    await demo.move(version, "manager", 200, action="retire", reason="no fleet business")
    found = await demo.call("GET", f"/products/{product.id}", "officer", 200)
    assert (found["state"], found["current_version_id"]) == ("retired", None)
    await demo.move(version, "director", 409, action="publish")


async def test_every_fault_is_named_by_its_field(demo: Demo) -> None:
    body = product_body(
        "NCL-NEW",
        annual_rate_min="0.2",
        term_months=[0, 36],
        schedule_methods=["balloon"],
        residual="required",
    )
    problem = await demo.call("POST", "/products", "manager", 422, json=body)
    assert {error["field"] for error in problem["errors"]} == {
        "terms.annual_rate_max", "terms.term_months", "terms.schedule_methods",
        "terms.residual_min_ratio", "terms.residual_max_ratio",
    }  # fmt: skip
    problem = await demo.call("POST", "/products", "manager", 422, json=product_body("NCL-NEW"))
    assert [error["field"] for error in problem["errors"]] == ["code"]
    problem = await demo.call(
        "POST", "/products", "manager", 422, json=product_body(annual_rate_min=0.05)
    )
    assert [error["field"] for error in problem["errors"]] == ["terms.annual_rate_min"]


async def test_the_catalogue_is_kept_from_dealers(demo: Demo) -> None:
    product = first_product(demo)
    await demo.call("GET", "/products", "sunrise", 403)
    await demo.call("GET", f"/products/{product.id}", "sunrise", 404)
    await demo.call("POST", "/products", "sunrise", 403, json=product_body())
