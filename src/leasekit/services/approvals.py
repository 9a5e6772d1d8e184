"""The approval workflow: pre-approved applications wait in queues as tasks tiered by
authority, and reviewers claim, tag, decide, escalate and reassign them.

When pre-approval lets an application through (``application_pre_approved``), an in-process
handler asks the approval policy which tier must approve the case, raises it to the lowest
tier whose authority covers the amount financed, and either approves it without people (when
settings allow it for a case pre-approval passed) or starts the review with an officer-tier
task. A reviewer of the tier claims the task for a lease (``LEASEKIT_APPROVALS__CLAIM_MINUTES``)
and decides it: ``reject`` and ``return`` move the application at once; ``approve`` (with
conditions or without) approves it when the task's tier is the one required and its authority
covers the amount, and otherwise hands the case to the next tier. Nobody reviews an
application they submitted or decides at a higher tier a case they decided at a lower one.
The application's own ``approve``, ``reject`` and ``return`` are made here only, so that no
decision bypasses the tiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Final

import attrs

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import Application, ApplicationAction, ApplicationState
from leasekit.domain.approvals import (
    APPROVAL_TASK_LIFECYCLE,
    ApprovalTask,
    ApprovalTaskAction,
    ApprovalTaskState,
    Decision,
    Tier,
    conflict_of_interest,
    higher,
    tier_of,
)
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import REVIEWERS, SENIOR_REVIEWERS, Actor, Role
from leasekit.domain.pre_approvals import PreApproval
from leasekit.domain.rules import RuleAction
from leasekit.domain.users import UserState
from leasekit.errors import (
    AmountError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import to_decimal
from leasekit.ports import AdapterKind, ApprovalCase, RiskLevel
from leasekit.services.applications import ImposeConditions, impose_conditions
from leasekit.services.calls import ask
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import ServiceContext, back_office_lists, back_office_only
from leasekit.services.events import handles
from leasekit.services.pre_approval import approval_case
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import ApprovalTaskQuery, Record
from leasekit.services.users import UserQuery

__all__ = [
    "AGE_BANDS",
    "Reviewer",
    "TagsChange",
    "TagsRevision",
    "TaskView",
    "get_task_view",
    "list_approval_tasks",
    "open_review",
    "queue_ageing",
    "retag_approval_task",
    "reviewers_for",
    "transition_approval_task",
]

_SUBJECT: Final = "approval task"
_AUTOMATIC: Final = "approved without people: pre-approval passed it within the automatic limit"
_WORKFLOW: Final = Actor.system()
"""Who opens a higher tier's task: the workflow, whoever's decision led to it."""
_POLICY: Final = AdapterKind.APPROVAL_POLICY.value
_CAUTIOUS: Final = Tier.DIRECTOR
"""The tier a case needs when the approval policy cannot answer."""


# --- opening the review --------------------------------------------------------------------


def _case(work: Work, application: Application, assessment: PreApproval | None) -> ApprovalCase:
    """What the approval policy decides on: the application, and the bureau's score and the
    fraud risk as pre-approval found them."""
    partner = work.uow.partners.get(application.partner_id)
    facts: dict[str, Any] = {} if assessment is None else dict(assessment.facts)
    score, risk = facts.get("credit_score"), facts.get("fraud_risk")
    return approval_case(
        application,
        partner,
        None if score is None else int(Decimal(score)),
        None if risk is None else RiskLevel(risk),
        _assessment_tags(assessment),
    )


def _assessment_tags(assessment: PreApproval | None) -> list[str]:
    """Why the case needs attention, as pre-approval saw it: its outcome and the parties that
    did not answer."""
    if assessment is None:
        return ["not_assessed"]
    return [
        f"pre_approval_{assessment.outcome}",
        *(f"no_answer_{p}" for p in assessment.unavailable),
    ]


def _required_tier(work: Work, case: ApprovalCase) -> tuple[Tier, list[str]]:
    """The tier that approves *case*: the policy's, raised to the one whose authority covers
    the amount; a director's, tagged, when the policy fails or no tier's authority does."""
    policy, unavailable = work.ctx.adapters.approval_policy, list[str]()
    answer = ask(_POLICY, partial(policy.required_tier, case), work.ctx.party_calls, unavailable)
    tier, tags = (_CAUTIOUS, [f"no_answer_{_POLICY}"]) if answer is None else (Tier(answer), [])
    by_amount = work.ctx.approval_rules.tier_for(case.amount_financed.amount)
    if by_amount is None:
        return _CAUTIOUS, [*tags, "above_every_authority"]
    return higher(tier, by_amount), tags


def _approves_without_people(
    work: Work, assessment: PreApproval | None, case: ApprovalCase, required: Tier
) -> bool:
    limit = work.ctx.approval_rules.auto_approve_up_to
    return (
        limit is not None
        and assessment is not None
        and assessment.outcome is RuleAction.PASS
        and required is Tier.OFFICER
        and case.amount_financed.amount <= limit
    )


def _move(
    work: Work, application: Application, action: ApplicationAction, reason: str | None = None
) -> None:
    moved = application.apply(
        action, work.actor, at=work.at, business_date=work.business_date, reason=reason
    )
    work.uow.applications.update(application)
    work.record(moved)


def _open(work: Work, task: ApprovalTask) -> ApprovalTask:
    work.uow.approval_tasks.add(task)
    work.event(
        "approval_task_opened",
        "approval_task",
        task.id,
        {"application_id": task.application_id, "partner_id": task.partner_id,
         "tier": str(task.tier), "required_tier": str(task.required_tier)},
    )  # fmt: skip
    return task


@handles("application_pre_approved", name="origination.open_review")
def open_review(work: Work, event: DomainEvent) -> None:
    """Approve the pre-approved application without people where settings allow, or start
    its review with an officer-tier task (see the module)."""
    if event.subject != "application":
        return
    application = work.uow.applications.get(event.subject_id)
    if application.state is not ApplicationState.PRE_APPROVED:
        return  # cancelled, or its review already started
    assessment = work.uow.pre_approvals.latest_for(application.id)
    case = _case(work, application, assessment)
    required, tags = _required_tier(work, case)
    if _approves_without_people(work, assessment, case, required):
        _move(work, application, ApplicationAction.START_REVIEW)
        _move(work, application, ApplicationAction.APPROVE, _AUTOMATIC)
        return
    _move(work, application, ApplicationAction.START_REVIEW)
    _open(
        work,
        ApprovalTask.open(
            application_id=application.id, partner_id=application.partner_id,
            product_code=_product_code(work, application), tier=Tier.OFFICER,
            required_tier=required, actor=work.actor, at=work.at,
            tags=[*case.tags, *tags, str(application.business_type)],
        ),
    )  # fmt: skip


def _product_code(work: Work, application: Application) -> str | None:
    """The code of the product the application is priced with; None when unpriced."""
    if application.product_version_id is None:
        return None
    version = work.uow.product_versions.get(application.product_version_id)
    return work.uow.products.get(version.product_id).code


@handles("application_cancelled", name="origination.cancel_open_tasks")
def cancel_open_tasks(work: Work, event: DomainEvent) -> None:
    """A cancelled application's open or claimed task is cancelled with it."""
    if event.subject != "application":
        return
    for task in work.uow.approval_tasks.list_for_application(event.subject_id):
        if task.state in (ApprovalTaskState.OPEN, ApprovalTaskState.CLAIMED):
            moved = task.apply(
                ApprovalTaskAction.CANCEL, work.actor, at=work.at,
                business_date=work.business_date, reason="the application was cancelled",
            )  # fmt: skip
            work.uow.approval_tasks.update(task)
            work.record(moved)


# --- working a task ------------------------------------------------------------------------


def _refuse_conflict(work: Work, task: ApprovalTask, user_id: str, action: str) -> None:
    application = work.uow.applications.get(task.application_id)
    earlier = work.uow.approval_tasks.list_for_application(task.application_id)
    why = conflict_of_interest(task, user_id, submitted_by=application.created_by, earlier=earlier)
    if why is not None:
        raise ObjectPermissionError("approval_task", action, work.actor.role.value, why)


def _claim(work: Work, task: ApprovalTask) -> None:
    """A claim lasts the configured lease, and only someone independent of the case holds it."""
    _refuse_conflict(work, task, work.actor.user_id, ApprovalTaskAction.CLAIM)
    task.lock_expires_at = work.at + work.ctx.approval_rules.claim_lease


def _has_authority(role: Role, tier: Tier) -> bool:
    """Whether *role* may decide at *tier*."""
    reach = tier_of(role)
    return reach is not None and higher(reach, tier) == reach


def _reassign(work: Work, task: ApprovalTask) -> None:
    """The new assignee is an active reviewer with the tier's authority, independent of the
    case."""
    assignee = task.assignee or ""
    try:
        user = work.uow.users.get(assignee)
    except NotFoundError:
        raise ValidationError.single("assignee", "no such user") from None
    if user.state is not UserState.ACTIVE or not _has_authority(user.role, task.tier):
        raise ValidationError.single(
            "assignee", f"must be an active reviewer with {task.tier} authority"
        )
    _refuse_conflict(work, task, assignee, ApprovalTaskAction.REASSIGN)


def _months(given: Mapping[str, str]) -> int | None:
    value = given.get("term_months")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise ValidationError.single("term_months", "must be a whole number of months")
    return int(value)


def _amount(given: Mapping[str, str], name: str) -> Decimal | None:
    if name not in given:
        return None
    try:
        return to_decimal(given[name], name)
    except AmountError:
        raise ValidationError.single(name, "must be a decimal number") from None


def _condition_request(task: ApprovalTask) -> ImposeConditions:
    """The task's conditions (text, as moves carry them) as the terms they change."""
    given = task.conditions
    return ImposeConditions(
        task.application_id,
        task.reason or "",
        down_payment=_amount(given, "down_payment"),
        term_months=_months(given),
        annual_rate=_amount(given, "annual_rate"),
        residual_value=_amount(given, "residual_value"),
    )


def _conditioned(work: Work, task: ApprovalTask, application: Application) -> Application:
    """The application with the task's conditions imposed, its plan priced again."""
    if task.decision is not Decision.APPROVE_WITH_CONDITIONS:
        return application
    return impose_conditions(work, _condition_request(task))


def _carry_out(work: Work, task: ApprovalTask) -> None:
    """The decision's effect on the application: reject and return at once; an approval
    approves when this tier may, otherwise the case climbs to the next tier. (Its holder
    was found independent of the case when they claimed it.)"""
    application = work.uow.applications.get(task.application_id)
    if task.decision is Decision.REJECT:
        _move(work, application, ApplicationAction.REJECT, task.reason)
        return
    if task.decision is Decision.RETURN:
        _move(work, application, ApplicationAction.RETURN, task.reason)
        return
    application = _conditioned(work, task, application)
    amount = application.terms.amount_financed.amount
    rules = work.ctx.approval_rules
    needed = rules.tier_for(amount)
    required = task.required_tier if needed is None else higher(task.required_tier, needed)
    if higher(task.tier, required) == task.tier and rules.covers(task.tier, amount):
        _move(work, application, ApplicationAction.APPROVE, task.reason)
        return
    if task.next_tier is None:
        raise DomainError(
            f"the amount financed {amount} is above every tier's authority: reject, return "
            "or approve smaller terms"
        )
    _open(work, task.next(actor=_WORKFLOW, at=work.at, required_tier=required))


def _escalate(work: Work, task: ApprovalTask) -> None:
    """The case goes to the next tier, which the application then needs at least."""
    top = task.next_tier
    assert top is not None  # the domain refused an escalation from the top tier
    _open(
        work, task.next(actor=_WORKFLOW, at=work.at, required_tier=higher(task.required_tier, top))
    )


transition_approval_task = transition_command(
    _SUBJECT,
    APPROVAL_TASK_LIFECYCLE,
    lambda uow: uow.approval_tasks,
    before={ApprovalTaskAction.CLAIM: _claim, ApprovalTaskAction.REASSIGN: _reassign},
    after={ApprovalTaskAction.DECIDE: _carry_out, ApprovalTaskAction.ESCALATE: _escalate},
    roles=REVIEWERS,
)
"""Claim, release, decide, escalate, reassign or cancel an approval task (see the module)."""


@attrs.frozen
class TagsChange:
    """Tags to add to a task and tags to take off it."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@attrs.frozen
class TagsRevision:
    """A change of a task's tags at the version the caller last saw (``If-Match``)."""

    id: str
    change: TagsChange
    expected_version: int | None = None


def _tag_errors(tags: Iterable[str], field: str) -> None:
    for index, tag in enumerate(tags):
        if not tag.strip() or len(tag) > 40 or "|" in tag or not tag.isprintable():
            raise ValidationError.single(
                f"{field}[{index}]", "1 to 40 printable characters, without '|'"
            )


@command(
    "retag_approval_task",
    subject=_SUBJECT,
    roles=REVIEWERS,
    reload=lambda uow, task_id: uow.approval_tasks.get(task_id),
)
def retag_approval_task(work: Work, request: TagsRevision) -> ApprovalTask:
    """Tag an approval task.

    Adds and removes tags (``used_vehicle``, ``needs_guarantor``) on an open or claimed task,
    so that queues can be filtered by them; the tags of a decided task stay as they were.
    Reviewers only."""
    _tag_errors(request.change.add, "add")
    _tag_errors(request.change.remove, "remove")
    task = at_version(
        "approval task", request.id, work.uow.approval_tasks.get(request.id),
        request.expected_version,
    )  # fmt: skip
    before = task.tagged(request.change.add, request.change.remove)
    if before == task.tags:
        raise ValidationError.single("add", "the tags would not change")
    work.uow.approval_tasks.update(task)
    work.event(
        "approval_task_tagged",
        "approval_task",
        task.id,
        {"application_id": task.application_id, "tags": ",".join(task.tags),
         "previous_tags": ",".join(before)},
    )  # fmt: skip
    return task


# --- reading -------------------------------------------------------------------------------


list_approval_tasks: Lister[ApprovalTaskQuery, Record] = lister(
    "list_approval_tasks",
    ApprovalTaskQuery,
    lambda uow: uow.approval_tasks,
    back_office_lists("approval_task"),
    """List approval tasks.

    A queue: filter by ``tier``, ``state``, ``tag``, ``partner_id``, ``product_code``,
    ``application_id``, ``assignee``, ``locked_by`` and the day opened
    (``created_from``/``created_to``; the oldest first). A claimed task shows its holder and
    ``lock_expires_at``; after that instant anyone of the tier may claim it. Back-office
    staff only.""",
)


@attrs.frozen
class TaskView:
    """Everything a reviewer decides on, side by side."""

    task: ApprovalTask
    application: Application
    pre_approval: PreApproval | None
    """The assessment of the latest submission: facts (bureau, anti-fraud, face photo and
    statement findings), outcome and every reason."""
    history: tuple[ApprovalTask, ...]
    """The case's other tasks, earlier tiers and earlier submissions, oldest first."""

    @property
    def version(self) -> int:
        """The task's: a move on the task names it in ``If-Match``."""
        return self.task.version


def get_task_view(ctx: ServiceContext, actor: Actor, task_id: str, /) -> TaskView:
    """Get an approval task with its case.

    The task, the application with its terms and plan, the latest pre-approval assessment
    (bureau score and delinquencies, anti-fraud hits, face-photo and statement findings, rule
    results with their reasons, the parties that did not answer) and the case's other tasks.
    Back-office staff only; id numbers are never part of it."""
    back_office_only(actor, "approval_task")
    with ctx.uow_factory() as uow:
        task = uow.approval_tasks.get(task_id)
        application = uow.applications.get(task.application_id)
        assessment = uow.pre_approvals.latest_for(application.id)
        others = [
            t for t in uow.approval_tasks.list_for_application(application.id) if t.id != task.id
        ]
    return TaskView(task, application, assessment, tuple(others))


@attrs.frozen
class Reviewer:
    """Someone a task can be handed to, as a manager picks them."""

    id: str
    display_name: str
    role: str


_REVIEWERS_SHOWN: Final = 200


def reviewers_for(ctx: ServiceContext, actor: Actor, task_id: str, /) -> list[Reviewer]:
    """The active reviewers with the authority of the task's tier, but the caller: whom a
    reassignment may name (the reassignment checks again). For senior reviewers only, who
    may reassign; listing users is otherwise an administrator's."""
    if actor.role not in SENIOR_REVIEWERS:
        raise PermissionDeniedError(_SUBJECT, "list the reviewers of", actor.role.value)
    with ctx.uow_factory() as uow:
        task = uow.approval_tasks.get(task_id)
        found = [
            record
            for role in sorted(REVIEWERS)
            if _has_authority(role, task.tier)
            for record in uow.users.page(
                UserQuery(role=role, state=UserState.ACTIVE), limit=_REVIEWERS_SHOWN
            ).items
        ]
    return sorted(
        (
            Reviewer(r["id"], r["display_name"], r["role"])
            for r in found
            if r["id"] != actor.user_id
        ),
        key=lambda reviewer: (reviewer.role, reviewer.display_name),
    )


AGE_BANDS: Final = (timedelta(days=1), timedelta(days=3), timedelta(days=7))
"""The ages that part a queue's ageing: under a day, 1 to 3 days, 3 to 7, over 7."""


def queue_ageing(ctx: ServiceContext, actor: Actor, query: ApprovalTaskQuery, /) -> list[int]:
    """How long the queue's cases have waited.

    The open and claimed tasks *query* matches (the whole queue, not a page), counted by
    age: one count per span :data:`AGE_BANDS` cut, youngest first. Back-office staff
    only."""
    back_office_only(actor, "approval_task")
    now = ctx.clock.now()
    with ctx.uow_factory() as uow:
        return uow.approval_tasks.count_by_age(query, [now - age for age in AGE_BANDS])
