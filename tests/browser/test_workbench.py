"""The workbench in Chromium: what people do there, end to end, on a real demo server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_officer_signs_in_and_sees_the_queue(person: Any) -> None:
    officer = person("officer")
    page = officer.page
    expect(page.get_by_role("heading", name="My queue", exact=True)).to_be_visible()
    officer.check("queue")
    assert officer.server.tokens["officer"] not in page.url


def test_signing_out_sends_back_to_sign_in(person: Any) -> None:
    officer = person("officer")
    officer.page.get_by_role("button", name="Sign out").click()
    expect(officer.page.get_by_role("heading", name="Sign in")).to_be_visible()
    officer.check("signed-out")
    officer.goto("/workbench/queue")
    expect(officer.page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_pages_speak_chinese_when_asked(person: Any) -> None:
    officer = person("officer")
    officer.page.get_by_label("Language").select_option("zh")
    expect(officer.page.get_by_role("heading", name="我的队列")).to_be_visible()
    officer.check("queue-zh")


def test_the_keyboard_reaches_the_content_first(person: Any) -> None:
    officer = person("officer")
    page = officer.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_pages_fit_a_tablet(person: Any) -> None:
    officer = person("officer")
    officer.page.set_viewport_size({"width": 768, "height": 1024})
    for path in ("/workbench/queue", "/workbench/contracts", "/workbench/partners"):
        officer.goto(path)
        overflow = officer.page.evaluate(
            "document.scrollingElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{path} is {overflow} px wider than a tablet"
        officer.check(f"tablet{path.replace('/', '-')}")


def test_hostile_text_shows_as_text_and_never_runs(person: Any) -> None:
    officer = person("officer")
    page = officer.page
    page.get_by_role("link", name=re.compile(r"^Application ")).first.click()
    attack = '<img src=x onerror="window.pwned=1">'
    page.get_by_label("Add a tag").fill("x" + attack)
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_load_state()
    expect(page.get_by_text(attack, exact=False).first).to_be_visible()
    # No such element exists: the text was escaped, not left to the CSP to stop.
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("window.pwned") is None
    officer.check("hostile-tag")


PAGES = {
    "officer": ["/workbench/queue", "/workbench/contracts", "/workbench/partners",
                "/workbench/tasks/no-such-task"],
    "finance": ["/workbench/payouts"],
    "sunrise": ["/workbench/contracts", "/workbench/payouts"],
}  # fmt: skip
"""Each page as the people who use it see it (a task that is not there: the error page)."""


def test_every_page_is_screenshotted_and_has_no_critical_accessibility_fault(
    person: Any,
) -> None:
    for username, paths in PAGES.items():
        someone = person(username)
        for path in paths:
            someone.goto(path)
            someone.check(path.strip("/").replace("/", "-"))
    officer = person("officer")
    officer.page.get_by_role("link", name=re.compile(r"^Application ")).first.click()
    officer.check("task")
    officer.goto("/workbench/partners")
    officer.page.get_by_role("link", name="Sunrise Motors").click()
    officer.check("partner")
