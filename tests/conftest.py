"""Suite-wide fixtures and guards.

Two promises are kept here: under tox the tests exercise the installed wheel rather than
``src/``, and the PostgreSQL tests never pass silently on CI when the server is missing.
The database fixtures (``database_url``, ``engine``, ``uow_factory``) run each test that uses
them twice, on a SQLite file and in a fresh PostgreSQL schema, because the store promises the
same behaviour on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import hypothesis
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

import leasekit
from leasekit.store.database import create_engine, upgrade
from leasekit.store.uow import SqlUnitOfWork, unit_of_work_factory

# The fixtures an integrator's suite would use (fixed_clock, fakes, fake_adapters, ...).
pytest_plugins = ["leasekit.testing.pytest_plugin"]

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


def _in_schema(url: str, schema: str) -> str:
    """*url* with every connection's ``search_path`` set to *schema*."""
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema, dropped with everything in it after
    the test, so tests can migrate, tamper and run in parallel without seeing each other."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield _in_schema(postgres_url, schema)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite (a file, so WAL and several connections work) and
    once on PostgreSQL (a fresh schema); tests using it run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'leasekit.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on :func:`database_url`, migrated to the newest revision."""
    migrated = create_engine(database_url)
    upgrade(migrated)
    yield migrated
    migrated.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    """Fresh units of work on the migrated test database."""
    return unit_of_work_factory(engine)
