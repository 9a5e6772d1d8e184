"""Partners' credit limits: taking and releasing exposure, and changing the limit by request.

Other features move a partner's limit inside their own command with :func:`move_limit` (a
disbursement takes, a settlement releases, in the same transaction as the business that moves
it); the back office adjusts it by hand with :data:`adjust_credit_limit`. The limit itself
changes only through a request that another person approves (:data:`request_limit_change`,
:data:`transition_limit_request`), with the authority :class:`~leasekit.domain.credit_limits.
LimitPolicy` sets.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.credit_limits import (
    LIMIT_REQUEST_LIFECYCLE,
    CreditLimit,
    LimitMovement,
    LimitMovementKind,
    LimitPosition,
    LimitRequest,
    LimitRequestAction,
    LimitRequestKind,
    LimitRequestState,
    Outstanding,
    increase_of,
    zero_in,
)
from leasekit.domain.events import Payload
from leasekit.domain.identity import Actor
from leasekit.domain.partners import PartnerCapability, PartnerRating
from leasekit.domain.validation import choice
from leasekit.money import HALF_UP, Money
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import (
    ServiceContext,
    back_office_only,
    scoped,
    visible_or_not_found,
)
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import GradeExposure, Record

__all__ = [
    "AdjustCreditLimit",
    "LimitMovementQuery",
    "LimitRequestQuery",
    "RequestLimitChange",
    "adjust_credit_limit",
    "exposure_by_grade",
    "get_credit_limit",
    "get_limit_movement",
    "get_limit_request",
    "list_limit_movements",
    "list_limit_requests",
    "move_limit",
    "request_limit_change",
    "transition_limit_request",
]


def move_limit(
    work: Work,
    partner_id: str,
    kind: LimitMovementKind | str,
    reference: str,
    amount: Decimal,
    reason: str | None = None,
) -> LimitMovement:
    """Move *partner_id*'s limit by *amount* under *reference*, in the caller's unit of work,
    with the event recorded: a take or freeze only while the partner's state lets it use its
    limit (not a blacklisted or suspended dealer), and never beyond what is available. The
    account stays locked until the caller's transaction ends, so takes of one partner queue
    rather than race."""
    valid_kind = choice(LimitMovementKind, kind, "kind")
    capability = PartnerCapability.USE_CREDIT_LIMIT if valid_kind.uses_availability else None
    load_partner_reference(work.uow, work.actor, partner_id, capability)
    account = work.uow.credit_limits.get_for_update(partner_id)
    movements = work.uow.limit_movements.for_reference(partner_id, reference)
    outstanding = Outstanding.of(movements, zero_in(account.total))
    movement = account.move(
        valid_kind,
        reference,
        Money(amount, account.total.currency),
        outstanding,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
        reason=reason,
    )
    work.uow.credit_limits.update(account)
    work.uow.limit_movements.add(movement)
    work.event(
        f"credit_limit_{_PAST[movement.kind]}",
        "credit_limit",
        partner_id,
        _movement_payload(movement, account.position(work.business_date)),
    )
    return movement


_PAST = {
    LimitMovementKind.TAKE: "taken",
    LimitMovementKind.RELEASE: "released",
    LimitMovementKind.FREEZE: "frozen",
    LimitMovementKind.UNFREEZE: "unfrozen",
}


def _movement_payload(movement: LimitMovement, position: LimitPosition) -> Payload:
    return {
        "movement_id": movement.id,
        "reference": movement.reference,
        "amount": str(movement.amount.amount),
        "currency": movement.amount.currency.code,
        "used": str(position.used.amount),
        "frozen": str(position.frozen.amount),
        "available": str(position.available.amount),
    }


@attrs.frozen
class AdjustCreditLimit:
    partner_id: str
    kind: LimitMovementKind
    reference: str = attrs.field(
        metadata={"description": "What the exposure is for (``contract:…``); a release or "
                  "unfreeze gives back at most what this reference holds.", "max_length": 100}
    )  # fmt: skip
    amount: Decimal
    reason: str = attrs.field(metadata={"max_length": 1000, "multiline": True})


@command(
    "adjust_credit_limit",
    subject="limit_movement",
    creates="limit_movement",
    reload=lambda uow, movement_id: uow.limit_movements.get(movement_id),
)
def adjust_credit_limit(work: Work, request: AdjustCreditLimit) -> LimitMovement:
    """Adjust a partner's use of its credit limit by hand.

    A take or freeze beyond the available amount is refused (409) with every figure: limit,
    used, frozen and available. A release or unfreeze gives back at most what its reference
    holds. Managers, directors and finance only, with a reason; disbursement and settlement
    move limits through the library in their own transactions.
    """
    return move_limit(
        work, request.partner_id, request.kind, request.reference, request.amount, request.reason
    )


@attrs.frozen
class RequestLimitChange:
    partner_id: str
    kind: LimitRequestKind
    amount: Decimal = attrs.field(
        metadata={"description": "The new standing total, or the temporary addition."}
    )
    reason: str = attrs.field(metadata={"max_length": 1000, "multiline": True})
    until: date | None = attrs.field(
        default=None,
        metadata={"description": "The last business date a temporary addition is in force."},
    )


@command(
    "request_limit_change",
    subject="limit_request",
    creates="limit_request",
    reload=lambda uow, request_id: uow.limit_requests.get(request_id),
)
def request_limit_change(work: Work, request: RequestLimitChange) -> LimitRequest:
    """Request a change of a partner's credit limit.

    A new standing total, or a temporary addition through a date. Someone other than the
    requester approves it: a manager or a director, and a director alone when it raises the
    limit by more than the company's threshold. An increase needs a partner whose state lets
    it get new limit (an active partner; not one on watch, suspended or blacklisted).
    """
    account = _account(work, request.partner_id)
    change = LimitRequest.new(
        account=account,
        kind=request.kind,
        amount=Money(request.amount, account.total.currency),
        until=request.until,
        reason=request.reason,
        actor=work.actor,
        at=work.at,
        business_date=work.business_date,
    )
    if change.increase.amount > 0:
        load_partner_reference(
            work.uow, work.actor, request.partner_id, PartnerCapability.GET_NEW_LIMIT
        )
    work.uow.limit_requests.add(change)
    work.event(
        "limit_change_requested",
        "limit_request",
        change.id,
        {
            "partner_id": change.partner_id,
            "kind": str(change.kind),
            "amount": str(change.amount.amount),
            "increase": str(change.increase.amount),
            "currency": change.amount.currency.code,
        },
    )
    return change


def _account(work: Work, partner_id: str) -> CreditLimit:
    load_partner_reference(work.uow, work.actor, partner_id)
    return work.uow.credit_limits.get(partner_id)


def _put_into_effect(work: Work, change: LimitRequest) -> None:
    """On approval: weigh the increase again against today's limit (another change may have
    been approved since the request) and the band of the partner's grade today, check the
    approver's authority and the partner's state for it, and change the account."""
    account = work.uow.credit_limits.get_for_update(change.partner_id)
    partner = load_partner_reference(work.uow, work.actor, change.partner_id)
    increase = increase_of(account, change.kind, change.amount, work.business_date)
    before = account.position(work.business_date)
    limit_after = before.limit + increase
    policy = work.ctx.limit_policy
    if work.actor.role not in policy.approver_roles(increase, limit_after, partner.rating):
        raise _beyond_authority(work, increase, limit_after, partner.rating)
    if increase.amount > 0:
        partner.require(PartnerCapability.GET_NEW_LIMIT)
    change.apply_to(account, work.at)
    work.uow.credit_limits.update(account)
    after = account.position(work.business_date)
    work.event(
        "credit_limit_changed",
        "credit_limit",
        account.id,
        {
            "limit_request_id": change.id,
            "limit_before": str(before.limit.amount),
            "limit_after": str(after.limit.amount),
            "available_after": str(after.available.amount),
            "currency": after.limit.currency.code,
        },
    )


def _beyond_authority(
    work: Work, increase: Money, limit_after: Money, grade: PartnerRating | None
) -> ObjectPermissionError:
    policy = work.ctx.limit_policy
    code = increase.currency.code
    if increase.amount > policy.director_threshold:
        why = (
            f"an increase of {increase.amount:,} {code} is above the "
            f"{policy.director_threshold:,} a {work.actor.role.value} may approve"
        )
    else:
        why = (
            f"a limit of {limit_after.amount:,} {code} is above the {policy.band(grade):,} "
            f"band of a partner rated {grade or 'nothing yet (as D)'}"
        )
    return ObjectPermissionError(
        "limit_request", "approve", work.actor.role.value, why + "; a director must"
    )


transition_limit_request = transition_command(
    "limit_request",
    LIMIT_REQUEST_LIFECYCLE,
    lambda uow: uow.limit_requests,
    after={LimitRequestAction.APPROVE: _put_into_effect},
)
"""``approve`` (puts it into effect), ``reject`` with a reason, ``cancel`` by the requester."""


def get_credit_limit(ctx: ServiceContext, actor: Actor, partner_id: str, /) -> LimitPosition:
    """Get a partner's credit limit.

    The figures on the company's business date: the limit (standing total plus a temporary
    addition in force), used, frozen and available, where used + frozen + available = limit.
    A dealer user sees its own partner's.
    """
    with ctx.uow_factory() as uow:
        account = uow.credit_limits.get(partner_id)
    visible_or_not_found(actor, account, "credit limit", partner_id)
    return account.position(ctx.clock.business_date())


def exposure_by_grade(ctx: ServiceContext, actor: Actor, /) -> tuple[GradeExposure, ...]:
    """Every partner's credit limit, used and frozen amounts added up by grade, A to D and
    then the ungraded, on the business date: where the company's exposure sits. A grade no
    partner holds is there with zeros, in the book currency. Back-office staff only."""
    back_office_only(actor, "credit_limit_exposure")
    with ctx.uow_factory() as uow:
        found = uow.partners.exposure_by_grade(ctx.clock.business_date())
    zero = Money.zero(ctx.currency).quantize(HALF_UP)
    held = {exposure.grade for exposure in found if exposure.limit.currency == ctx.currency}
    empty = [GradeExposure(grade, 0, zero, zero, zero) for grade in _GRADES if grade not in held]
    return tuple(sorted([*found, *empty], key=lambda exposure: _GRADES.index(exposure.grade)))


_GRADES: tuple[PartnerRating | None, ...] = (*PartnerRating, None)


@attrs.frozen
class LimitMovementQuery:
    """Which movements to list; every field left out matches all."""

    partner_id: str | None = None
    reference: str | None = None
    kind: LimitMovementKind | None = None


@attrs.frozen
class LimitRequestQuery:
    """Which limit requests to list; every field left out matches all."""

    partner_id: str | None = None
    state: LimitRequestState | None = None
    kind: LimitRequestKind | None = None


list_limit_movements: Lister[LimitMovementQuery, Record] = lister(
    "list_limit_movements",
    LimitMovementQuery,
    lambda uow: uow.limit_movements,
    scoped,
    """List movements of partners' credit limits.

    Every take, release, freeze and unfreeze, with the used and frozen amounts after it: the
    history of a partner's exposure. A dealer user sees its own partner's.""",
)
get_limit_movement = reader(
    "get_limit_movement",
    "limit movement",
    lambda uow: uow.limit_movements,
    """Get one movement of a partner's credit limit.

    A dealer user sees its own partner's.""",
)
get_limit_request = reader(
    "get_limit_request",
    "limit request",
    lambda uow: uow.limit_requests,
    """Get a limit change request.

    A dealer user sees its own partner's.""",
)
list_limit_requests: Lister[LimitRequestQuery, Record] = lister(
    "list_limit_requests",
    LimitRequestQuery,
    lambda uow: uow.limit_requests,
    scoped,
    """List limit change requests.

    Filter by partner and state (``requested`` for the ones waiting for a decision).""",
)
