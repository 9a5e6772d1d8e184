"""Review flags: an application the back office must look at again, and why.

Something that happened elsewhere can make an open application doubtful: its partner was
blacklisted, say. A :class:`ReviewFlag` records that on the application, with the cause and
the reason, until a reviewer has looked and clears it with what they concluded. One flag per
application and cause is open at a time; the database enforces it, so the same news never
flags an application twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.applications import Application
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import REVIEWERS, Actor, new_id
from leasekit.domain.lifecycle import MAX_REASON, Stateful, StateMachine, row
from leasekit.domain.validation import text

__all__ = [
    "REVIEW_FLAG_LIFECYCLE",
    "ReviewCause",
    "ReviewFlag",
    "ReviewFlagAction",
    "ReviewFlagState",
]


class ReviewCause(StrEnum):
    PARTNER_BLACKLISTED = "partner_blacklisted"
    """The application's partner was blacklisted while the application was open."""
    FRAUD_AT_PAYOUT = "fraud_at_payout"
    """A payout reviewer found fraud in the contract's business and refused the payout."""


class ReviewFlagState(StrEnum):
    OPEN = "open"
    CLEARED = "cleared"


class ReviewFlagAction(StrEnum):
    CLEAR = "clear"


REVIEW_FLAG_LIFECYCLE: Final = StateMachine(
    "review_flag",
    ReviewFlagState.OPEN,
    (
        # The reviewer says what they concluded (cancelled it, or it stands on its own).
        row(ReviewFlagAction.CLEAR, [ReviewFlagState.OPEN], ReviewFlagState.CLEARED, REVIEWERS,
            "review_flag_cleared", True),
    ),
    final=frozenset({ReviewFlagState.CLEARED}),
    actions_enum=ReviewFlagAction,
)  # fmt: skip


@attrs.define
class ReviewFlag(Stateful):
    """One application to review again, for one cause. ``partner_id`` is the application's,
    so flags are listed by partner; only the back office reads them."""

    id: str
    application_id: str
    partner_id: str
    cause: ReviewCause = attrs.field(converter=ReviewCause)
    reason: str
    raised_at: datetime
    state: ReviewFlagState = attrs.field(converter=ReviewFlagState)
    version: int = 0

    lifecycle: ClassVar[StateMachine[ReviewFlagState]] = REVIEW_FLAG_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("application_id", "partner_id", "cause")

    @classmethod
    def raise_on(
        cls,
        application: Application,
        cause: ReviewCause,
        reason: str,
        *,
        actor: Actor,
        at: datetime,
    ) -> ReviewFlag:
        """A new open flag on *application*, saying why."""
        ensure_may_create(actor, "review_flag")
        return cls(
            id=new_id(),
            application_id=application.id,
            partner_id=application.partner_id,
            cause=cause,
            reason=text(reason, "reason", MAX_REASON),
            raised_at=require_utc(at),
            state=ReviewFlagState.OPEN,
        )
