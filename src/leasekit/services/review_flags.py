"""Flagging open applications for review when their partner is blacklisted, and the back
office's reads and decisions on the flags.

The flags are raised by an in-process handler of ``partner_blacklisted``, as its own command:
it runs once per event, and the open-flag unique index makes a repeated delivery, or the same
news arriving twice, flag no application twice.
"""

from __future__ import annotations

from typing import Final

import attrs

from leasekit.domain.applications import UNDECIDED_STATES
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import REVIEWERS, Actor
from leasekit.domain.review_flags import (
    REVIEW_FLAG_LIFECYCLE,
    ReviewCause,
    ReviewFlag,
    ReviewFlagState,
)
from leasekit.services.commands import Work, transition_command
from leasekit.services.context import ServiceContext, back_office_lists, back_office_only
from leasekit.services.events import handles
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record

__all__ = [
    "ReviewFlagQuery",
    "flag_blacklisted_partners_applications",
    "get_review_flag",
    "list_review_flags",
    "transition_review_flag",
]

_CAUSE: Final = ReviewCause.PARTNER_BLACKLISTED


@handles("partner_blacklisted", name="review.flag_blacklisted_partners_applications")
def flag_blacklisted_partners_applications(work: Work, event: DomainEvent) -> None:
    """Flag every open application of the blacklisted partner (those the company has not
    decided yet) with the partner's blacklisting reason; one already flagged for it is left
    as it is."""
    partner_id = event.subject_id
    flagged = {flag.application_id for flag in work.uow.review_flags.open_for_partner(
        partner_id, _CAUSE)}  # fmt: skip
    flags = [
        ReviewFlag.raise_on(
            application, _CAUSE, str(event.payload["reason"]), actor=work.actor, at=work.at
        )
        for application in work.uow.applications.list_for_partner(partner_id, UNDECIDED_STATES)
        if application.id not in flagged
    ]
    work.uow.review_flags.add_many(flags)
    for flag in flags:
        work.event(
            "application_flagged_for_review",
            "application",
            flag.application_id,
            {"flag_id": flag.id, "partner_id": partner_id, "cause": str(flag.cause)},
        )


transition_review_flag = transition_command(
    "review_flag", REVIEW_FLAG_LIFECYCLE, lambda uow: uow.review_flags, roles=REVIEWERS
)
"""``clear`` with what the reviewer concluded."""


@attrs.frozen
class ReviewFlagQuery:
    """Which flags to list; every field left out matches all."""

    state: ReviewFlagState | None = None
    cause: ReviewCause | None = None
    application_id: str | None = None
    partner_id: str | None = None


list_review_flags: Lister[ReviewFlagQuery, Record] = lister(
    "list_review_flags",
    ReviewFlagQuery,
    lambda uow: uow.review_flags,
    back_office_lists("review_flag"),
    """List applications flagged for review.

    Back-office staff only. ``?state=open`` is what waits for a reviewer; each flag says its
    cause (``partner_blacklisted``) and the reason given for it.""",
)


def get_review_flag(ctx: ServiceContext, actor: Actor, flag_id: str, /) -> ReviewFlag:
    """Get a review flag.

    Back-office staff only."""
    back_office_only(actor, "review_flag")
    with ctx.uow_factory() as uow:
        return uow.review_flags.get(flag_id)
