"""Bearer tokens: every route but the public ones needs one, checked by the runtime."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from leasekit.server.app import API
from leasekit.server.keys import ACTOR_KEY
from leasekit.server.openapi import Operation
from leasekit.server.routes.helpers import actor

whoami = web.RouteTableDef()


@whoami.get("/whoami")
async def who_am_i(request: web.Request) -> web.Response:
    assert request[ACTOR_KEY] is actor(request)
    return web.json_response({"user_id": actor(request).user_id})


async def test_a_valid_token_sets_the_actor(make_client: Any, runtime: Any) -> None:
    client = await make_client(whoami)
    response = await client.get("/whoami", headers={"Authorization": "Bearer dealer-token"})
    assert response.status == 200
    assert await response.json() == {"user_id": runtime.dealer.user_id}


async def test_authenticate_runs_in_the_thread_pool(
    make_client: Any, runtime: Any, auth: Any
) -> None:
    client = await make_client(whoami)
    assert (await client.get("/whoami", headers=auth)).status == 200
    assert runtime.threads
    assert runtime.threads[0].startswith("leasekit")


async def test_no_token_is_401_with_a_bearer_challenge(make_client: Any, runtime: Any) -> None:
    client = await make_client(whoami)
    response = await client.get("/whoami")
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="leasekit"'
    body = await response.json()
    assert body["type"] == "urn:leasekit:problem:authentication"
    assert "Authorization: Bearer" in body["detail"]
    assert runtime.authenticated == [], "authenticate must not be called without a token"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer no-such-token",
        "bearer  no-such-token",
        "Basic b2ZmaWNlcjpwdw==",
        "Bearer",
        "Bearer a b",
    ],
)
async def test_a_bad_or_unknown_token_is_401_invalid_token(make_client: Any, header: str) -> None:
    client = await make_client(whoami)
    response = await client.get("/whoami", headers={"Authorization": header})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="leasekit", error="invalid_token"'


async def test_the_scheme_is_case_insensitive(make_client: Any, runtime: Any) -> None:
    client = await make_client(whoami)
    response = await client.get("/whoami", headers={"Authorization": "bEaReR officer-token"})
    assert response.status == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer no-such-token"}])
@pytest.mark.parametrize("path", ["/health", "/openapi.json"])
async def test_public_routes_need_no_token(
    client: Any, runtime: Any, path: str, headers: dict[str, str]
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status == 200
    assert runtime.authenticated == [], "a public route never looks at the token"


def _operations(*, public: bool) -> list[Operation]:
    return [op for group in API for op in group.operations if op.public is public]


def _concrete(operation: Operation) -> str:
    path = operation.openapi_path
    for name in operation.path_parameters:
        path = path.replace(f"{{{name}}}", "x")
    return path


def test_only_health_the_api_description_and_enrolment_are_public() -> None:
    """Enrolment is public because the one-time secret it takes is the credential."""
    assert sorted(op.openapi_path for op in _operations(public=True)) == [
        "/enrolments",
        "/health",
        "/openapi.json",
    ]


@pytest.mark.parametrize(
    "operation", _operations(public=False), ids=lambda op: f"{op.method} {op.openapi_path}"
)
async def test_every_other_route_refuses_a_request_without_a_valid_token(
    client: Any, runtime: Any, operation: Operation
) -> None:
    """Checked before the handler runs, whatever the body: a handler that forgot to ask
    for the actor is still protected."""
    path = _concrete(operation)
    response = await client.request(operation.method, path, json={})
    assert response.status == 401, await response.text()
    response = await client.request(
        operation.method, path, json={}, headers={"Authorization": "Bearer no-such-token"}
    )
    assert response.status == 401, await response.text()
    assert runtime.authenticated == ["no-such-token"]


async def test_an_unknown_route_is_404_not_401(client: Any) -> None:
    response = await client.get("/no/such/thing")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
