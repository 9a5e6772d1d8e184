"""Partners' figures and ratings: computed on demand or by the scheduled refresh, explained
from what was stored, and overridden by hand with a more senior person's approval.

The partner's ``rating`` is always its **effective** grade: the latest computed one, or an
approved override while it is in force. It changes only here (:func:`apply_grade`), in the
transaction of the rating or the approval that changed it, with a ``partner_regraded`` event;
limit approvals (:mod:`leasekit.services.credit_limits`) and the pre-approval rules of the
origination work read it there, or through :func:`partner_rating`.
"""

from __future__ import annotations

from datetime import date

import attrs

from leasekit.domain.identity import BACK_OFFICE, Actor, Role
from leasekit.domain.partner_figures import PartnerFigures, window_start
from leasekit.domain.partner_ratings import (
    RATING_OVERRIDE_LIFECYCLE,
    RatingOverride,
    RatingOverrideAction,
    RatingOverrideState,
    RatingRecord,
    RatingTrigger,
    effective_grade,
)
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.errors import ValidationError
from leasekit.money import HALF_UP, Money
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, back_office_lists, back_office_only
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record, UnitOfWork

__all__ = [
    "PartnerRatingView",
    "RatePartner",
    "RatingOverrideQuery",
    "RatingQuery",
    "RequestRatingOverride",
    "apply_grade",
    "figures_of",
    "get_partner_figures",
    "get_partner_rating",
    "get_rating",
    "get_rating_override",
    "list_rating_overrides",
    "list_ratings",
    "partner_rating",
    "rate",
    "rate_partner",
    "request_rating_override",
    "transition_rating_override",
]

RATERS = frozenset({Role.OFFICER, Role.MANAGER, Role.DIRECTOR, Role.POST_LOAN_SUPERVISOR})
"""Who may have a partner rated now: the people who decide on its business."""


def figures_of(uow: UnitOfWork, ctx: ServiceContext, partner: Partner, on: date) -> PartnerFigures:
    """*partner*'s figures on business date *on*, counted in *uow*'s transaction."""
    since = window_start(on, ctx.partner_oversight.window_months)
    counts = uow.partner_book.counts(partner.id, since, on, ctx.currency)
    position = uow.credit_limits.get(partner.id).position(on)
    return PartnerFigures.of(
        partner.id,
        counts,
        onboarded_at=partner.created_at,
        limit=position.limit,
        exposure=position.used + position.frozen,
        as_of=on,
        since=since,
    )


def get_partner_figures(ctx: ServiceContext, actor: Actor, partner_id: str, /) -> PartnerFigures:
    """Get a partner's figures.

    What monitoring and the rating read, on the business date: applications submitted,
    decided and approved over the window and the approval rate, the financed volume, contracts
    on the books and the share overdue, fraud hits, document defects, months in business, the
    credit limit, exposure and utilisation. A rate with nothing to divide by is null.
    Back-office staff only.
    """
    back_office_only(actor, "partner_figures")
    with ctx.uow_factory() as uow:
        partner = uow.partners.get(partner_id)
        return figures_of(uow, ctx, partner, ctx.clock.business_date())


# --- rating -----------------------------------------------------------------------------------


def apply_grade(work: Work, partner: Partner, computed: PartnerRating | None) -> None:
    """Make the partner's grade what *computed* and an override in force make it, recording
    the change (and storing the partner) only when there is one."""
    override = work.uow.rating_overrides.in_force(partner.id, work.business_date)
    before = partner.rating
    if not partner.regrade(effective_grade(computed, override, work.business_date)):
        return
    work.uow.partners.update(partner)
    work.event(
        "partner_regraded",
        "partner",
        partner.id,
        {
            "rating_before": None if before is None else str(before),
            "rating": None if partner.rating is None else str(partner.rating),
            "override_id": None if override is None else override.id,
        },
    )


def rate(work: Work, partner: Partner, trigger: RatingTrigger) -> RatingRecord:
    """Rate *partner* (locked by the caller, so that ratings of one partner queue) on its
    figures today with the configured model, keep the rating and regrade the partner."""
    figures = figures_of(work.uow, work.ctx, partner, work.business_date)
    result = work.ctx.partner_oversight.rating_model.rate(figures)
    record = RatingRecord.of(result, figures, trigger=trigger, actor=work.actor, at=work.at)
    work.uow.partner_ratings.add(record)
    work.event(
        "partner_rated",
        "partner",
        partner.id,
        {
            "rating_id": record.id,
            "grade": str(record.grade),
            "score": str(record.score),
            "model_version": record.model_version,
            "trigger": str(trigger),
        },
    )
    apply_grade(work, partner, record.grade)
    return record


@attrs.frozen
class RatePartner:
    partner_id: str


@command(
    "rate_partner",
    subject="partner_rating",
    roles=RATERS,
    reload=lambda uow, rating_id: uow.partner_ratings.get(rating_id),
)
def rate_partner(work: Work, request: RatePartner) -> RatingRecord:
    """Rate a partner now.

    The scorecard (or the model a plugin put in its place) grades the partner's figures on
    the business date A to D. The rating is kept with the figures it read, the model version
    and each factor's points, so it can be explained later; the partner's grade becomes the
    new one unless an approved override is in force.
    """
    load_partner_reference(work.uow, work.actor, request.partner_id)
    partner = work.uow.partners.get_for_update(request.partner_id)
    return rate(work, partner, RatingTrigger.ON_DEMAND)


@attrs.frozen
class PartnerRatingView:
    """A partner's grade now, where it comes from, and the limit band it sets."""

    partner_id: str
    grade: PartnerRating | None
    """The effective grade: the override in force, else the latest computed one."""
    limit_band: Money
    """The highest limit a manager may approve for this grade; above it a director must."""
    computed: RatingRecord | None
    override: RatingOverride | None


def _view(uow: UnitOfWork, ctx: ServiceContext, partner: Partner) -> PartnerRatingView:
    on = ctx.clock.business_date()
    band = Money(ctx.limit_policy.band(partner.rating), ctx.currency).quantize(HALF_UP)
    return PartnerRatingView(
        partner.id,
        partner.rating,
        band,
        uow.partner_ratings.latest(partner.id),
        uow.rating_overrides.in_force(partner.id, on),
    )


def partner_rating(
    ctx: ServiceContext, partner_id: str, uow: UnitOfWork | None = None
) -> PartnerRatingView:
    """A partner's grade with its latest rating and any override in force, for other
    features' rules (pre-approval reads the grade here): in the caller's unit of work *uow*,
    or a new one."""
    if uow is not None:
        return _view(uow, ctx, uow.partners.get(partner_id))
    with ctx.uow_factory() as own:
        return _view(own, ctx, own.partners.get(partner_id))


def get_partner_rating(ctx: ServiceContext, actor: Actor, partner_id: str, /) -> PartnerRatingView:
    """Get a partner's rating.

    The grade in effect, the limit band it sets, the latest computed rating with each
    factor's figure, score and points (why the grade is what it is), and the override in
    force if there is one. Back-office staff only.
    """
    back_office_only(actor, "partner_rating")
    return partner_rating(ctx, partner_id)


def get_rating(ctx: ServiceContext, actor: Actor, rating_id: str, /) -> RatingRecord:
    """Get one computed rating.

    The grade and score, the model version that gave them, the figures it read and each
    factor's part: enough to explain the grade without recomputing it. Back-office staff
    only."""
    back_office_only(actor, "partner_rating")
    with ctx.uow_factory() as uow:
        return uow.partner_ratings.get(rating_id)


@attrs.frozen
class RatingQuery:
    """Which ratings to list; every field left out matches all."""

    partner_id: str | None = None
    grade: PartnerRating | None = None
    trigger: RatingTrigger | None = None


list_ratings: Lister[RatingQuery, Record] = lister(
    "list_ratings",
    RatingQuery,
    lambda uow: uow.partner_ratings,
    back_office_lists("partner_rating"),
    """List computed ratings.

    Every rating kept, oldest first: a partner's history of grades with the figures behind
    each. Back-office staff only.""",
)


# --- overrides --------------------------------------------------------------------------------


@attrs.frozen
class RequestRatingOverride:
    partner_id: str
    grade: PartnerRating
    until: date = attrs.field(
        metadata={"description": "The last business date the override is in force (at most "
                  "a year ahead); the computed grade applies again after it."}
    )  # fmt: skip
    reason: str = attrs.field(metadata={"max_length": 1000, "multiline": True})


@command(
    "request_rating_override",
    subject="rating_override",
    creates="rating_override",
    reload=lambda uow, override_id: uow.rating_overrides.get(override_id),
)
def request_rating_override(work: Work, request: RequestRatingOverride) -> RatingOverride:
    """Request a grade set by hand for a partner.

    With a reason and the last date it is in force. Approved by a more senior role than the
    requester's (an officer's by a manager or director, a manager's or post-loan
    supervisor's by a director); until then the computed grade stands.
    """
    partner = load_partner_reference(work.uow, work.actor, request.partner_id)
    latest = work.uow.partner_ratings.latest(partner.id)
    override = RatingOverride.new(
        partner_id=partner.id,
        grade=request.grade,
        until=request.until,
        reason=request.reason,
        computed_grade=None if latest is None else latest.grade,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    work.uow.rating_overrides.add(override)
    work.event(
        "rating_override_requested",
        "rating_override",
        override.id,
        {"partner_id": partner.id, "grade": str(override.grade), "until": str(override.until)},
    )
    return override


def _put_into_effect(work: Work, override: RatingOverride) -> None:
    """On approval: the override is the partner's grade from now through its last date."""
    if override.until < work.business_date:
        raise ValidationError.single(
            "until", f"{override.until} has passed; request the override again"
        )
    partner = work.uow.partners.get_for_update(override.partner_id)
    latest = work.uow.partner_ratings.latest(partner.id)
    apply_grade(work, partner, None if latest is None else latest.grade)


transition_rating_override = transition_command(
    "rating_override",
    RATING_OVERRIDE_LIFECYCLE,
    lambda uow: uow.rating_overrides,
    after={RatingOverrideAction.APPROVE: _put_into_effect},
    roles=BACK_OFFICE,
)
"""``approve`` (puts it into effect) or ``reject`` by a more senior role, ``cancel`` by the
requester."""


@attrs.frozen
class RatingOverrideQuery:
    """Which overrides to list; every field left out matches all."""

    partner_id: str | None = None
    state: RatingOverrideState | None = None


list_rating_overrides: Lister[RatingOverrideQuery, Record] = lister(
    "list_rating_overrides",
    RatingOverrideQuery,
    lambda uow: uow.rating_overrides,
    back_office_lists("rating_override"),
    """List rating overrides.

    ``?state=requested`` is what waits for a decision. Back-office staff only.""",
)


def get_rating_override(ctx: ServiceContext, actor: Actor, override_id: str, /) -> RatingOverride:
    """Get a rating override.

    Back-office staff only."""
    back_office_only(actor, "rating_override")
    with ctx.uow_factory() as uow:
        return uow.rating_overrides.get(override_id)
