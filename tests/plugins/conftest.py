"""Fixtures for the plugin system's tests: isolated plugin managers and installed-looking
distributions made on the fly."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import pytest

from leasekit.domain.clock import FixedClock
from leasekit.domain.events import DomainEvent
from leasekit.plugins import PluginManager, create_plugin_manager


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))


@pytest.fixture
def make_pm() -> Callable[..., PluginManager]:
    """A manager with the built-ins and *plugins*, blind to installed entry points."""

    def make(*plugins: object, blocked: tuple[str, ...] = ()) -> PluginManager:
        return create_plugin_manager(load_entrypoints=False, blocked=blocked, extra_plugins=plugins)

    return make


@pytest.fixture
def make_event(clock: FixedClock) -> Callable[..., DomainEvent]:
    def make(name: str, **payload: str) -> DomainEvent:
        subject = name.split("_")[0]
        return DomainEvent.new(
            name,
            subject,
            f"{subject}-1",
            payload,
            occurred_at=clock.now(),
            business_date=clock.business_date(),
            actor_id="officer-1",
        )

    return make


class Installer(Protocol):
    def __call__(
        self, distribution: str, entry_points: Mapping[str, str], modules: Mapping[str, str]
    ) -> str: ...


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installer]:
    """Put a distribution with ``leasekit`` entry points on sys.path, as pip would.

    Module names are suffixed with a unique token (``{token}`` in the entry points and module
    sources), so that tests never share an imported module; they are unloaded afterwards.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    imported: list[str] = []

    def installer(
        distribution: str, entry_points: Mapping[str, str], modules: Mapping[str, str]
    ) -> str:
        token = uuid.uuid4().hex[:8]
        dist_info = site / f"{distribution.replace('-', '_')}-1.2.3.dist-info"
        dist_info.mkdir()
        metadata = f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 1.2.3\n"
        dist_info.joinpath("METADATA").write_text(metadata)
        lines = [f"{name} = {target.format(token=token)}" for name, target in entry_points.items()]
        dist_info.joinpath("entry_points.txt").write_text("[leasekit]\n" + "\n".join(lines) + "\n")
        for module, source in modules.items():
            name = module.format(token=token)
            site.joinpath(f"{name}.py").write_text(textwrap.dedent(source).format(token=token))
            imported.append(name)
        return token

    yield installer
    for name in imported:
        sys.modules.pop(name, None)
