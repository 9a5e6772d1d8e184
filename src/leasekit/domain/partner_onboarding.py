"""A partner's onboarding documents: which kinds of document each kind of partner supplies,
and the checklist that holds its approval until every one is there.

Which documents are required is the company's policy, set in configuration
(``LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS``, :data:`DEFAULT_REQUIRED_DOCUMENTS` unless set):
every partner shows its business licence, its legal representative's identity card and the
bank's proof of its settlement account; a franchised new-car dealer also the manufacturer's
authorisation to sell the brand. They are the partner's own documents, uploaded to it
(``/partners/{id}/documents``).

:func:`onboarding_checklist` lists each required kind with the partner's documents of that
kind; a kind is satisfied by any of them without an open defect
(:mod:`leasekit.domain.document_defects`), and :func:`require_complete` refuses ``approve``
until every kind is, naming each that is not. Like the exit review, the checklist is read
live from the records: an upload, or a resolved defect, satisfies its item without anyone
ticking a box.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import attrs

from leasekit.domain.documents import DocumentKind
from leasekit.domain.partners import PartnerKind
from leasekit.errors import DomainError

__all__ = [
    "DEFAULT_REQUIRED_DOCUMENTS",
    "MAX_LISTED",
    "OnboardingChecklist",
    "OnboardingDocument",
    "OnboardingItem",
    "RequiredDocuments",
    "onboarding_checklist",
    "require_complete",
]

_EVERY_PARTNER: Final = (
    DocumentKind.BUSINESS_LICENSE,
    DocumentKind.LEGAL_REPRESENTATIVE_ID,
    DocumentKind.BANK_ACCOUNT_PROOF,
)
"""Who the company deals with and where it pays them: asked of every partner."""

DEFAULT_REQUIRED_DOCUMENTS: Final[Mapping[PartnerKind, tuple[DocumentKind, ...]]] = {
    PartnerKind.NEW_CAR_DEALER: (*_EVERY_PARTNER, DocumentKind.BRAND_AUTHORIZATION),
    PartnerKind.USED_CAR_DEALER: _EVERY_PARTNER,
    PartnerKind.BROKER: _EVERY_PARTNER,
    PartnerKind.FLEET_DEALER: _EVERY_PARTNER,
}
"""The documents each kind of partner supplies unless configuration says otherwise."""

MAX_LISTED: Final = 10
"""Documents an item lists of each sort (without and with an open defect), newest first:
enough to choose from, and a partner that uploads a thousand scans of one kind does not make
its checklist a thousand long."""


def _over_defaults(
    given: Mapping[PartnerKind, Iterable[DocumentKind]],
) -> Mapping[PartnerKind, tuple[DocumentKind, ...]]:
    """*given* over the defaults, each kind of document once, in the order given."""
    chosen = {
        PartnerKind(partner): tuple(dict.fromkeys(map(DocumentKind, kinds)))
        for partner, kinds in given.items()
    }
    return {**DEFAULT_REQUIRED_DOCUMENTS, **chosen}


@attrs.frozen
class RequiredDocuments:
    """The documents each kind of partner supplies at onboarding. A kind of partner left out
    of *by_partner_kind* keeps its default; one given an empty list needs none."""

    by_partner_kind: Mapping[PartnerKind, tuple[DocumentKind, ...]] = attrs.field(
        factory=dict, converter=_over_defaults
    )

    def of(self, kind: PartnerKind) -> tuple[DocumentKind, ...]:
        return self.by_partner_kind[kind]


@attrs.frozen
class OnboardingDocument:
    """One of the partner's documents of a required kind."""

    id: str
    filename: str
    uploaded_at: datetime
    open_defect: bool
    """Whether a reviewer found a fault in it that is not resolved; then it satisfies
    nothing (``GET /documents/{id}/defects`` says what)."""


@attrs.frozen
class OnboardingItem:
    """One kind of document the partner must supply."""

    kind: DocumentKind
    satisfied: bool
    """Whether one of its documents has no open defect."""
    documents: tuple[OnboardingDocument, ...]
    """Its documents of this kind, newest first: up to ten without an open defect, then up to
    ten with one."""


@attrs.frozen
class OnboardingChecklist:
    """The partner's onboarding documents as the records stand now."""

    partner_id: str
    partner_kind: PartnerKind
    complete: bool
    """Whether every item is satisfied, so that ``approve`` would be allowed."""
    missing: tuple[DocumentKind, ...]
    """The kinds not satisfied yet."""
    items: tuple[OnboardingItem, ...]


def onboarding_checklist(
    partner_id: str,
    partner_kind: PartnerKind,
    required: Iterable[DocumentKind],
    found: Mapping[DocumentKind, Sequence[OnboardingDocument]],
) -> OnboardingChecklist:
    """The checklist of the *required* kinds from the partner's documents *found* by kind."""
    items = tuple(_item(kind, found.get(kind, ())) for kind in required)
    missing = tuple(item.kind for item in items if not item.satisfied)
    return OnboardingChecklist(partner_id, partner_kind, not missing, missing, items)


def _item(kind: DocumentKind, documents: Sequence[OnboardingDocument]) -> OnboardingItem:
    newest = sorted(documents, key=lambda document: document.uploaded_at, reverse=True)
    ordered = sorted(newest, key=lambda document: document.open_defect)
    satisfied = any(not document.open_defect for document in documents)
    return OnboardingItem(kind, satisfied, tuple(ordered))


def require_complete(checklist: OnboardingChecklist) -> None:
    """Refuse the approval while any item is not satisfied, naming each and why."""
    faults = [
        f"{item.kind}: {'every one has an open defect' if item.documents else 'none uploaded'}"
        for item in checklist.items
        if not item.satisfied
    ]
    if faults:
        raise DomainError(
            "the partner cannot be approved yet; its onboarding documents are incomplete: "
            + "; ".join(faults)
        )
