"""Approval tasks: one reviewer's piece of work on one application at one tier.

Tiers follow authority: an officer decides small cases, larger ones need a manager or a
director. A reviewer claims a task, which locks it to them so that two people never decide
the same case; they decide it, release it, or escalate it to the next tier, which closes this
task and lets the service open one for the next tier. Which tier a case needs is for the
approval policy adapters to say, not this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.events import PayloadValue, StateChanged
from leasekit.domain.identity import REVIEWERS, SENIOR_REVIEWERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Effect, Guard, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, choice, text
from leasekit.errors import DomainError, ValidationError

__all__ = [
    "APPROVAL_TASK_LIFECYCLE",
    "ApprovalTask",
    "ApprovalTaskAction",
    "ApprovalTaskState",
    "Decision",
    "Tier",
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

APPROVAL_TASK_LIFECYCLE: Final = StateMachine(
    "approval_task",
    _T.OPEN,
    (
        # Claiming locks the task to one reviewer so two people never decide the same case.
        row(_A.CLAIM, [_T.OPEN], _T.CLAIMED, REVIEWERS, "approval_task_claimed"),
        # The holder lets go; the system frees locks left by people who went home.
        row(_A.RELEASE, [_T.CLAIMED], _T.OPEN, [*REVIEWERS, Role.SYSTEM],
            "approval_task_released"),
        row(_A.REASSIGN, [_T.OPEN, _T.CLAIMED], _T.OPEN, SENIOR_REVIEWERS,
            "approval_task_reassigned", params=["assignee"]),
        row(_A.DECIDE, [_T.CLAIMED], _T.DECIDED, REVIEWERS, "approval_task_decided",
            params=["decision"]),
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


class Decision(StrEnum):
    """What the reviewer decided; the application takes the matching action."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    """Send back to the originator for more documents or changed terms."""


def _tags(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({" ".join(value.split()) for value in values} - {""}))


def _refused(action: str, actor: Actor, why: str) -> ObjectPermissionError:
    return ObjectPermissionError(_MACHINE, action, actor.role.value, why)


def _check_claim(task: ApprovalTask, move: Move) -> None:
    if _RANK.get(move.actor.role, -1) < _RANK[Role(task.tier)]:
        raise _refused("claim", move.actor, f"the task needs {task.tier} authority")
    if task.assignee is not None and task.assignee != move.actor.user_id:
        raise _refused("claim", move.actor, "the task is assigned to someone else")


def _check_holder(task: ApprovalTask, move: Move) -> None:
    if task.locked_by != move.actor.user_id:
        raise _refused(move.transition.action, move.actor, "another reviewer holds the task")


def _check_release(task: ApprovalTask, move: Move) -> None:
    """The holder releases; so may a senior reviewer or the system, for stale locks."""
    if move.actor.role not in {Role.MANAGER, Role.DIRECTOR, Role.SYSTEM}:
        _check_holder(task, move)


def _check_escalate(task: ApprovalTask, move: Move) -> None:
    _check_holder(task, move)
    if task.next_tier is None:
        raise DomainError(f"a {task.tier}-tier task has no higher tier to escalate to")


def _check_decide(task: ApprovalTask, move: Move) -> None:
    """Only the holder decides; refusing or returning a case must say why."""
    _check_holder(task, move)
    decision = choice(Decision, move.params["decision"], "decision")
    if decision is not Decision.APPROVE and move.reason is None:
        raise ValidationError.single("reason", f"a reason is required to {decision}")


def _check_reassign(task: ApprovalTask, move: Move) -> None:
    text(move.params["assignee"], "assignee")


def _lock(task: ApprovalTask, move: Move) -> None:
    task.locked_by, task.locked_at = move.actor.user_id, require_utc(move.at)


def _unlock(task: ApprovalTask, move: Move) -> None:
    task.locked_by, task.locked_at = None, None


def _record_decision(task: ApprovalTask, move: Move) -> None:
    task.decision = Decision(move.params["decision"])
    _unlock(task, move)


def _hand_over(task: ApprovalTask, move: Move) -> Mapping[str, PayloadValue]:
    """Give the task to the new assignee, breaking any lock."""
    previous, task.assignee = task.assignee, text(move.params["assignee"], "assignee")
    _unlock(task, move)
    return {"assignee": task.assignee, "previous_assignee": previous}


@attrs.define
class ApprovalTask(Stateful):
    """A review task; ``locked_by`` names the reviewer holding it while it is claimed."""

    id: str
    application_id: str
    tier: Tier = attrs.field(converter=Tier)
    state: ApprovalTaskState = attrs.field(converter=ApprovalTaskState)
    assignee: str | None
    """A user the task is meant for; None means any reviewer of the tier may claim it."""
    locked_by: str | None
    locked_at: datetime | None
    decision: Decision | None = attrs.field(converter=attrs.converters.optional(Decision))
    tags: tuple[str, ...] = attrs.field(converter=_tags)
    """Why the case needs attention (``used_vehicle``, ``high_amount``), for queues and search."""
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[ApprovalTaskState]] = APPROVAL_TASK_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("application_id", "tier")
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.CLAIM: _check_claim,
        _A.RELEASE: _check_release,
        _A.ESCALATE: _check_escalate,
        _A.DECIDE: _check_decide,
        _A.REASSIGN: _check_reassign,
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.CLAIM: _lock,
        _A.RELEASE: _unlock,
        _A.ESCALATE: _unlock,
        _A.CANCEL: _unlock,
        _A.DECIDE: _record_decision,
        _A.REASSIGN: _hand_over,
    }

    @classmethod
    def open(
        cls,
        *,
        application_id: str,
        tier: Tier | str,
        actor: Actor,
        at: datetime,
        assignee: str | None = None,
        tags: Iterable[str] = (),
    ) -> ApprovalTask:
        ensure_may_create(actor, "approval_task")
        checks = Checks()
        valid_tier = checks.run(lambda: choice(Tier, tier, "tier"))
        if valid_tier is None:
            raise checks.error()
        return cls(
            id=new_id(),
            application_id=application_id,
            tier=valid_tier,
            state=ApprovalTaskState.OPEN,
            assignee=assignee,
            locked_by=None,
            locked_at=None,
            decision=None,
            tags=_tags(tags),
            created_at=require_utc(at),
        )

    @property
    def next_tier(self) -> Tier | None:
        """The tier an escalation goes to; None at the top."""
        index = _TIERS.index(self.tier) + 1
        return _TIERS[index] if index < len(_TIERS) else None

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
