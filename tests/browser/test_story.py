"""docs/workbench.md, followed in Chromium: an application referred to people goes from
the officer's queue to approved, signed and paid out, with each person at their own
browser. Each :func:`Story.step` is a heading of the page, and its screenshot is the page's
picture of that step (``LEASEKIT_UPDATE_SCREENSHOTS=1`` writes them to docs/images).
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parents[2] / "docs"
IMAGES = DOCS / "images" / "workbench"
STEP_HEADING = re.compile(r"^### (\d+)\. (.+)$", re.MULTILINE)
WAIT_MS = 15_000
"""How long a page may take to show what the background worker did (drawing up the
contract, queueing and paying the payout)."""


def documented_steps() -> list[str]:
    """The steps docs/workbench.md walks through, in order."""
    return [title for _, title in STEP_HEADING.findall((DOCS / "workbench.md").read_text())]


class Story:
    """The steps taken so far, each kept as the page's screenshot."""

    def __init__(self) -> None:
        self.taken: list[str] = []

    def step(self, someone: Any, title: str) -> None:
        self.taken.append(title)
        someone.check(f"step-{len(self.taken):02d}")
        if os.environ.get("LEASEKIT_UPDATE_SCREENSHOTS"):
            _picture(someone.page, IMAGES / f"{len(self.taken):02d}.png")


def _picture(page: Page, path: Path) -> None:
    """The window as the person sees it (not the whole page), in 256 colours: small enough
    to keep in the repository."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(page.screenshot())) as shot:
        shot.convert("RGB").quantize(256).save(path, optimize=True)


def _follow(page: Page, link: Locator) -> None:
    """Click *link* and wait for the page it opens."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        link.first.press("Enter")


def _open_first_task(page: Page) -> None:
    _follow(page, page.get_by_role("link", name=re.compile(r"^Application ")))
    expect(page.get_by_role("heading", name="Approval task", exact=False)).to_be_visible()


def _reload_until(page: Page, found: Callable[[], Locator]) -> None:
    """Reload *page* until *found* shows, as a person waits for the background worker (the
    contract drawn up and rendered, the payout queued); at most :data:`WAIT_MS`."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not found().first.is_visible():
        assert time.monotonic() < deadline, f"{page.url} never showed {found()}"
        time.sleep(0.3)
        page.reload(wait_until="domcontentloaded")


def _move(page: Page, button: str) -> None:
    """Press *button* and wait for the page the form leads to, which must not be an error.
    With the keyboard, as people do too: a click aims at a place, and the contract's PDF
    preview can still move the form down while it loads."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name=button, exact=True).press("Enter")
    problem = page.locator("section.problem")
    assert not problem.is_visible(), f"{button}: {problem.inner_text()}"


def test_an_application_goes_from_referral_to_paid_out_in_the_browser(
    person: Any, demo_server: Any
) -> None:
    story = Story()

    # The officer claims the referred case, reads the bureau and anti-fraud findings, and
    # hands it up.
    officer = person("officer")
    page = officer.page
    story.step(officer, "The officer's queue")
    _open_first_task(page)
    _move(page, "Claim")
    expect(page.get_by_role("status")).to_have_text("Task claimed.")
    expect(page.get_by_role("heading", name="Credit bureau report")).to_be_visible()
    expect(page.get_by_role("heading", name="Anti-fraud")).to_be_visible()
    story.step(officer, "The case, claimed")
    page.get_by_label("Why it needs the next tier").fill(
        "second car loan in a year; manager to look"
    )
    _move(page, "Escalate")
    expect(page.get_by_role("status")).to_have_text("Task escalated to the next tier.")

    # The manager gives the case to the director.
    manager = person("manager")
    _open_first_task(manager.page)
    manager.page.get_by_label("Reviewer", exact=True).select_option(
        label="Chen Jie (risk director) (director)"
    )
    story.step(manager, "The manager reassigns it")
    _move(manager.page, "Reassign")
    expect(manager.page.get_by_role("status")).to_have_text("Task reassigned.")

    # The director approves, on a larger down payment.
    director = person("director")
    _open_first_task(director.page)
    _move(director.page, "Claim")
    director.page.get_by_label("Approve with conditions").check()
    director.page.get_by_label("Down payment").fill("80000.00")
    director.page.get_by_label("Reason (required unless you approve)").fill(
        "approved on a larger down payment"
    )
    story.step(director, "The director approves with conditions")
    _move(director.page, "Record the decision")
    expect(director.page.get_by_role("status")).to_have_text(re.compile("decision", re.I))

    # The contract is drawn up; the officer completes it and sends it for signature.
    page = officer.goto("/workbench/contracts")
    _reload_until(page, lambda: page.get_by_role("link", name=re.compile(r"-\d{6}$")))
    _follow(page, page.get_by_role("link", name=re.compile(r"-\d{6}$")))
    _reload_until(page, lambda: page.get_by_role("link", name="Download the contract document"))
    page.get_by_label("E-mail").first.fill("liu.yang@example.com")
    _move(page, "Save")
    story.step(officer, "The contract, drawn up")
    _move(page, "Send for signature")
    envelope = page.locator("#envelope-id").inner_text()

    # The customer signs at the signature provider (in the demo, one command).
    demo_server.leasekit("signatures", "sign", envelope, "liu.yang@example.com",
                         "--data-dir", "leasekit-demo")  # fmt: skip
    _move(page, "Check signature")
    expect(page.get_by_text("Signed by every signer.")).to_be_visible()
    invoice = resources.files("leasekit.samples").joinpath("vehicle-invoice.pdf")
    page.get_by_label("Kind").select_option("vehicle_invoice")
    page.get_by_label("File (PDF or image)").set_input_files(str(invoice))
    _move(page, "Upload")
    story.step(officer, "Signed, with the vehicle invoice")

    # The dealer's settlement account, which the payout goes to.
    page = officer.goto("/workbench/partners")
    _follow(page, page.get_by_role("link", name="Sunrise Motors"))
    page.get_by_label("Scheme").select_option("cn_bank_card")
    page.get_by_label("Account holder").fill("Sunrise Motors")
    page.get_by_label("Bank name").fill("ICBC Shenzhen")
    page.get_by_label("Bank card number").fill("6222020200112233446")
    page.get_by_label("Reason (required)", exact=False).last.fill("settlement account for payouts")
    _move(page, "Set the settlement account")
    story.step(officer, "The dealer's settlement account")

    # Finance watches the payout queue in one tab and approves in another.
    watching = person("finance")
    queue = watching.goto("/workbench/payouts")
    _reload_until(queue, lambda: queue.locator("[id^=payout-state-] .state"))
    queue.evaluate("window.stillTheSamePage = true")
    approving = person("finance")
    page = approving.goto("/workbench/payouts")
    _reload_until(page, lambda: page.get_by_label(re.compile("Select the payout of contract")))
    page.get_by_label(re.compile("Select the payout of contract")).first.check()
    story.step(approving, "Finance selects the payout")
    _move(page, "Approve the selected payouts")
    expect(page.get_by_role("heading", name="Batch approval")).to_be_visible()
    story.step(approving, "The batch's result")
    expect(queue.locator("[id^=payout-state-] .state").first).to_have_text("paid", timeout=WAIT_MS)
    assert queue.evaluate("window.stillTheSamePage") is True, "the page was reloaded"
    story.step(watching, "Paid, live")

    assert story.taken == documented_steps()
