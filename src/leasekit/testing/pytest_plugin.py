"""Opt-in pytest fixtures for code that uses leasekit or plugs into it.

Enable in the root ``conftest.py`` (there is no ``pytest11`` entry point, so installing leasekit
changes no one's test run)::

    pytest_plugins = ["leasekit.testing.pytest_plugin"]
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pytest

from leasekit.domain.clock import FixedClock
from leasekit.plugins import Adapters, PluginManager, create_plugin_manager
from leasekit.testing.fakes import Fakes

_SUITES = "leasekit.testing.suites"
if _SUITES not in sys.modules:
    # Detailed assertion messages in the adapter suites, when loaded before them (pytest
    # warns, and this suite's warnings are errors, if the package was imported already).
    pytest.register_assert_rewrite(_SUITES)


@pytest.fixture
def fixed_clock() -> FixedClock:
    """09:30 UTC on business date 2024-01-15; move it with ``set_business_date``/``advance``."""
    return FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))


@pytest.fixture
def leasekit_plugin_manager() -> PluginManager:
    """Built-in plugins only: installed entry points and the environment are ignored, so a
    test sees the same plugins on every machine."""
    return create_plugin_manager(load_entrypoints=False, blocked=())


@pytest.fixture
def fakes(fixed_clock: FixedClock) -> Fakes:
    """One scriptable fake per adapter kind, on :func:`fixed_clock`."""
    return Fakes.create(fixed_clock)


@pytest.fixture
def fake_adapters(fakes: Fakes) -> Adapters:
    """:func:`fakes` as the application's adapters, each under id ``fake``."""
    return fakes.adapters()
