"""Concurrent identical requests over HTTP, on SQLite and on PostgreSQL: exactly one wins, and
every other gets the first one's answer (same idempotency key) or a clean 4xx that names the
field, never a 5xx and never the database's own words."""

from __future__ import annotations

import asyncio
from typing import Any

from .test_customers import NEW_CUSTOMER
from .test_vehicles import NEW_VEHICLE

PARALLEL = 20


async def _all(
    demo: Any, method: str, path: str, user: str, **kwargs: Any
) -> list[tuple[int, Any]]:
    async def one() -> tuple[int, Any]:
        async with demo.client.request(method, path, headers=demo.auth(user) | kwargs.get(
            "headers", {}), json=kwargs.get("json")) as answer:  # fmt: skip
            return answer.status, await answer.json()

    return await asyncio.gather(*(one() for _ in range(PARALLEL)))


def _no_database_words(answers: list[tuple[int, Any]]) -> None:
    for status, body in answers:
        assert status < 500, body
        text = str(body).lower()
        for word in ("constraint", "unique", "sql"):
            assert word not in text, body


async def test_identical_creates_with_one_key_make_one_object(served) -> None:
    key = {"Idempotency-Key": "the-same-request"}
    answers = await _all(served, "POST", "/customers", "sunrise", json=NEW_CUSTOMER, headers=key)
    _no_database_words(answers)
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    assert len(await served.listing("/customers", "sunrise")) == 3


async def test_identical_creates_without_a_key_make_one_customer(served) -> None:
    answers = await _all(served, "POST", "/customers", "sunrise", json=NEW_CUSTOMER)
    _no_database_words(answers)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [422] * (PARALLEL - 1)
    for status, body in answers:
        if status == 422:
            assert [e["field"] for e in body["errors"]] == ["id_number"]
    assert len(await served.listing("/customers", "sunrise")) == 3


async def test_one_vin_is_registered_once_whoever_races_for_it(served) -> None:
    async def register(dealer: str) -> tuple[int, Any]:
        async with served.client.post(
            "/vehicles", json=NEW_VEHICLE, headers=served.auth(dealer)
        ) as answer:
            return answer.status, await answer.json()

    answers = await asyncio.gather(
        *(register(("sunrise", "harbour")[n % 2]) for n in range(PARALLEL))
    )
    _no_database_words(answers)
    assert sorted(status for status, _ in answers) == [201] + [422] * (PARALLEL - 1)


async def test_one_of_many_moves_on_one_version_wins(served) -> None:
    path = f"/applications/{served.company.applications[0].id}"
    body = {"action": "cancel", "reason": "withdrawn"}
    answers = await _all(
        served, "POST", f"{path}/transitions", "sunrise", json=body, headers={"If-Match": '"0"'}
    )
    _no_database_words(answers)
    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 200
    assert statuses.count(200) == 1
    assert set(statuses[1:]) <= {409, 412}
    after = await served.call("GET", path, "sunrise", 200)
    assert (after["state"], after["version"]) == ("cancelled", 1)


async def test_one_of_many_revisions_on_one_version_wins(served) -> None:
    path = f"/applications/{served.company.applications[0].id}"
    answers = await _all(
        served, "PUT", path, "sunrise", json=served.draft(), headers={"If-Match": '"0"'}
    )
    _no_database_words(answers)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [412] * (PARALLEL - 1)
    assert (await served.call("GET", path, "sunrise", 200))["version"] == 1


async def test_one_username_is_taken_once(served) -> None:
    body = {"username": "clerk", "display_name": "Clerk", "role": "officer"}
    answers = await _all(served, "POST", "/users", "admin", json=body)
    _no_database_words(answers)
    assert sorted(status for status, _ in answers) == [201] + [422] * (PARALLEL - 1)
