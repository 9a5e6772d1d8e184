"""Every JSON endpoint, on both databases, fed what a hostile client sends in each field:
odd text, a megabyte, the wrong type. Each answer is a clean 4xx naming the field, and the
database holds the same rows afterwards; the untouched body still works, so the refusals were
about the values, not about the request."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from yarl import URL

from leasekit.demo import credit_code, resident_id, vin
from leasekit.services.sheets import XLSX_MEDIA_TYPE as XLSX

from .conftest import Demo
from .test_accounting import booked_voucher, last_month
from .test_approval_tasks import open_task
from .test_blacklist import ID_NUMBER, listed_vin, open_flag
from .test_contracts import drawn_up, queued
from .test_document_defects import defect_body, recorded_defect
from .test_exception_requests import misapplied, raised, submitted
from .test_funds import mary_mandate, queued_entry
from .test_partner_ratings import SOON, requested_override
from .test_products import first_product, product_body
from .test_rules import rule_set, saved_rule_set
from .test_settlement_quotes import open_quote
from .test_voucher_templates import template_body

ODD_TEXT = {
    "a lone surrogate": "x\ud800y",
    "NUL": "x\x00y",
    "a control character": "x\x1by",
    "a right-to-left override": "x\u202ey",
    "a zero-width joiner only": "\u200d",
    "a megabyte": "x" * (1 << 20),
}
WRONG_TYPES = {
    "a number": 1e308,
    "true": True,
    "a list": ["x"],
    "an object": {"x": "y"},
}
"""Values no field of any request takes (a number where a number belongs is a legal value
with a range, tested where the field is)."""


@attrs.frozen
class Case:
    """A request that succeeds on the demo company, to be spoiled one field at a time."""

    user: str | None
    path: Callable[[Demo], str]
    body: Callable[[Demo], dict[str, Any]]
    succeeds: int
    """The status of the untouched body."""
    versioned: bool = False
    """Whether the request needs If-Match (a change to an existing object)."""
    numbers: frozenset[str] = frozenset()
    """Fields that take a JSON number, so a number there is no fault."""
    texts: frozenset[str] = frozenset()
    """Fields that take an array of strings, so a list of one there is no fault."""
    prepare: Callable[[Demo], Awaitable[str]] | None = None
    """Makes the object the request acts on, which the demo lacks, and gives the path (which
    ``path`` only names for requests refused before the object is read)."""


_ACTIONS = frozenset(
    {"transitions", "tags", "draft", "matches", "suspense", "payments", "reversal"}
)
"""The last segments of paths that act on the object before them."""


async def _transitions(made: Awaitable[str]) -> str:
    return f"{await made}/transitions"


async def _matches(made: Awaitable[str]) -> str:
    return f"{await made}/matches"


async def _payments(made: Awaitable[str]) -> str:
    return f"{await made}/payments"


async def _suspense(made: Awaitable[str]) -> str:
    return f"{await made}/suspense"


async def _tags(made: Awaitable[str]) -> str:
    return f"{await made}/tags"


async def _reversal(made: Awaitable[str]) -> str:
    return f"{await made}/reversal"


_PAYMENTS: dict[int, str] = {}
"""The payment each demo's exception request drafts reverse (a body is made after the
object the request acts on, so it reads the payment from here)."""


async def _payment_to_reverse(demo: Demo) -> str:
    _PAYMENTS[id(demo)], _ = await misapplied(demo)
    return f"/contracts/{demo.company.book[0].id}/exception-requests"


async def _draft_reversal(demo: Demo) -> str:
    path = await raised(demo)
    _PAYMENTS[id(demo)] = (await demo.call("GET", path, "officer", 200))["payment_id"]
    return path


def _reversal_body(demo: Demo) -> dict[str, Any]:
    return {"kind": "reversal", "reason_code": "duplicate", "reason": "entered twice",
            "payment_id": _PAYMENTS[id(demo)], "amount": None, "reapply_to_contract_id": None,
            "receivable_id": None, "part": None, "account": None}  # fmt: skip


async def _draft_entry(made: Awaitable[str]) -> str:
    return f"{await made}/draft"


async def _dry_run(made: Awaitable[str]) -> str:
    return f"{await made}/dry-run"


def _first_application(demo: Demo) -> str:
    return f"/applications/{demo.company.applications[0].id}"


CASES: dict[str, Case] = {
    "POST /me/tokens": Case("officer", lambda d: "/me/tokens", lambda d: {"label": "x"}, 201),
    "POST /enrolments": Case(
        None, lambda d: "/enrolments", lambda d: {"secret": "lke_unknown", "label": "x"}, 401
    ),
    "POST /users": Case(
        "admin",
        lambda d: "/users",
        lambda d: {
            "username": "newcomer",
            "display_name": "New Comer",
            "role": "officer",
            "email": "newcomer@example.com",
        },
        201,
    ),
    "POST /users/{id}/transitions": Case(
        "admin",
        lambda d: f"/users/{d.user('supervisor').id}/transitions",
        lambda d: {"action": "disable", "reason": "left the company"},
        200,
        versioned=True,
    ),
    "POST /partners": Case(
        "officer",
        lambda d: "/partners",
        lambda d: {
            "name": "Riverside Autos",
            "registration_number": credit_code("91420100MA4K5E6F7"),
            "credit_limit": "2000000.00",
            "kind": "used_car_dealer",
            "rating": "B",
        },
        201,
    ),
    "PUT /partners/{id}": Case(
        "officer",
        lambda d: f"/partners/{d.partner_id('Harbour Auto')}",
        lambda d: {
            "name": "Harbour Auto Group",
            "legal_representative": "Lin Hai",
            "contacts": [{"name": "Lin Hai", "role": "owner", "phone": "+86 21 5555 0101"}],
            "registered_address": {"line": "8 Harbour Road", "city": "Shanghai", "country": "CN"},
            "brands": ["SAIC", "Buick"],
            "bank_accounts": [
                {
                    "scheme": "iban",
                    "holder": "Harbour Auto",
                    "bank_name": "DB",
                    "iban": "DE89370400440532013000",
                    "primary": True,
                }
            ],
            "reason": "profile completed",
        },
        200,
        versioned=True,
        texts=frozenset({"brands"}),
    ),
    "POST /partners/{id}/transitions": Case(
        "director",
        lambda d: f"/partners/{d.partner_id('Harbour Auto')}/transitions",
        lambda d: {"action": "blacklist", "reason": "forged invoices"},
        200,
        versioned=True,
    ),
    "POST /limit-movements": Case(
        "finance",
        lambda d: "/limit-movements",
        lambda d: {
            "partner_id": d.partner_id("Harbour Auto"),
            "kind": "take",
            "reference": "contract:hostile-1",
            "amount": "1000.00",
            "reason": "manual correction",
        },
        201,
    ),
    "POST /limit-requests": Case(
        "officer",
        lambda d: "/limit-requests",
        lambda d: {
            "partner_id": d.partner_id("Sunrise Motors"),
            "kind": "standing",
            "amount": "5500000.00",
            "reason": "more stock",
        },
        201,
    ),
    "POST /limit-requests/{id}/transitions": Case(
        "manager",
        lambda d: f"/limit-requests/{d.company.limit_requests[0].id}/transitions",
        lambda d: {"action": "approve"},
        200,
        versioned=True,
    ),
    "POST /blacklist": Case(
        "supervisor",
        lambda d: "/blacklist",
        lambda d: {"id_number": ID_NUMBER, "country": "CN", "reason": "fraud", "evidence": []},
        201,
    ),
    "POST /blacklist/{id}/transitions": Case(
        "supervisor",
        lambda d: "/blacklist/unknown/transitions",
        lambda d: {"action": "request_removal", "reason": "recovered"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(listed_vin(d)),
    ),
    "POST /review-flags/{id}/transitions": Case(
        "manager",
        lambda d: "/review-flags/unknown/transitions",
        lambda d: {"action": "clear", "reason": "cancelled it"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(open_flag(d)),
    ),
    "POST /partner-ratings": Case(
        "officer",
        lambda d: "/partner-ratings",
        lambda d: {"partner_id": d.partner_id("Sunrise Motors")},
        201,
    ),
    "POST /rating-overrides": Case(
        "officer",
        lambda d: "/rating-overrides",
        lambda d: {
            "partner_id": d.partner_id("Sunrise Motors"),
            "grade": "B",
            "until": SOON,
            "reason": "new brand franchise",
        },
        201,
    ),
    "POST /rating-overrides/{id}/transitions": Case(
        "manager",
        lambda d: "/rating-overrides/unknown/transitions",
        lambda d: {"action": "approve"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(requested_override(d)),
    ),
    "POST /document-defects": Case(
        "officer", lambda d: "/document-defects", lambda d: defect_body(d), 201
    ),
    "POST /document-defects/{id}/transitions": Case(
        "manager",
        lambda d: "/document-defects/unknown/transitions",
        lambda d: {"action": "resolve", "reason": "original seen"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(recorded_defect(d)),
    ),
    "POST /rule-sets": Case("manager", lambda d: "/rule-sets", lambda d: rule_set(), 201),
    "POST /rule-set-versions/{id}/transitions": Case(
        "director",
        lambda d: "/rule-set-versions/unknown/transitions",
        lambda d: {"action": "publish"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(saved_rule_set(d)),
    ),
    "POST /rule-set-versions/{id}/dry-run": Case(
        "manager",
        lambda d: "/rule-set-versions/unknown/dry-run",
        lambda d: {"amount_financed": "600000.00", "partner_rating": "C"},
        200,
        prepare=lambda d: _dry_run(saved_rule_set(d)),
    ),
    "POST /customers": Case(
        "sunrise",
        lambda d: "/customers",
        lambda d: {
            "kind": "individual",
            "name": "Wang Xiu",
            "id_number": resident_id("11010519900307451"),
            "phone": "+86 139 2588 0166",
        },
        201,
    ),
    "POST /vehicles": Case(
        "sunrise",
        lambda d: "/vehicles",
        lambda d: {
            "vin": vin("LSGKB54H1NA123456"),
            "make": "Buick",
            "model": "GL8",
            "year": 2025,
            "condition": "new",
        },
        201,
        numbers=frozenset({"year"}),
    ),
    "POST /vehicles/{id}/transitions": Case(
        "officer",
        lambda d: f"/vehicles/{d.company.applications[0].vehicle_id}/transitions",
        lambda d: {"action": "release", "reason": "sold on"},
        200,
        versioned=True,
    ),
    "POST /applications": Case(
        "sunrise",
        lambda d: "/applications",
        Demo.priced_draft,
        201,
        numbers=frozenset({"term_months"}),
    ),
    "PUT /applications/{id}": Case(
        "sunrise", _first_application, Demo.priced_draft, 200, True, frozenset({"term_months"})
    ),
    "POST /products": Case("manager", lambda d: "/products", lambda d: product_body(), 201),
    "PUT /products/{id}": Case(
        "manager",
        lambda d: f"/products/{first_product(d).id}",
        lambda d: product_body()["terms"],
        200,
        versioned=True,
        texts=frozenset({"schedule_methods", "documents", "partner_kinds"}),
    ),
    "POST /product-versions/{id}/transitions": Case(
        "director",
        lambda d: f"/product-versions/{first_product(d).current_version_id}/transitions",
        lambda d: {"action": "retire", "reason": "repriced"},
        200,
        versioned=True,
    ),
    "POST /applications/{id}/transitions": Case(
        "sunrise",
        lambda d: f"{_first_application(d)}/transitions",
        lambda d: {"action": "cancel", "reason": "withdrawn"},
        200,
        versioned=True,
    ),
    "POST /approval-tasks/{id}/transitions": Case(
        "officer",
        lambda d: "/approval-tasks/unknown/transitions",
        lambda d: {"action": "claim"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(open_task(d)),
    ),
    "PUT /approval-tasks/{id}/tags": Case(
        "officer",
        lambda d: "/approval-tasks/unknown/tags",
        lambda d: {"add": ["vip"], "remove": []},
        200,
        versioned=True,
        texts=frozenset({"add", "remove"}),
        prepare=lambda d: _tags(open_task(d)),
    ),
    "PUT /contracts/{id}/draft": Case(
        "officer",
        lambda d: "/contracts/unknown/draft",
        lambda d: {"language": "zh"},
        200,
        versioned=True,
        prepare=lambda d: _draft_entry(drawn_up(d)),
    ),
    "POST /contracts/{id}/transitions": Case(
        "manager",
        lambda d: "/contracts/unknown/transitions",
        lambda d: {"action": "cancel", "reason": "the customer withdrew"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(drawn_up(d)),
    ),
    "POST /disbursements/{id}/transitions": Case(
        "finance",
        lambda d: "/disbursements/unknown/transitions",
        lambda d: {"action": "claim"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(queued(d)),
    ),
    "POST /disbursement-approvals": Case(
        "finance",
        lambda d: "/disbursement-approvals",
        lambda d: {"ids": ["unknown"]},
        200,
        texts=frozenset({"ids"}),
    ),
    "POST /payments": Case(
        "finance",
        lambda d: "/payments",
        lambda d: {"contract_id": d.company.book[1].id,
                   "amount": {"amount": "50.00", "currency": "USD"},
                   "reference": "cash at the counter", "source": "cash", "source_ref": "R-1",
                   "received_on": "2026-01-05"},
        201,
    ),
    "POST /mandates": Case(
        "officer",
        lambda d: "/mandates",
        lambda d: {"contract_id": d.company.book[4].id, "reference": "MD-NEW", "scheme": "csv",
                   "debtor_name": "Wang Fang", "account": "6222020200112233446",
                   "agent": "ICBC", "signed_on": "2026-01-05", "account_type": "checking"},
        201,
    ),
    "POST /mandates/{id}/transitions": Case(
        "finance",
        lambda d: "/mandates/unknown/transitions",
        lambda d: {"action": "revoke", "reason": "replaced"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(mary_mandate(d)),
    ),
    "POST /statement-entries/{id}/matches": Case(
        "finance",
        lambda d: "/statement-entries/unknown/matches",
        lambda d: {"parts": [{"contract_id": d.company.book[0].id,
                              "amount": {"amount": "120.00", "currency": "USD"}}]},
        200,
        versioned=True,
        prepare=lambda d: _matches(queued_entry(d)),
    ),
    "POST /statement-entries/{id}/suspense": Case(
        "finance",
        lambda d: "/statement-entries/unknown/suspense",
        lambda d: {"reason": "unknown sender"},
        200,
        versioned=True,
        prepare=lambda d: _suspense(queued_entry(d)),
    ),
    "POST /contracts/{id}/settlement-quotes": Case(
        "finance",
        lambda d: f"/contracts/{d.company.book[0].id}/settlement-quotes",
        lambda d: {"kind": "buy_back"},
        201,
    ),
    "POST /settlement-quotes/{id}/transitions": Case(
        "finance",
        lambda d: "/settlement-quotes/unknown/transitions",
        lambda d: {"action": "cancel", "reason": "withdrawn"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(open_quote(d)),
    ),
    "POST /settlement-quotes/{id}/payments": Case(
        "finance",
        lambda d: "/settlement-quotes/unknown/payments",
        lambda d: {"amount": {"amount": "50.00", "currency": "USD"}, "reference": "part",
                   "source": "bank_transfer", "source_ref": "R-2", "received_on": None},
        201,
        prepare=lambda d: _payments(open_quote(d)),
    ),
    "POST /contracts/{id}/exception-requests": Case(
        "officer",
        lambda d: f"/contracts/{d.company.book[0].id}/exception-requests",
        _reversal_body,
        201,
        prepare=_payment_to_reverse,
    ),
    "PUT /exception-requests/{id}": Case(
        "officer",
        lambda d: "/exception-requests/unknown",
        _reversal_body,
        200,
        versioned=True,
        prepare=_draft_reversal,
    ),
    "POST /exception-requests/{id}/transitions": Case(
        "supervisor",
        lambda d: "/exception-requests/unknown/transitions",
        lambda d: {"action": "return", "reason": "attach the bank's advice"},
        200,
        versioned=True,
        prepare=lambda d: _transitions(submitted(d)),
    ),
    "POST /debit-runs": Case(
        "finance",
        lambda d: "/debit-runs",
        lambda d: {"account_id": "us", "business_date": None},
        201,
    ),
    "POST /vouchers/{id}/reversal": Case(
        "finance",
        lambda d: "/vouchers/unknown/reversal",
        lambda d: {"reason": "posted twice"},
        201,
        prepare=lambda d: _reversal(booked_voucher(d)),
    ),
    "POST /accounting/books/close": Case(
        "cfo", lambda d: "/accounting/books/close", lambda d: {"period": last_month(d)}, 200
    ),
    "POST /end-of-day/close": Case(
        "admin", lambda d: "/end-of-day/close", lambda d: {"business_date": None}, 202
    ),
    "POST /accounting/templates": Case(
        "finance", lambda d: "/accounting/templates", lambda d: template_body(version=None),
        201, numbers=frozenset({"version"}),
    ),
}  # fmt: skip


async def test_the_matrix_covers_every_json_endpoint(demo) -> None:
    document = await demo.call("GET", "/openapi.json", "officer", 200)
    json_bodies = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    assert json_bodies == set(CASES)


def _spoiled(body: dict[str, Any], case: Case) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(field, what, body) for each field of *body* given each hostile value in turn, and
    for an extra field with a hostile name."""
    for field in body:
        for what, value in (ODD_TEXT | WRONG_TYPES).items():
            if field in case.numbers and isinstance(value, float):
                continue
            if field in case.texts and value == WRONG_TYPES["a list"]:
                continue
            yield field, what, body | {field: value}
    for what, text in ODD_TEXT.items():
        yield text, f"an unknown field named with {what}", body | {text: "x"}


@pytest.mark.parametrize("endpoint", CASES)
async def test_every_field_refuses_hostile_values_and_nothing_is_written(
    served, endpoint: str
) -> None:
    case = CASES[endpoint]
    method = endpoint.split()[0]
    path = await case.prepare(served) if case.prepare else case.path(served)
    body = case.body(served)
    headers = served.auth(case.user) if case.user else {}
    if case.versioned:
        head, _, last = path.rpartition("/")
        # The object a move, a tag, a draft, a match or a suspense changes; a PUT's own path.
        target = head if last in _ACTIONS else path
        headers["If-Match"] = await served.etag(target, case.user)
    before = served.row_counts()
    for field, what, spoiled in _spoiled(body, case):
        data = io.BytesIO(json.dumps(spoiled).encode())  # aiohttp warns of large bytes
        async with served.client.request(
            method, path, data=data, headers=headers | {"Content-Type": "application/json"}
        ) as answer:
            text = await answer.text()
            assert answer.status in (400, 413, 422), f"{field} as {what}: {answer.status} {text}"
            problem = json.loads(text)
            if answer.status == 422:
                faults = {error["field"] for error in problem["errors"]}
                assert faults, f"{field} as {what}: no field named"
    assert served.row_counts() == before, f"{endpoint}: a refused request wrote rows"
    async with served.client.request(method, path, json=body, headers=headers) as answer:
        assert answer.status == case.succeeds, await answer.text()


MALFORMED = {
    "not JSON": b"{'name': 'x'}",
    "a JSON array": b"[]",
    "a JSON string": b'"x"',
    "null": b"null",
    "nested a hundred thousand deep": b"[" * 100_000 + b"]" * 100_000,
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "an integer of ten thousand digits": b'{"name": ' + b"9" * 10_000 + b"}",
    "NaN": b'{"name": NaN}',
    "empty": b"",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("endpoint", CASES)
async def test_a_malformed_body_is_refused_whole(demo, endpoint: str, body: bytes) -> None:
    case = CASES[endpoint]
    headers = demo.auth(case.user) if case.user else {}
    headers |= {"Content-Type": "application/json", "If-Match": '"0"'}
    async with demo.client.request(
        endpoint.split()[0], case.path(demo), data=body, headers=headers
    ) as answer:
        assert answer.status in (400, 412, 422), await answer.text()


LISTS = {
    "/users": "admin",
    "/partners": "officer",
    "/customers": "officer",
    "/vehicles": "officer",
    "/applications": "officer",
    "/events/deliveries": "admin",
    "/blacklist": "director",
    "/review-flags": "officer",
    "/document-defects": "officer",
    "/products": "officer",
    "/vouchers": "finance",
    "/accounting/unmapped": "finance",
    "/accounting/templates": "finance",
}
"""Each list, and someone who may read it (so a refusal is about the query, not the user)."""


@pytest.mark.parametrize("path", LISTS)
async def test_hostile_query_values_are_refused_on_every_list(served, path: str) -> None:
    user = LISTS[path]
    document = await served.call("GET", "/openapi.json", user, 200)
    parameters = [p["name"] for p in document["paths"][path]["get"]["parameters"]]
    assert "limit" in parameters
    await served.call("GET", path, user, 200)
    for name in parameters:
        for what, text in ODD_TEXT.items():
            if what == "a lone surrogate":
                continue  # a URL cannot carry one: its percent-encoding is UTF-8
            if what == "a megabyte":
                text = "x" * 4000  # a URL that long is still a request line aiohttp reads
            query = f"{name}={quote(text)}"
            async with served.client.get(
                URL(f"{path}?{query}", encoded=True), headers=served.auth(user)
            ) as answer:
                assert answer.status == 422, f"{name} as {what}: {await answer.text()}"
                problem = await answer.json()
                assert [error["field"] for error in problem["errors"]] == [name]
        # What a surrogate would encode to is not UTF-8; it is read as replacement characters.
        async with served.client.get(
            URL(f"{path}?{name}=x%ED%A0%80y", encoded=True), headers=served.auth(user)
        ) as answer:
            assert answer.status in (200, 422), f"{name}: {await answer.text()}"


# --- files of changes to partners -----------------------------------------------------------


def _import_row(d: Demo) -> dict[str, str]:
    """A row that fills every column and succeeds on the demo company."""
    return {
        "partner_id": d.partner_id("Harbour Auto"),
        "registration_number": credit_code("91310000MA1K3C4D5"),
        "country": "CN",
        "reason": "overdue above 3%",
        "status": "watch",
        "contact_role": "finance",
        "contact_name": "Gao Yan",
        "contact_phone": "+86 21 5555 0188",
        "contact_email": "gao.yan@harbour.example",
        "bank_scheme": "iban",
        "bank_holder": "Harbour Auto",
        "bank_name": "Deutsche Bank",
        "bank_account": "DE89370400440532013000",
        "bank_code": "DEUTDEFF",
        "credit_limit": "4000000.00",
    }


def _import_file(row: dict[str, str]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([list(row), list(row.values())])
    # A lone surrogate cannot be UTF-8: the file carries the bytes it would have had.
    return text.getvalue().encode("utf-8", "surrogatepass")


async def _import(served: Demo, body: bytes, content_type: str = "text/csv") -> tuple[int, Any]:
    headers = served.auth("manager") | {"Content-Type": content_type}
    async with served.client.post(
        "/partner-imports", data=io.BytesIO(body), headers=headers
    ) as answer:
        return answer.status, json.loads(await answer.text())


async def test_every_import_column_refuses_hostile_cells_and_nothing_is_written(served) -> None:
    """Each cell at fault is named by row and column; what cannot be read as UTF-8 text at
    all, or is larger than an upload may be, is a fault of the file."""
    row = _import_row(served)
    before = served.row_counts()
    for column in row:
        for what, value in ODD_TEXT.items():
            status, problem = await _import(served, _import_file(row | {column: value}))
            assert status == 422, f"{column} as {what}: {status} {problem}"
            expected = "file" if what in ("a lone surrogate", "a megabyte") else f"row 2.{column}"
            fields = [error["field"] for error in problem["errors"]]
            assert fields == [expected], f"{column} as {what}: {problem}"
    assert served.row_counts() == before, "a refused file wrote rows"
    status, applied = await _import(served, _import_file(row))
    assert (status, applied["changed"]) == (201, 1), applied


MALFORMED_FILES = {
    "empty": b"",
    "a header only": b"partner_id,status\r\n",
    "no header": b"\r\n\r\nx,y\r\n",
    "JSON": b'{"partner_id": "x"}',
    "a PNG": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "an .xls workbook": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
    "UTF-16": "partner_id,status\r\n".encode("utf-16"),
    "Latin-1": "partner_id,status,reason\r\nx,active,d\xe9j\xe0\r\n".encode("latin-1"),
    "unbalanced quotes": b'partner_id,status\r\n"x,active\r\n',
    "a damaged ZIP": b"PK\x03\x04" + bytes(100),
    "NUL bytes": b"partner_id\x00,status\r\n\x00\x00\r\n",
    "ten thousand columns": b"partner_id," * 10_000 + b"\r\n",
}


@pytest.mark.parametrize("body", MALFORMED_FILES.values(), ids=MALFORMED_FILES.keys())
async def test_a_malformed_file_is_refused_whole(demo, body: bytes) -> None:
    before = demo.row_counts()
    for content_type in ("text/csv", XLSX):
        status, problem = await _import(demo, body, content_type)
        assert status == 422, problem
        assert [error["field"] for error in problem["errors"]], problem
    assert demo.row_counts() == before
