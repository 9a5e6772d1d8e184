"""Approval tasks: one reviewer's piece of work on one application at one tier.

Tiers follow authority: an officer decides small cases, larger or riskier ones need a manager
or a director (which tier a case needs is for the approval policy to say, and is kept as the
task's ``required_tier``). A case climbs the tiers: an approval below the required tier hands
the case to the next tier, as does an escalation. A reviewer claims a task, which locks it to
them for a lease (so that two people never decide the same case, and a case is not stuck with
someone who went home): once the lease has run out anyone of the tier may claim it, and the
late holder may no longer decide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_create
from leasekit.domain.claims import (
    check_holder,
    check_live_claim,
    check_not_taken,
    leased,
    lock,
    refused,
    unlock,
)
from leasekit.domain.clock import require_utc
from leasekit.domain.events import PayloadValue, StateChanged
from leasekit.domain.identity import REVIEWERS, SENIOR_REVIEWERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Effect, Guard, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, choice, text
from leasekit.errors import DomainError, FieldError, ValidationError

__all__ = [
    "APPROVAL_TASK_LIFECYCLE",
    "CONDITIONS",
    "DEFAULT_AUTHORITY",
    "ApprovalRules",
    "ApprovalTask",
    "ApprovalTaskAction",
    "ApprovalTaskState",
    "Decision",
    "Tier",
    "conflict_of_interest",
    "higher",
    "tier_of",
]


class ApprovalTaskState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


class ApprovalTaskAction(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    REASSIGN = "reassign"
    DECIDE = "decide"
    ESCALATE = "escalate"
    CANCEL = "cancel"


_T = ApprovalTaskState
_A = ApprovalTaskAction

CONDITIONS: Final = ("annual_rate", "down_payment", "residual_value", "term_months")
"""The terms an approval with conditions may change; the application's plan is recomputed."""

APPROVAL_TASK_LIFECYCLE: Final = StateMachine(
    "approval_task",
    _T.OPEN,
    (
        # Claiming locks the task to one reviewer so two people never decide the same case;
        # a claimed task whose lease ran out may be claimed again, by anyone of the tier.
        row(_A.CLAIM, [_T.OPEN, _T.CLAIMED], _T.CLAIMED, REVIEWERS, "approval_task_claimed"),
        # The holder lets go; the system frees locks left by people who went home.
        row(_A.RELEASE, [_T.CLAIMED], _T.OPEN, [*REVIEWERS, Role.SYSTEM],
            "approval_task_released"),
        row(_A.REASSIGN, [_T.OPEN, _T.CLAIMED], _T.OPEN, SENIOR_REVIEWERS,
            "approval_task_reassigned", params=["assignee"]),
        row(_A.DECIDE, [_T.CLAIMED], _T.DECIDED, REVIEWERS, "approval_task_decided",
            params=["decision"], optional=CONDITIONS),
        # Above the reviewer's authority: this task ends and a task for the next tier opens.
        row(_A.ESCALATE, [_T.CLAIMED], _T.ESCALATED, [Role.OFFICER, Role.MANAGER],
            "approval_task_escalated", True),
        row(_A.CANCEL, [_T.OPEN, _T.CLAIMED], _T.CANCELLED, [*SENIOR_REVIEWERS, Role.SYSTEM],
            "approval_task_cancelled"),
    ),
    final=frozenset({_T.DECIDED, _T.ESCALATED, _T.CANCELLED}),
    actions_enum=ApprovalTaskAction,
)  # fmt: skip
_MACHINE: Final = APPROVAL_TASK_LIFECYCLE.name


class Tier(StrEnum):
    """The authority a decision needs, lowest first."""

    OFFICER = "officer"
    MANAGER = "manager"
    DIRECTOR = "director"


_TIERS: Final = tuple(Tier)
_RANK: Final[Mapping[Role, int]] = {Role.OFFICER: 0, Role.MANAGER: 1, Role.DIRECTOR: 2}
"""A reviewer may work on tasks of their own tier and below."""


DEFAULT_AUTHORITY: Final[Mapping[Tier, Decimal]] = {
    Tier.OFFICER: Decimal(200_000),
    Tier.MANAGER: Decimal(1_000_000),
}
"""The largest amount financed each tier approves, in the company's currency; a tier left
out (the director, by default) approves any amount."""


@attrs.frozen
class ApprovalRules:
    """How approvals are worked: a claim's lease, each tier's authority, up to which amount
    a case that pre-approval passed is approved without people (None: never), and how long
    an exception request's approvals hold."""

    claim_lease: timedelta = timedelta(minutes=30)
    authority: Mapping[Tier, Decimal] = attrs.field(factory=lambda: dict(DEFAULT_AUTHORITY))
    auto_approve_up_to: Decimal | None = None
    exception_window: timedelta = timedelta(hours=72)
    """How long an exception request may take from submission to execution."""

    def tier_for(self, amount: Decimal) -> Tier | None:
        """The lowest tier whose authority covers *amount*; None when none does (then nobody
        may approve the case as it stands: it can only be rejected, returned or made
        smaller)."""
        return next((tier for tier in _TIERS if self.covers(tier, amount)), None)

    def covers(self, tier: Tier, amount: Decimal) -> bool:
        """Whether *tier*'s authority reaches *amount*."""
        limit = self.authority.get(tier)
        return limit is None or amount <= limit


def higher(first: Tier, second: Tier) -> Tier:
    """The higher of two tiers."""
    return first if _rank(first) >= _rank(second) else second


def tier_of(role: Role) -> Tier | None:
    """The highest tier *role* may decide at; None for a role that reviews nothing."""
    rank = _RANK.get(role)
    return None if rank is None else _TIERS[rank]


def _rank(tier: Tier) -> int:
    return _TIERS.index(tier)


class Decision(StrEnum):
    """What the reviewer decided; the application takes the matching action."""

    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    """Approve changed terms (a larger down payment, a shorter term), saying why."""
    REJECT = "reject"
    RETURN = "return"
    """Send back to the originator for more documents or changed terms."""


def _tags(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({" ".join(value.split()) for value in values} - {""}))


_HELD: Final = "another reviewer holds the task"


def _refused(action: str, actor: Actor, why: str) -> ObjectPermissionError:
    return refused(_MACHINE, action, actor, why)


def _check_claim(task: ApprovalTask, move: Move) -> None:
    """The reviewer must have the tier's authority and be the assignee, if there is one; a
    claimed task is taken over only once its lease has run out (its holder renews it)."""
    if _RANK.get(move.actor.role, -1) < _rank(task.tier):
        raise _refused("claim", move.actor, f"the task needs {task.tier} authority")
    if task.assignee is not None and task.assignee != move.actor.user_id:
        raise _refused("claim", move.actor, "the task is assigned to someone else")
    check_not_taken(task, move, _MACHINE, _HELD)


def _check_holder(task: ApprovalTask, move: Move) -> None:
    check_holder(task, move, _MACHINE, _HELD)


def _check_live_claim(task: ApprovalTask, move: Move) -> None:
    check_live_claim(task, move, _MACHINE, _HELD)


def _check_release(task: ApprovalTask, move: Move) -> None:
    """The holder releases; so may a senior reviewer or the system, for stale locks."""
    if move.actor.role not in {Role.MANAGER, Role.DIRECTOR, Role.SYSTEM}:
        _check_holder(task, move)


def _check_escalate(task: ApprovalTask, move: Move) -> None:
    _check_live_claim(task, move)
    if task.next_tier is None:
        raise DomainError(f"a {task.tier}-tier task has no higher tier to escalate to")


def _check_decide(task: ApprovalTask, move: Move) -> None:
    """Only the holder decides; refusing, returning or changing a case must say why, and
    only an approval with conditions names conditions."""
    _check_live_claim(task, move)
    decision = choice(Decision, move.params["decision"], "decision")
    if decision is not Decision.APPROVE and move.reason is None:
        raise ValidationError.single("reason", f"a reason is required to {decision}")
    named = [name for name in CONDITIONS if name in move.params]
    if decision is Decision.APPROVE_WITH_CONDITIONS and not named:
        raise ValidationError.single(
            "decision", f"name at least one condition: {', '.join(CONDITIONS)}"
        )
    if decision is not Decision.APPROVE_WITH_CONDITIONS and named:
        raise ValidationError(
            [FieldError(name, f"a condition is only for {Decision.APPROVE_WITH_CONDITIONS}")
             for name in named]
        )  # fmt: skip


def _check_reassign(task: ApprovalTask, move: Move) -> None:
    text(move.params["assignee"], "assignee")


def _hand_up(task: ApprovalTask, move: Move) -> None:
    task.decided_by, task.reason = move.actor.user_id, move.reason
    unlock(task, move)


def _record_decision(task: ApprovalTask, move: Move) -> None:
    task.decision = Decision(move.params["decision"])
    task.conditions = {name: move.params[name] for name in CONDITIONS if name in move.params}
    _hand_up(task, move)


def _hand_over(task: ApprovalTask, move: Move) -> Mapping[str, PayloadValue]:
    """Give the task to the new assignee, breaking any lock."""
    previous, task.assignee = task.assignee, text(move.params["assignee"], "assignee")
    unlock(task, move)
    return {"assignee": task.assignee, "previous_assignee": previous}


@attrs.define
class ApprovalTask(Stateful):
    """A review task; ``locked_by`` names the reviewer holding it while it is claimed."""

    id: str
    application_id: str
    partner_id: str
    product_code: str | None
    """The product the application is priced with, for queues by product."""
    tier: Tier = attrs.field(converter=Tier)
    required_tier: Tier = attrs.field(converter=Tier)
    """The tier whose approval approves the application (the approval policy's answer)."""
    state: ApprovalTaskState = attrs.field(converter=ApprovalTaskState)
    assignee: str | None
    """A user the task is meant for; None means any reviewer of the tier may claim it."""
    locked_by: str | None
    locked_at: datetime | None
    lock_expires_at: datetime | None
    """When the claim's lease runs out; None while unclaimed."""
    decision: Decision | None = attrs.field(converter=attrs.converters.optional(Decision))
    decided_by: str | None
    """Who decided or escalated it, so that they decide nothing of the case at a higher tier."""
    conditions: dict[str, str]
    """An approval's changed terms, by name (:data:`CONDITIONS`)."""
    reason: str | None
    """Why it was decided or escalated as it was."""
    tags: tuple[str, ...] = attrs.field(converter=_tags)
    """Why the case needs attention (``used_vehicle``, ``high_amount``), for queues and search."""
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[ApprovalTaskState]] = APPROVAL_TASK_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("application_id", "partner_id", "tier")
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.CLAIM: _check_claim,
        _A.RELEASE: _check_release,
        _A.ESCALATE: _check_escalate,
        _A.DECIDE: _check_decide,
        _A.REASSIGN: _check_reassign,
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.CLAIM: lock,
        _A.RELEASE: unlock,
        _A.ESCALATE: _hand_up,
        _A.CANCEL: unlock,
        _A.DECIDE: _record_decision,
        _A.REASSIGN: _hand_over,
    }

    @classmethod
    def open(
        cls,
        *,
        application_id: str,
        partner_id: str,
        tier: Tier | str,
        required_tier: Tier | str,
        actor: Actor,
        at: datetime,
        product_code: str | None = None,
        assignee: str | None = None,
        tags: Iterable[str] = (),
    ) -> ApprovalTask:
        ensure_may_create(actor, "approval_task")
        checks = Checks()
        valid_tier = checks.run(lambda: choice(Tier, tier, "tier"))
        required = checks.run(lambda: choice(Tier, required_tier, "required_tier"))
        if valid_tier is None or required is None:
            raise checks.error()
        return cls(
            id=new_id(),
            application_id=application_id,
            partner_id=partner_id,
            product_code=product_code,
            tier=valid_tier,
            required_tier=required,
            state=ApprovalTaskState.OPEN,
            assignee=assignee,
            locked_by=None,
            locked_at=None,
            lock_expires_at=None,
            decision=None,
            decided_by=None,
            conditions={},
            reason=None,
            tags=_tags(tags),
            created_at=require_utc(at),
        )

    def leased(self, at: datetime) -> bool:
        """Whether a claim stands at *at*: claimed, and its lease (if set) not run out."""
        return leased(self, at)

    @property
    def approves(self) -> bool:
        """Whether approving this task approves the application: it is at the required tier."""
        return _rank(self.tier) >= _rank(self.required_tier)

    def tagged(self, add: Iterable[str], remove: Iterable[str]) -> tuple[str, ...]:
        """Change the tags while the task is open or claimed; the tags it had before."""
        if self.state in APPROVAL_TASK_LIFECYCLE.final:
            raise DomainError(f"a {self.state} task's tags are kept as they were")
        before, removed = self.tags, set(_tags(remove))
        self.tags = _tags([*(t for t in self.tags if t not in removed), *add])
        return before

    @property
    def next_tier(self) -> Tier | None:
        """The tier an escalation goes to; None at the top."""
        index = _rank(self.tier) + 1
        return _TIERS[index] if index < len(_TIERS) else None

    def next(
        self, *, actor: Actor, at: datetime, required_tier: Tier | None = None
    ) -> ApprovalTask:
        """The task of the next tier for the same case, with this one's tags."""
        if self.next_tier is None:
            raise DomainError(f"a {self.tier}-tier task has no higher tier")
        return ApprovalTask.open(
            application_id=self.application_id, partner_id=self.partner_id,
            product_code=self.product_code, tier=self.next_tier,
            required_tier=required_tier or self.required_tier, actor=actor, at=at, tags=self.tags,
        )  # fmt: skip

    def decide(
        self,
        decision: Decision | str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Record the holder's decision: ``apply("decide", ..., decision=...)`` by name."""
        return self.apply(
            _A.DECIDE, actor, at=at, business_date=business_date, reason=reason,
            decision=str(decision),
        )  # fmt: skip

    def reassign(
        self,
        assignee: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Give the task to *assignee*, breaking any lock: a manager's call when someone is
        away or a case needs a particular reviewer."""
        return self.apply(
            _A.REASSIGN, actor, at=at, business_date=business_date, reason=reason,
            assignee=assignee,
        )  # fmt: skip


def conflict_of_interest(
    task: ApprovalTask, user_id: str, *, submitted_by: str, earlier: Iterable[ApprovalTask]
) -> str | None:
    """Why *user_id* may not work on *task*, or None: nobody reviews an application they
    submitted, nor decides at a higher tier a case they decided or escalated at a lower one
    (four eyes per tier)."""
    if user_id == submitted_by:
        return "they submitted the application"
    for other in earlier:
        if other.decided_by == user_id and _rank(other.tier) < _rank(task.tier):
            return f"they already decided it at the {other.tier} tier"
    return None
