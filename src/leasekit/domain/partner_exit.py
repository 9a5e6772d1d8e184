"""A partner's exit review: what must be resolved before it may leave.

A dealer that leaves must leave nothing behind that the company still carries on its behalf:
exposure on its credit limit, applications still being decided, and business signed but not
yet paid out. :func:`exit_review` lists each as an item, clear or not with the figures, and
:func:`require_clear` refuses the final ``exit`` until every item is clear, naming what is
not. The review is read live from the records, so resolving an item (a release, a cancelled
application, a disbursement) clears it without anyone ticking a box.
"""

from __future__ import annotations

from typing import Final

import attrs

from leasekit.domain.applications import UNDECIDED_STATES, ApplicationState
from leasekit.domain.contracts import ContractState
from leasekit.domain.credit_limits import LimitPosition
from leasekit.errors import DomainError

__all__ = [
    "OPEN_APPLICATION_STATES",
    "PENDING_PAYOUT_APPLICATION_STATES",
    "PENDING_PAYOUT_CONTRACT_STATES",
    "ExitItem",
    "ExitReview",
    "exit_review",
    "require_clear",
]

_AS = ApplicationState
OPEN_APPLICATION_STATES: Final = UNDECIDED_STATES | {_AS.APPROVED}
"""Applications still being decided, or approved and not yet contracted."""
PENDING_PAYOUT_APPLICATION_STATES: Final = frozenset(
    {_AS.CONTRACTED, _AS.SIGNED, _AS.DISBURSEMENT_REQUESTED}
)
PENDING_PAYOUT_CONTRACT_STATES: Final = frozenset(
    {
        ContractState.DRAFT,
        ContractState.SENT_FOR_SIGNATURE,
        ContractState.SIGNED,
        ContractState.DISBURSEMENT_REQUESTED,
    }
)
"""Business signed or being signed that has not been paid out."""


@attrs.frozen
class ExitItem:
    """One thing that must be resolved before the partner leaves."""

    name: str
    clear: bool
    detail: str


@attrs.frozen
class ExitReview:
    """The partner's exit checklist as the records stand now."""

    partner_id: str
    state: str
    clear: bool
    """Whether every item is clear, so that ``exit`` would be allowed."""
    items: tuple[ExitItem, ...]


def exit_review(
    partner_id: str,
    state: str,
    position: LimitPosition,
    open_applications: int,
    pending_payouts: int,
) -> ExitReview:
    """The checklist from the partner's limit and the counts of its unfinished business."""
    exposure = position.used + position.frozen
    code = position.limit.currency.code
    items = (
        _item(
            "credit_exposure",
            exposure.amount == 0,
            "nothing used or frozen on its credit limit",
            f"used {position.used.amount:,} and frozen {position.frozen.amount:,} {code} on "
            "its credit limit must be released",
        ),
        _item(
            "open_applications",
            open_applications == 0,
            "no application being decided",
            f"{open_applications} application(s) not yet decided or contracted must be "
            "decided or cancelled",
        ),
        _item(
            "pending_disbursements",
            pending_payouts == 0,
            "no business signed and not yet paid out",
            f"{pending_payouts} contract(s) signed or being signed must be paid out or cancelled",
        ),
    )
    return ExitReview(partner_id, state, all(item.clear for item in items), items)


def _item(name: str, clear: bool, when_clear: str, when_open: str) -> ExitItem:
    return ExitItem(name, clear, when_clear if clear else when_open)


def require_clear(review: ExitReview) -> None:
    """Refuse the exit while any item is open, naming each."""
    open_items = [f"{item.name}: {item.detail}" for item in review.items if not item.clear]
    if open_items:
        raise DomainError("the partner cannot exit yet; resolve first: " + "; ".join(open_items))
