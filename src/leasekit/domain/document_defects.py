"""Document defects: what a reviewer found wrong with a document, until it is resolved.

A reviewer who cannot accept a document (a scan nobody can read, a licence that has expired,
a name that does not match the application, signs of forgery) records a
:class:`DocumentDefect` on it, with the kind of fault and a note. While the defect is open the
document counts for nothing that needs it accepted: an open defect keeps it from satisfying a
partner's onboarding checklist (:mod:`leasekit.domain.partner_onboarding`). A reviewer
resolves the defect with a note saying why the document stands after all (the original was
shown, the date was misread); a document that cannot be saved is replaced by a new upload
instead, and its defect stays on record.

One open defect per document and kind of fault: the database enforces it, so two reviewers who
find the same fault at once record it once. The partner of the document is copied onto the
defect, so defects are counted by partner (a scorecard) without reading the documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.documents import Document, DocumentKind
from leasekit.domain.identity import REVIEWERS, Actor, new_id
from leasekit.domain.lifecycle import MAX_REASON, Effect, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, choice, text

__all__ = [
    "DOCUMENT_DEFECT_LIFECYCLE",
    "DefectAction",
    "DefectKind",
    "DefectState",
    "DocumentDefect",
]


class DefectKind(StrEnum):
    """What is wrong with a document."""

    ILLEGIBLE = "illegible"
    """It cannot be read: blurred, cut off, too dark."""
    EXPIRED = "expired"
    """It was no longer valid when it was uploaded (an identity card, a licence)."""
    MISMATCH = "mismatch"
    """It names someone or something other than the record it is attached to."""
    SUSPECTED_FORGERY = "suspected_forgery"
    """It looks altered or made up."""
    INCOMPLETE = "incomplete"
    """Pages or sides are missing."""
    OTHER = "other"
    """Anything else; the note says what."""


class DefectState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DefectAction(StrEnum):
    RESOLVE = "resolve"


DOCUMENT_DEFECT_LIFECYCLE: Final = StateMachine(
    "document_defect",
    DefectState.OPEN,
    (
        # The reviewer says why the document stands after all.
        row(DefectAction.RESOLVE, [DefectState.OPEN], DefectState.RESOLVED, REVIEWERS,
            "document_defect_resolved", True),
    ),
    final=frozenset({DefectState.RESOLVED}),
    actions_enum=DefectAction,
)  # fmt: skip


def _record_resolution(defect: DocumentDefect, move: Move) -> None:
    defect.resolved_by = move.actor.user_id
    defect.resolved_at = move.at
    defect.resolution = move.reason


@attrs.define
class DocumentDefect(Stateful):
    """One fault found in one document, by whom and when, and how it was resolved.

    ``partner_id`` is the document's partner (None for a document the back office entered);
    only the back office reads defects."""

    id: str
    document_id: str
    document_kind: DocumentKind = attrs.field(converter=DocumentKind)
    """The kind of the document, so a defect says what it is about without reading it."""
    partner_id: str | None
    kind: DefectKind = attrs.field(converter=DefectKind)
    """What is wrong with the document."""
    note: str
    recorded_by: str
    recorded_at: datetime
    state: DefectState = attrs.field(converter=DefectState)
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    """The resolving reviewer's note."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[DefectState]] = DOCUMENT_DEFECT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("document_id", "partner_id", "kind")
    effects: ClassVar[Mapping[str, Effect]] = {DefectAction.RESOLVE: _record_resolution}

    @classmethod
    def record(
        cls,
        document: Document,
        kind: DefectKind | str,
        note: str,
        *,
        actor: Actor,
        at: datetime,
    ) -> DocumentDefect:
        """A new open defect of *kind* on *document*, with a note that says what the reviewer
        saw (required: the record is read later by people who were not there)."""
        ensure_may_create(actor, "document_defect")
        checks = Checks()
        valid_kind = checks.run(lambda: choice(DefectKind, kind, "kind"))
        valid_note = checks.run(lambda: text(note, "note", MAX_REASON))
        if valid_kind is None or valid_note is None:
            raise checks.error()
        return cls(
            id=new_id(),
            document_id=document.id,
            document_kind=document.kind,
            partner_id=document.partner_id,
            kind=valid_kind,
            note=valid_note,
            recorded_by=actor.user_id,
            recorded_at=require_utc(at),
            state=DefectState.OPEN,
        )
