"""``/document-defects`` over HTTP: reviewers record what is wrong with a document, read it by
document and by partner, and resolve it; while it is open the document does not count for
its partner's onboarding. The back office only."""

from __future__ import annotations

import asyncio

from .conftest import Demo
from .test_blacklist import settled

PARALLEL = 10


def licence(demo: Demo) -> str:
    """The id of Sunrise Motors' business licence, the first document the demo uploaded."""
    document = demo.company.documents[0]
    assert (document.kind, document.partner_id) == (
        "business_license",
        demo.partner_id("Sunrise Motors"),
    )
    return document.id


def defect_body(demo: Demo, kind: str = "illegible") -> dict[str, str]:
    return {"document_id": licence(demo), "kind": kind, "note": "the number is cut off"}


async def recorded_defect(demo: Demo) -> str:
    """The path of a defect an officer has just recorded on Sunrise Motors' licence."""
    made = await demo.call("POST", "/document-defects", "officer", 201, json=defect_body(demo))
    await settled(demo)
    return f"/document-defects/{made['id']}"


async def test_a_reviewer_records_a_defect_and_another_resolves_it(demo: Demo) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    path = await recorded_defect(demo)
    defect = await demo.call("GET", path, "manager", 200)
    assert {key: defect[key] for key in ("document_kind", "partner_id", "kind", "state")} == {
        "document_kind": "business_license",
        "partner_id": sunrise,
        "kind": "illegible",
        "state": "open",
    }
    assert (defect["note"], defect["recorded_by"]) == (
        "the number is cut off",
        demo.user("officer").id,
    )
    assert await demo.listing(f"/documents/{licence(demo)}/defects", "director") == [defect]
    assert await demo.listing(f"/document-defects?partner_id={sunrise}", "officer") == [defect]
    harbour = demo.partner_id("Harbour Auto")
    assert await demo.listing(f"/document-defects?partner_id={harbour}", "officer") == []

    checklist = await demo.call("GET", f"/partners/{sunrise}/onboarding-documents", "sunrise", 200)
    assert (checklist["complete"], checklist["missing"]) == (False, ["business_license"])
    assert checklist["items"][0]["documents"][0]["open_defect"] is True

    problem = await demo.move(path, "manager", 422, action="resolve")
    assert [error["field"] for error in problem["errors"]] == ["reason"]
    resolved = await demo.move(path, "manager", 200, action="resolve", reason="original seen")
    assert (resolved["state"], resolved["resolution"]) == ("resolved", "original seen")
    assert resolved["resolved_by"] == demo.user("manager").id
    checklist = await demo.call("GET", f"/partners/{sunrise}/onboarding-documents", "sunrise", 200)
    assert checklist["complete"]
    await demo.move(path, "manager", 409, action="resolve", reason="again")


async def test_one_open_defect_per_document_and_kind_however_many_race(served: Demo) -> None:
    """On both databases: of reviewers recording the same fault at once, one succeeds and
    the others are told it is recorded; another fault of the same document is its own."""

    async def record() -> int:
        async with served.client.post(
            "/document-defects", json=defect_body(served), headers=served.auth("officer")
        ) as answer:
            return answer.status

    statuses = await asyncio.gather(*(record() for _ in range(PARALLEL)))
    assert sorted(statuses) == [201] + [422] * (PARALLEL - 1)
    problem = await served.call(
        "POST", "/document-defects", "manager", 422, json=defect_body(served)
    )
    assert problem["errors"] == [
        {"field": "kind", "message": "the document has an open defect of this kind already"}
    ]
    await served.call(
        "POST", "/document-defects", "manager", 201, json=defect_body(served, "expired")
    )
    defects = await served.listing(f"/documents/{licence(served)}/defects", "officer")
    assert sorted(defect["kind"] for defect in defects) == ["expired", "illegible"]


async def test_reviewers_record_and_only_the_back_office_reads(demo: Demo) -> None:
    path = await recorded_defect(demo)
    for user in ("sunrise", "finance", "admin"):
        await demo.call("POST", "/document-defects", user, 403, json=defect_body(demo, "other"))
    for read in (path, "/document-defects", f"/documents/{licence(demo)}/defects"):
        await demo.call("GET", read, "sunrise", 403)
    await demo.move(path, "finance", 403, action="resolve", reason="fine")
    problem = await demo.call(
        "POST", "/document-defects", "officer", 422,
        json=defect_body(demo) | {"document_id": "unknown"},
    )  # fmt: skip
    assert [error["field"] for error in problem["errors"]] == ["document_id"]
    await demo.call("GET", "/documents/unknown/defects", "officer", 404)
    await demo.call("GET", "/document-defects/unknown", "officer", 404)
