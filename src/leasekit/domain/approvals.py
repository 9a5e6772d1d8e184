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
from typing import Final

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.events import PayloadValue, StateChanged
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import APPROVAL_TASK_LIFECYCLE, ApprovalTaskState, change_state
from leasekit.domain.validation import Checks, choice, text
from leasekit.errors import DomainError, ValidationError

__all__ = ["ApprovalTask", "ApprovalTaskState", "Decision", "Tier"]

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


@attrs.define
class ApprovalTask:
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

    def apply(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Claim, release, escalate or cancel. Deciding and reassigning carry data of their
        own and go through :meth:`decide` and :meth:`reassign`."""
        if action == "decide":
            raise ValidationError.single("decision", "required; use ApprovalTask.decide")
        if action == "reassign":
            raise ValidationError.single("assignee", "required; use ApprovalTask.reassign")
        # The table decides first: an illegal move or a wrong role is reported as such,
        # before any rule about this particular task.
        APPROVAL_TASK_LIFECYCLE.fire(self.state, action, actor)
        object_checks = {
            "claim": self._check_claim,
            "release": self._check_release,
            "escalate": self._check_escalate,
        }
        if action in object_checks:
            object_checks[action](actor)
        event = self._move(action, actor, at=at, business_date=business_date, reason=reason)
        if action == "claim":
            self.locked_by, self.locked_at = actor.user_id, require_utc(at)
        else:
            self.locked_by, self.locked_at = None, None
        return event

    def decide(
        self,
        decision: Decision | str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Record the holder's decision; refusing or returning a case must say why."""
        valid = choice(Decision, decision, "decision")
        APPROVAL_TASK_LIFECYCLE.fire(self.state, "decide", actor)
        self._check_holder(actor, "decide")
        if valid is not Decision.APPROVE and (reason is None or not reason.strip()):
            raise ValidationError.single("reason", f"a reason is required to {valid}")
        event = self._move(
            "decide",
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={"decision": str(valid)},
        )
        self.decision, self.locked_by, self.locked_at = valid, None, None
        return event

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
        new_assignee = text(assignee, "assignee")
        event = self._move(
            "reassign",
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={"assignee": new_assignee, "previous_assignee": self.assignee},
        )
        self.assignee, self.locked_by, self.locked_at = new_assignee, None, None
        return event

    def _move(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None,
        details: Mapping[str, PayloadValue] | None = None,
    ) -> StateChanged:
        target, event = change_state(
            APPROVAL_TASK_LIFECYCLE,
            self.id,
            self.state,
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={
                "application_id": self.application_id,
                "tier": str(self.tier),
                **(details or {}),
            },
        )
        self.state = ApprovalTaskState(target)
        return event

    def _check_claim(self, actor: Actor) -> None:
        if _RANK.get(actor.role, -1) < _RANK[Role(self.tier)]:
            raise ObjectPermissionError(
                _MACHINE, "claim", actor.role.value, f"the task needs {self.tier} authority"
            )
        if self.assignee is not None and self.assignee != actor.user_id:
            raise ObjectPermissionError(
                _MACHINE, "claim", actor.role.value, "the task is assigned to someone else"
            )

    def _check_holder(self, actor: Actor, action: str) -> None:
        if self.locked_by != actor.user_id:
            raise ObjectPermissionError(
                _MACHINE, action, actor.role.value, "another reviewer holds the task"
            )

    def _check_release(self, actor: Actor) -> None:
        """The holder releases; so may a senior reviewer or the system, for stale locks."""
        if actor.role not in {Role.MANAGER, Role.DIRECTOR, Role.SYSTEM}:
            self._check_holder(actor, "release")

    def _check_escalate(self, actor: Actor) -> None:
        self._check_holder(actor, "escalate")
        if self.next_tier is None:
            raise DomainError(f"a {self.tier}-tier task has no higher tier to escalate to")
