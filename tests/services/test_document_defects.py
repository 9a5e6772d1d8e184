"""Document defects on SQLite and PostgreSQL: recorded by reviewers, audited and announced,
one open per document and kind, read by document and by partner, counted for a scorecard."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from leasekit.domain.clock import FixedClock
from leasekit.domain.document_defects import DefectKind, DefectState
from leasekit.domain.documents import Document, DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.services import document_defects, documents
from leasekit.services.context import ServiceContext

from .conftest import register_customer
from .test_documents import PNG, chunks

DefectQuery = document_defects.DefectQuery


def partner_documents(ctx: ServiceContext, officer: Actor, partner: Partner) -> list[str]:
    """The ids of the partner's onboarding documents, as the fixture uploaded them."""
    page = documents.list_documents(ctx, officer, OwnerKind.PARTNER, partner.id)
    return [record["id"] for record in page.items]


def record(
    ctx: ServiceContext, actor: Actor, document_id: str, kind: DefectKind = DefectKind.ILLEGIBLE
) -> str:
    request = document_defects.RecordDefect(document_id, kind, "cannot make out the number")
    return document_defects.record_document_defect(ctx, actor, request).id


def customer_document(ctx: ServiceContext, dealer: Actor) -> Document:
    request = documents.UploadDocument(
        OwnerKind.CUSTOMER, register_customer(ctx, dealer), DocumentKind.ID_CARD_FRONT, "id.png"
    )
    return documents.upload_document(ctx, dealer, request, chunks(PNG))


def test_a_defect_is_recorded_audited_and_announced(
    ctx: ServiceContext, officer: Actor, partner: Partner
) -> None:
    licence = partner_documents(ctx, officer, partner)[0]
    defect = document_defects.get_document_defect(ctx, officer, record(ctx, officer, licence))
    assert (defect.document_id, defect.document_kind, defect.partner_id) == (
        licence, DocumentKind.BUSINESS_LICENSE, partner.id,
    )  # fmt: skip
    assert (defect.kind, defect.state, defect.recorded_by) == (
        DefectKind.ILLEGIBLE, DefectState.OPEN, officer.user_id,
    )  # fmt: skip
    with ctx.uow_factory() as uow:
        [entry] = uow.audit.for_subject("document_defect", defect.id)
    assert (entry.action, entry.actor_id) == ("document_defect_recorded", officer.user_id)
    assert entry.details["payload"] == {
        "document_id": licence, "document_kind": "business_license", "partner_id": partner.id,
        "kind": "illegible",
    }  # fmt: skip


def test_one_open_defect_per_document_and_kind(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    licence = partner_documents(ctx, officer, partner)[0]
    first = record(ctx, officer, licence)
    with pytest.raises(ValidationError) as refused:
        record(ctx, manager, licence)
    assert refused.value.errors[0].field == "kind"
    record(ctx, manager, licence, DefectKind.EXPIRED)
    document_defects.transition_document_defect(ctx, manager, first, "resolve", "rescanned")
    record(ctx, officer, licence)  # once resolved, the same fault may be found again
    listed = document_defects.list_defects_of_document(ctx, officer, licence).items
    assert [(d["kind"], d["state"]) for d in listed] == [
        ("illegible", "resolved"), ("expired", "open"), ("illegible", "open"),
    ]  # fmt: skip


def test_defects_are_read_by_partner_and_by_the_back_office_only(
    ctx: ServiceContext,
    officer: Actor,
    dealer: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    own = record(ctx, officer, partner_documents(ctx, officer, partner)[0])
    of_customer = record(ctx, officer, customer_document(ctx, dealer).id, DefectKind.MISMATCH)
    record(ctx, officer, partner_documents(ctx, officer, other_partner)[0])
    listed = document_defects.list_document_defects(
        ctx, officer, DefectQuery(partner_id=partner.id)
    )
    assert [d["id"] for d in listed.items] == [own, of_customer]
    mismatches = DefectQuery(kind=DefectKind.MISMATCH, state=DefectState.OPEN)
    assert [d["id"] for d in document_defects.list_document_defects(ctx, officer, mismatches)
            .items] == [of_customer]  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        document_defects.list_document_defects(ctx, dealer, DefectQuery(partner_id=partner.id))
    with pytest.raises(PermissionDeniedError):
        document_defects.get_document_defect(ctx, dealer, own)
    with pytest.raises(PermissionDeniedError):
        record(ctx, dealer, partner_documents(ctx, officer, partner)[1])
    with pytest.raises(ValidationError, match="document_id"):
        record(ctx, officer, "missing")


def test_defects_are_counted_for_the_partners_scorecard(
    ctx: ServiceContext,
    fixed_clock: FixedClock,
    officer: Actor,
    manager: Actor,
    dealer: Actor,
    partner: Partner,
    other_partner: Partner,
) -> None:
    licence, identity, *_ = partner_documents(ctx, officer, partner)
    resolved = record(ctx, officer, licence)
    document_defects.transition_document_defect(ctx, manager, resolved, "resolve", "seen")
    fixed_clock.advance(days=3)
    since = fixed_clock.now()
    record(ctx, officer, identity)
    record(ctx, officer, customer_document(ctx, dealer).id)
    count = document_defects.document_defects_count
    assert count(ctx, partner.id) == 3, "open and resolved, its customers' documents included"
    assert count(ctx, partner.id, since=since) == 2
    assert count(ctx, partner.id, since=since + timedelta(seconds=1)) == 0
    assert count(ctx, other_partner.id) == 0
    with ctx.uow_factory() as uow:
        assert count(uow, partner.id, since=since) == 2, "inside a command's unit of work too"
    with pytest.raises(ValueError, match="since"):
        count(ctx, partner.id, since=datetime(2026, 1, 1))  # naive: its zone is a guess
