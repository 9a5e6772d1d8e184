"""Importing changes to partners over HTTP, on the real server: a CSV or XLSX body, a dry run
first, the file applied whole, the same file answered with its first report, and refusals
that name each row and column."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from leasekit.demo import credit_code

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["registration_number", "status", "reason", "contact_role", "contact_name",
          "contact_phone", "credit_limit"]  # fmt: skip
ROWS = [
    [credit_code("91310000MA1K3C4D5"), "watch", "overdue above 3%", "finance", "Gao Yan",
     "+86 21 5555 0188", ""],
    [credit_code("91440300MA5F0A1B2"), "", "second showroom", "", "", "", "5500000.00"],
]  # fmt: skip
"""Harbour Auto goes on watch with a finance contact; Sunrise Motors asks for a larger limit."""


def csv_file(*rows: list[str]) -> bytes:
    return "".join(",".join(row) + "\r\n" for row in rows).encode()


def xlsx_file(*rows: list[object]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


async def post(demo: Any, body: bytes, expect: int, content_type: str = CSV, as_: str = "manager",
               **query: str) -> Any:  # fmt: skip
    return await demo.call(
        "POST", "/partner-imports", as_, expect, data=body, params=query,
        headers={"Content-Type": content_type},
    )  # fmt: skip


async def test_a_csv_file_is_checked_then_applied_once(demo) -> None:
    body = csv_file(HEADER, *ROWS)
    checked = await post(demo, body, 200, dry_run="true")
    assert (checked["id"], checked["outcome"], checked["rows"], checked["changed"]) == (
        None, "dry_run", 2, 2)  # fmt: skip
    harbour = demo.partner_id("Harbour Auto")
    assert (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["state"] == "active"

    async with demo.client.post(
        "/partner-imports", data=body, headers=demo.auth("manager") | {"Content-Type": CSV},
        params={"reason": "quarterly review"},
    ) as answer:  # fmt: skip
        assert answer.status == 201, await answer.text()
        applied = await answer.json()
        assert answer.headers["Location"] == f"/partner-imports/{applied['id']}"
    assert applied["outcome"] == "applied"
    assert applied["reason"] == "quarterly review"
    assert applied["results"] == [
        {"row": 2, "partner_id": harbour, "changes": [
            {"column": "status", "change": "active → watch (watch)"},
            {"column": "profile", "change": "contacts revised"}]},
        {"row": 3, "partner_id": demo.partner_id("Sunrise Motors"), "changes": [
            {"column": "credit_limit", "change": "5,000,000.00 → 5,500,000.00 CNY requested, "
             "for another person to approve"}]},
    ]  # fmt: skip
    assert applied["results"] == checked["results"]
    assert (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["state"] == "watch"
    assert await demo.call("GET", f"/partner-imports/{applied['id']}", "officer", 200) == applied

    again = await post(demo, body, 200)
    assert again == applied | {"outcome": "imported_before"}


async def test_an_xlsx_file_is_applied(demo) -> None:
    applied = await post(demo, xlsx_file(HEADER, *ROWS), 201, XLSX)
    assert (applied["rows"], applied["changed"]) == (2, 2)


async def test_a_file_with_faults_is_refused_whole_naming_each(demo) -> None:
    before = demo.row_counts()
    lakeside = credit_code("91110000MA00AB1C2")
    bad = [*ROWS, ["", "", "", "", "", "", "5500000.00"], [lakeside, "exited", "", "", "", "", ""]]
    problem = await post(demo, csv_file(HEADER, *bad), 422)
    assert [error["field"] for error in problem["errors"]] == [
        "row 4.partner_id", "row 5.status"]  # fmt: skip
    assert problem["errors"][1]["message"].startswith("no single move leads from prospect")
    assert demo.row_counts() == before


async def test_what_is_not_a_sheet_is_refused_before_or_by_its_bytes(demo) -> None:
    body = csv_file(HEADER, *ROWS)
    assert (await post(demo, body, 415, "application/json"))["status"] == 415
    await post(demo, body, 415, "multipart/form-data; boundary=x")
    problem = await post(demo, b"%PDF-1.7\n", 422)
    assert problem["errors"] == [{"field": "file", "message": problem["errors"][0]["message"]}]
    assert problem["errors"][0]["message"].startswith("is application/pdf content")
    too_large = b"x" * (demo.upload_limit + 1)
    assert (await post(demo, too_large, 422))["errors"][0]["field"] == "file"


@pytest.mark.parametrize("user", ["sunrise", "finance", "admin"])
async def test_only_staff_who_act_on_partners_import(demo, user: str) -> None:
    await post(demo, b"not even read", 403, as_=user)


async def test_a_bad_query_is_named(demo) -> None:
    problem = await post(demo, csv_file(HEADER, *ROWS), 422, dry_run="yes")
    assert [error["field"] for error in problem["errors"]] == ["dry_run"]


async def test_the_import_is_in_the_api_description(demo) -> None:
    document = await demo.call("GET", "/openapi.json", "officer", 200)
    post_ = document["paths"]["/partner-imports"]["post"]
    assert set(post_["requestBody"]["content"]) == {CSV, XLSX}
    assert {"dry_run", "reason", "Idempotency-Key"} <= {p["name"] for p in post_["parameters"]}
    assert set(post_["responses"]) >= {"200", "201"}
    assert "get" in document["paths"]["/partner-imports/{id}"]
