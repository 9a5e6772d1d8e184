"""*An approval task*: everything a reviewer decides on, side by side (the application and
its plan, the documents, the bureau report, anti-fraud, face-photo and statement findings,
the rules' reasons, the case's earlier tiers), and the forms of the moves on it.

Every form carries the task's version as the page showed it: a page gone stale is refused
with the API's 412 and changes nothing. Which moves are offered comes from the task's
lifecycle for the person's role; whether one may be made now is the service's to say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs
from aiohttp import web

from leasekit.domain.applications import Application
from leasekit.domain.approvals import (
    APPROVAL_TASK_LIFECYCLE,
    CONDITIONS,
    ApprovalTaskAction,
    Decision,
)
from leasekit.domain.customers import Customer
from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.validation import text_fault
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import NotFoundError, ValidationError
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.forms import Form, done, form_text, form_version
from leasekit.server.workbench.handlers import form_handler, page_handler
from leasekit.server.workbench.render import NOTICES, render
from leasekit.services import applications, approvals, customers, documents, partners, vehicles
from leasekit.services.applications import ApplicationPlan
from leasekit.services.approvals import TagsChange, TagsRevision, TaskView
from leasekit.services.context import MAX_PAGE_SIZE, ServiceContext
from leasekit.services.storage import Record

__all__ = ["routes"]

routes = web.RouteTableDef()

NOTICES.update(
    {
        "claimed": "Task claimed.",
        "released": "Task released.",
        "tagged": "Tags changed.",
        "decided": "Decision recorded.",
        "escalated": "Task escalated to the next tier.",
        "reassigned": "Task reassigned.",
    }
)

_OFFERED: Final = (
    ApprovalTaskAction.CLAIM,
    ApprovalTaskAction.RELEASE,
    ApprovalTaskAction.DECIDE,
    ApprovalTaskAction.ESCALATE,
    ApprovalTaskAction.REASSIGN,
)
"""The moves the page has a form for (cancelling is the workflow's)."""
_NOTICE_OF: Final = {
    ApprovalTaskAction.CLAIM: "claimed",
    ApprovalTaskAction.RELEASE: "released",
    ApprovalTaskAction.DECIDE: "decided",
    ApprovalTaskAction.ESCALATE: "escalated",
    ApprovalTaskAction.REASSIGN: "reassigned",
}
_FACT_GROUPS: Final = {
    "bureau": ("credit_score", "bureau_"),
    "fraud": ("blacklist_hits", "fraud_risk", "same_"),
    "face": ("face_",),
    "statement": ("statement_", "income_to_installment"),
}
"""The pre-approval's facts by the section of the page that shows them (by name prefix);
the others are shown together."""
_MAX_TAG: Final = 200
_MAX_PARAM: Final = 64


@attrs.frozen
class _Case:
    """What the task's view names by id, read for the page."""

    customer: Customer
    vehicle: Vehicle
    partner_name: str
    plan: ApplicationPlan | None
    documents: list[Record]
    id_card: Record | None
    face_photo: Record | None


def _owned(ctx: ServiceContext, who: Actor, kind: OwnerKind, owner_id: str) -> list[Record]:
    return documents.list_documents(ctx, who, kind, owner_id, limit=MAX_PAGE_SIZE).items


def _newest(records: Iterable[Record], kind: DocumentKind) -> Record | None:
    """The newest document of *kind* (records come oldest first)."""
    return next((r for r in reversed(list(records)) if r["kind"] == kind), None)


def _plan(ctx: ServiceContext, who: Actor, application_id: str) -> ApplicationPlan | None:
    try:
        return applications.get_application_plan(ctx, who, application_id)
    except NotFoundError:
        return None  # an application priced without a product has no plan


def _read_case(ctx: ServiceContext, who: Actor, application: Application) -> _Case:
    """The customer, vehicle, partner, plan and documents behind the application; the ID
    card is the application's newest, else the customer's, as the face check takes it."""
    own = _owned(ctx, who, OwnerKind.APPLICATION, application.id)
    theirs = _owned(ctx, who, OwnerKind.CUSTOMER, application.customer_id)
    return _Case(
        customer=customers.get_customer(ctx, who, application.customer_id),
        vehicle=vehicles.get_vehicle(ctx, who, application.vehicle_id),
        partner_name=partners.get_partner(ctx, who, application.partner_id).name,
        plan=_plan(ctx, who, application.id),
        documents=own + theirs,
        id_card=_newest(own, DocumentKind.ID_CARD_FRONT)
        or _newest(theirs, DocumentKind.ID_CARD_FRONT),
        face_photo=_newest(own, DocumentKind.FACE_PHOTO),
    )


def _fact_groups(facts: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """The facts in the page's sections, each sorted by name."""
    groups: dict[str, list[tuple[str, Any]]] = {name: [] for name in [*_FACT_GROUPS, "other"]}
    for name, value in sorted(facts.items()):
        group = next(
            (g for g, prefixes in _FACT_GROUPS.items() if name.startswith(prefixes)), "other"
        )
        groups[group].append((name, value))
    return groups


def _bureau_report(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The bureau's report as kept, its moment read back as one (to show it as a date)."""
    if report is None:
        return None
    fetched = report.get("fetched_at")
    if not isinstance(fetched, str):
        return dict(report)
    try:
        return {**report, "fetched_at": datetime.fromisoformat(fetched)}
    except ValueError:
        return dict(report)


def _moves(view: TaskView, who: Actor) -> list[str]:
    """The moves the lifecycle has from the task's state for the person's role."""
    possible = APPROVAL_TASK_LIFECYCLE.actions_from(view.task.state, who.role)
    return [str(action) for action in _OFFERED if action in possible]


@routes.get("/workbench/tasks/{id}")
@page_handler
async def task_page(request: web.Request) -> web.StreamResponse:
    who, ctx = actor(request), services(request)
    view = await run_sync(request, approvals.get_task_view, ctx, who, request.match_info["id"])
    case = await run_sync(request, _read_case, ctx, who, view.application)
    assessment = view.pre_approval
    moves = _moves(view, who)
    reviewers = []
    if "reassign" in moves:
        reviewers = await run_sync(request, approvals.reviewers_for, ctx, who, view.task.id)
    context = {
        "view": view,
        "task": view.task,
        "application": view.application,
        "assessment": assessment,
        "case": case,
        "facts": _fact_groups(assessment.facts if assessment is not None else {}),
        "bureau": _bureau_report(assessment.bureau_report if assessment is not None else None),
        "moves": moves,
        "reviewers": reviewers,
        "taggable": view.task.state not in APPROVAL_TASK_LIFECYCLE.final,
        "me": who.user_id,
        "decisions": [decision.value for decision in Decision],
        "conditions": CONDITIONS,
    }
    return render(request, "task.html", context)


def _text(form: Form, name: str, limit: int, *, multiline: bool = False) -> str | None:
    """A text field as the API's payloads take it (None when blank): overlong or unfit text
    (control characters, a lone surrogate) is refused, not cut or stored."""
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > limit:
        raise ValidationError.single(name, f"at most {limit} characters")
    fault = text_fault(value, multiline=multiline)
    if fault is not None:
        raise ValidationError.single(name, fault)
    return value.strip()


def _params(form: Form, action: str) -> dict[str, str]:
    """The move's parameters from the form: the decision and its conditions, or the
    assignee; blank fields are left out, as the API leaves out absent ones."""
    names: tuple[str, ...] = ()
    if action == ApprovalTaskAction.DECIDE:
        names = ("decision", *CONDITIONS)
    elif action == ApprovalTaskAction.REASSIGN:
        names = ("assignee",)
    given = {name: _text(form, name, _MAX_PARAM) for name in names}
    return {name: value for name, value in given.items() if value is not None}


@routes.post("/workbench/tasks/{id}/moves")
@form_handler
async def move_task(request: web.Request) -> web.StreamResponse:
    """Claim, release, decide, escalate or reassign, as the API's transition does."""
    form = await request.post()
    action = form_text(form, "action", 40)
    if action not in _NOTICE_OF:
        raise ValidationError.single("action", f"one of {', '.join(_NOTICE_OF)}")
    version = form_version(form)
    reason = _text(form, "reason", MAX_REASON, multiline=True)
    params = _params(form, action)
    await run_sync(
        request, approvals.transition_approval_task, services(request), actor(request),
        request.match_info["id"], action, reason, expected_version=version, **params,
    )  # fmt: skip
    raise done(form, _NOTICE_OF[ApprovalTaskAction(action)])


@routes.post("/workbench/tasks/{id}/tags")
@form_handler
async def retag_task(request: web.Request) -> web.StreamResponse:
    """Add a tag or take one off, as the API's ``PUT /approval-tasks/{id}/tags`` does."""
    form = await request.post()
    version = form_version(form)
    add, remove = _text(form, "add", _MAX_TAG), _text(form, "remove", _MAX_TAG)
    change = TagsChange(add=(add,) if add else (), remove=(remove,) if remove else ())
    revision = TagsRevision(request.match_info["id"], change, version)
    await run_sync(
        request, approvals.retag_approval_task, services(request), actor(request), revision
    )
    raise done(form, "tagged")
