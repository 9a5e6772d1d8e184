"""What ``leasekit plugins`` shows: plugins with their source and hooks, and per kind the
registered and active adapter ids."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from leasekit.domain.clock import FixedClock
from leasekit.plugins import (
    KindRow,
    PluginManager,
    create_plugin_manager,
    describe,
    report_tables,
    resolve_adapters,
)
from leasekit.ports import AdapterKind

PluginFactory = Callable[..., PluginManager]

VENDOR = """
from leasekit import hookimpl
from leasekit.testing.fakes import FakeCreditBureau

@hookimpl
def leasekit_register_credit_bureaus(register):
    register("acme", FakeCreditBureau.from_context)
"""


def _kind(rows: tuple[KindRow, ...], kind: AdapterKind) -> KindRow:
    return next(row for row in rows if row.kind is kind)


def test_plugins_are_listed_with_source_and_hooks(install: Callable[..., str]) -> None:
    install("leasekit-acme", {"acme": "acme_{token}"}, {"acme_{token}": VENDOR})
    report = describe(create_plugin_manager(load_entrypoints=True, blocked=()), {})
    rows = {row.name: row for row in report.plugins}
    assert rows["acme"].source == "leasekit-acme 1.2.3"
    assert rows["acme"].hooks == ("leasekit_register_credit_bureaus",)
    assert rows["leasekit.builtin.filesystem"].source == "builtin"
    assert rows["leasekit.builtin.filesystem"].hooks == (
        "leasekit_register_document_stores",
        "leasekit_register_notifiers",
    )
    assert _kind(report.kinds, AdapterKind.CREDIT_BUREAU).registered == ("acme", "fake")


def test_active_ids_come_from_the_chosen_settings(make_pm: PluginFactory) -> None:
    report = describe(make_pm(), {"document_store": "filesystem", "bank": None})
    store = _kind(report.kinds, AdapterKind.DOCUMENT_STORE)
    assert (store.registered, store.active) == (("fake", "filesystem"), ("filesystem",))
    bank = _kind(report.kinds, AdapterKind.BANK)
    assert (bank.active, bank.setting) == ((), "LEASEKIT_ADAPTERS__BANK")


def test_active_ids_come_from_resolved_adapters(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    pm = make_pm()
    adapters = resolve_adapters(pm, {"ledger": "fake"}, {}, tmp_path, clock)
    report = describe(pm, adapters)
    assert _kind(report.kinds, AdapterKind.LEDGER).active == ("fake",)
    assert _kind(report.kinds, AdapterKind.BANK).active == ()


def test_voucher_templates_are_all_active_and_chosen_by_no_setting(make_pm: PluginFactory) -> None:
    row = _kind(describe(make_pm(), {}).kinds, AdapterKind.VOUCHER_TEMPLATE)
    assert (row.registered, row.active, row.setting) == ((), (), None)


def test_blocked_plugins_are_shown_as_blocked(make_pm: PluginFactory) -> None:
    report = describe(make_pm(blocked=("leasekit.builtin.fakes",)), {})
    rows = {row.name: row for row in report.plugins}
    assert rows["leasekit.builtin.fakes"].blocked
    assert rows["leasekit.builtin.fakes"].hooks == ()
    assert _kind(report.kinds, AdapterKind.BANK).registered == ()


def test_the_report_is_json_ready(make_pm: PluginFactory) -> None:
    data = json.loads(json.dumps(describe(make_pm(), {"bank": "fake"}).as_dict()))
    assert data["plugins"][0] == {
        "name": "leasekit.builtin.approval_policy",
        "source": "builtin",
        "hooks": ["leasekit_register_approval_policies"],
        "blocked": False,
    }
    bank = next(row for row in data["adapters"] if row["kind"] == "bank")
    assert bank == {
        "kind": "bank",
        "registered": ["fake"],
        "active": ["fake"],
        "setting": "LEASEKIT_ADAPTERS__BANK",
    }


def test_the_report_renders_as_tables(make_pm: PluginFactory) -> None:
    console = Console(record=True, width=200)
    for table in report_tables(describe(make_pm(), {"document_store": "filesystem"})):
        console.print(table)
    text = console.export_text()
    assert "leasekit.builtin.filesystem" in text
    assert "register_document_stores" in text
    assert "LEASEKIT_ADAPTERS__DOCUMENT_STORE" in text
    assert "all registered are used" in text
