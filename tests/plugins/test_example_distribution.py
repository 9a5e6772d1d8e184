"""The example adapter distribution, installed by pip, is found through its entry point.

This is the path every vendor adapter takes: a separate distribution declaring
``[project.entry-points.leasekit]``, discovered by ``create_plugin_manager`` in a process that
only has it on its path. The distribution is built by pip (which fetches hatchling), so these
tests need the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leasekit-example-bureau"

pytestmark = pytest.mark.network

DISCOVER = """
import json, pathlib
from datetime import UTC, date, datetime
from leasekit.domain.clock import FixedClock
from leasekit.plugins import create_plugin_manager, resolve_adapters
from leasekit.ports import CreditSubject

pm = create_plugin_manager()
clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
adapters = resolve_adapters(pm, {"credit_bureau": "example"}, {}, pathlib.Path("."), clock)
report = adapters.credit_bureau.fetch_report(CreditSubject("Zhang Wei", "11010519491231002X"))
print(json.dumps({
    "source": pm.source_of("example-bureau"),
    "plugin": adapters.active["credit_bureau"].plugin,
    "score": report.score,
    "grade": report.grade,
}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the example distribution as ``pip install --target`` leaves it."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target)]
    completed = subprocess.run(
        [*command, "--disable-pip-version-check", "--no-input", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, f"pip install failed:\n{completed.stdout}\n{completed.stderr}"
    return target


def _environment(site: Path, **variables: str) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("LEASEKIT_")
    }
    return {**environment, "PYTHONPATH": str(site), **variables}


def _python(site: Path, code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(site, **variables),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_installed_distribution_is_discovered_and_used(site: Path) -> None:
    completed = _python(site, DISCOVER)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["source"] == "leasekit-example-bureau 0.1.0"
    assert result["plugin"] == "example-bureau (leasekit-example-bureau 0.1.0)"
    assert 300 <= result["score"] <= 850
    assert result["grade"] in {"A", "B", "C", "D", "E"}


def test_disabling_autoload_hides_it(site: Path) -> None:
    completed = _python(site, DISCOVER, LEASEKIT_DISABLE_PLUGIN_AUTOLOAD="1")
    assert completed.returncode != 0
    assert "UnknownAdapterError: no credit_bureau adapter 'example' (available: fake)" in (
        completed.stderr
    )


def test_blocking_its_distribution_hides_it(site: Path) -> None:
    completed = _python(site, DISCOVER, LEASEKIT_DISABLED_PLUGINS="leasekit_example_bureau")
    assert "no credit_bureau adapter 'example'" in completed.stderr


def test_its_own_tests_pass_including_the_contract_suite(site: Path) -> None:
    """Run as its author would, with the distribution's own (empty) pytest configuration."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(EXAMPLE / "pyproject.toml"),
            "--rootdir",
            str(EXAMPLE),
            "-p",
            "no:cacheprovider",
            "-v",
            str(EXAMPLE / "tests"),
        ],
        env=_environment(site, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "TestExampleBureau::test_report_is_about_the_subject PASSED" in completed.stdout
    assert "test_leasekit_finds_it_through_its_entry_point PASSED" in completed.stdout


def test_settings_select_it_and_leasekit_plugins_shows_it_active(site: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from leasekit.cli import cli; cli()", "plugins", "--json"],
        env=_environment(site, LEASEKIT_ADAPTERS__CREDIT_BUREAU="example"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    sources = {plugin["name"]: plugin["source"] for plugin in report["plugins"]}
    assert sources["example-bureau"] == "leasekit-example-bureau 0.1.0"
    (bureau,) = [row for row in report["adapters"] if row["kind"] == "credit_bureau"]
    assert bureau["active"] == ["example"]
    assert set(bureau["registered"]) == {"example", "fake"}
