"""A partner's onboarding documents, on SQLite and PostgreSQL: the checklist lists what its
kind must supply, and ``approve`` is refused, changing nothing, until every kind is there
without an open defect."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from leasekit.demo import credit_code, supply_onboarding_documents
from leasekit.domain.document_defects import DefectKind
from leasekit.domain.documents import DocumentKind
from leasekit.domain.identity import Actor
from leasekit.domain.partner_onboarding import RequiredDocuments
from leasekit.domain.partners import Partner, PartnerKind, PartnerState
from leasekit.errors import DomainError, NotFoundError
from leasekit.services import document_defects, partner_onboarding, partners
from leasekit.services.context import ServiceContext

K = DocumentKind
BROKER_DOCUMENTS = (K.BUSINESS_LICENSE, K.LEGAL_REPRESENTATIVE_ID, K.BANK_ACCOUNT_PROOF)


def under_review(
    ctx: ServiceContext, officer: Actor, kind: PartnerKind, code: str = "91420100MA4K5E6F7"
) -> Partner:
    command = partners.OnboardPartner("Riverside Autos", credit_code(code), Decimal(0), kind)
    partner = partners.onboard_partner(ctx, officer, command)
    for action in ("apply", "start_review"):
        partner = partners.transition_partner(ctx, officer, partner.id, action)
    return partner


def test_approval_waits_for_every_document_the_kind_needs(
    ctx: ServiceContext, officer: Actor, manager: Actor
) -> None:
    partner = under_review(ctx, officer, PartnerKind.BROKER)
    checklist = partner_onboarding.get_onboarding_checklist(ctx, officer, partner.id)
    assert (checklist.partner_kind, checklist.complete) == (PartnerKind.BROKER, False)
    assert checklist.missing == BROKER_DOCUMENTS
    with pytest.raises(DomainError) as refused:
        partners.transition_partner(ctx, manager, partner.id, "approve")
    assert str(refused.value).endswith(
        "business_license: none uploaded; legal_representative_id: none uploaded; "
        "bank_account_proof: none uploaded"
    )
    unchanged = partners.get_partner(ctx, officer, partner.id)
    assert (unchanged.state, unchanged.version) == (PartnerState.UNDER_REVIEW, partner.version)

    supplied = supply_onboarding_documents(ctx, officer, partner)
    checklist = partner_onboarding.get_onboarding_checklist(ctx, manager, partner.id)
    assert (checklist.complete, checklist.missing) == (True, ())
    assert [[d.id for d in item.documents] for item in checklist.items] == [
        [document.id] for document in supplied
    ]
    approved = partners.transition_partner(ctx, manager, partner.id, "approve")
    assert approved.state is PartnerState.ACTIVE


def test_a_document_with_an_open_defect_counts_once_the_defect_is_resolved(
    ctx: ServiceContext, officer: Actor, manager: Actor, director: Actor
) -> None:
    partner = under_review(ctx, officer, PartnerKind.NEW_CAR_DEALER)
    licence, *_ = supply_onboarding_documents(ctx, officer, partner)
    request = document_defects.RecordDefect(licence.id, DefectKind.ILLEGIBLE, "stamp unreadable")
    defect = document_defects.record_document_defect(ctx, officer, request)
    checklist = partner_onboarding.get_onboarding_checklist(ctx, officer, partner.id)
    assert checklist.missing == (K.BUSINESS_LICENSE,)
    assert [d.open_defect for d in checklist.items[0].documents] == [True]
    with pytest.raises(DomainError, match=r"business_license: every one has an open defect$"):
        partners.transition_partner(ctx, manager, partner.id, "approve")

    document_defects.transition_document_defect(
        ctx, director, defect.id, "resolve", "the original was shown at the branch"
    )
    assert partner_onboarding.get_onboarding_checklist(ctx, officer, partner.id).complete
    assert partners.transition_partner(ctx, manager, partner.id, "approve").state == "active"


def test_the_company_chooses_each_kinds_documents(
    ctx: ServiceContext, officer: Actor, manager: Actor
) -> None:
    chosen = RequiredDocuments({
        PartnerKind.BROKER: (K.BUSINESS_LICENSE,), PartnerKind.FLEET_DEALER: (),
    })  # fmt: skip
    ctx = attrs.evolve(ctx, required_documents=chosen)
    broker = under_review(ctx, officer, PartnerKind.BROKER)
    assert [d.kind for d in supply_onboarding_documents(ctx, officer, broker)] == [
        K.BUSINESS_LICENSE
    ]
    assert partners.transition_partner(ctx, manager, broker.id, "approve").state == "active"
    fleet = under_review(ctx, officer, PartnerKind.FLEET_DEALER, "91310000MA1K3C4D9")
    assert partner_onboarding.get_onboarding_checklist(ctx, officer, fleet.id).items == ()
    assert partners.transition_partner(ctx, manager, fleet.id, "approve").state == "active"


def test_only_approval_asks_for_the_documents(
    ctx: ServiceContext, officer: Actor, manager: Actor, partner: Partner
) -> None:
    """A partner approved before its papers were found wanting (or before documents were
    asked for at all) is suspended and reinstated like any other."""
    listed = partner_onboarding.get_onboarding_checklist(ctx, officer, partner.id)
    request = document_defects.RecordDefect(
        listed.items[0].documents[0].id, DefectKind.SUSPECTED_FORGERY, "seal does not match"
    )
    document_defects.record_document_defect(ctx, officer, request)
    partners.transition_partner(ctx, manager, partner.id, "suspend", "papers under review")
    assert partners.transition_partner(ctx, manager, partner.id, "reinstate").state == "active"


def test_a_dealer_reads_its_own_partners_checklist_only(
    ctx: ServiceContext, dealer: Actor, partner: Partner, other_partner: Partner
) -> None:
    checklist = partner_onboarding.get_onboarding_checklist(ctx, dealer, partner.id)
    assert checklist.complete
    assert [item.kind for item in checklist.items] == [*BROKER_DOCUMENTS, K.BRAND_AUTHORIZATION]
    with pytest.raises(NotFoundError):
        partner_onboarding.get_onboarding_checklist(ctx, dealer, other_partner.id)
