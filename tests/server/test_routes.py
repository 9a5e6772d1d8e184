"""The served OpenAPI document describes every route the app answers, as it answers it."""

from __future__ import annotations

from typing import Any

import jsonschema
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from .test_documents import png

RESOURCES = {
    ("GET", "/me"),
    ("GET", "/me/tokens"),
    ("POST", "/me/tokens"),
    ("DELETE", "/tokens/{id}"),
    ("POST", "/enrolments"),
    ("POST", "/users"),
    ("GET", "/users"),
    ("GET", "/users/{id}"),
    ("POST", "/users/{id}/transitions"),
    ("POST", "/users/{id}/enrolment"),
    ("GET", "/users/{id}/tokens"),
    ("POST", "/customers"),
    ("GET", "/customers"),
    ("GET", "/customers/{id}"),
    ("POST", "/vehicles"),
    ("GET", "/vehicles"),
    ("GET", "/vehicles/{id}"),
    ("POST", "/vehicles/{id}/transitions"),
    ("POST", "/partners"),
    ("GET", "/partners"),
    ("GET", "/partners/{id}"),
    ("POST", "/partners/{id}/transitions"),
    ("GET", "/partners/{id}/onboarding-documents"),
    ("POST", "/applications"),
    ("GET", "/applications"),
    ("GET", "/applications/{id}"),
    ("PUT", "/applications/{id}"),
    ("POST", "/applications/{id}/transitions"),
    ("POST", "/customers/{id}/documents"),
    ("GET", "/customers/{id}/documents"),
    ("GET", "/documents/{id}"),
    ("GET", "/documents/{id}/content"),
    ("GET", "/documents/{id}/defects"),
    ("POST", "/document-defects"),
    ("GET", "/document-defects"),
    ("GET", "/document-defects/{id}"),
    ("POST", "/document-defects/{id}/transitions"),
    ("GET", "/events/deliveries"),
    ("POST", "/events/deliveries/{id}/retry"),
    ("POST", "/events/deliveries/{id}/discard"),
}
"""The endpoints this API promises; a route lost in a refactoring fails here."""


async def _served(demo: Any) -> dict[str, Any]:
    async with demo.client.get("/openapi.json") as response:
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    return document


async def test_every_route_of_the_app_is_in_the_openapi_document(demo) -> None:
    document = await _served(demo)
    validate(document, cls=OpenAPIV31SpecValidator)
    routes = {
        (route.method, route.resource.canonical)
        for route in demo.client.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        # The workbench's pages are HTML for people, not part of the API.
        and not route.resource.canonical.startswith("/workbench")
    }
    described = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert routes == described
    assert described >= RESOURCES


async def test_bodies_and_replies_name_their_schemas(demo) -> None:
    document = await _served(demo)
    paths = document["paths"]

    def body(method: str, path: str) -> Any:
        return paths[path][method]["requestBody"]["content"]

    def reply(method: str, path: str, status: str) -> Any:
        return paths[path][method]["responses"][status]["content"]

    ref = "#/components/schemas/"
    assert body("post", "/applications") == {
        "application/json": {"schema": {"$ref": ref + "DraftApplication"}}
    }
    assert reply("post", "/applications", "201") == {
        "application/json": {"schema": {"$ref": ref + "Application"}}
    }
    assert reply("get", "/customers", "200")["application/json"]["schema"] == {
        "$ref": ref + "CustomerPage"
    }
    assert document["components"]["schemas"]["CustomerPage"]["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": ref + "Customer"},
    }
    assert body("post", "/customers/{id}/documents") == {"application/octet-stream": {}}
    [state] = [p for p in paths["/applications"]["get"]["parameters"] if p["name"] == "state"]
    assert (state["in"], state["required"]) == ("query", False)
    schemas = document["components"]["schemas"]
    assert "storage_key" not in schemas["Document"]["properties"]
    assert schemas["Vehicle"]["properties"]["vin"] == {"$ref": ref + "Vin"}
    assert schemas["Vin"]["type"] == "string"
    assert schemas["ApplicationTransition"]["properties"]["action"] == {
        "$ref": ref + "ApplicationAction"
    }
    assert "submit" in schemas["ApplicationAction"]["enum"]


async def test_what_the_server_answers_fits_the_schemas_it_publishes(demo) -> None:
    document = await _served(demo)
    first = demo.company.applications[0]

    def validator(name: str) -> jsonschema.Draft202012Validator:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        return jsonschema.Draft202012Validator(schema)

    answers = {
        "Actor": await demo.call("GET", "/me", "sunrise", 200),
        "User": (await demo.listing("/users", "admin"))[0],
        "Partner": await demo.call("GET", f"/partners/{first.partner_id}", "sunrise", 200),
        "Customer": await demo.call("GET", f"/customers/{first.customer_id}", "sunrise", 200),
        "Vehicle": await demo.call("GET", f"/vehicles/{first.vehicle_id}", "sunrise", 200),
        "Application": await demo.call("GET", f"/applications/{first.id}", "sunrise", 200),
    }
    await demo.call(
        "POST", f"/customers/{first.customer_id}/documents", "sunrise", 201,
        params={"kind": "id_card_front", "filename": "id.png"}, data=png(),
    )  # fmt: skip
    pages = {
        "UserPage": await demo.call("GET", "/users", "admin", 200),
        "PartnerPage": await demo.call("GET", "/partners", "officer", 200),
        "CustomerPage": await demo.call("GET", "/customers", "officer", 200),
        "VehiclePage": await demo.call("GET", "/vehicles", "officer", 200),
        "ApplicationPage": await demo.call("GET", "/applications", "officer", 200),
        "DocumentPage": await demo.call(
            "GET", f"/customers/{first.customer_id}/documents", "officer", 200
        ),
    }
    for name, answer in (answers | pages).items():
        errors = [error.message for error in validator(name).iter_errors(answer)]
        assert errors == [], name
    assert not validator("Vehicle").is_valid(answers["Vehicle"] | {"vin": "LSVAU218XN218329"})
    for name, page in pages.items():
        resource = "/" + name.removesuffix("Page").lower() + "s"
        listed = page["items"][0]
        single = await demo.call(
            "GET", f"{resource}/{listed['id']}", "admin" if name == "UserPage" else "officer", 200
        )
        assert listed == single, f"a listed {name} is the record GET answers"
