from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from leasekit.domain.document_defects import DefectKind, DefectState, DocumentDefect
from leasekit.domain.documents import Document
from leasekit.domain.identity import Actor, Role
from leasekit.errors import IllegalTransitionError, PermissionDeniedError, ValidationError

from .conftest import DEALER_PARTNER_ID, ActorFactory


@pytest.fixture
def document(dealer: Actor, at: datetime) -> Document:
    return Document.record(
        owner_kind="partner", owner_id=DEALER_PARTNER_ID, kind="business_license",
        filename="licence.pdf", content_type="application/pdf", size=1000, sha256="a" * 64,
        actor=dealer, at=at,
    )  # fmt: skip


def test_a_defect_names_the_document_its_kind_and_partner(
    document: Document, officer: Actor, at: datetime
) -> None:
    defect = DocumentDefect.record(document, "expired", "  ran out   in May ", actor=officer, at=at)
    assert (defect.document_id, defect.document_kind, defect.partner_id) == (
        document.id, "business_license", DEALER_PARTNER_ID,
    )  # fmt: skip
    assert (defect.kind, defect.note, defect.state) == (
        DefectKind.EXPIRED, "ran out in May", DefectState.OPEN,
    )  # fmt: skip
    assert (defect.recorded_by, defect.recorded_at) == (officer.user_id, at)
    assert (defect.resolved_by, defect.resolved_at, defect.resolution) == (None, None, None)


def test_every_bad_field_is_named(document: Document, officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        DocumentDefect.record(document, "smudged", "   ", actor=officer, at=at)
    assert [error.field for error in caught.value.errors] == ["kind", "note"]
    with pytest.raises(ValidationError, match="at most 1000"):
        DocumentDefect.record(document, "other", "x" * 1001, actor=officer, at=at)


@pytest.mark.parametrize("role", set(Role) - {Role.OFFICER, Role.MANAGER, Role.DIRECTOR})
def test_only_reviewers_record_defects(
    document: Document, actor: ActorFactory, at: datetime, role: Role
) -> None:
    with pytest.raises(PermissionDeniedError):
        DocumentDefect.record(document, "illegible", "blurred", actor=actor(role), at=at)


def test_resolving_records_who_when_and_why(
    document: Document, officer: Actor, actor: ActorFactory, at: datetime, business_date: date
) -> None:
    defect = DocumentDefect.record(document, "illegible", "blurred", actor=officer, at=at)
    manager, later = actor(Role.MANAGER), at + timedelta(hours=2)
    with pytest.raises(ValidationError, match="reason"):
        defect.apply("resolve", manager, at=later, business_date=business_date)
    event = defect.apply(
        "resolve", manager, at=later, business_date=business_date, reason="original seen"
    )
    assert (defect.state, defect.resolved_by, defect.resolved_at, defect.resolution) == (
        DefectState.RESOLVED, manager.user_id, later, "original seen",
    )  # fmt: skip
    assert event.name == "document_defect_resolved"
    assert {key: event.payload[key] for key in ("document_id", "partner_id", "kind")} == {
        "document_id": document.id, "partner_id": DEALER_PARTNER_ID, "kind": "illegible",
    }  # fmt: skip
    with pytest.raises(IllegalTransitionError):
        defect.apply("resolve", manager, at=later, business_date=business_date, reason="again")
