"""``Idempotency-Key`` over HTTP: a retried POST makes nothing twice."""

from __future__ import annotations

from leasekit.server.app import API

from .test_customers import NEW_CUSTOMER


async def test_a_retried_post_returns_the_first_result(demo) -> None:
    key = {"Idempotency-Key": "create-wang-xiu-1"}
    first = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER, headers=key)
    again = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER, headers=key)
    assert again == first
    listed = await demo.call("GET", "/customers", "sunrise", 200)
    assert [c["id"] for c in listed].count(first["id"]) == 1
    assert len(listed) == 3, "the demo's two customers and one new one"


async def test_a_key_reused_for_another_body_is_a_conflict(demo) -> None:
    key = {"Idempotency-Key": "k"}
    await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER, headers=key)
    other = NEW_CUSTOMER | {"name": "Someone Else"}
    problem = await demo.call("POST", "/customers", "sunrise", 409, json=other, headers=key)
    assert "different request" in problem["detail"]


async def test_a_malformed_key_is_named(demo) -> None:
    key = {"Idempotency-Key": "x" * 300}
    problem = await demo.call("POST", "/customers", "sunrise", 422, json=NEW_CUSTOMER, headers=key)
    assert [error["field"] for error in problem["errors"]] == ["idempotency_key"]


async def test_every_retryable_operation_documents_the_header(demo) -> None:
    document = await demo.call("GET", "/openapi.json", "officer", 200)
    retryable = {
        (operation.method.lower(), operation.openapi_path)
        for group in API
        for operation in group.operations
        if operation.retryable
    }
    assert len(retryable) >= 11
    for method, path in retryable:
        names = [p["name"] for p in document["paths"][path][method].get("parameters", [])]
        assert "Idempotency-Key" in names, (method, path)
