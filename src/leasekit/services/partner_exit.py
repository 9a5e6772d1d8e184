"""A partner's exit review: the checklist over HTTP, and the check that refuses ``exit``
until it is clear (:mod:`leasekit.domain.partner_exit`)."""

from __future__ import annotations

from leasekit.domain.identity import Actor
from leasekit.domain.partner_exit import (
    OPEN_APPLICATION_STATES,
    PENDING_PAYOUT_APPLICATION_STATES,
    PENDING_PAYOUT_CONTRACT_STATES,
    ExitReview,
    exit_review,
    require_clear,
)
from leasekit.domain.partners import Partner
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.storage import UnitOfWork

__all__ = ["exit_only_when_clear", "get_exit_review"]


def _review(uow: UnitOfWork, partner: Partner, ctx: ServiceContext) -> ExitReview:
    position = uow.credit_limits.get(partner.id).position(ctx.clock.business_date())
    applications = uow.applications.count_in_states(partner.id, OPEN_APPLICATION_STATES)
    payouts = uow.applications.count_in_states(partner.id, PENDING_PAYOUT_APPLICATION_STATES)
    payouts += uow.contracts.count_in_states(partner.id, PENDING_PAYOUT_CONTRACT_STATES)
    return exit_review(partner.id, str(partner.state), position, applications, payouts)


def get_exit_review(ctx: ServiceContext, actor: Actor, partner_id: str, /) -> ExitReview:
    """Get a partner's exit review.

    What must be resolved before the partner may leave: exposure on its credit limit,
    applications not yet decided or contracted, business signed but not paid out. Each item
    says whether it is clear, with the figures; ``exit`` is refused until all are. Read live
    from the records, in any state, so the back office can see what an exit would need.
    A dealer user reads its own partner's.
    """
    with ctx.uow_factory() as uow:
        partner = visible_or_not_found(actor, uow.partners.get(partner_id), "partner", partner_id)
        return _review(uow, partner, ctx)


def exit_only_when_clear(work: Work, partner: Partner) -> None:
    """After ``exit``: the move stands only when the review is clear, read in the same
    transaction as the move."""
    require_clear(_review(work.uow, partner, work.ctx))
