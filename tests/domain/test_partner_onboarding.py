from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leasekit.domain.documents import DocumentKind
from leasekit.domain.partner_onboarding import (
    DEFAULT_REQUIRED_DOCUMENTS,
    OnboardingDocument,
    RequiredDocuments,
    onboarding_checklist,
    require_complete,
)
from leasekit.domain.partners import PartnerKind
from leasekit.errors import DomainError

K = DocumentKind
EVERY_PARTNER = [K.BUSINESS_LICENSE, K.LEGAL_REPRESENTATIVE_ID, K.BANK_ACCOUNT_PROOF]
AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def scan(name: str, minutes: int = 0, *, open_defect: bool = False) -> OnboardingDocument:
    return OnboardingDocument(name, f"{name}.pdf", AT + timedelta(minutes=minutes), open_defect)


def test_every_partner_shows_who_it_is_and_where_it_is_paid() -> None:
    assert set(DEFAULT_REQUIRED_DOCUMENTS) == set(PartnerKind)
    for kind, documents in DEFAULT_REQUIRED_DOCUMENTS.items():
        extra = [K.BRAND_AUTHORIZATION] if kind is PartnerKind.NEW_CAR_DEALER else []
        assert list(documents) == EVERY_PARTNER + extra, kind


def test_configuration_replaces_the_kinds_it_names_and_keeps_the_others() -> None:
    required = RequiredDocuments({
        PartnerKind.BROKER: ["business_license", "business_license"],  # type: ignore[list-item]
        PartnerKind.FLEET_DEALER: [],
    })  # fmt: skip
    assert required.of(PartnerKind.BROKER) == (K.BUSINESS_LICENSE,)
    assert required.of(PartnerKind.FLEET_DEALER) == ()
    assert required.of(PartnerKind.NEW_CAR_DEALER) == (*EVERY_PARTNER, K.BRAND_AUTHORIZATION)
    assert RequiredDocuments().of(PartnerKind.BROKER) == tuple(EVERY_PARTNER)


def test_a_kind_is_satisfied_by_a_document_without_an_open_defect() -> None:
    found = {
        K.BUSINESS_LICENSE: [scan("old", 1), scan("new", 2)],
        K.LEGAL_REPRESENTATIVE_ID: [scan("blurred", open_defect=True)],
    }
    checklist = onboarding_checklist("p1", PartnerKind.BROKER, EVERY_PARTNER, found)
    assert not checklist.complete
    assert checklist.missing == (K.LEGAL_REPRESENTATIVE_ID, K.BANK_ACCOUNT_PROOF)
    licence, identity, account = checklist.items
    assert (licence.satisfied, [d.id for d in licence.documents]) == (True, ["new", "old"])
    assert (identity.satisfied, account.satisfied, account.documents) == (False, False, ())
    with pytest.raises(DomainError) as refused:
        require_complete(checklist)
    assert str(refused.value) == (
        "the partner cannot be approved yet; its onboarding documents are incomplete: "
        "legal_representative_id: every one has an open defect; "
        "bank_account_proof: none uploaded"
    )


def test_documents_without_a_defect_come_first_then_newest_first() -> None:
    found = {
        K.BUSINESS_LICENSE: [scan("a", 1), scan("b", 3, open_defect=True), scan("c", 2)],
    }
    [item] = onboarding_checklist("p1", PartnerKind.BROKER, [K.BUSINESS_LICENSE], found).items
    assert [document.id for document in item.documents] == ["c", "a", "b"]


def test_a_complete_checklist_lets_the_approval_through() -> None:
    found = {kind: [scan(str(kind))] for kind in EVERY_PARTNER}
    checklist = onboarding_checklist("p1", PartnerKind.USED_CAR_DEALER, EVERY_PARTNER, found)
    assert (checklist.complete, checklist.missing) == (True, ())
    require_complete(checklist)
    nothing_required = onboarding_checklist("p1", PartnerKind.BROKER, [], {})
    assert nothing_required.complete
