"""Engines and schema migrations.

One function builds every engine so that SQLite gets the same guarantees everywhere it is
used: write-ahead logging (readers do not block the writer), enforced foreign keys (SQLite
ignores them by default) and a busy timeout (a second writer waits instead of failing).
Python's sqlite3 opens a transaction only before the first change, and here it opens it with
``BEGIN IMMEDIATE``, so the write lock is taken (waiting up to the busy timeout) as the
transaction starts rather than upgraded from a read lock later. Reads before the first change
see the latest commit; compare-and-set on ``version`` catches whatever changed since.

Alembic scripts ship inside the package (``leasekit/store/migrations``) and are applied
programmatically, so neither an ``alembic.ini`` nor the source tree is needed at runtime.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.pool import ConnectionPoolEntry

from leasekit.errors import ConfigurationError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "begin_writing",
    "commit_without_sync",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "inserted_ids",
    "normalize_url",
    "upgrade",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
"""How long a SQLite writer waits for another to commit before giving up."""

_POSTGRES_SCHEMES: Final = frozenset({"postgres", "postgresql", "postgresql+psycopg"})


def normalize_url(url: str | URL) -> URL:
    """*url* with the driver leasekit supports: ``postgresql://`` becomes psycopg (v3)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"database_url: {exc}") from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql":
        raise ConfigurationError(
            f"database_url: driver {parsed.drivername!r} is not supported; use postgresql://"
        )
    if parsed.drivername not in {"sqlite", "sqlite+pysqlite"}:
        raise ConfigurationError(
            f"database_url: {parsed.drivername!r} is not supported; use sqlite:/// or postgresql://"
        )
    return parsed


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    """Pragmas that must be set on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()
    dbapi_connection.isolation_level = "IMMEDIATE"


def create_engine(url: str | URL, *, connections: int = 5) -> Engine:
    """An engine for *url* (``sqlite:///file.db`` or ``postgresql://...``) that keeps
    *connections* open: as many as threads use it at once, or each busy moment opens (and
    on PostgreSQL, starts a server process for) a connection that is closed right after."""
    normalized = normalize_url(url)
    engine = sa.create_engine(
        normalized, pool_size=connections, connect_args=_connect_args(normalized)
    )
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _configure_sqlite)
    return engine


def commit_without_sync(engine: Engine) -> None:
    """Have *engine*'s SQLite connections, those open and those to come, commit without
    waiting for the disk (``synchronous=NORMAL``): a commit outlives the process, not a power
    cut, which may lose the last few (never corrupting the file). For a database that can be
    made again, such as a simulation's, whose thousands of small commits each waited for a
    sync; anything else keeps the default. Nothing changes on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    sa.event.listen(engine, "connect", _sync_normal)
    engine.dispose()


def _sync_normal(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _connect_args(url: URL) -> dict[str, str]:
    """On PostgreSQL, name each connection after its process (``leasekit-<pid>``) unless the
    URL names it: ``pg_stat_activity`` then tells which server or worker holds a lock."""
    if url.get_backend_name() != "postgresql" or "application_name" in url.query:
        return {}
    return {"application_name": f"leasekit-{os.getpid()}"}


def begin_writing(connection: sa.Connection) -> None:
    """Take SQLite's write lock now, before reading what the transaction will write.

    Python's sqlite3 begins a transaction only at the first change, so two workers could
    both read the same queue and then collide writing it; PostgreSQL locks the rows read
    (``FOR UPDATE``) instead, and needs nothing here.
    """
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def inserted_ids(
    connection: sa.Connection, id_column: QueryableAttribute[int], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert *rows* into the table of *id_column* (a mapped class's id), numbered in the
    order given, and return the ids they got (in no particular order).

    Many rows go in a few multi-row statements. PostgreSQL needs ``sort_by_parameter_order``
    for its sequence to number them in order; SQLite numbers a multi-row insert's rows in
    the order of its values anyway, and asking it to sort would make SQLAlchemy insert one
    row per statement (SQLite offers no sentinel to sort by): ten times slower.
    """
    ordered = connection.dialect.name != "sqlite"
    statement = sa.insert(id_column.class_).returning(id_column, sort_by_parameter_order=ordered)
    return list(connection.execute(statement, rows).scalars().all())


@contextlib.contextmanager
def _alembic_config(connection: sa.Connection | None = None) -> Iterator[Config]:
    """An Alembic configuration pointing at the packaged scripts, bound to *connection*."""
    scripts = resources.files("leasekit.store") / "migrations"
    with resources.as_file(scripts) as location:
        config = Config()
        config.set_main_option("script_location", str(Path(location)))
        if connection is not None:
            config.attributes["connection"] = connection
        yield config


def upgrade(engine: Engine | str | URL, revision: str = "head") -> None:
    """Apply the packaged migrations up to *revision* (the newest by default), all in one
    transaction: one that fails half-way leaves the database as it was, on SQLite too."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine | str | URL, revision: str) -> None:
    """Undo the packaged migrations down to *revision*, in one transaction."""
    _migrate(engine, command.downgrade, revision)


def _migrate(
    engine: Engine | str | URL, step: Callable[[Config, str], None], revision: str
) -> None:
    bound = engine if isinstance(engine, Engine) else create_engine(engine)
    try:
        with (
            bound.connect() as connection,
            _foreign_keys_deferred_on_sqlite(connection),
            connection.begin(),
            _alembic_config(connection) as config,
        ):
            # Python's sqlite3 would run each DDL statement in a transaction of its own.
            begin_writing(connection)
            step(config, revision)
            _check_foreign_keys_on_sqlite(connection)
    finally:
        if bound is not engine:
            bound.dispose()


@contextlib.contextmanager
def _foreign_keys_deferred_on_sqlite(connection: sa.Connection) -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the original, which its foreign key
    enforcement refuses while other rows refer to it; the check is off for the migration and
    made once at its end instead (the pragma cannot change inside a transaction)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _check_foreign_keys_on_sqlite(connection: sa.Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise ConfigurationError(
            f"the migration would leave rows referring to missing rows in {', '.join(tables)}"
        )


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version of leasekit."""
    with _alembic_config() as config:
        head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise ConfigurationError("the packaged migrations have no head revision")
    return head
