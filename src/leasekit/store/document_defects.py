"""Defects found in documents, and the two reads other features make of them: a partner's
onboarding documents with whether each has an open defect, and the count of defects on a
partner's documents.

One open defect per document and kind of fault, by a partial unique index; the same index answers
"has this document an open defect", under the very ``WHERE`` it is declared with (a literal,
not a parameter, so that both databases see the partial index apply).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

import sqlalchemy as sa
from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from leasekit.domain.document_defects import DefectState, DocumentDefect
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.partner_onboarding import OnboardingDocument
from leasekit.store.origination import DocumentRow
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import EntityRow, reference, unique_where

__all__ = ["DocumentDefectRepository", "DocumentDefectRow"]

OPEN_SQL: Final = f"state = '{DefectState.OPEN}'"


class DocumentDefectRow(EntityRow):
    __tablename__ = "document_defects"

    document_id: Mapped[str] = reference("documents", index=False)
    document_kind: Mapped[str]
    partner_id: Mapped[str | None] = reference("partners", index=False)
    kind: Mapped[str]
    note: Mapped[str]
    recorded_by: Mapped[str]
    recorded_at: Mapped[dt.datetime]
    state: Mapped[str]
    resolved_by: Mapped[str | None]
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None]

    __table_args__ = (
        unique_where("uq_document_defects_document_id_kind", "document_id", "kind",
                     where=OPEN_SQL),
        Index(None, "document_id", "id"),
        Index(None, "partner_id", "id"),
        Index(None, "partner_id", "recorded_at"),
        Index(None, "state", "id"),
    )  # fmt: skip


@repository("document_defects")
class DocumentDefectRepository(SqlRepository[DocumentDefect]):
    stored = Stored.of(
        "document defect",
        DocumentDefectRow,
        DocumentDefect,
        rules=[
            Rule(
                "uq_document_defects_document_id_kind",
                ("document_id", "kind"),
                "kind",
                "the document has an open defect of this kind already",
            ),
        ],
    )

    def onboarding_documents(
        self, partner_id: str, kinds: Iterable[DocumentKind], limit: int
    ) -> dict[DocumentKind, list[OnboardingDocument]]:
        """The partner's own documents of *kinds*, each with whether it has an open defect:
        of each kind, the newest *limit* without one and the newest *limit* with one, from
        one query."""
        documents: sa.Table = DocumentRow.__table__  # type: ignore[assignment]
        defects = self.stored.table
        is_open = defects.c.state == sa.literal_column(f"'{DefectState.OPEN}'")
        open_defect = (
            sa.exists().where(defects.c.document_id == documents.c.id, is_open).label("open_defect")
        )
        rank = sa.func.row_number().over(
            partition_by=(documents.c.kind, open_defect), order_by=documents.c.id.desc()
        )
        ranked = (
            sa.select(
                documents.c.id,
                documents.c.kind,
                documents.c.filename,
                documents.c.uploaded_at,
                open_defect,
                rank.label("rank"),
            )
            .where(
                documents.c.owner_kind == str(OwnerKind.PARTNER),
                documents.c.owner_id == partner_id,
                documents.c.kind.in_(sorted(map(str, kinds))),
            )
            .subquery()
        )
        statement = sa.select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.id.desc())
        found: dict[DocumentKind, list[OnboardingDocument]] = {}
        for row in self._rows(statement):
            document = OnboardingDocument(
                row["id"], row["filename"], row["uploaded_at"], bool(row["open_defect"])
            )
            found.setdefault(DocumentKind(row["kind"]), []).append(document)
        return found

    def count_for_partner(self, partner_id: str, since: dt.datetime | None = None) -> int:
        """How many defects were recorded on the partner's documents (at or after *since*),
        open or resolved, counted by the database."""
        table = self.stored.table
        criteria = [table.c.partner_id == partner_id]
        if since is not None:
            criteria.append(table.c.recorded_at >= since)
        statement = sa.select(sa.func.count()).select_from(table).where(*criteria)
        return int(self._session.connection().scalar(statement) or 0)
