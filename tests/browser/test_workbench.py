"""The workbench in Chromium: what people do there, end to end, on a real demo server."""

from __future__ import annotations

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
