"""Rule set versions: one row per version, its rules as JSON. A set's version numbers are
unique, and one version of a set is published at a time, both by the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped

from leasekit.domain.rules import RuleSetState, RuleSetVersion
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, unique_where

__all__ = ["RuleSetRepository", "RuleSetVersionRow"]


class RuleSetVersionRow(EntityRow):
    __tablename__ = "rule_set_versions"

    name: Mapped[str]
    number: Mapped[int]
    rules: Mapped[list[Any]]
    state: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    published_by: Mapped[str | None]

    __table_args__ = (
        UniqueConstraint("name", "number"),
        unique_where(
            "uq_rule_set_versions_name_published",
            "name",
            where=f"state = '{RuleSetState.PUBLISHED}'",
        ),
        Index(None, "state", "id"),
    )


@repository("rule_sets")
class RuleSetRepository(SqlRepository[RuleSetVersion]):
    stored = Stored.of(
        "rule set version",
        RuleSetVersionRow,
        RuleSetVersion,
        rules=[
            Rule("uq_rule_set_versions_name_number", ("name", "number"), "name",
                 "was saved by someone else at the same moment; save again"),
            Rule("uq_rule_set_versions_name_published", ("name",), "name",
                 "has another version published at the same moment; reload and try again"),
        ],
    )  # fmt: skip

    def latest_number(self, name: str) -> int:
        """The highest version number of *name* (0 before its first)."""
        table = self._table
        statement = sa.select(sa.func.max(table.c.number)).where(table.c.name == name)
        return int(self._session.connection().scalar(statement) or 0)

    def published(self, name: str) -> list[RuleSetVersion]:
        """The version of *name* in force (none, or one: the database allows no more)."""
        table = self._table
        return self._find(table.c.name == name, table.c.state == str(RuleSetState.PUBLISHED))
