"""Document defects in their table: one open defect per document and kind, enforced by the
database; a partner's onboarding documents read with their open defects, a bounded number of
each sort; defects counted by partner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from leasekit.domain.document_defects import DefectState, DocumentDefect
from leasekit.domain.documents import Document, DocumentKind
from leasekit.domain.identity import new_id
from leasekit.domain.partners import Partner
from leasekit.errors import ValidationError
from leasekit.store.uow import SqlUnitOfWork

from .conftest import NOW

if TYPE_CHECKING:
    from tests.store.conftest import Build

UowFactory = Callable[[], SqlUnitOfWork]
K = DocumentKind


def partner_document(build: Build, partner: Partner, kind: DocumentKind, minutes: int) -> Document:
    """A document of the partner's own, uploaded *minutes* after NOW."""
    return attrs.evolve(
        build.document(partner.id, partner.id), owner_kind="partner", kind=kind,
        uploaded_at=NOW + timedelta(minutes=minutes),
    )  # fmt: skip


def defect(document: Document, kind: str = "illegible", minutes: int = 0) -> DocumentDefect:
    return DocumentDefect(
        new_id(), document.id, document.kind, document.partner_id, kind, "blurred",
        "officer-1", NOW + timedelta(minutes=minutes), "open",
    )  # fmt: skip


@pytest.fixture
def partner(uow_factory: UowFactory, build: Build) -> Partner:
    partner = build.partner()
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.commit()
    return partner


def store(uow_factory: UowFactory, *documents: Document) -> None:
    with uow_factory() as uow:
        uow.documents.add_many(documents)
        uow.commit()


def test_a_defect_comes_back_equal_and_resolved(
    uow_factory: UowFactory, build: Build, partner: Partner
) -> None:
    document = partner_document(build, partner, K.BUSINESS_LICENSE, 0)
    store(uow_factory, document)
    found = defect(document)
    with uow_factory() as uow:
        uow.document_defects.add(found)
        uow.commit()
    with uow_factory() as uow:
        assert uow.document_defects.get(found.id) == found
        found.state, found.resolved_by, found.resolution = DefectState.RESOLVED, "m-1", "ok"
        found.resolved_at = NOW
        uow.document_defects.update(found)
        uow.commit()
    with uow_factory() as uow:
        assert uow.document_defects.get(found.id) == found


def test_the_database_keeps_one_open_defect_per_document_and_kind(
    uow_factory: UowFactory, build: Build, partner: Partner
) -> None:
    document = partner_document(build, partner, K.BUSINESS_LICENSE, 0)
    store(uow_factory, document)
    first = defect(document)
    with uow_factory() as uow:
        uow.document_defects.add_many([first, defect(document, "expired")])
        uow.commit()
    with uow_factory() as uow, pytest.raises(ValidationError) as refused:
        uow.document_defects.add(defect(document))
    assert refused.value.errors[0].field == "kind"
    with uow_factory() as uow:
        first.state = DefectState.RESOLVED
        uow.document_defects.update(first)
        uow.document_defects.add(defect(document))
        uow.commit()


def test_onboarding_documents_are_the_partners_own_a_few_of_each_sort(
    uow_factory: UowFactory, build: Build, partner: Partner
) -> None:
    licences = [partner_document(build, partner, K.BUSINESS_LICENSE, m) for m in range(4)]
    letter = partner_document(build, partner, K.BRAND_AUTHORIZATION, 5)
    of_an_application = attrs.evolve(licences[0], id=new_id(), storage_key=new_id(),
                                     owner_kind="application")  # fmt: skip
    store(uow_factory, *licences, letter, of_an_application)
    with uow_factory() as uow:
        uow.document_defects.add_many([defect(licences[0]), defect(licences[1]), defect(letter)])
        uow.commit()
    with uow_factory() as uow:
        found = uow.document_defects.onboarding_documents(
            partner.id, [K.BUSINESS_LICENSE, K.LEGAL_REPRESENTATIVE_ID], limit=1
        )
    assert set(found) == {K.BUSINESS_LICENSE}, "only the kinds asked for, and only its own"
    assert [(d.id, d.open_defect) for d in found[K.BUSINESS_LICENSE]] == [
        (licences[3].id, False), (licences[1].id, True),
    ], "the newest without an open defect and the newest with one"  # fmt: skip
    assert found[K.BUSINESS_LICENSE][0].uploaded_at == licences[3].uploaded_at


def test_defects_are_counted_by_partner_and_time(
    uow_factory: UowFactory, build: Build, partner: Partner
) -> None:
    other = build.partner()
    with uow_factory() as uow:
        uow.partners.add(other)
        uow.commit()
    mine, theirs = (partner_document(build, p, K.BUSINESS_LICENSE, 0) for p in (partner, other))
    store(uow_factory, mine, theirs)
    with uow_factory() as uow:
        uow.document_defects.add_many([
            defect(mine, "illegible", 0), defect(mine, "expired", 10), defect(theirs),
        ])  # fmt: skip
        uow.commit()
    with uow_factory() as uow:
        counts = uow.document_defects.count_for_partner
        assert counts(partner.id) == 2
        assert counts(partner.id, NOW + timedelta(minutes=10)) == 1
        assert counts(other.id) == 1
