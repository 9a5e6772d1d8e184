"""Building the plugin manager: built-ins first, entry points each in their own try,
``check_pending`` after loading, and the environment switches."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import attrs
import pytest

import leasekit
from leasekit import hookimpl
from leasekit.errors import ConfigurationError, PluginLoadError
from leasekit.plugins import (
    AUTOLOAD_ENV,
    BUILTIN_PLUGINS,
    DISABLED_ENV,
    PluginManager,
    create_plugin_manager,
)
from leasekit.ports import AdapterKind, Register

PluginFactory = Callable[..., PluginManager]

GOOD_PLUGIN = """
from leasekit import hookimpl
from leasekit.testing.fakes import FakeBank

@hookimpl
def leasekit_register_banks(register):
    register("vendor-{token}", FakeBank.from_context)
"""


def _bank_ids(pm: PluginManager) -> tuple[str, ...]:
    return pm.hooks.registry(AdapterKind.BANK).ids


def test_builtins_are_registered_first_under_their_module_names() -> None:
    pm = create_plugin_manager(load_entrypoints=False, blocked=())
    names = [name for name, _ in pm.list_name_plugin()]
    assert names == list(BUILTIN_PLUGINS)
    assert {pm.source_of(name) for name in names} == {"builtin"}


def test_each_manager_has_its_own_plugins(make_pm: PluginFactory) -> None:
    class Vendor:
        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> None:
            register("vendor", object)

    with_vendor, without = make_pm(Vendor()), make_pm()
    assert "vendor" in _bank_ids(with_vendor)
    assert "vendor" not in _bank_ids(without)


def test_a_misspelt_hook_fails_loudly(make_pm: PluginFactory) -> None:
    class Typo:
        @hookimpl
        def leasekit_register_bankz(self, register: Register[object]) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginLoadError, match="leasekit_register_bankz"):
        make_pm(Typo())


def test_a_misspelt_hook_fails_even_without_the_marker(make_pm: PluginFactory) -> None:
    class Typo:
        def leasekit_register_bankz(self, register: Register[object]) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginLoadError, match="leasekit_register_bankz"):
        make_pm(Typo())


def test_an_unmarked_leasekit_function_is_an_implementation(make_pm: PluginFactory) -> None:
    class Unmarked:
        def leasekit_register_banks(self, register: Register[object]) -> None:
            register("unmarked", object)

    assert "unmarked" in _bank_ids(make_pm(Unmarked()))


def test_an_implementation_with_a_wrong_argument_fails(make_pm: PluginFactory) -> None:
    class WrongArgument:
        @hookimpl
        def leasekit_register_banks(self, registry: Register[object]) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginLoadError, match="registry"):
        make_pm(WrongArgument())


def test_a_builtin_can_be_blocked_by_module_name(make_pm: PluginFactory) -> None:
    pm = make_pm(blocked=("leasekit.builtin.fakes",))
    assert "fake" not in _bank_ids(pm)
    assert pm.hooks.registry(AdapterKind.DOCUMENT_STORE).ids == ("filesystem",)


def test_entry_points_are_loaded_with_their_distribution(install: Callable[..., str]) -> None:
    token = install(
        "leasekit-vendor", {"vendor": "vendor_{token}"}, {"vendor_{token}": GOOD_PLUGIN}
    )
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    assert f"vendor-{token}" in _bank_ids(pm)
    assert pm.source_of("vendor") == "leasekit-vendor 1.2.3"


def test_a_broken_entry_point_names_its_distribution(install: Callable[..., str]) -> None:
    install("leasekit-broken", {"broken": "broken_{token}"}, {"broken_{token}": "1 / 0"})
    with pytest.raises(PluginLoadError) as caught:
        create_plugin_manager(load_entrypoints=True, blocked=())
    assert caught.value.distribution == "leasekit-broken"
    assert caught.value.entry_point == "broken"
    assert "ZeroDivisionError" in str(caught.value)
    assert f"{DISABLED_ENV}=leasekit-broken" in caught.value.__notes__[0]


def test_a_missing_module_names_its_distribution(install: Callable[..., str]) -> None:
    install("leasekit-ghost", {"ghost": "no_such_module_{token}"}, {})
    with pytest.raises(PluginLoadError, match="leasekit-ghost"):
        create_plugin_manager(load_entrypoints=True, blocked=())


def test_a_misspelt_hook_in_a_distribution_names_it(install: Callable[..., str]) -> None:
    source = GOOD_PLUGIN.replace("leasekit_register_banks", "leasekit_register_bank")
    install("leasekit-typo", {"typo": "typo_{token}"}, {"typo_{token}": source})
    with pytest.raises(PluginLoadError) as caught:
        create_plugin_manager(load_entrypoints=True, blocked=())
    assert caught.value.distribution == "leasekit-typo 1.2.3"
    assert "leasekit_register_bank" in str(caught.value)


@pytest.mark.parametrize("blocked", ["broken", "leasekit-broken", "Leasekit_Broken"])
def test_a_broken_plugin_can_be_blocked(install: Callable[..., str], blocked: str) -> None:
    install("leasekit-broken", {"broken": "broken_{token}"}, {"broken_{token}": "1 / 0"})
    pm = create_plugin_manager(load_entrypoints=True, blocked=[blocked])
    assert "broken" not in {name for name, plugin in pm.list_name_plugin() if plugin}


def test_the_environment_blocks_plugins_when_no_argument_is_given(
    install: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    install("leasekit-broken", {"broken": "broken_{token}"}, {"broken_{token}": "1 / 0"})
    monkeypatch.setenv(DISABLED_ENV, " leasekit-broken , leasekit.builtin.fakes,")
    pm = create_plugin_manager(load_entrypoints=True)
    assert "fake" not in _bank_ids(pm)


def test_an_explicit_blocked_list_wins_over_the_environment(
    install: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    install("leasekit-broken", {"broken": "broken_{token}"}, {"broken_{token}": "1 / 0"})
    monkeypatch.setenv(DISABLED_ENV, "leasekit-broken")
    with pytest.raises(PluginLoadError, match="leasekit-broken"):
        create_plugin_manager(load_entrypoints=True, blocked=())


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_the_environment_can_disable_autoload(
    install: Callable[..., str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    install("leasekit-broken", {"broken": "broken_{token}"}, {"broken_{token}": "1 / 0"})
    monkeypatch.setenv(AUTOLOAD_ENV, value)
    pm = create_plugin_manager(blocked=())
    assert pm.get_plugin("broken") is None


@pytest.mark.parametrize("value", ["0", "false", "no", "off", ""])
def test_a_false_autoload_switch_loads_entry_points(
    install: Callable[..., str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    token = install(
        "leasekit-vendor", {"vendor": "vendor_{token}"}, {"vendor_{token}": GOOD_PLUGIN}
    )
    monkeypatch.setenv(AUTOLOAD_ENV, value)
    assert f"vendor-{token}" in _bank_ids(create_plugin_manager(blocked=()))


def test_an_explicit_autoload_argument_wins_over_the_environment(
    install: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = install(
        "leasekit-vendor", {"vendor": "vendor_{token}"}, {"vendor_{token}": GOOD_PLUGIN}
    )
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    assert f"vendor-{token}" in _bank_ids(pm)


def test_a_garbled_autoload_switch_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(AUTOLOAD_ENV, "maybe")
    with pytest.raises(ConfigurationError, match=AUTOLOAD_ENV):
        create_plugin_manager(blocked=())


def test_a_broken_extra_plugin_is_a_plugin_load_error(make_pm: PluginFactory) -> None:
    class Twice:
        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> None:
            register("twice", object)

    plugin = Twice()
    with pytest.raises(PluginLoadError, match="extra_plugins"):
        make_pm(plugin, plugin)


def test_an_unhashable_plugin_is_refused_at_load(make_pm: PluginFactory) -> None:
    @attrs.define
    class Settings:
        region: str

        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> None:
            register("regional", object)

    with pytest.raises(PluginLoadError, match=r"'Settings'.*Settings instances are not hashable"):
        make_pm(Settings("eu"))


def test_hookimpl_is_importable_from_leasekit_without_loading_pluggy_eagerly() -> None:
    probe = (
        "import sys, leasekit, leasekit.money; eager = 'pluggy' in sys.modules; "
        "from leasekit import hookimpl; from leasekit.hookspecs import hookimpl as marker; "
        "print(eager, hookimpl is marker)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert completed.stdout.split() == ["False", "True"]
    with pytest.raises(AttributeError, match="no attribute 'hookimpls'"):
        leasekit.hookimpls  # noqa: B018
