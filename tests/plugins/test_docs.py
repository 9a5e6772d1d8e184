"""docs/plugins.md documents every hook with its signature and the version that added it, and
documents nothing that is not a hook (the guard datasette keeps for its plugin hooks)."""

from __future__ import annotations

import inspect
import re
import sys
import types
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from leasekit import hookspecs
from leasekit.domain.partner_figures import BookCounts, PartnerFigures
from leasekit.domain.partner_ratings import Scorecard
from leasekit.domain.partners import PartnerRating
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager
from leasekit.ports import AdapterKind, ApprovalCase, Verdict
from leasekit.testing import fakes, suites

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
_NOTHING = Money("0.00", "CNY")
NEW_DEALER = PartnerFigures.of(
    "partner-1",
    BookCounts(40, 30, 27, _NOTHING, 0, 0, 0, 10, 0),
    onboarded_at=datetime(2026, 6, 1, tzinfo=UTC),
    limit=Money("1000000.00", "CNY"),
    exposure=_NOTHING,
    as_of=date(2026, 12, 4),
    since=date(2025, 12, 4),
)
HEADING = re.compile(r"^### `(leasekit_\w+)\(([^)]*)\)`$", re.MULTILINE)


def _hookspecs() -> dict[str, str]:
    """Each hookspec's name and its parameters as the guide writes them."""
    return {
        name: ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        for name in dir(hookspecs)
        if name.startswith("leasekit_")
    }


def _sections() -> dict[str, tuple[str, str]]:
    """Each documented hook: its parameters and the text up to the next heading."""
    text = GUIDE.read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    ends = [match.start() for match in matches[1:]] + [len(text)]
    return {
        match.group(1): (match.group(2), text[match.end() : end])
        for match, end in zip(matches, ends, strict=True)
    }


def test_every_hook_is_documented_with_its_signature() -> None:
    documented = {name: params for name, (params, _) in _sections().items()}
    assert documented == _hookspecs()


@pytest.mark.parametrize("hook", sorted(_hookspecs()))
def test_every_hook_says_when_it_was_added(hook: str) -> None:
    _, body = _sections()[hook]
    assert re.search(r"^Version added: \d+\.\d+$", body, re.MULTILINE), f"{hook} has no version"


def test_every_setting_suite_and_fake_is_named() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    missing = [kind.setting for kind in AdapterKind if kind is not AdapterKind.VOUCHER_TEMPLATE]
    missing += suites.__all__ + fakes.__all__
    assert [name for name in missing if name not in text] == []


def _run(example: str, module_name: str) -> types.ModuleType:
    module = types.ModuleType(module_name)
    exec(compile(example, f"{GUIDE} ({module_name})", "exec"), vars(module))
    return module


def test_the_python_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first example is the ``leasekit_acme`` module the suite test imports; the plugin
    examples load into a plugin manager, whose ``check_pending`` checks their hook names and
    arguments, and the vote example votes."""
    text = GUIDE.read_text(encoding="utf-8")
    plugin, voting, rating, steps, suite_test, conftest = re.findall(
        r"^```python\n(.*?)^```$", text, re.S | re.M
    )
    acme = _run(plugin, "leasekit_acme")
    monkeypatch.setitem(sys.modules, "leasekit_acme", acme)
    watchlist = _run(voting, "watchlist")
    pm = create_plugin_manager(load_entrypoints=False, blocked=(), extra_plugins=[acme, watchlist])
    assert "acme" in pm.hooks.registry(AdapterKind.CREDIT_BUREAU).ids
    case = ApprovalCase("app-1", "partner-17", "loan", Money("1000", "CNY"), 12, "0.3")
    assert [vote.verdict for vote in pm.hooks.evaluate_application(case)] == [Verdict.REFER]
    capped = create_plugin_manager(
        load_entrypoints=False, blocked=(), extra_plugins=[_run(rating, "first_year_cap")]
    )
    lenient = Scorecard(thresholds={PartnerRating.A: Decimal(2), PartnerRating.B: Decimal(1),
                                    PartnerRating.C: Decimal(0)})  # fmt: skip
    model = capped.hooks.partner_rating_model(lenient)
    assert model.version.startswith("first-year-cap-1/scorecard-1+")
    assert lenient.rate(NEW_DEALER).grade is PartnerRating.A
    assert model.rate(NEW_DEALER).grade is PartnerRating.C
    closing = create_plugin_manager(
        load_entrypoints=False, blocked=(), extra_plugins=[_run(steps, "count_contracts")]
    )
    assert [step.name for step in closing.hooks.end_of_day_steps()] == ["count_contracts"]
    suite = _run(suite_test, "test_acme").TestAcmeBureau
    assert issubclass(suite, suites.CreditBureauSuite)
    assert _run(conftest, "conftest").pytest_plugins == ["leasekit.testing.pytest_plugin"]
