"""Suite-wide fixtures and guards.

Two promises are kept here: under tox the tests exercise the installed wheel rather than
``src/``, and the PostgreSQL tests never pass silently on CI when the server is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import hypothesis
import psycopg
import pytest

import leasekit

POSTGRES_URL_VARIABLE = "LEASEKIT_TEST_POSTGRES_URL"
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})

# Runs on a busy two-core CI machine must not fail on Hypothesis' per-example deadline, and a
# failure there must be reproducible from its log alone.
hypothesis.settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)


def running_on_ci() -> bool:
    """True when the CI variable holds a true value (``CI=false`` means a developer's machine)."""
    return os.environ.get("CI", "").strip().lower() in _TRUE_WORDS


def redacted(url: str) -> str:
    """*url* with any password replaced, so that test output can name the server safely."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def pytest_configure(config: pytest.Config) -> None:
    if running_on_ci():
        hypothesis.settings.load_profile("ci")
    _require_installed_leasekit()


def pytest_report_header(config: pytest.Config) -> str:
    return f"leasekit {leasekit.__version__} imported from {Path(leasekit.__file__).parent}"


def _require_installed_leasekit() -> None:
    """Under tox, refuse to run unless ``leasekit`` was imported from the tox environment.

    tox installs the built wheel; if the tests imported ``src/leasekit`` instead, a module left
    out of the wheel, or package data not declared in pyproject.toml, would go unnoticed.
    Outside tox (an editable install on a developer's machine) either location is fine.
    """
    env_dir = os.environ.get("TOX_ENV_DIR")
    if env_dir is None:
        return
    location = Path(leasekit.__file__).resolve()
    if not location.is_relative_to(Path(env_dir).resolve()):
        raise pytest.UsageError(
            f"leasekit was imported from {location}, outside the tox environment {env_dir}; "
            "the tests must run against the installed wheel"
        )


def _reachable(url: str) -> str | None:
    """Connect once to *url*; return None on success, otherwise why it failed."""
    try:
        with psycopg.connect(url, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return " ".join(str(exc).split()) or type(exc).__name__


def _unavailable(reason: str) -> NoReturn:
    """Fail on CI, where the server is part of the contract; skip elsewhere."""
    if running_on_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a PostgreSQL server the tests may create temporary tables in."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not url:
        _unavailable(f"{POSTGRES_URL_VARIABLE} is not set; it names the PostgreSQL test server")
    problem = _reachable(url)
    if problem is not None:
        _unavailable(f"PostgreSQL at {redacted(url)} is unreachable: {problem}")
    return url
