"""Applied imports of changes to partners, one row per file.

The file's SHA-256 is unique: two concurrent uploads of one file cannot both be applied. The
import inserts its row before it changes anything, so the second upload waits there for the
first to finish and then fails on the index, and finds the first import's report instead
(:mod:`leasekit.services.partner_imports`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.partner_imports import PartnerImport
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import Base, id_column

__all__ = ["PartnerImportRepository", "PartnerImportRow"]


class PartnerImportRow(Base):
    """An applied import and its report, never updated."""

    __tablename__ = "partner_imports"

    id: Mapped[str] = id_column()
    outcome: Mapped[str]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str | None]
    actor_id: Mapped[str]
    created_at: Mapped[dt.datetime]
    rows: Mapped[int]
    changed: Mapped[int]
    results: Mapped[list[Any]]


@repository("partner_imports")
class PartnerImportRepository(SqlRepository[PartnerImport]):
    stored = Stored.of(
        "partner import",
        PartnerImportRow,
        PartnerImport,
        rules=[Rule("uq_partner_imports_sha256", ("sha256",), "file", "was imported already")],
    )

    def find_by_sha256(self, sha256: str) -> PartnerImport | None:
        """The import of the file with this digest, if it was applied."""
        found = self._find(self.stored.table.c.sha256 == sha256)
        return found[0] if found else None
