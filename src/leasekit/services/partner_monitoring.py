"""Monitoring partners: the rules applied when their figures change, and the scheduled
refresh that rates every trading partner once per business date.

Monitoring runs as the system, in two ways. An in-process handler reacts to the events that
move a partner's figures (a decision on one of its applications, a take or freeze of its
limit, a review flag, a document defect) and applies the rules to that partner at once. The
refresh (:func:`refresh_partners`: ``leasekit partners refresh``, the server's timer, the close
of business) rates each partner and applies the rules to the figures it rated. Either way a
move to watch or suspended is the partner's own lifecycle move, with the rules crossed as its
reason and its event as the notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partner_figures import PartnerFigures
from leasekit.domain.partner_monitoring import Assessment, assess
from leasekit.domain.partner_ratings import RatingRecord, RatingTrigger
from leasekit.domain.partners import Partner, PartnerState
from leasekit.errors import LeasekitError
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext
from leasekit.services.events import handles
from leasekit.services.partner_ratings import figures_of, rate
from leasekit.services.storage import UnitOfWork

__all__ = [
    "RATED_STATES",
    "RefreshPartner",
    "RefreshReport",
    "monitor",
    "monitor_on_event",
    "refresh_partner",
    "refresh_partners",
]

RATED_STATES: Final = frozenset(
    {PartnerState.ACTIVE, PartnerState.WATCH, PartnerState.SUSPENDED, PartnerState.FROZEN,
     PartnerState.EXIT_REVIEW}
)  # fmt: skip
"""Partners with business on the books; onboarding and departed ones have no figures to
grade."""

FIGURE_EVENTS: Final = (
    "application_approved",
    "application_declined",
    "application_rejected",
    "application_flagged_for_review",
    "credit_limit_taken",
    "credit_limit_frozen",
    "credit_limit_changed",
    "document_defect_recorded",
)
"""Events after which a partner's figures may cross a rule."""


def monitor(work: Work, partner: Partner, figures: PartnerFigures) -> Assessment:
    """Apply the monitoring rules to *figures* and make the move they call for."""
    assessment = assess(figures, partner.state, work.ctx.partner_oversight.rules)
    if assessment.action is not None:
        event = partner.apply(
            assessment.action,
            work.actor,
            at=work.at,
            business_date=work.business_date,
            reason=assessment.reason,
        )
        work.uow.partners.update(partner)
        work.record(event)
    return assessment


def _partner_of(uow: UnitOfWork, event: DomainEvent) -> str | None:
    partner_id = event.payload.get("partner_id")
    if isinstance(partner_id, str):
        return partner_id
    if event.subject in ("partner", "credit_limit"):
        return event.subject_id
    if event.subject == "document":
        return uow.documents.get(event.subject_id).partner_id
    return None


@handles(*FIGURE_EVENTS, name="partners.monitor")
def monitor_on_event(work: Work, event: DomainEvent) -> None:
    """Apply the monitoring rules to the partner whose figures the event moved."""
    partner_id = _partner_of(work.uow, event)
    if partner_id is None:
        return
    partner = work.uow.partners.get_for_update(partner_id)
    monitor(work, partner, figures_of(work.uow, work.ctx, partner, work.business_date))


@attrs.frozen
class RefreshPartner:
    partner_id: str


@command("refresh_partner", subject="partner_rating", roles=frozenset({Role.SYSTEM}), quiet=True)
def refresh_partner(work: Work, request: RefreshPartner) -> RatingRecord | None:
    """Rate a partner as the scheduled refresh does, and apply the monitoring rules to the
    figures rated; once per business date (None, changing nothing, when the partner was
    rated so already: the business date is its idempotency key)."""
    partner = work.uow.partners.get_for_update(request.partner_id)
    if work.uow.partner_ratings.scheduled_on(partner.id, work.business_date):
        return None
    record = rate(work, partner, RatingTrigger.SCHEDULED)
    monitor(work, partner, record.inputs)
    return record


@attrs.frozen
class RefreshReport:
    """What one refresh did."""

    rated: int = 0
    """Partners rated by this run."""
    already: int = 0
    """Partners the scheduled refresh had rated on this business date already."""
    failed: tuple[tuple[str, str], ...] = ()
    """Partners it could not rate, with the reason; the next run tries them again."""


_SYSTEM: Final = Actor.system()


def refresh_partners(
    ctx: ServiceContext,
    *,
    started: Callable[[int], None] = lambda total: None,
    advanced: Callable[[], None] = lambda: None,
) -> RefreshReport:
    """Rate every partner with business on the books and apply the monitoring rules, each
    partner in a transaction of its own, so that a crash loses nothing done and a rerun does
    only what is left (:func:`refresh_partner` finds the day's rating under the partner's
    row lock, so a refresh running beside this one is waited for, not repeated). *started*
    learns how many partners there are, *advanced* hears of each one done (a progress
    bar)."""
    with ctx.uow_factory() as uow:
        partner_ids = uow.partners.ids_in_states(RATED_STATES)
    started(len(partner_ids))
    rated, done_before, failed = 0, 0, []
    for partner_id in partner_ids:
        try:
            if refresh_partner(ctx, _SYSTEM, RefreshPartner(partner_id)) is None:
                done_before += 1
            else:
                rated += 1
        except LeasekitError as exc:
            failed.append((partner_id, str(exc)))
        advanced()
    return RefreshReport(rated, done_before, tuple(failed))
