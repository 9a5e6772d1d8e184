"""The partner pages: the list with the exposure by grade over every partner, and one
partner's rating and why, credit limit, moves, history and settlement account, each read from
and written through the services the JSON API uses."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from leasekit.demo import credit_code
from leasekit.server import workbench
from leasekit.server.workbench.i18n import translations
from leasekit.server.workbench.render import NOTICES

IBAN = "DE89370400440532013000"
GRADES = ("A", "B", "C", "D", "none")


def money(amount: Decimal | str) -> str:
    """An amount as the English pages write it."""
    return f"{Decimal(amount):,.2f} CNY"


async def onboard(demo: Any, name: str, code: str, limit: str, rating: str | None) -> str:
    body = {"name": name, "registration_number": credit_code(code), "credit_limit": limit}
    if rating is not None:
        body["rating"] = rating
    return str((await demo.call("POST", "/partners", "officer", 201, json=body))["id"])


async def take(demo: Any, partner_id: str, kind: str, amount: str, reference: str) -> None:
    body = {"partner_id": partner_id, "kind": kind, "reference": reference, "amount": amount,
            "reason": "a test of the exposure"}  # fmt: skip
    await demo.call("POST", "/limit-movements", "finance", 201, json=body)


async def every_partner(demo: Any) -> list[dict[str, Any]]:
    """Every partner the API lists, page after page."""
    found: list[dict[str, Any]] = []
    path = "/partners?limit=1"
    while True:
        page = await demo.call("GET", path, "officer", 200)
        found += page["items"]
        if page["next"] is None:
            return found
        path = page["next"]


def exposure_rows(body: str) -> dict[str, list[str]]:
    """The exposure table's cells (partners, limit, used, frozen) by grade."""
    rows = re.findall(r'<tr class="exposure" data-grade="(\w+)">(.*?)</tr>', body, re.S)
    return {grade: re.findall(r"<td>(.*?)</td>", cells, re.S) for grade, cells in rows}


def chart_values(body: str, chart_id: str) -> list[str]:
    """The amounts a chart writes by its bars."""
    chart = body[body.index(f'id="{chart_id}-title"') :]
    chart = chart[: chart.index("</svg>")]
    return [html.unescape(text) for text in re.findall(r'class="chart-value">([^<]*)<', chart)]


# --- the list --------------------------------------------------------------------------------


async def test_the_list_shows_the_partners_and_filters_them(desk: Any) -> None:
    officer = await desk("officer")
    body = await officer.page("/workbench/partners")
    for name in ("Sunrise Motors", "Harbour Auto", "Lakeside Cars"):
        assert name in body
    brokers = await officer.page("/workbench/partners?kind=broker")
    assert "Lakeside Cars" in brokers
    assert "Sunrise Motors" not in brokers
    graded_b = await officer.page("/workbench/partners?rating=B&state=active")
    assert "Harbour Auto" in graded_b
    assert "Lakeside Cars" not in graded_b
    assert "Sunrise" not in (await officer.page("/workbench/partners?q=harb"))


async def test_a_filter_the_api_refuses_is_a_422_page_naming_it(desk: Any) -> None:
    officer = await desk("officer")
    status, body, _ = await officer.get("/workbench/partners?rating=E")
    assert status == 422
    assert "rating" in body
    status, body, _ = await officer.get("/workbench/partners?limit=lots")
    assert status == 422
    assert "limit" in body


async def test_the_exposure_adds_up_every_partner_beyond_the_first_page(
    demo: Any, desk: Any
) -> None:
    await onboard(demo, "Ridgeway Motors", "91420100MA4K5E6F7", "300000.00", "A")
    await onboard(demo, "Valley Trucks", "91420100MA4K5E7G8", "120000.00", None)
    await take(demo, demo.partner_id("Sunrise Motors"), "take", "1000.50", "contract:test-1")
    await take(demo, demo.partner_id("Harbour Auto"), "freeze", "250.25", "contract:test-2")
    officer = await desk("officer")
    body = await officer.page("/workbench/partners?limit=1")
    assert 'rel="next"' in body, "the list itself shows one partner a page"

    expected = {grade: [0, Decimal(0), Decimal(0), Decimal(0)] for grade in GRADES}
    for partner in await every_partner(demo):
        figures = await demo.call("GET", f"/partners/{partner['id']}/credit-limit", "officer", 200)
        row = expected[partner["rating"] or "none"]
        row[0] += 1
        for index, name in enumerate(("limit", "used", "frozen"), start=1):
            row[index] += Decimal(figures[name]["amount"])
    assert sum(row[0] for row in expected.values()) == 6  # with the taken-over book's dealer
    shown = exposure_rows(body)
    for grade, (count, limit, used, frozen) in expected.items():
        assert shown[grade] == [str(count), money(limit), money(used), money(frozen)], grade
    in_use = [money(row[2] + row[3]) for row in expected.values()]
    assert chart_values(body, "exposure-by-grade") == in_use
    assert chart_values(body, "limits-by-grade") == [money(row[1]) for row in expected.values()]
    assert money("5300000.00") in body, "Sunrise and Ridgeway's limits together"
    assert money("1000.50") in body
    assert money("250.25") in body


async def test_a_dealer_is_refused_the_list(demo: Any, desk: Any) -> None:
    dealer = await desk("sunrise")
    status, body, _ = await dealer.get("/workbench/partners")
    assert status == 403
    assert "Exposure by grade" not in body
    assert "Harbour Auto" not in body


# --- one partner -----------------------------------------------------------------------------


async def test_the_partner_shows_its_grade_and_why(demo: Any, desk: Any) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    officer = await desk("officer")
    before = await officer.page(f"/workbench/partners/{sunrise}")
    assert 'class="grade">A<' in before
    assert "Not rated by the scorecard yet" in before
    after = await officer.submit(f"/workbench/partners/{sunrise}/rating", back(sunrise))
    rating = await demo.call("GET", f"/partners/{sunrise}/rating", "officer", 200)
    assert f'class="grade">{rating["grade"]}<' in after
    assert "The partner has been rated." in after
    for factor in rating["computed"]["factors"]:
        assert html.escape(factor["explanation"]) in after
    assert rating["computed"]["score"] in after


async def test_the_gauge_shows_the_api_figures(demo: Any, desk: Any) -> None:
    harbour = demo.partner_id("Harbour Auto")
    await take(demo, harbour, "take", "1250000.00", "contract:gauge-1")
    await take(demo, harbour, "freeze", "500000.00", "contract:gauge-2")
    figures = await demo.call("GET", f"/partners/{harbour}/credit-limit", "officer", 200)
    body = await (await desk("manager")).page(f"/workbench/partners/{harbour}")
    for name in ("limit", "used", "frozen", "available"):
        shown = re.findall(rf'data-figure="{name}">([^<]*)<', body)
        assert shown == [money(figures[name]["amount"])], name
    widths = dict(re.findall(r'<rect class="(used|frozen|available)"[^>]*width="(\d+)"', body))
    assert widths == {"used": "250", "frozen": "100", "available": "650"}
    assert "style=" not in body


async def test_a_move_goes_through_the_lifecycle_at_the_version_shown(demo: Any, desk: Any) -> None:
    harbour = demo.partner_id("Harbour Auto")
    manager = await desk("manager")
    body = await manager.page(f"/workbench/partners/{harbour}")
    assert 'name="action" value="suspend"' in body
    assert 'name="action" value="apply"' not in body, "not a move from active"
    version = (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["version"]
    data = {"action": "watch", "reason": "slow to pay", "version": str(version),
            "back": f"/workbench/partners/{harbour}"}  # fmt: skip
    after = await manager.submit(f"/workbench/partners/{harbour}/transitions", data)
    assert "The partner&#39;s state has changed." in after
    assert (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["state"] == "watch"
    status, body, _ = await manager.post(f"/workbench/partners/{harbour}/transitions",
                                         data | {"action": "suspend"})  # fmt: skip
    assert status == 412
    assert (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["state"] == "watch"


def back(partner_id: str) -> dict[str, str]:
    return {"back": f"/workbench/partners/{partner_id}"}


def account_form(at_version: int, **changes: str) -> dict[str, str]:
    return {"scheme": "iban", "holder": "Harbour Auto Ltd", "bank_name": "Deutsche Bank",
            "iban": IBAN, "reason": "the dealer's new settlement account",
            "version": str(at_version)} | changes  # fmt: skip


async def test_setting_the_settlement_account_changes_what_the_api_returns(
    demo: Any, desk: Any
) -> None:
    harbour = demo.partner_id("Harbour Auto")
    before = await demo.call("GET", f"/partners/{harbour}", "officer", 200)
    officer = await desk("officer")
    await officer.page(f"/workbench/partners/{harbour}")
    data = account_form(before["version"]) | back(harbour)
    page = await officer.submit(f"/workbench/partners/{harbour}/settlement-account", data)
    assert "The settlement account is set." in page
    assert IBAN not in page, "the number is shown masked"
    assert IBAN[-4:] in page
    after = await demo.call("GET", f"/partners/{harbour}", "officer", 200)
    primary = [account for account in after["bank_accounts"] if account["primary"]]
    assert [account["iban"] for account in primary] == [IBAN]
    assert len(after["bank_accounts"]) == len(before["bank_accounts"]) + 1
    history = await demo.listing(f"/partners/{harbour}/history", "officer")
    assert history[-1]["reason"] == "the dealer's new settlement account"


async def test_a_stale_version_is_refused_and_changes_nothing(demo: Any, desk: Any) -> None:
    harbour = demo.partner_id("Harbour Auto")
    before = await demo.call("GET", f"/partners/{harbour}", "officer", 200)
    officer = await desk("officer")
    await officer.page(f"/workbench/partners/{harbour}")
    stale = account_form(before["version"] - 1) | back(harbour)
    status, body, _ = await officer.post(f"/workbench/partners/{harbour}/settlement-account", stale)
    assert status == 412
    assert "<h1>" in body
    assert await demo.call("GET", f"/partners/{harbour}", "officer", 200) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"iban": "DE89370400440532013001"}, "iban"),
        ({"scheme": "cn_bank_card", "iban": "", "card_number": "6222021234567890"},
         "card_number"),
        ({"scheme": "nowhere"}, "scheme"),
    ],
)  # fmt: skip
async def test_an_invalid_account_is_a_422_page_naming_the_field(
    demo: Any, desk: Any, changes: dict[str, str], field: str
) -> None:
    harbour = demo.partner_id("Harbour Auto")
    before = await demo.call("GET", f"/partners/{harbour}", "officer", 200)
    officer = await desk("officer")
    await officer.page(f"/workbench/partners/{harbour}")
    data = account_form(before["version"], **changes) | back(harbour)
    status, body, _ = await officer.post(f"/workbench/partners/{harbour}/settlement-account", data)
    assert status == 422, body
    assert re.search(rf"<strong>[^<]*{field}</strong>", body), body
    assert await demo.call("GET", f"/partners/{harbour}", "officer", 200) == before


async def test_a_dealer_cannot_open_a_partner(demo: Any, desk: Any) -> None:
    dealer = await desk("sunrise")
    status, body, _ = await dealer.get(f"/workbench/partners/{demo.partner_id('Harbour Auto')}")
    assert status == 404
    assert "Harbour Auto" not in body
    status, _, _ = await dealer.get(f"/workbench/partners/{demo.partner_id('Sunrise Motors')}")
    assert status == 403, "grades and their reasons are the company's own"


async def test_a_dealer_cannot_set_an_account(demo: Any, desk: Any) -> None:
    sunrise = demo.partner_id("Sunrise Motors")
    before = await demo.call("GET", f"/partners/{sunrise}", "officer", 200)
    dealer = await desk("sunrise")
    data = account_form(before["version"]) | back(sunrise)
    status, _, _ = await dealer.post(f"/workbench/partners/{sunrise}/settlement-account", data)
    assert status == 403
    assert await demo.call("GET", f"/partners/{sunrise}", "officer", 200) == before


HOSTILE = ["<script>alert(1)</script>", "bank\x00name", "x" * 10_000, "' OR 1=1 --", "𝕏\u202e"]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_text_in_the_forms_is_refused_or_shown_as_text(
    demo: Any, desk: Any, value: str
) -> None:
    harbour = demo.partner_id("Harbour Auto")
    officer = await desk("officer")
    version = (await demo.call("GET", f"/partners/{harbour}", "officer", 200))["version"]
    forms = {
        "settlement-account": [
            account_form(version, holder=value),
            account_form(version, bank_name=value, reason=value),
            account_form(version, iban=value),
            account_form(version, version=value),
        ],
        "transitions": [
            {"action": value, "reason": "x", "version": str(version)},
            {"action": "watch", "reason": value, "version": str(version)},
        ],
        "rating": [{"partner_id": value}],
    }
    for target, posts in forms.items():
        for data in posts:
            await officer.page(f"/workbench/partners/{harbour}")
            status, body, headers = await officer.post(
                f"/workbench/partners/{harbour}/{target}", data | back(harbour)
            )
            assert status < 500, body
            assert "<script>alert" not in body
            if status == 303:
                page = await officer.page(headers["Location"])
                assert "<script>alert" not in page
    for path in (f"/workbench/partners?q={value[:200]}", f"/workbench/partners/{value[:200]}"):
        status, body, _ = await officer.get(path.replace("\x00", "%00"))
        assert status < 500, body
        assert "<script>alert" not in body


# --- languages -------------------------------------------------------------------------------

TEMPLATES = Path(workbench.__file__).parent / "templates"
TEXT = re.compile(r"""_\((?:"([^"]*)"|'([^']*)')\)""")


def test_every_text_of_the_partner_pages_has_its_chinese() -> None:
    texts = {
        first or second
        for name in ("partners.html", "partner.html", "partner_names.html")
        for first, second in TEXT.findall((TEMPLATES / name).read_text(encoding="utf-8"))
    }
    texts |= {NOTICES[key] for key in ("partner_moved", "settlement_set", "partner_rated")}
    texts.add("Ungraded")
    chinese = translations("zh")
    assert [text for text in sorted(texts) if chinese.gettext(text) == text] == []


async def test_the_partner_pages_speak_chinese(demo: Any, desk: Any) -> None:
    officer = await desk("officer")
    body = await officer.submit(
        "/workbench/language", {"language": "zh", "back": "/workbench/partners"}
    )
    assert "按评级的敞口" in body
    assert '<text x="0" y="126" class="chart-label">未评级</text>' in body
    page = await officer.page(f"/workbench/partners/{demo.partner_id('Harbour Auto')}")
    assert "结算银行账户" in page
