"""Partners' figures and ratings over HTTP: a rating computed and explained, overrides approved
only above the requester, the grade setting the limit band, and dealers kept out (on SQLite
and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from leasekit.domain.identity import Actor
from leasekit.server import create_app
from leasekit.server.keys import RUNTIME_KEY
from leasekit.services import partner_ratings
from leasekit.settings import Settings

from .conftest import Demo, _demo_settings, _plugins, seed
from .test_blacklist import settled

SOON = (date.today() + timedelta(days=90)).isoformat()


def override(demo: Demo, grade: str = "B", **changes: str) -> dict[str, Any]:
    return {"partner_id": demo.partner_id("Sunrise Motors"), "grade": grade, "until": SOON,
            "reason": "new brand franchise"} | changes  # fmt: skip


async def requested_override(demo: Demo, by: str = "officer") -> str:
    """The path of an override of Sunrise Motors' grade requested by *by*, its events
    delivered."""
    made = await demo.call("POST", "/rating-overrides", by, 201, json=override(demo))
    await settled(demo)
    return f"/rating-overrides/{made['id']}"


async def rate(demo: Demo, partner: str = "Sunrise Motors", as_: str = "officer") -> Any:
    body = {"partner_id": demo.partner_id(partner)}
    return await demo.call("POST", "/partner-ratings", as_, 201, json=body)


async def test_a_rating_is_kept_with_its_figures_and_explained(demo: Demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    figures = await demo.call("GET", f"/partners/{sunrise}/figures", "officer", 200)
    rating = await rate(demo)
    assert rating["inputs"] == figures
    assert rating["model_version"].startswith("scorecard-1+")
    points = [Decimal(factor["points"]) for factor in rating["factors"]]
    assert sum(points) == Decimal(rating["score"])
    assert {factor["factor"] for factor in rating["factors"]} == {
        "volume", "approval_rate", "overdue_rate", "fraud_hits", "defect_rate",
        "time_in_business",
    }  # fmt: skip
    assert all(factor["explanation"].startswith(factor["factor"]) for factor in rating["factors"])
    again = await demo.call("GET", f"/partner-ratings/{rating['id']}", "manager", 200)
    assert again == rating
    view = await demo.call("GET", f"/partners/{sunrise}/rating", "officer", 200)
    assert view["grade"] == rating["grade"]
    assert view["computed"] == rating
    history = await demo.listing(f"/partner-ratings?partner_id={sunrise}", "officer")
    assert [item["id"] for item in history] == [rating["id"]]


async def test_the_partners_grade_follows_its_rating(demo: Demo) -> None:
    rating = await rate(demo)
    partner = await demo.call(
        "GET", f"/partners/{demo.partner_id('Sunrise Motors')}", "officer", 200
    )
    assert partner["rating"] == rating["grade"]


async def test_dealers_see_no_ratings_or_figures(demo: Demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    await demo.call("GET", f"/partners/{sunrise}/rating", "sunrise", 403)
    await demo.call("GET", f"/partners/{sunrise}/figures", "sunrise", 403)
    await demo.call("GET", "/partner-ratings", "sunrise", 403)
    await demo.call("POST", "/partner-ratings", "sunrise", 403, json={"partner_id": sunrise})
    await demo.call("POST", "/rating-overrides", "sunrise", 403, json=override(demo))


async def test_an_unknown_partner_is_named(demo: Demo) -> None:
    problem = await demo.call(
        "POST", "/partner-ratings", "officer", 422, json={"partner_id": "nobody"}
    )
    assert problem["errors"][0]["field"] == "partner_id"


async def test_an_override_is_approved_by_a_more_senior_role_and_becomes_the_grade(
    demo: Demo,
) -> None:
    await rate(demo)
    path = await requested_override(demo, by="officer")
    await demo.move(path, "officer", 403, action="approve")
    approved = await demo.move(path, "manager", 200, action="approve")
    assert approved["state"] == "approved"
    sunrise = demo.partner_id("Sunrise Motors")
    view = await demo.call("GET", f"/partners/{sunrise}/rating", "officer", 200)
    assert view["grade"] == "B"
    assert view["override"]["id"] == approved["id"]
    assert view["limit_band"] == {"amount": "10000000.00", "currency": "CNY"}
    # A new computation keeps the override in force.
    await rate(demo)
    view = await demo.call("GET", f"/partners/{sunrise}/rating", "officer", 200)
    assert view["grade"] == "B"


async def test_a_managers_override_needs_a_director(demo: Demo) -> None:
    path = await requested_override(demo, by="manager")
    problem = await demo.move(path, "manager", 403, action="approve")
    assert "more senior" in problem["detail"] or "not decide their own" in problem["detail"]
    await demo.move(path, "director", 200, action="approve")


async def test_an_override_is_refused_without_a_reason_or_beyond_a_year(demo: Demo) -> None:
    far = (date.today() + timedelta(days=400)).isoformat()
    problem = await demo.call(
        "POST", "/rating-overrides", "officer", 422, json=override(demo, until=far, reason=" ")
    )
    assert {error["field"] for error in problem["errors"]} == {"until", "reason"}
    await demo.call("POST", "/rating-overrides", "director", 403, json=override(demo))


async def test_the_same_rating_request_twice_rates_once(demo: Demo) -> None:
    body = {"partner_id": demo.partner_id("Sunrise Motors")}
    headers = {"Idempotency-Key": "rate-sunrise-1"}
    first, second = await asyncio.gather(
        *(
            demo.call("POST", "/partner-ratings", "officer", 201, json=body, headers=headers)
            for _ in range(2)
        )
    )
    assert first["id"] == second["id"]
    listed = await demo.listing(f"/partner-ratings?partner_id={body['partner_id']}", "officer")
    assert len(listed) == 1


async def test_the_server_refreshes_ratings_on_its_timer(tmp_path: Path) -> None:
    settings = _refreshing_daily(_demo_settings(tmp_path, tmp_path / "leasekit.db"))
    seed(settings)
    app = create_app(settings, plugin_manager=_plugins())
    async with TestClient(TestServer(app)):
        services = app[RUNTIME_KEY].services
        for _ in range(100):
            rated = partner_ratings.list_ratings(services, Actor.system()).items
            if len(rated) == 3:
                break
            await asyncio.sleep(0.05)
    assert {item["trigger"] for item in rated} == {"scheduled"}
    assert len(rated) == 3, "each trading demo partner once (the book's dealer too)"


def _refreshing_daily(settings: Settings) -> Settings:
    """*settings* with the server's refresh every 24 hours (its first run at start-up)."""
    return settings.model_copy(
        update={"partners": settings.partners.model_copy(update={"refresh_every_hours": 24})}
    )


async def test_ratings_of_one_partner_at_once_queue_rather_than_fail(demo: Demo) -> None:
    """Each would regrade the partner (a B by hand, a C by its book): they take turns on the
    partner's row, and the first regrades it."""
    body = {"partner_id": demo.partner_id("Harbour Auto")}
    made = await asyncio.gather(
        *(demo.call("POST", "/partner-ratings", "officer", 201, json=body) for _ in range(10))
    )
    assert len({rating["id"] for rating in made}) == 10
    assert {rating["grade"] for rating in made} == {"C"}
    partner = await demo.call("GET", f"/partners/{body['partner_id']}", "officer", 200)
    assert partner["rating"] == "C"
