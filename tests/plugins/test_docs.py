"""docs/plugins.md documents every hook with its signature and the version that added it, and
documents nothing that is not a hook (the guard datasette keeps for its plugin hooks)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from leasekit import hookspecs
from leasekit.ports import AdapterKind
from leasekit.testing import contracts, fakes

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
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


def test_every_setting_and_contract_suite_is_named() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    missing = [kind.setting for kind in AdapterKind if kind is not AdapterKind.VOUCHER_TEMPLATE]
    missing += contracts.__all__ + fakes.__all__
    assert [name for name in missing if name not in text] == []
