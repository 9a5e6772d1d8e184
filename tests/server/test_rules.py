"""Rule sets over HTTP: saved as drafts, refused by the place of a bad condition, published by a
second person, tried on facts by a dry run, and kept from dealers (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Demo
from .test_blacklist import settled

RULES: list[dict[str, Any]] = [
    {"code": "blacklisted", "condition": "blacklist_hits > 0", "action": "decline",
     "reason": "the applicant is on the blacklist"},
    {"code": "large", "condition": 'amount_financed > 500000.00 and partner_rating in ["C", "D"]',
     "action": "refer", "reason": "a large deal from a C or D dealer", "points": -10},
]  # fmt: skip


def rule_set(rules: list[dict[str, Any]] = RULES) -> dict[str, Any]:
    return {"name": "pre_approval", "rules": rules}


async def saved_rule_set(demo: Demo) -> str:
    """The path of a draft rule set a manager saved, its events delivered."""
    made = await demo.call("POST", "/rule-sets", "manager", 201, json=rule_set())
    await settled(demo)
    return f"/rule-set-versions/{made['id']}"


async def test_a_draft_is_tried_then_published_by_another_person(demo: Demo) -> None:
    """The demo's version is in force; a new one replaces it."""
    path = await saved_rule_set(demo)
    facts = {"amount_financed": "500000.01", "partner_rating": "C", "blacklist_hits": "0"}
    result = await demo.call("POST", f"{path}/dry-run", "officer", 200, json=facts)
    assert (result["action"], result["score"]) == ("refer", -10)
    assert [fired["code"] for fired in result["fired"]] == ["large"]
    await demo.move(path, "manager", 403, action="publish")
    published = await demo.move(path, "director", 200, action="publish")
    assert published["state"] == "published"
    in_force = await demo.listing("/rule-set-versions?name=pre_approval&state=published", "officer")
    assert [item["id"] for item in in_force] == [published["id"]]


async def test_a_bad_condition_is_named_and_nothing_is_saved(demo: Demo) -> None:
    bad = [*RULES, {"code": "typo", "condition": "credit_scor < 600", "action": "refer",
                    "reason": "typo"}]  # fmt: skip
    before = await demo.listing("/rule-set-versions", "manager")
    problem = await demo.call("POST", "/rule-sets", "manager", 422, json=rule_set(bad))
    assert problem["errors"] == [{"field": "rules[2].condition",
                                  "message": "unknown fact 'credit_scor' (did you mean "
                                  "credit_score?)"}]  # fmt: skip
    assert await demo.listing("/rule-set-versions", "manager") == before


async def test_dealers_and_officers_write_no_rules(demo: Demo) -> None:
    await demo.call("POST", "/rule-sets", "officer", 403, json=rule_set())
    await demo.call("POST", "/rule-sets", "sunrise", 403, json=rule_set())
    await demo.call("GET", "/rule-set-versions", "sunrise", 403)


async def test_two_versions_published_at_once_leave_one_in_force(demo: Demo) -> None:
    """Each publication retires the version in force (the demo's); two at once cannot both
    stand."""
    paths = [await saved_rule_set(demo) for _ in range(2)]

    async def publish(path: str) -> int:
        headers = demo.auth("director") | {"If-Match": '"0"'}
        async with demo.client.post(
            f"{path}/transitions", json={"action": "publish"}, headers=headers
        ) as answer:
            return answer.status

    statuses = await asyncio.gather(*(publish(path) for path in paths))
    assert 200 in statuses
    assert set(statuses) <= {200, 409, 412, 422}, "the loser is told the set changed"
    in_force = await demo.listing("/rule-set-versions?name=pre_approval&state=published", "officer")
    assert len(in_force) == 1
