"""Every error a handler raises becomes application/problem+json with the right status."""

from __future__ import annotations

import io
import logging
from datetime import date
from typing import Any

import attrs
import jsonschema
import pytest
from aiohttp import web

from leasekit.errors import (
    AdapterError,
    AmountError,
    AuthenticationError,
    CalculationError,
    ConfigurationError,
    ConflictError,
    DomainError,
    FieldError,
    IllegalTransitionError,
    NotFoundError,
    PartnerBarredError,
    PartnerRestrictedError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.server.routes.helpers import json_response, read_json, read_query

SECRET = "postgresql://leasekit:hunter2@db/leasekit"

ERRORS: dict[str, Exception] = {
    "validation": ValidationError(
        [FieldError("customer.id_number", "bad check digit"), FieldError("name", "blank")]
    ),
    "not-found": NotFoundError("customer", "c-1"),
    "authentication": AuthenticationError("token revoked"),
    "permission": PermissionDeniedError("application", "approve", "dealer_user"),
    "transition": IllegalTransitionError("application", "draft", "approve", ["submit", "cancel"]),
    "restricted": PartnerRestrictedError("Sunrise Motors", "frozen", "upload_documents"),
    "barred": PartnerBarredError("blacklisted"),
    "conflict": ConflictError("application a-1 changed since it was read"),
    "domain": DomainError("the partner's credit limit is exhausted"),
    "amount": AmountError("amount: 1.005 has more decimal places than CNY allows"),
    "calculation": CalculationError("term: must be at least 1"),
    "adapter": AdapterError(f"bureau said 500 at {SECRET}"),
    "configuration": ConfigurationError(f"cannot open {SECRET}"),
    "unexpected": RuntimeError(f"cannot open {SECRET}"),
    "redirect": web.HTTPFound("/health"),
}

raising = web.RouteTableDef()


@raising.get("/raise/{name}")
async def raise_error(request: web.Request) -> web.Response:
    raise ERRORS[request.match_info["name"]]


@attrs.frozen
class Echo:
    name: str
    count: int


@raising.post("/echo")
async def echo(request: web.Request) -> web.Response:
    return json_response(request, await read_json(request, Echo))


@attrs.frozen
class Search:
    since: date
    name: str | None = None


@raising.get("/search")
async def search(request: web.Request) -> web.Response:
    return json_response(request, read_query(request, Search))


@pytest.fixture
async def client(make_client: Any) -> Any:
    return await make_client(raising)


async def problem(client: Any, path: str, status: int, **request: Any) -> dict[str, Any]:
    method = request.pop("method", "GET")
    headers = {"Authorization": "Bearer officer-token"} | request.pop("headers", {})
    response = await client.request(method, path, headers=headers, **request)
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.mark.parametrize(
    ("name", "status", "type_"),
    [
        ("validation", 422, "urn:leasekit:problem:validation"),
        ("not-found", 404, "urn:leasekit:problem:not-found"),
        ("authentication", 401, "urn:leasekit:problem:authentication"),
        ("permission", 403, "urn:leasekit:problem:permission-denied"),
        ("transition", 409, "urn:leasekit:problem:illegal-transition"),
        ("restricted", 409, "urn:leasekit:problem:partner-restricted"),
        ("barred", 403, "urn:leasekit:problem:partner-barred"),
        ("conflict", 409, "urn:leasekit:problem:conflict"),
        ("domain", 409, "urn:leasekit:problem:business-rule"),
        ("amount", 422, "urn:leasekit:problem:amount"),
        ("calculation", 422, "urn:leasekit:problem:calculation"),
    ],
)
async def test_leasekit_errors_map_to_their_status(
    client: Any, name: str, status: int, type_: str
) -> None:
    body = await problem(client, f"/raise/{name}", status)
    assert body["type"] == type_
    assert body["detail"] == str(ERRORS[name])


async def test_every_problem_fits_the_published_problem_schema(client: Any, auth: Any) -> None:
    """Each member a problem can carry is described in /openapi.json, so clients can rely
    on it; a member added to the middleware but not to the document fails here."""
    components = (await (await client.get("/openapi.json")).json())["components"]
    described = set(components["schemas"]["Problem"]["properties"])
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Problem", "components": components}
    )
    for name, error in ERRORS.items():
        if isinstance(error, web.HTTPFound):
            continue
        response = await client.get(f"/raise/{name}", headers=auth)
        assert response.content_type == "application/problem+json", name
        body = await response.json()
        assert set(body) <= described, (name, set(body) - described)
        assert list(validator.iter_errors(body)) == [], name


async def test_validation_names_each_field(client: Any) -> None:
    body = await problem(client, "/raise/validation", 422)
    assert body["errors"] == [
        {"field": "customer.id_number", "message": "bad check digit"},
        {"field": "name", "message": "blank"},
    ]


async def test_an_illegal_transition_says_what_is_allowed(client: Any) -> None:
    body = await problem(client, "/raise/transition", 409)
    assert body | {"state": "draft", "action": "approve", "allowed": ["cancel", "submit"]} == body


async def test_a_partner_restriction_names_the_state_and_the_work(client: Any) -> None:
    body = await problem(client, "/raise/restricted", 409)
    assert body | {"partner_state": "frozen", "capability": "upload_documents"} == body
    body = await problem(client, "/raise/barred", 403)
    assert body["partner_state"] == "blacklisted"


async def test_a_barred_partner_is_no_authentication_challenge(client: Any, auth: Any) -> None:
    """The token is good: asking for another would not help."""
    response = await client.get("/raise/barred", headers=auth)
    assert (response.status, response.headers.get("WWW-Authenticate")) == (403, None)


async def test_authentication_errors_from_handlers_carry_the_challenge(client: Any) -> None:
    response = await client.get(
        "/raise/authentication", headers={"Authorization": "Bearer officer-token"}
    )
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="leasekit", error="invalid_token"'


@pytest.mark.parametrize(
    ("name", "status"), [("unexpected", 500), ("configuration", 500), ("adapter", 502)]
)
async def test_server_side_errors_leak_nothing_and_are_logged(
    client: Any, caplog: pytest.LogCaptureFixture, name: str, status: int
) -> None:
    with caplog.at_level(logging.ERROR, logger="leasekit.server"):
        body = await problem(client, f"/raise/{name}", status)
    assert "hunter2" not in repr(body)
    assert type(ERRORS[name]).__name__ not in repr(body)
    assert body["instance"].startswith("urn:uuid:")
    logged = [r for r in caplog.records if body["instance"] in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[1] is ERRORS[name]


async def test_redirects_are_not_problems(client: Any) -> None:
    response = await client.get(
        "/raise/redirect", headers={"Authorization": "Bearer officer-token"}, allow_redirects=False
    )
    assert response.status == 302
    assert response.headers["Location"] == "/health"


async def test_unknown_route_is_a_404_problem(client: Any) -> None:
    body = await problem(client, "/nowhere", 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_wrong_method_is_a_405_problem_with_allow(client: Any) -> None:
    response = await client.delete("/health")
    assert response.status == 405
    assert response.content_type == "application/problem+json"
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert (await response.json())["detail"] == "DELETE is not allowed here; allowed: GET, HEAD"


async def test_malformed_json_is_400(client: Any) -> None:
    body = await problem(
        client,
        "/echo",
        400,
        method="POST",
        data=b'{"name": ',
        headers={"Content-Type": "application/json"},
    )
    assert body["title"] == "Malformed JSON"
    assert body["detail"].startswith("the body is not valid JSON")


@pytest.mark.parametrize(
    "text", ['{"name": "a", "count": NaN}', '{"name": "a", "count": Infinity}']
)
async def test_non_finite_json_numbers_are_malformed(client: Any, text: str) -> None:
    await problem(
        client, "/echo", 400, method="POST", data=text, headers={"Content-Type": "application/json"}
    )


async def test_invalid_utf8_is_malformed(client: Any) -> None:
    await problem(
        client,
        "/echo",
        400,
        method="POST",
        data=b'{"name": "\xff"}',
        headers={"Content-Type": "application/json"},
    )


async def test_a_body_that_is_not_json_is_415(client: Any) -> None:
    body = await problem(client, "/echo", 415, method="POST", data="name=a")
    assert "application/json" in body["detail"]


async def test_a_payload_that_does_not_fit_is_422_naming_each_field(client: Any) -> None:
    body = await problem(client, "/echo", 422, method="POST", json={"name": 1, "extra": True})
    assert body["type"] == "urn:leasekit:problem:validation"
    assert body["errors"] == [
        {"field": "name", "message": "expected a string, got a number"},
        {"field": "count", "message": "this field is required"},
        {"field": "extra", "message": "unknown field"},
    ]


async def test_a_payload_that_fits_is_structured(client: Any, auth: Any) -> None:
    response = await client.post("/echo", json={"name": "a", "count": 2}, headers=auth)
    assert response.status == 200
    assert await response.json() == {"name": "a", "count": 2}


async def test_json_bodies_over_one_mebibyte_are_413(client: Any) -> None:
    text = io.BytesIO(b'{"name": "' + b"x" * (1024 * 1024) + b'", "count": 1}')
    await problem(
        client, "/echo", 413, method="POST", data=text, headers={"Content-Type": "application/json"}
    )


async def test_query_parameters_are_structured(client: Any, auth: Any) -> None:
    response = await client.get(
        "/search", params={"since": "2024-01-31", "name": "李"}, headers=auth
    )
    assert response.status == 200
    assert await response.json() == {"since": "2024-01-31", "name": "李"}


async def test_bad_query_parameters_are_named(client: Any) -> None:
    body = await problem(client, "/search?since=yesterday&limit=5", 422)
    assert body["errors"] == [
        {"field": "since", "message": "expected a date as YYYY-MM-DD, got 'yesterday'"},
        {"field": "limit", "message": "unknown field"},
    ]


async def test_a_query_parameter_given_twice_is_refused(client: Any) -> None:
    body = await problem(client, "/search?since=2024-01-31&since=2024-02-01&name=a", 422)
    assert body["errors"] == [{"field": "since", "message": "given more than once"}]
