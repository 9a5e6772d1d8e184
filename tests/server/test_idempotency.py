"""``Idempotency-Key`` over HTTP: a retried POST makes nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Any

import pytest

from leasekit.server.app import API

from .test_accounting import booked_voucher, last_month, unmapped_fee
from .test_approval_tasks import open_task
from .test_blacklist import ID_NUMBER, listed_vin, open_flag
from .test_contracts import drawn_up, queued, sent
from .test_customers import NEW_CUSTOMER
from .test_document_defects import defect_body, recorded_defect
from .test_documents import png
from .test_end_of_day import settled_close
from .test_exception_requests import misapplied, raised, submitted
from .test_funds import mary_mandate, queued_entry, todays_statement, us_results, us_run
from .test_partner_imports import HEADER, ROWS, csv_file
from .test_partner_ratings import override, requested_override
from .test_partners import NEW_PARTNER
from .test_products import product_body
from .test_rules import rule_set, saved_rule_set
from .test_settlement_quotes import open_quote
from .test_vehicles import NEW_VEHICLE
from .test_voucher_templates import template_body


async def test_a_retried_post_returns_the_first_result(demo) -> None:
    key = {"Idempotency-Key": "create-wang-xiu-1"}
    first = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER, headers=key)
    again = await demo.call("POST", "/customers", "sunrise", 201, json=NEW_CUSTOMER, headers=key)
    assert again == first
    listed = await demo.listing("/customers", "sunrise")
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


PARTNER_CHANGES = csv_file(HEADER, *ROWS)
"""A file that a second, unkeyed upload would answer with its first report (200, not 201)."""


def _retryable() -> list[str]:
    return sorted(
        f"{op.method} {op.openapi_path}" for group in API for op in group.operations if op.retryable
    )


def _request(demo: Any, operation: str) -> tuple[str, str, dict[str, Any]]:
    """A request that succeeds once for *operation*: the demo user, the path, the body.
    Transitions are moves that a second, unkeyed attempt would find illegal (409), sent with
    the version the object had, which the retry sends again unchanged."""
    first = demo.company.applications[0]
    upload = {"params": {"kind": "other", "filename": "scan.png"}, "data": png()}
    at_first = {"If-Match": '"0"'}
    requests: dict[str, tuple[str, str, dict[str, Any]]] = {
        "POST /users": (
            "admin",
            "/users",
            {"json": {"username": "clerk", "display_name": "Clerk", "role": "officer"}},
        ),
        "POST /partners": ("officer", "/partners", {"json": NEW_PARTNER}),
        "POST /partners/{id}/transitions": (
            "officer",
            f"/partners/{demo.partner_id('Lakeside Cars')}/transitions",
            {"json": {"action": "apply"}, "headers": at_first},
        ),
        "POST /users/{id}/transitions": (
            "admin",
            f"/users/{demo.user('officer').id}/transitions",
            {"json": {"action": "disable", "reason": "left"}, "headers": at_first},
        ),
        "POST /vehicles/{id}/transitions": (
            "officer",
            f"/vehicles/{first.vehicle_id}/transitions",
            {"json": {"action": "release", "reason": "sold"}, "headers": at_first},
        ),
        "POST /customers": ("sunrise", "/customers", {"json": NEW_CUSTOMER}),
        "POST /vehicles": ("sunrise", "/vehicles", {"json": NEW_VEHICLE}),
        "POST /limit-movements": (
            "finance",
            "/limit-movements",
            {
                "json": {
                    "partner_id": first.partner_id,
                    "kind": "take",
                    "reference": "c:1",
                    "amount": "10.00",
                    "reason": "manual",
                }
            },
        ),
        "POST /limit-requests": (
            "officer",
            "/limit-requests",
            {
                "json": {
                    "partner_id": first.partner_id,
                    "kind": "standing",
                    "amount": "100.00",
                    "reason": "cut",
                }
            },
        ),
        "POST /limit-requests/{id}/transitions": (
            "manager",
            f"/limit-requests/{demo.company.limit_requests[0].id}/transitions",
            {"json": {"action": "approve"}, "headers": at_first},
        ),
        "POST /blacklist": (
            "supervisor",
            "/blacklist",
            {"json": {"id_number": ID_NUMBER, "reason": "fraud"}},
        ),
        "POST /blacklist/{id}/transitions": (
            "supervisor",
            "",
            {"json": {"action": "request_removal", "reason": "recovered"}, "headers": at_first},
        ),
        "POST /review-flags/{id}/transitions": (
            "manager",
            "",
            {"json": {"action": "clear", "reason": "cancelled it"}, "headers": at_first},
        ),
        "POST /partner-ratings": (
            "officer",
            "/partner-ratings",
            {"json": {"partner_id": first.partner_id}},
        ),
        "POST /rating-overrides": (
            "officer",
            "/rating-overrides",
            {"json": override(demo)},
        ),
        "POST /rating-overrides/{id}/transitions": (
            "manager",
            "",
            {"json": {"action": "approve"}, "headers": at_first},
        ),
        "POST /document-defects": ("officer", "/document-defects", {"json": defect_body(demo)}),
        "POST /document-defects/{id}/transitions": (
            "manager",
            "",
            {"json": {"action": "resolve", "reason": "original seen"}, "headers": at_first},
        ),
        "POST /rule-sets": ("manager", "/rule-sets", {"json": rule_set()}),
        "POST /rule-set-versions/{id}/transitions": (
            "director",
            "",
            {"json": {"action": "publish"}, "headers": at_first},
        ),
        "POST /applications": ("sunrise", "/applications", {"json": demo.priced_draft()}),
        "POST /end-of-day/close": ("admin", "/end-of-day/close", {"json": {}}),
        "POST /approval-tasks/{id}/transitions": (
            "officer",
            "",
            {"json": {"action": "claim"}, "headers": at_first},
        ),
        "POST /products": ("manager", "/products", {"json": product_body()}),
        "POST /product-versions/{id}/transitions": (
            "director",
            f"/product-versions/{demo.company.products[0].current_version_id}/transitions",
            # a published version: version 1, once moved from draft
            {"json": {"action": "retire", "reason": "repriced"}, "headers": {"If-Match": '"1"'}},
        ),
        "POST /applications/{id}/transitions": (
            "sunrise",
            f"/applications/{first.id}/transitions",
            {"json": {"action": "submit"}, "headers": at_first},
        ),
        "POST /customers/{id}/documents": (
            "sunrise",
            f"/customers/{first.customer_id}/documents",
            upload,
        ),
        "POST /vehicles/{id}/documents": (
            "sunrise",
            f"/vehicles/{first.vehicle_id}/documents",
            upload,
        ),
        "POST /partners/{id}/documents": (
            "sunrise",
            f"/partners/{first.partner_id}/documents",
            upload,
        ),
        "POST /applications/{id}/documents": (
            "sunrise",
            f"/applications/{first.id}/documents",
            upload,
        ),
        "POST /partner-imports": (
            "manager",
            "/partner-imports",
            {"data": PARTNER_CHANGES, "headers": {"Content-Type": "text/csv"}},
        ),
        "POST /contracts/{id}/documents": (
            "sunrise",
            "",
            {"params": {"kind": "vehicle_invoice", "filename": "invoice.png"}, "data": png()},
        ),
        "POST /contracts/{id}/transitions": (
            "manager",
            "",
            # version 1: the workflow rendered the document after drawing the contract up
            {
                "json": {"action": "cancel", "reason": "the customer withdrew"},
                "headers": {"If-Match": '"1"'},
            },
        ),
        "POST /contracts/{id}/signature-checks": ("officer", "", {}),
        "POST /disbursements/{id}/transitions": (
            "finance",
            "",
            {"json": {"action": "claim"}, "headers": at_first},
        ),
        "POST /disbursement-approvals": (
            "finance",
            "/disbursement-approvals",
            {"json": {"ids": ["no-such-payout"]}},
        ),
        "POST /payments": ("finance", "/payments", {"json": {
            "contract_id": demo.company.book[1].id,
            "amount": {"amount": "50.00", "currency": "USD"},
            "reference": "cash at the counter", "source": "cash"}}),
        "POST /mandates": ("officer", "/mandates", {"json": {
            "contract_id": demo.company.book[4].id, "reference": "MD-NEW", "scheme": "csv",
            "debtor_name": "Wang Fang", "account": "6222020200112233446",
            "signed_on": "2026-01-05"}}),
        "POST /mandates/{id}/transitions": (
            "finance", "", {"json": {"action": "revoke", "reason": "replaced"},
                            "headers": at_first}),
        "POST /contracts/{id}/settlement-quotes": (
            "finance", f"/contracts/{demo.company.book[0].id}/settlement-quotes",
            {"json": {"kind": "early_settlement"}}),
        "POST /settlement-quotes/{id}/transitions": (
            "finance", "", {"json": {"action": "cancel", "reason": "withdrawn"},
                            "headers": at_first}),
        "POST /settlement-quotes/{id}/payments": ("finance", "", {"json": {
            "amount": {"amount": "50.00", "currency": "USD"}, "reference": "part"}}),
        "POST /debit-runs": ("finance", "/debit-runs", {"json": {"account_id": "us"}}),
        "POST /debit-runs/{id}/settlement": ("finance", "", {}),
        "POST /debit-results": ("finance", "/debit-results", {
            "data": us_results(demo), "headers": {"Content-Type": "text/csv"}}),
        "POST /statements": ("finance", "/statements", {
            "data": todays_statement(), "headers": {"Content-Type": "application/xml"}}),
        "POST /partners/{id}/settlement-files": (
            "finance", f"/partners/{demo.partner_id('Sunrise Motors')}/settlement-files", {
                "data": b"contract_number,amount,currency,paid_on\nTB-0001,830.21,USD,"
                        + date.today().isoformat().encode() + b"\n",
                "headers": {"Content-Type": "text/csv"}}),
        "POST /statement-entries/{id}/matches": ("finance", "", {
            "json": {"parts": [{"contract_id": demo.company.book[0].id,
                                "amount": {"amount": "120.00", "currency": "USD"}}]},
            "headers": at_first}),
        "POST /statement-entries/{id}/suspense": ("finance", "", {
            "json": {"reason": "unknown sender"}, "headers": at_first}),
        "POST /accounting/unmapped/{id}/replay": ("finance", "", {}),
        "POST /vouchers/{id}/reversal": ("finance", "", {"json": {"reason": "posted twice"}}),
        "POST /contracts/{id}/exception-requests": (
            "officer", f"/contracts/{demo.company.book[0].id}/exception-requests", {"json": {
                "kind": "reversal", "reason_code": "duplicate", "reason": "entered twice"}}),
        "POST /exception-requests/{id}/submission": ("officer", "", {}),
        "POST /exception-requests/{id}/transitions": (
            "supervisor", "", {"json": {"action": "approve"}, "headers": {"If-Match": '"1"'}}),
        "POST /accounting/books/close": ("cfo", "/accounting/books/close", {
            "json": {"period": last_month(demo)}}),
        "POST /accounting/templates": (
            "finance", "/accounting/templates", {"json": template_body()}),
    }  # fmt: skip
    assert sorted(requests) == _retryable(), "every retryable operation has a request here"
    return requests[operation]


PREPARED = {
    "POST /blacklist/{id}/transitions": listed_vin,
    "POST /review-flags/{id}/transitions": open_flag,
    "POST /rating-overrides/{id}/transitions": requested_override,
    "POST /rule-set-versions/{id}/transitions": saved_rule_set,
    "POST /document-defects/{id}/transitions": recorded_defect,
    "POST /approval-tasks/{id}/transitions": open_task,
    "POST /contracts/{id}/documents": drawn_up,
    "POST /contracts/{id}/transitions": drawn_up,
    "POST /contracts/{id}/signature-checks": lambda demo: _path(sent(demo)),
    "POST /disbursements/{id}/transitions": queued,
    "POST /mandates/{id}/transitions": mary_mandate,
    "POST /debit-runs/{id}/settlement": us_run,
    "POST /settlement-quotes/{id}/transitions": open_quote,
    "POST /settlement-quotes/{id}/payments": open_quote,
    "POST /statement-entries/{id}/matches": queued_entry,
    "POST /statement-entries/{id}/suspense": queued_entry,
    "POST /accounting/unmapped/{id}/replay": unmapped_fee,
    "POST /vouchers/{id}/reversal": booked_voucher,
    "POST /exception-requests/{id}/submission": raised,
    "POST /exception-requests/{id}/transitions": submitted,
}
"""Operations on objects the demo lacks, made first (their path is left empty above)."""
ANSWERED = {
    "POST /contracts/{id}/signature-checks",
    "POST /disbursement-approvals",
    "POST /debit-runs/{id}/settlement",
    "POST /statement-entries/{id}/matches",
    "POST /statement-entries/{id}/suspense",
    "POST /accounting/unmapped/{id}/replay",
    "POST /accounting/books/close",
    "POST /exception-requests/{id}/submission",
}
"""Operations that answer 200 with what they did, though they are neither moves nor creates."""
BEGUN = {"POST /end-of-day/close"}
"""Operations that answer 202 with the progress of work they began in the background. The
retry comes once the work is done, when a request without the key would begin the next
piece (close the next day), and answers the finished work."""


async def _path(made: Awaitable[tuple[str, str]]) -> str:
    path, _ = await made
    return path


@pytest.mark.parametrize("operation", _retryable())
async def test_every_retryable_operation_honours_the_key(demo, operation: str) -> None:
    """The handler hands the header to the service: the retry is answered with what the
    first attempt made (without the key, a second create makes a second object and a
    second move is a 409)."""
    user, path, request = _request(demo, operation)
    made = PREPARED.get(operation)
    if made is not None:
        path = f"{await made(demo)}/{operation.rsplit('/', 1)[1]}"
    status = 200 if path.endswith("/transitions") or operation in ANSWERED else 201
    status = 202 if operation in BEGUN else status
    if operation == "POST /contracts/{id}/exception-requests":
        request["json"]["payment_id"], _ = await misapplied(demo)
    headers = {"Idempotency-Key": f"retry-{operation}"} | request.pop("headers", {})
    first = await demo.call("POST", path, user, status, headers=headers, **request)
    if operation in BEGUN:
        first = await settled_close(demo, f"/end-of-day/closes/{first['business_date']}")
    again = await demo.call("POST", path, user, status, headers=headers, **request)
    assert again == first
