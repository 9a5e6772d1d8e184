"""The reconciliation page: finance imports today's statement and works the queue it leaves
(an entry matched to a contract by number, whole or split, another parked in suspense), at
the version shown; the rest of the back office reads it, a dealer never."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from aiohttp import FormData
from tests.server.test_funds import todays_statement

from leasekit.demo import DEMO_US_ACCOUNT, company_statement
from leasekit.server.workbench.session import COOKIE

QUEUE = "/workbench/reconciliation"


async def upload(desk: Any, data: bytes, filename: str = "statement.xml") -> tuple[int, str, str]:
    """Post the queue page's upload form with *data* as its file: status, body, Location."""
    await desk.get(QUEUE)  # for the CSRF token of the person's session
    form = FormData()
    form.add_field("csrf", desk.csrf)
    form.add_field("file", data, filename=filename, content_type="application/xml")
    async with desk.client.post(
        f"{QUEUE}/statements", data=form, headers={"Cookie": f"{COOKIE}={desk.cookie}"},
        allow_redirects=False,
    ) as response:  # fmt: skip
        body = await response.text()
        location = response.headers.get("Location", "")
    desk.client.session.cookie_jar.clear()
    return response.status, body, location


async def imported(desk: Any) -> str:
    """Today's statement imported through the page; the page it leads to."""
    status, body, location = await upload(desk, todays_statement())
    assert status == 303, body[:2000]
    return str(await desk.page(location))


def entry_of(page: str, payer: str) -> str:
    """The id of the queue's entry from *payer*."""
    found = re.search(rf'<tr id="entry-([0-9a-f]+)">(?:(?!</tr>).)*?<td>{payer}</td>', page, re.S)
    assert found is not None, page[:4000]
    return found.group(1)


def version_of(page: str, form: str) -> str:
    found = re.search(rf'action="[^"]+/{form}".*?name="version" value="(\d+)"', page, re.S)
    assert found is not None, page[:4000]
    return found.group(1)


async def contract_id(demo: Any, number: str) -> str:
    (found,) = await demo.listing(f"/contracts?number={number}", "finance")
    return str(found["id"])


async def test_finance_imports_the_statement_and_sees_the_queue(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    assert f'href="{QUEUE}"' in await finance.page("/workbench/payouts")
    page = await imported(finance)
    assert "The statement is imported." in page
    assert re.search(r"3 credits: \d matched, \d queued, 0 imported before\.", page)
    assert "120.00 USD" in page
    assert "NORTHWIND TRADING" in page
    assert "INV 4471" in page
    assert "no contract matches" in page
    again, _, location = await upload(finance, todays_statement(), "again.xml")
    assert again == 303
    assert "imported before; nothing changed" in await finance.page(location)
    assert "No entry in this state." in await finance.page(f"{QUEUE}?state=suspense")
    matched = await finance.page(f"{QUEUE}?state=matched")
    assert "METRO FLEET SALES" in matched
    assert "NORTHWIND TRADING" not in matched
    chinese = await finance.submit("/workbench/language", {"language": "zh", "back": QUEUE})
    assert "筛选款项" in chinese
    assert "对账" in chinese


async def test_the_contracts_a_rule_saw_are_linked(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    yesterday = company_statement(DEMO_US_ACCOUNT, date.today() - timedelta(days=1))
    status, body, location = await upload(
        finance, yesterday.replace(b"INV 4471", b"TB-0001 TB-0002")
    )
    assert status == 303, body[:2000]
    page = await finance.page(location)
    row = re.search(r'<tr id="entry-[0-9a-f]+">(?:(?!</tr>).)*?TB-0001 TB-0002.*?</tr>', page, re.S)
    assert row is not None, page[:4000]
    links = re.findall(r'<a href="(/workbench/contracts/[0-9a-f]+)">(TB-\d+)</a>', row.group())
    assert [number for _, number in links] == ["TB-0001", "TB-0002"]
    assert "Contract TB-0001" in await finance.page(links[0][0])


async def test_an_entry_is_matched_to_a_contract_by_number(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    entry = entry_of(await imported(finance), "NORTHWIND TRADING")
    path = f"{QUEUE}/{entry}"
    page = await finance.page(path)
    assert "Match to contracts" in page
    missing = {"back": path, "version": version_of(page, "matches"),
               "number": ["TB-9999", "", ""], "amount": ["", "", ""]}  # fmt: skip
    status, body, _ = await finance.post(f"{path}/matches", _fields(missing))
    assert status == 422, body[:500]
    assert "no contract TB-9999" in body
    short = missing | {"number": ["TB-0001", "TB-0002", ""], "amount": ["100.00", "10", ""]}
    status, body, _ = await finance.post(f"{path}/matches", _fields(short))
    assert status == 422
    assert "the line is 120.00" in body
    split = missing | {"number": ["TB-0001", "TB-0002", ""], "amount": ["100.00", "20", ""]}
    done = await finance.submit(f"{path}/matches", _fields(split))
    assert "The entry is matched; its payments are booked." in done
    assert 'class="state state-matched"' in done
    assert "Match to contracts" not in done
    for number, amount in (("TB-0001", "100.00"), ("TB-0002", "20.00")):
        contract = await contract_id(demo, number)
        payments = await demo.listing(f"/contracts/{contract}/payments", "finance")
        (paid,) = [p for p in payments if p["source_ref"].startswith(f"{entry}:")]
        assert paid["amount"] == {"amount": amount, "currency": "USD"}
    assert "NORTHWIND TRADING" in await finance.page(f"{QUEUE}?state=matched")


async def test_one_contract_takes_the_whole_amount(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    entry = entry_of(await imported(finance), "NORTHWIND TRADING")
    path = f"{QUEUE}/{entry}"
    page = await finance.page(path)
    form = {"back": path, "version": version_of(page, "matches"),
            "number": ["TB-0001", "", ""], "amount": ["", "", ""]}  # fmt: skip
    await finance.submit(f"{path}/matches", _fields(form))
    payments = await demo.listing(f"/contracts/{await contract_id(demo, 'TB-0001')}/payments",
                                  "finance")  # fmt: skip
    assert [p["amount"]["amount"] for p in payments if p["source_ref"] == f"{entry}:1"] == [
        "120.00"
    ]


async def test_an_entry_is_parked_and_a_stale_form_is_refused(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    entry = entry_of(await imported(finance), "NORTHWIND TRADING")
    path = f"{QUEUE}/{entry}"
    page = await finance.page(path)
    stale = version_of(page, "suspense")
    parked = await finance.submit(f"{path}/suspense", {
        "back": path, "version": stale, "reason": "nobody knows INV 4471; asked the bank",
    })  # fmt: skip
    assert "The entry is parked in suspense." in parked
    assert "nobody knows INV 4471; asked the bank" in parked
    assert 'action="/workbench/reconciliation/' + entry + '/suspense"' not in parked
    assert "NORTHWIND TRADING" in await finance.page(f"{QUEUE}?state=suspense")
    status, body, _ = await finance.post(f"{path}/matches", _fields({
        "back": path, "version": stale, "number": ["TB-0001"], "amount": [""],
    }))  # fmt: skip
    assert status == 412, body[:500]
    assert "<html" in body
    assert "Go back" in body
    matched = await finance.submit(f"{path}/matches", _fields({
        "back": path, "version": version_of(parked, "matches"), "number": ["TB-0001"],
        "amount": [""],
    }))  # fmt: skip
    assert 'class="state state-matched"' in matched


async def test_the_back_office_reads_the_queue_and_a_dealer_never(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    entry = entry_of(await imported(finance), "NORTHWIND TRADING")
    cfo = await desk("cfo")
    read = await cfo.page(QUEUE)
    assert f'href="{QUEUE}"' in read
    assert "NORTHWIND TRADING" in read
    assert "Import a bank statement" not in read
    one = await cfo.page(f"{QUEUE}/{entry}")
    assert "Match to contracts" not in one
    assert "Park in suspense" not in one
    status, _, _ = await cfo.post(f"{QUEUE}/{entry}/suspense",
                                  {"back": QUEUE, "version": "0", "reason": "mine"})  # fmt: skip
    assert status == 403
    dealer = await desk("sunrise")
    assert f'href="{QUEUE}"' not in await dealer.page("/workbench/contracts")
    status, body, _ = await dealer.get(QUEUE)
    assert status == 403, body[:500]
    assert "NORTHWIND" not in body
    status, body, _ = await dealer.get(f"{QUEUE}/{entry}")
    assert status in (403, 404)
    assert "NORTHWIND" not in body
    for action, data in (("matches", _fields({"version": "0", "number": ["TB-0001"],
                                              "amount": [""]})),
                         ("suspense", [("version", "0"), ("reason", "mine")])):  # fmt: skip
        status, _, _ = await dealer.post(f"{QUEUE}/{entry}/{action}", data)
        assert status in (403, 404)
    status, _, _ = await upload(dealer, todays_statement())
    assert status == 403
    assert "NORTHWIND TRADING" in await finance.page(QUEUE), "nothing moved"


async def test_hostile_text_is_refused_without_a_500(demo: Any, desk: Any) -> None:
    finance = await desk("finance")
    entry = entry_of(await imported(finance), "NORTHWIND TRADING")
    path = f"{QUEUE}/{entry}"
    version = version_of(await finance.page(path), "suspense")
    for reason in ("a\x00b", "x" * 1_000_000, "   ", "<script>alert(1)</script>" * 50):
        status, body, _ = await finance.post(
            f"{path}/suspense", {"back": path, "version": version, "reason": reason}
        )
        assert 400 <= status < 500, (reason[:20], status, body[:300])
        assert "<script>alert" not in body
    for number, amount in (("TB\x000001", ""), ("x" * 100_000, ""), ("TB-0001", "12O.00"),
                           ("TB-0001", "1e999999"), ("TB-0001", "-120.00")):  # fmt: skip
        form = {"back": path, "version": version, "number": [number, "TB-0002"],
                "amount": [amount or "1.00", "119.00"]}  # fmt: skip
        status, body, _ = await finance.post(f"{path}/matches", _fields(form))
        assert 400 <= status < 500, (number[:20], amount, status, body[:300])
    too_many = {"back": path, "version": version, "number": ["TB-0001"] * 4, "amount": [""] * 4}
    status, _, _ = await finance.post(f"{path}/matches", _fields(too_many))
    assert status == 422
    status, body, _ = await finance.get(f"{QUEUE}?state=%00")
    assert 400 <= status < 500
    status, body, _ = await upload(finance, b"\x00not a statement")
    assert 400 <= status < 500, body[:300]
    assert "NORTHWIND TRADING" in await finance.page(QUEUE), "still queued"


def _fields(form: dict[str, Any]) -> list[tuple[str, str]]:
    """A form's fields in order, a list value repeating its field (the rows of a split)."""
    return [(name, item) for name, value in form.items()
            for item in (value if isinstance(value, list) else [value])]  # fmt: skip
