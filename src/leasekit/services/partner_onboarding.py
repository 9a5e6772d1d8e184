"""A partner's onboarding checklist over HTTP, and the check that refuses ``approve`` until it
is complete (:mod:`leasekit.domain.partner_onboarding`)."""

from __future__ import annotations

from leasekit.domain.identity import Actor
from leasekit.domain.partner_onboarding import (
    MAX_LISTED,
    OnboardingChecklist,
    onboarding_checklist,
    require_complete,
)
from leasekit.domain.partners import Partner
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.storage import UnitOfWork

__all__ = ["approve_only_when_documented", "get_onboarding_checklist"]


def _checklist(uow: UnitOfWork, partner: Partner, ctx: ServiceContext) -> OnboardingChecklist:
    required = ctx.required_documents.of(partner.kind)
    found = uow.document_defects.onboarding_documents(partner.id, required, MAX_LISTED)
    return onboarding_checklist(partner.id, partner.kind, required, found)


def get_onboarding_checklist(
    ctx: ServiceContext, actor: Actor, partner_id: str, /
) -> OnboardingChecklist:
    """Get a partner's onboarding checklist.

    Every kind of document the partner's kind must supply before it is approved
    (``LEASEKIT_PARTNERS__REQUIRED_DOCUMENTS``), each with the partner's own documents of
    that kind (``/partners/{id}/documents``), newest first, and whether one of them is free
    of open defects; ``approve`` is refused until every kind is. Read live from the records,
    in any state. A dealer user reads its own partner's.
    """
    with ctx.uow_factory() as uow:
        partner = visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
        return _checklist(uow, partner, ctx)


def approve_only_when_documented(work: Work, partner: Partner) -> None:
    """After ``approve``: the move stands only when the checklist is complete, read in the
    same transaction as the move."""
    require_complete(_checklist(work.uow, partner, work.ctx))
