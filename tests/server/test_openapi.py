"""The OpenAPI document: valid OpenAPI 3.1, complete, and true to what the converter does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs
import jsonschema
import pytest
from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from leasekit.money import Money
from leasekit.server.app import API
from leasekit.server.openapi import ApiRoutes, Reply, Schemas, build_document
from leasekit.server.payloads import make_converter, structure


class Kind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


@attrs.frozen
class Address:
    """Where someone lives."""

    city: str
    lines: list[str] = attrs.field(factory=list, metadata={"description": "Street lines."})


@attrs.frozen
class Applicant:
    """Someone who applies."""

    name: str
    kind: Kind
    income: Money
    rate: Decimal
    born: date | None = None
    address: Address | None = None
    tags: frozenset[str] = frozenset()
    extra: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Filter:
    kind: Kind | None = None
    since: date | None = None


async def _handler(request: web.Request) -> web.Response:
    raise AssertionError("documents are built, never called")


def resource() -> ApiRoutes:
    """Declarations shaped like the resource modules the lead will write."""
    api = ApiRoutes("applicants", "People who apply.")

    async def create_applicant(request: web.Request) -> web.Response:
        """Register an applicant."""
        raise AssertionError

    async def list_applicants(request: web.Request) -> web.Response:
        raise AssertionError

    async def upload_file(request: web.Request) -> web.Response:
        raise AssertionError

    async def download_file(request: web.Request) -> web.StreamResponse:
        raise AssertionError

    api.post(
        "/applicants",
        summary="Register",
        body=Applicant,
        responses={201: Reply("The applicant", Applicant)},
    )(create_applicant)
    api.get(
        "/applicants",
        summary="List",
        query=Filter,
        responses={200: Reply("Applicants", list[Applicant])},
    )(list_applicants)
    api.put(
        "/applicants/{id}/files/{name:[a-z]+}",
        summary="Upload",
        body=bytes,
        body_media_type="application/octet-stream",
        responses={204: Reply("Stored")},
    )(upload_file)
    api.get(
        "/applicants/{id}/files/{name:[a-z]+}",
        summary="Download",
        responses={200: Reply("The file", bytes, "application/octet-stream")},
    )(download_file)
    return api


def document(*routes: ApiRoutes) -> dict[str, Any]:
    return build_document(routes, title="test", version="0", description="test")


def refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


async def test_the_served_document_is_valid_openapi_3_1(client: Any) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    served = await response.json()
    validate(served, cls=OpenAPIV31SpecValidator)
    assert served["openapi"] == "3.1.0"
    assert set(served["paths"]) == {op.openapi_path for g in API for op in g.operations}


def test_a_resource_document_is_valid_openapi_3_1() -> None:
    validate(document(*API, resource()), cls=OpenAPIV31SpecValidator)


def test_every_reference_resolves() -> None:
    built = document(*API, resource())
    schemas = built["components"]["schemas"]
    found = set(refs(built))
    assert found, "no references: the check would prove nothing"
    for ref in found:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_path_parameters_lose_their_patterns_and_are_declared() -> None:
    operation = document(resource())["paths"]["/applicants/{id}/files/{name}"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("id", "path", True),
        ("name", "path", True),
    ]


def test_query_models_become_optional_query_parameters() -> None:
    operation = document(resource())["paths"]["/applicants"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("kind", "query", False),
        ("since", "query", False),
    ]


def test_public_operations_opt_out_of_the_bearer_requirement() -> None:
    built = document(*API, resource())
    assert built["security"] == [{"bearerToken": []}]
    assert built["paths"]["/health"]["get"]["security"] == []
    assert built["paths"]["/openapi.json"]["get"]["security"] == []
    assert "security" not in built["paths"]["/applicants"]["post"]


def test_every_operation_documents_its_errors_as_problems() -> None:
    for methods in document(*API, resource())["paths"].values():
        for operation in methods.values():
            default = operation["responses"]["default"]["content"]
            assert default == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }


def test_handler_names_and_docstrings_document_the_operation() -> None:
    operation = document(resource())["paths"]["/applicants"]["post"]
    assert operation["operationId"] == "create_applicant"
    assert operation["description"] == "Register an applicant."
    assert operation["tags"] == ["applicants"]


def test_binary_bodies_have_a_media_type_and_no_schema() -> None:
    paths = document(resource())["paths"]["/applicants/{id}/files/{name}"]
    assert paths["put"]["requestBody"]["content"] == {"application/octet-stream": {}}
    assert paths["get"]["responses"]["200"]["content"] == {"application/octet-stream": {}}


def test_attrs_classes_are_closed_objects_with_their_required_fields() -> None:
    schemas = document(resource())["components"]["schemas"]
    applicant = schemas["Applicant"]
    assert applicant["required"] == ["name", "kind", "income", "rate"]
    assert applicant["additionalProperties"] is False
    assert applicant["description"] == "Someone who applies."
    assert applicant["properties"]["rate"]["type"] == "string"
    assert applicant["properties"]["born"] == {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]
    }
    assert applicant["properties"]["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
    }
    assert schemas["Kind"] == {"type": "string", "enum": ["person", "company"]}
    assert schemas["Address"]["properties"]["lines"]["description"] == "Street lines."


def _validator() -> jsonschema.Draft202012Validator:
    components = document(resource())["components"]
    schema = {"$ref": "#/components/schemas/Applicant", "components": components}
    return jsonschema.Draft202012Validator(schema)


GOOD: dict[str, Any] = {
    "name": "Han Meimei",
    "kind": "person",
    "income": {"amount": "8000.00", "currency": "CNY"},
    "rate": "0.05",
    "born": "1990-01-01",
    "address": {"city": "Wuhan", "lines": ["1 Jiefang Rd"]},
    "tags": ["new"],
    "extra": {"a": "b"},
}


@pytest.mark.parametrize(
    "payload",
    [
        GOOD,
        {k: GOOD[k] for k in ("name", "kind", "income", "rate")},
        GOOD | {"rate": 0.05},
        GOOD | {"rate": "5%"},
        GOOD | {"kind": "robot"},
        GOOD | {"income": {"amount": "1", "currency": "XXX"}},
        GOOD | {"income": {"amount": "1", "currency": "CNY", "fx": "1"}},
        GOOD | {"address": {"city": "Wuhan", "zip": "430000"}},
        GOOD | {"born": None, "address": None},
        GOOD | {"extra": {"a": 1}},
        GOOD | {"surplus": True},
        {k: v for k, v in GOOD.items() if k != "name"},
    ],
)
def test_the_schema_accepts_what_the_converter_accepts(payload: dict[str, Any]) -> None:
    try:
        structure(make_converter(), payload, Applicant)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert _validator().is_valid(payload) is accepted


def test_two_types_with_one_name_are_refused() -> None:
    first = Kind

    class Kind2(StrEnum):
        X = "x"

    Kind2.__name__ = "Kind"
    schemas = Schemas()
    schemas.of(first)
    with pytest.raises(TypeError, match="two types are named Kind"):
        schemas.of(Kind2)


@pytest.mark.parametrize("cls", [float, dict[int, str], tuple[int, str], int | str, object])
def test_types_the_api_cannot_carry_are_refused(cls: Any) -> None:
    with pytest.raises(TypeError):
        Schemas().of(cls)


def test_two_operations_with_one_id_are_refused() -> None:
    first, second = ApiRoutes("a", "a"), ApiRoutes("b", "b")
    first.get("/a", summary="a", responses={})(_handler)
    second.get("/b", summary="b", responses={})(_handler)
    with pytest.raises(ValueError, match="operationId '_handler'"):
        document(first, second)
