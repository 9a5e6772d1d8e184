"""``/exception-requests``: a reversal of a misapplied payment raised by an officer, approved
by the post-loan supervisor and the finance director, previewed and executed by finance, and
found in both contracts' and the payment's history; on the demo company's taken-over book."""

from __future__ import annotations

import asyncio
from typing import Any

from .conftest import Demo
from .test_blacklist import settled


async def misapplied(demo: Demo) -> tuple[str, str]:
    """A payment finance booked to John Smith's loan that belonged to the second contract of
    the book; the payment's id and the right contract's."""
    john, right = demo.company.book[0].id, demo.company.book[1].id
    body = {"contract_id": john, "amount": {"amount": "150.00", "currency": "USD"},
            "reference": "for the other contract", "source_ref": "MIS-1"}  # fmt: skip
    payment = await demo.call("POST", "/payments", "finance", 201, json=body)
    await settled(demo)
    return payment["id"], right


async def raised(demo: Demo) -> str:
    """The path of an officer's draft reversal of :func:`misapplied`'s payment, its events
    delivered."""
    payment_id, right = await misapplied(demo)
    john = demo.company.book[0].id
    body = {"kind": "reversal", "reason_code": "wrong_contract", "reason": "typo in the number",
            "payment_id": payment_id, "reapply_to_contract_id": right}  # fmt: skip
    made = await demo.call("POST", f"/contracts/{john}/exception-requests", "officer", 201,
                           json=body)  # fmt: skip
    await settled(demo)
    return f"/exception-requests/{made['id']}"


async def submitted(demo: Demo) -> str:
    path = await raised(demo)
    await demo.call("POST", f"{path}/submission", "officer", 200)
    await settled(demo)
    return path


async def test_a_misapplied_payment_moves_to_the_right_contract(served: Demo) -> None:
    path = await submitted(served)
    request = await served.call("GET", path, "finance", 200)
    assert (request["state"], request["chain"]) == (
        "submitted", ["post_loan_supervisor", "finance_director"],
    )  # fmt: skip
    await served.move(path, "cfo", 403, action="approve")
    await served.move(path, "supervisor", 200, action="approve")
    approved: dict[str, Any] = await served.move(path, "cfo", 200, action="approve")
    assert approved["state"] == "approved"
    preview = await served.call("GET", f"{path}/preview", "finance", 200)
    john, right = served.company.book[0].id, served.company.book[1].id
    assert [impact["contract_id"] for impact in preview["impacts"]] == [john, right]
    assert preview["vouchers"], "a reversal and a payment book vouchers"
    executed = await served.move(path, "finance", 200, action="execute")
    assert executed["state"] == "executed"
    assert executed["impacts"] == preview["impacts"]
    payment = await served.call("GET", f"/payments/{executed['payment_id']}", "finance", 200)
    assert payment["payment"]["state"] == "reversed"
    for listing in (f"/contracts/{john}/exception-requests",
                    f"/contracts/{right}/exception-requests",
                    f"/payments/{executed['payment_id']}/exception-requests"):  # fmt: skip
        history = await served.listing(listing, "finance")
        assert [item["id"] for item in history] == [executed["id"]]
        assert [a["role"] for a in history[0]["approvals"]] == [
            "post_loan_supervisor", "finance_director",
        ]  # fmt: skip
    executed_list = await served.listing("/exception-requests?state=executed", "finance")
    assert [item["id"] for item in executed_list] == [executed["id"]]


async def test_a_return_brings_it_back_for_an_edit(served: Demo) -> None:
    path = await submitted(served)
    await served.move(path, "supervisor", 422, action="return")
    returned = await served.move(path, "supervisor", 200, action="return", reason="proof?")
    assert returned["state"] == "returned"
    body = {"kind": "reversal", "reason_code": "duplicate", "reason": "entered twice",
            "payment_id": returned["payment_id"]}  # fmt: skip
    await served.call("PUT", path, "officer", 428, json=body)
    etag = await served.etag(path)
    await served.call("PUT", path, "finance", 403, json=body, headers={"If-Match": etag})
    edited = await served.call("PUT", path, "officer", 200, json=body, headers={"If-Match": etag})
    assert (edited["reason_code"], edited["reapply_to_contract_id"]) == ("duplicate", None)


async def test_bad_drafts_name_their_fields(served: Demo) -> None:
    john = served.company.book[0].id
    body = {"kind": "refund", "reason_code": "overpayment", "reason": "x",
            "amount": {"amount": "1.00", "currency": "USD"},
            "account": {"iban": "DE00 0000", "holder": "John Smith"}}  # fmt: skip
    problem = await served.call(
        "POST", f"/contracts/{john}/exception-requests", "officer", 422, json=body
    )
    assert sorted(error["field"] for error in problem["errors"]) == ["account.iban", "amount"]
    await served.call("POST", f"/contracts/{john}/exception-requests", "supervisor", 403,
                      json=body)  # fmt: skip
    await served.call("GET", "/exception-requests", "sunrise", 403)


async def second_director(demo: Demo) -> dict[str, str]:
    """Headers of a second finance director, made by the admin and enrolled with the secret
    the notifier sent."""
    body = {"username": "cfo2", "display_name": "Deputy CFO", "role": "finance_director",
            "email": "cfo2@company.example"}  # fmt: skip
    await demo.call("POST", "/users", "admin", 201, json=body)
    await settled(demo)
    [message] = [p.read_text() for p in (demo.documents_dir.parent / "messages").glob("*.txt")
                 if "cfo2@company.example" in p.read_text()]  # fmt: skip
    secret = next(word for word in message.split() if word.startswith("lke_"))
    async with demo.client.post("/enrolments", json={"secret": secret}) as answer:
        assert answer.status == 201, await answer.text()
        return {"Authorization": f"Bearer {(await answer.json())['token']}"}


async def test_two_finance_directors_approving_at_once_approve_it_once(served: Demo) -> None:
    """Both directors read the request awaiting the last level and approve it at once: one
    approval counts, the other gets a clean 409 or 412, and the request is approved once."""
    deputy = await second_director(served)
    path = await submitted(served)
    await served.move(path, "supervisor", 200, action="approve")
    version = {"If-Match": await served.etag(path)}

    async def approve(headers: dict[str, str]) -> tuple[int, Any]:
        async with served.client.post(
            f"{path}/transitions", json={"action": "approve"}, headers=headers | version
        ) as answer:
            return answer.status, await answer.json()

    answers = await asyncio.gather(approve(served.auth("cfo")), approve(deputy))
    assert sorted(status for status, _ in answers)[0] == 200, answers
    assert sorted(status for status, _ in answers)[1] in {409, 412}, answers
    request = await served.call("GET", path, "finance", 200)
    assert request["state"] == "approved"
    assert [approval["role"] for approval in request["approvals"]] == [
        "post_loan_supervisor", "finance_director",
    ]  # fmt: skip


async def test_executions_sent_at_once_execute_the_request_once(served: Demo) -> None:
    """Finance sends the same execution many times at once, on one version: one executes, the
    others get a clean 409 or 412, and the payment is reversed once."""
    path = await submitted(served)
    await served.move(path, "supervisor", 200, action="approve")
    await served.move(path, "cfo", 200, action="approve")
    headers = served.auth("finance") | {"If-Match": await served.etag(path)}

    async def execute() -> tuple[int, Any]:
        async with served.client.post(
            f"{path}/transitions", json={"action": "execute"}, headers=headers
        ) as answer:
            return answer.status, await answer.json()

    answers = await asyncio.gather(*(execute() for _ in range(8)))
    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 200, answers
    assert set(statuses[1:]) <= {409, 412}, answers
    [executed] = [body for status, body in answers if status == 200]
    payment = await served.call("GET", f"/payments/{executed['payment_id']}", "finance", 200)
    assert payment["payment"]["state"] == "reversed"
    history = await served.listing(f"/payments/{executed['payment_id']}/exception-requests",
                                   "finance")  # fmt: skip
    assert [(item["id"], item["state"]) for item in history] == [(executed["id"], "executed")]
