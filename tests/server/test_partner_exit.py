"""``GET /partners/{id}/exit-review`` and the ``exit`` it guards, over HTTP."""

from __future__ import annotations

from .conftest import Demo


async def test_an_exit_is_refused_with_what_is_open_until_the_review_is_clear(demo: Demo) -> None:
    harbour = demo.partner_id("Harbour Auto")
    path = f"/partners/{harbour}"
    take = {"partner_id": harbour, "kind": "take", "reference": "contract:H-1",
            "amount": "250000.00", "reason": "fleet"}  # fmt: skip
    await demo.call("POST", "/limit-movements", "finance", 201, json=take)
    await demo.move(path, "director", 200, action="start_exit", reason="dealer retires")
    review = await demo.call("GET", f"{path}/exit-review", "director", 200)
    assert review["clear"] is False
    assert [(i["name"], i["clear"]) for i in review["items"]] == [
        ("credit_exposure", False), ("open_applications", True), ("pending_disbursements", True),
    ]  # fmt: skip
    problem = await demo.move(path, "director", 409, action="exit")
    assert "credit_exposure: used 250,000.00" in problem["detail"]
    await demo.call("POST", "/limit-movements", "finance", 201, json=take | {"kind": "release"})
    assert (await demo.call("GET", f"{path}/exit-review", "director", 200))["clear"] is True
    assert (await demo.move(path, "director", 200, action="exit"))["state"] == "exited"


async def test_a_dealer_reads_only_its_own_review(demo: Demo) -> None:
    await demo.call("GET", f"/partners/{demo.partner_id('Sunrise Motors')}/exit-review",
                    "sunrise", 200)  # fmt: skip
    await demo.call("GET", f"/partners/{demo.partner_id('Harbour Auto')}/exit-review",
                    "sunrise", 404)  # fmt: skip
