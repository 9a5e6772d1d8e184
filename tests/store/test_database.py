"""Engines, URLs and the packaged migrations."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from leasekit.errors import ConfigurationError
from leasekit.store.audit import GENESIS_HASH, chain_head
from leasekit.store.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    commit_without_sync,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    normalize_url,
    upgrade,
)
from leasekit.store.tables import metadata


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db/leasekit", "postgresql+psycopg"),
        ("postgres://u@db/leasekit", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/leasekit", "postgresql+psycopg"),
        ("sqlite:///leasekit.db", "sqlite"),
        ("sqlite+pysqlite:///leasekit.db", "sqlite+pysqlite"),
    ],
)
def test_urls_are_normalized_to_the_supported_drivers(url: str, driver: str) -> None:
    normalized = normalize_url(url)
    assert normalized.drivername == driver
    assert normalized.database in {"leasekit", "leasekit.db"}


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg2://u@db/x", "mysql://u@db/x", "not a url", "oracle://db"]
)
def test_unsupported_urls_are_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="database_url"):
        normalize_url(url)


def test_sqlite_connections_get_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_an_engine_can_commit_without_syncing_to_disk(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'unsynced.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        commit_without_sync(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_new_database_has_no_revision_until_upgraded(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_accepts_a_url(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def _differences(engine: Engine, target: sa.MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_the_migrated_schema_matches_the_tables(engine: Engine) -> None:
    assert _differences(engine, metadata) == []


def test_the_schema_comparison_does_notice_a_difference(engine: Engine) -> None:
    """Guard for the test above: a column the migrations lack must show up as a difference."""
    changed = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["payments"].append_column(sa.Column("note", sa.String(), nullable=True))
    differences = _differences(engine, changed)
    assert [d[0] for d in differences if isinstance(d, tuple)] == ["add_column"]


def test_the_initial_revision_starts_the_audit_chain(engine: Engine) -> None:
    assert chain_head(engine) == (0, GENESIS_HASH)


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())


@pytest.mark.parametrize("name", ["env.py", "script.py.mako", "versions/0001_initial_schema.py"])
def test_the_migration_scripts_are_shipped_in_the_package(name: str) -> None:
    """Under tox this inspects the installed wheel, so a file the build left out fails here."""
    assert (resources.files("leasekit.store") / "migrations" / name).is_file()


def test_a_migration_on_sqlite_ends_with_the_foreign_key_check(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'leasekit.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("INSERT INTO outbox_pending (event_id) VALUES (999)")
        connection.commit()
    with pytest.raises(ConfigurationError, match="missing rows in outbox_pending"):
        upgrade(engine)
    engine.dispose()
