"""Recording what is wrong with a document, resolving it, and reading defects: by document,
by partner, and as the count a partner's scorecard takes.

Only the back office reads defects: one may say that a document looks forged, which is not
for its dealer to learn from the system. Dealers see, on their onboarding checklist, which
documents have an open defect.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from leasekit.domain.clock import require_utc
from leasekit.domain.document_defects import (
    DOCUMENT_DEFECT_LIFECYCLE,
    DefectKind,
    DefectState,
    DocumentDefect,
)
from leasekit.domain.documents import Document
from leasekit.domain.identity import REVIEWERS, Actor
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.errors import NotFoundError, ValidationError
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, back_office_lists, back_office_only, page_size
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Page, Record, UnitOfWork

__all__ = [
    "DefectQuery",
    "RecordDefect",
    "document_defects_count",
    "get_document_defect",
    "list_defects_of_document",
    "list_document_defects",
    "record_document_defect",
    "transition_document_defect",
]


@attrs.frozen
class RecordDefect:
    """A fault a reviewer found in a document, and what they saw."""

    document_id: str
    kind: DefectKind
    note: str = attrs.field(metadata={"max_length": MAX_REASON, "multiline": True})


def _document(uow: UnitOfWork, document_id: str) -> Document:
    try:
        return uow.documents.get(document_id)
    except NotFoundError:
        raise ValidationError.single("document_id", f"no document {document_id!r}") from None


@command(
    "record_document_defect",
    subject="document_defect",
    creates="document_defect",
    reload=lambda uow, defect_id: uow.document_defects.get(defect_id),
)
def record_document_defect(work: Work, request: RecordDefect) -> DocumentDefect:
    """Record a defect on a document.

    Credit officers, managers and directors. The kind of fault is ``illegible``,
    ``expired``, ``mismatch``, ``suspected_forgery``, ``incomplete`` or ``other``; the note
    says what the reviewer saw. While the defect is open the document satisfies no
    onboarding checklist. A document has one open defect of each kind: recording it again is
    a 422 on ``kind``.
    """
    document = _document(work.uow, request.document_id)
    defect = DocumentDefect.record(
        document, request.kind, request.note, actor=work.actor, at=work.at
    )
    work.uow.document_defects.add(defect)
    work.event(
        "document_defect_recorded",
        "document_defect",
        defect.id,
        {
            "document_id": defect.document_id,
            "document_kind": str(defect.document_kind),
            "partner_id": defect.partner_id,
            "kind": str(defect.kind),
        },
    )
    return defect


transition_document_defect = transition_command(
    "document_defect",
    DOCUMENT_DEFECT_LIFECYCLE,
    lambda uow: uow.document_defects,
    roles=REVIEWERS,
)
"""``resolve`` with why the document stands after all."""


# --- reading defects ------------------------------------------------------------------------


@attrs.frozen
class DefectQuery:
    """Which defects to list; every field left out matches all."""

    state: DefectState | None = None
    kind: DefectKind | None = None
    document_id: str | None = None
    partner_id: str | None = None


list_document_defects: Lister[DefectQuery, Record] = lister(
    "list_document_defects",
    DefectQuery,
    lambda uow: uow.document_defects,
    back_office_lists("document_defect"),
    """List document defects.

    Back-office staff only. ``?partner_id=`` lists those on a partner's documents (its own
    and its customers', vehicles' and applications'); ``?state=open`` what waits for a
    reviewer.""",
)


def get_document_defect(ctx: ServiceContext, actor: Actor, defect_id: str, /) -> DocumentDefect:
    """Get a document defect.

    Back-office staff only."""
    back_office_only(actor, "document_defect")
    with ctx.uow_factory() as uow:
        return uow.document_defects.get(defect_id)


def list_defects_of_document(
    ctx: ServiceContext,
    actor: Actor,
    document_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List a document's defects.

    Back-office staff only; oldest first, open and resolved."""
    back_office_only(actor, "document_defect")
    with ctx.uow_factory() as uow:
        uow.documents.get(document_id)  # a missing document is a 404, not an empty list
        query = DefectQuery(document_id=document_id)
        return uow.document_defects.page(query, after=after, limit=page_size(limit))


def document_defects_count(
    source: UnitOfWork | ServiceContext, partner_id: str, *, since: datetime | None = None
) -> int:
    """How many defects reviewers recorded on the documents of *partner_id* (its own and
    those of its customers, vehicles and applications), open or resolved, at or after
    *since* if given: one indexed count, in the caller's unit of work (inside a command) or
    a new one from a context. For a partner's scorecard."""
    start = None if since is None else require_utc(since, "since")
    if isinstance(source, ServiceContext):
        with source.uow_factory() as uow:
            return uow.document_defects.count_for_partner(partner_id, start)
    return source.document_defects.count_for_partner(partner_id, start)
