"""The table of adapter kinds is complete, and what is derived from it agrees with it: the
hooks, the settings, the built-in fakes, ``Fakes`` and the typed accessors of ``Adapters``."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args

import pytest

import leasekit.builtin.fakes
import leasekit.testing
from leasekit import hookspecs, ports
from leasekit.domain.clock import FixedClock
from leasekit.plugins import CHOSEN_KINDS, KIND_HOOKS, KIND_PROTOCOLS, Adapters
from leasekit.ports import AdapterKind
from leasekit.ports.kinds import KINDS
from leasekit.settings import AdapterIds
from leasekit.testing import suites
from leasekit.testing.fakes import Fakes

CLOCK = FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))


def test_every_kind_has_one_row_in_the_order_of_the_enum() -> None:
    assert list(KINDS) == list(AdapterKind)
    assert all(spec.kind is kind for kind, spec in KINDS.items())


def test_the_rows_name_every_registration_hook_once() -> None:
    registration = {name for name in dir(hookspecs) if name.startswith("leasekit_register_")}
    assert sorted(KIND_HOOKS.values()) == sorted(registration)


def test_each_port_is_a_checkable_protocol_exported_by_leasekit_ports() -> None:
    for port in KIND_PROTOCOLS.values():
        assert getattr(ports, port.__name__) is port
        assert isinstance(object(), port) is False


def test_only_voucher_templates_are_not_chosen_by_id() -> None:
    assert set(AdapterKind) - set(CHOSEN_KINDS) == {AdapterKind.VOUCHER_TEMPLATE}


def test_settings_have_a_field_per_chosen_kind_as_the_table_says() -> None:
    assert list(AdapterIds.model_fields) == [kind.value for kind in CHOSEN_KINDS]
    for kind in CHOSEN_KINDS:
        field = AdapterIds.model_fields[kind.value]
        assert (field.default, field.description) == (
            KINDS[kind].default_id,
            KINDS[kind].setting_help,
        )


def test_every_chosen_kind_has_a_fake_so_a_demo_runs_on_fakes_alone() -> None:
    assert [kind for kind, spec in KINDS.items() if spec.fake] == list(CHOSEN_KINDS)


def test_every_fake_is_exported_by_leasekit_testing() -> None:
    names = [spec.fake for spec in KINDS.values() if spec.fake]
    assert [name for name in names if name not in leasekit.testing.__all__] == []


def test_a_fake_is_imported_only_when_settings_choose_one(tmp_path: Path) -> None:
    """A fresh interpreter: in this one, the test support is imported already."""
    code = f"""
import pathlib, sys
from datetime import UTC, date, datetime
from leasekit.domain.clock import FixedClock
from leasekit.plugins import create_plugin_manager, resolve_adapters
pm = create_plugin_manager(load_entrypoints=False, blocked=())
clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
folder = pathlib.Path({str(tmp_path)!r})
resolve_adapters(pm, {{"notifier": "filesystem"}}, {{}}, folder, clock)
print("leasekit.testing" in sys.modules)
resolve_adapters(pm, {{"bank": "fake"}}, {{}}, folder, clock)
print("leasekit.testing" in sys.modules)
"""
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.split() == ["False", "True"]


def test_the_builtin_fakes_plugin_implements_the_hook_of_each_kind_with_a_fake() -> None:
    implemented = {name for name in dir(leasekit.builtin.fakes) if name.startswith("leasekit_")}
    assert implemented == {KINDS[kind].hook_name for kind in CHOSEN_KINDS}


@pytest.mark.parametrize("kind", CHOSEN_KINDS, ids=str)
def test_fakes_hold_a_fake_of_each_chosen_kind_implementing_its_port(kind: AdapterKind) -> None:
    fakes = Fakes.create(CLOCK)
    assert isinstance(getattr(fakes, kind.value), KIND_PROTOCOLS[kind])
    assert getattr(fakes.adapters(), kind.value) is getattr(fakes, kind.value)


@pytest.mark.parametrize("kind", CHOSEN_KINDS, ids=str)
def test_adapters_has_an_accessor_typed_as_the_kinds_port(kind: AdapterKind) -> None:
    accessor = vars(Adapters)[kind.value]
    assert accessor.kind is kind
    assert get_args(accessor.__orig_class__) == (KIND_PROTOCOLS[kind],)


def test_each_port_has_its_suite_and_the_suites_are_all_of_the_ports() -> None:
    expected = sorted(f"{port.__name__}Suite" for port in KIND_PROTOCOLS.values())
    assert sorted(suites.__all__) == expected
