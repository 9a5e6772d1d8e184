"""``/blacklist`` and ``/review-flags`` over HTTP on both databases: each identifier listed
and read back, faults named by field, one entry however many identical adds race, removal by
two people, nothing at all for dealers, and a blacklisted partner's open applications flagged
by the background worker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from leasekit.demo import resident_id, vin
from leasekit.server.keys import RUNTIME_KEY

from .conftest import Demo
from .test_documents import png

ID_NUMBER = resident_id("11010519491231002")
VIN = vin("LSGKB54H1NA123456")
PARALLEL = 20


def wrong_check(text: str, at: int) -> str:
    """*text* with the character at *at* changed, so its check digit no longer fits."""
    return text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1 :]


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [
        ({"id_number": ID_NUMBER.lower(), "country": "cn"}, "id_number", ID_NUMBER),
        ({"phone": "+86 138 0013 8000"}, "phone", "+8613800138000"),
        ({"vin": VIN.lower()}, "vin", VIN),
    ],
)
async def test_each_identifier_is_listed_and_read_back(
    served: Demo, body: dict[str, str], field: str, shown: str
) -> None:
    first = served.company.applications[0]
    upload = f"/customers/{first.customer_id}/documents?kind=other&filename=proof.png"
    document = await served.call("POST", upload, "supervisor", 201, data=png())
    added = await served.call(
        "POST", "/blacklist", "supervisor", 201,
        json=body | {"reason": "fraud ring", "evidence": [document["id"]]},
    )  # fmt: skip
    assert (added[field], added["state"], added["evidence"]) == (shown, "listed", [document["id"]])
    assert added["added_by"] == served.user("supervisor").id
    read = await served.call("GET", f"/blacklist/{added['id']}", "officer", 200)
    assert read == added
    listed = await served.listing(f"/blacklist?kind={field}&state=listed", "director")
    assert [entry["id"] for entry in listed] == [added["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vin": wrong_check(VIN, 8)}, "vin"),
        ({"id_number": wrong_check(ID_NUMBER, 17)}, "id_number"),
        ({"phone": "+86 138 CALL NOW"}, "phone"),
        ({"phone": "13800138000", "vin": VIN}, "vin"),
        ({"vin": VIN, "evidence": ["no-such-document"]}, "evidence"),
    ],
)
async def test_a_faulty_entry_is_a_422_naming_its_field(
    served: Demo, body: dict[str, Any], field: str
) -> None:
    before = served.row_counts()
    problem = await served.call(
        "POST", "/blacklist", "manager", 422, json=body | {"reason": "fraud"}
    )
    assert field in [error["field"] for error in problem["errors"]]
    assert served.row_counts() == before


async def test_identical_adds_racing_list_one_entry(served: Demo) -> None:
    body = {"vin": VIN, "reason": "stolen"}

    async def one() -> tuple[int, Any]:
        async with served.client.post(
            "/blacklist", json=body, headers=served.auth("supervisor")
        ) as answer:
            return answer.status, await answer.json()

    answers = await asyncio.gather(*(one() for _ in range(PARALLEL)))
    assert sorted(status for status, _ in answers) == [201] + [422] * (PARALLEL - 1)
    for status, problem in answers:
        if status == 422:
            assert [error["field"] for error in problem["errors"]] == ["vin"]
            assert "constraint" not in str(problem).lower()
    assert len(await served.listing("/blacklist?kind=vin", "director")) == 1


async def test_removal_needs_a_second_person(served: Demo) -> None:
    added = await served.call(
        "POST", "/blacklist", "supervisor", 201, json={"phone": "13800138000", "reason": "x"}
    )
    path = f"/blacklist/{added['id']}"
    await served.move(path, "supervisor", 200, action="request_removal", reason="reassigned")
    problem = await served.move(path, "supervisor", 403, action="approve_removal")
    assert "another person" in problem["detail"]
    removed = await served.move(path, "director", 200, action="approve_removal")
    assert (removed["state"], removed["removal_decided_by"]) == (
        "removed", served.user("director").id,
    )  # fmt: skip


async def test_dealers_get_nothing_of_the_blacklist(served: Demo) -> None:
    added = await served.call("POST", "/blacklist", "director", 201,
                              json={"vin": VIN, "reason": "stolen"})  # fmt: skip
    path = f"/blacklist/{added['id']}"
    for dealer in ("sunrise", "harbour"):
        await served.call("POST", "/blacklist", dealer, 403, json={"vin": VIN, "reason": "x"})
        await served.call("GET", "/blacklist", dealer, 403)
        await served.call("GET", path, dealer, 403)
        await served.call("POST", f"{path}/transitions", dealer, 403,
                          json={"action": "request_removal", "reason": "x"},
                          headers={"If-Match": '"0"'})  # fmt: skip
        await served.call("GET", "/review-flags", dealer, 403)


async def eventually(demo: Demo, path: str, count: int) -> list[dict[str, Any]]:
    """The items at *path* once there are *count* of them (the background worker delivers
    events a moment after the commit)."""
    for _ in range(200):
        items: list[dict[str, Any]] = await demo.listing(path, "officer")
        if len(items) >= count:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never held {count} items")


async def test_blacklisting_a_partner_lists_it_and_flags_its_open_applications(
    served: Demo,
) -> None:
    sunrise = served.partner_id("Sunrise Motors")
    await served.move(f"/partners/{sunrise}", "director", 200, action="blacklist",
                      reason="forged invoices")  # fmt: skip
    flags = await eventually(served, "/review-flags?state=open", 2)
    flagged = {application.id for application in served.company.applications}
    assert {flag["application_id"] for flag in flags} == flagged, "the draft and the submitted"
    assert {(flag["partner_id"], flag["reason"]) for flag in flags} == {
        (sunrise, "forged invoices")
    }
    [entry] = await eventually(served, f"/blacklist?partner_id={sunrise}", 1)
    assert (entry["kind"], entry["added_by"]) == ("partner", served.user("director").id)
    await served.call("GET", "/applications", "sunrise", 403)

    path = f"/review-flags/{flags[0]['id']}"
    await served.move(path, "supervisor", 403, action="clear", reason="looked")
    cleared = await served.move(path, "manager", 200, action="clear", reason="cancelled it")
    assert cleared["state"] == "cleared"


async def settled(demo: Demo) -> None:
    """Once the background worker has delivered every event and chained every audit entry
    so far, and then those its handlers made."""
    runtime = demo.client.app[RUNTIME_KEY]
    for _ in range(2):
        assert await asyncio.to_thread(runtime.wait_for_delivery)


async def listed_vin(demo: Demo) -> str:
    """The path of a VIN the supervisor has just listed."""
    body = {"vin": VIN, "reason": "stolen"}
    added = await demo.call("POST", "/blacklist", "supervisor", 201, json=body)
    await settled(demo)
    return f"/blacklist/{added['id']}"


async def open_flag(demo: Demo) -> str:
    """The path of a review flag on one of Sunrise Motors' applications, raised by
    blacklisting the partner."""
    await demo.move(f"/partners/{demo.partner_id('Sunrise Motors')}", "director", 200,
                    action="blacklist", reason="forged invoices")  # fmt: skip
    flags = await eventually(demo, "/review-flags?state=open", 2)
    await settled(demo)
    return f"/review-flags/{flags[0]['id']}"
