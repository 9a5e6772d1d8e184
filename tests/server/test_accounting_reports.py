"""The accounting reports over HTTP on the demo company: JSON that fits the published schemas,
CSV that reads back to the same figures, paging, every bad parameter a 422 naming it (on
SQLite and PostgreSQL), and finance only."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from yarl import URL

from .conftest import Demo
from .test_accounting import pay
from .test_hostile_input import ODD_TEXT

PERIOD = "from=2000-01-01&to=2100-12-31"
REPORTS = (
    f"/accounting/trial-balance?{PERIOD}",
    f"/accounting/ledger/1100?{PERIOD}",
    "/contracts/{contract}/sub-ledger",
)


async def csv_of(demo: Demo, path: str, user: str = "finance", **headers: str) -> Any:
    async with demo.client.get(path, headers=demo.auth(user) | headers) as answer:
        text = await answer.text()
        assert answer.status == 200, text
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(text)))


def fits(demo_document: dict[str, Any], name: str, answer: Any) -> list[str]:
    schema = {"$ref": f"#/components/schemas/{name}", "components": demo_document["components"]}
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(answer)]


async def test_the_reports_answer_json_that_fits_their_schemas_and_csv_that_reads_back(
    demo: Demo,
) -> None:
    contract_id = await pay(demo, 4, "300.00", "CNY", "cash at the counter")
    document = await demo.call("GET", "/openapi.json", "finance", 200)

    balance = await demo.call("GET", f"/accounting/trial-balance?{PERIOD}", "finance", 200)
    assert fits(document, "TrialBalance", balance) == []
    assert balance["balanced"] is True
    assert (balance["currency"], balance["from_date"]) == ("CNY", "2000-01-01")
    assert balance["debits"] == balance["credits"]
    assert Decimal(balance["closing"]) == 0
    rows = await csv_of(demo, f"/accounting/trial-balance?{PERIOD}&format=csv")
    assert [row["account"] for row in rows] == [a["account"] for a in balance["accounts"]] + [
        "total"
    ]
    assert [row["closing"] for row in rows[:-1]] == [a["closing"] for a in balance["accounts"]]
    every = await demo.call("GET", f"/accounting/trial-balance?{PERIOD}&all=true", "finance", 200)
    assert len(every["accounts"]) >= len(balance["accounts"])

    ledger = await demo.call("GET", f"/accounting/ledger/1100?{PERIOD}", "finance", 200)
    assert fits(document, "AccountLedger", ledger) == []
    assert ledger["lines"][-1]["balance"] == ledger["closing"]
    first = await demo.call("GET", f"/accounting/ledger/1100?{PERIOD}&limit=1", "finance", 200)
    assert first["lines"] == ledger["lines"][:1]
    if first["next_after"] is not None:
        async with demo.client.get(
            f"/accounting/ledger/1100?{PERIOD}&limit=1", headers=demo.auth("finance")
        ) as answer:
            assert 'rel="next"' in answer.headers["Link"]
        second = await demo.call(
            "GET", f"/accounting/ledger/1100?{PERIOD}&limit=1&after={first['next_after']}",
            "finance", 200,
        )  # fmt: skip
        assert second["lines"] == ledger["lines"][1:2]
    rows = await csv_of(demo, f"/accounting/ledger/1100?{PERIOD}", Accept="text/csv")
    assert [row["description"] for row in (rows[0], rows[-1])] == ["opening", "closing"]
    assert [row["balance"] for row in rows[1:-1]] == [line["balance"] for line in ledger["lines"]]

    sub = await demo.call("GET", f"/contracts/{contract_id}/sub-ledger", "finance", 200)
    assert fits(document, "ContractSubLedger", sub) == []
    assert sub["contract_id"] == contract_id
    held = {account["account"]: account for account in sub["accounts"]}
    assert held["1100"]["debits"] == "300.00"
    assert Decimal(sub["difference"]) == Decimal(sub["receivable_balance"]) - Decimal(
        sub["outstanding"]
    )
    rows = await csv_of(demo, f"/contracts/{contract_id}/sub-ledger?format=csv")
    assert {row["contract_id"] for row in rows} == {contract_id}
    assert len(rows) == sum(len(account["lines"]) for account in sub["accounts"])


async def test_the_reports_are_finances(demo: Demo) -> None:
    contract_id = demo.company.book[4].id
    for user in ("sunrise", "officer", "admin"):
        for path in REPORTS:
            await demo.call("GET", path.format(contract=contract_id), user, 403)
    await demo.call("GET", f"/contracts/{'0' * 26}/sub-ledger", "finance", 404)
    await demo.call("GET", "/accounting/ledger/no%2Fslash", "finance", 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01&to=2026-12-31", "from"),
        ("from=2026-01-01&to=yesterday", "to"),
        ("from=2026-02-01&to=2026-01-31", "from"),
        ("to=2026-01-31", "from"),
        ("from=2026-01-01&to=2026-01-31&currency=XXX", "currency"),
        ("from=2026-01-01&to=2026-01-31&format=xml", "format"),
        ("from=2026-01-01&to=2026-01-31&all=yes", "all"),
        ("from=2026-01-01&to=2026-01-31&from=2026-01-02", "from"),
        ("from=2026-01-01&to=2026-01-31&from_=2026-01-02", "from_"),
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(demo: Demo, query: str, field: str) -> None:
    problem = await demo.call("GET", f"/accounting/trial-balance?{query}", "finance", 422)
    assert [error["field"] for error in problem["errors"]] == [field]


async def test_a_bad_account_or_cursor_is_a_422_naming_it(demo: Demo) -> None:
    problem = await demo.call("GET", f"/accounting/ledger/9999?{PERIOD}", "finance", 422)
    assert [error["field"] for error in problem["errors"]] == ["account"]
    for after in ("nonsense", "2026-01-01.x.y", "2026-99-01.AB.1"):
        problem = await demo.call(
            "GET", f"/accounting/ledger/1100?{PERIOD}&after={after}", "finance", 422
        )
        assert [error["field"] for error in problem["errors"]] == ["after"]


@pytest.mark.parametrize("path", [REPORTS[0], REPORTS[1]])
async def test_hostile_query_values_are_refused_naming_the_parameter(
    served: Demo, path: str
) -> None:
    document = await served.call("GET", "/openapi.json", "finance", 200)
    template = path.split("?")[0].replace("/1100", "/{account}")
    parameters = [p["name"] for p in document["paths"][template]["get"]["parameters"]]
    assert {"from", "to", "currency", "format"} <= set(parameters)
    await served.call("GET", path, "finance", 200)
    for name in parameters:
        if name == "account":
            continue
        for what, text in ODD_TEXT.items():
            if what == "a lone surrogate":
                continue  # a URL cannot carry one: its percent-encoding is UTF-8
            if what == "a megabyte":
                text = "x" * 4000
            query = "&".join(part for part in PERIOD.split("&") if not part.startswith(f"{name}="))
            url = URL(f"{path.split('?')[0]}?{query}&{name}={quote(text)}", encoded=True)
            async with served.client.get(url, headers=served.auth("finance")) as answer:
                assert answer.status == 422, f"{name} as {what}: {await answer.text()}"
                problem = await answer.json()
                assert [error["field"] for error in problem["errors"]] == [name]
