"""Alembic environment for leasekit's packaged migrations.

:func:`leasekit.store.database.upgrade` passes an open connection in
``config.attributes["connection"]``; run from the ``alembic`` command line instead, the URL
comes from ``sqlalchemy.url`` or ``LEASEKIT_DATABASE_URL``. SQLite gets batch mode, the only
way to alter its tables. Custom column types are rendered as plain SQLAlchemy types, so a
revision never imports leasekit and keeps working when the code moves on.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from leasekit.store.database import create_engine
from leasekit.store.tables import metadata
from leasekit.store.types import CanonicalJson, ExactDecimal, UtcDateTime

_RENDERED_TYPES = {
    ExactDecimal: 'sa.Numeric().with_variant(sa.Text(), "sqlite")',
    UtcDateTime: "sa.DateTime(timezone=True)",
    CanonicalJson: "sa.Text()",
}


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write leasekit's own column types as the plain types they are stored as."""
    if kind == "type" and type(item) in _RENDERED_TYPES:
        return _RENDERED_TYPES[type(item)]
    return False


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "LEASEKIT_DATABASE_URL"
    )
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or LEASEKIT_DATABASE_URL")
    return url


def run_migrations() -> None:
    if context.is_offline_mode():
        raise RuntimeError("leasekit migrations run online only; use `leasekit db upgrade`")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.begin() as opened:
            _run(opened)
    finally:
        engine.dispose()


run_migrations()
