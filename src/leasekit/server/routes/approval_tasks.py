"""``/approval-tasks``: the queues of applications waiting for a decision, tiered by
authority, and the moves reviewers make on them (claim, release, decide, escalate, reassign).
Back-office staff only."""

from __future__ import annotations

from leasekit.domain.approvals import ApprovalTask
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, get_route, list_route, revise_route, transition_route
from leasekit.services import approvals
from leasekit.services.approvals import TagsChange, TagsRevision, TaskView
from leasekit.services.storage import ApprovalTaskQuery

__all__ = ["api"]

api = ApiRoutes("approval tasks", "Applications waiting for a decision, tiered by authority.")

list_route(api, "/approval-tasks", approvals.list_approval_tasks, query=ApprovalTaskQuery,
           item=ApprovalTask)  # fmt: skip
get_route(api, f"/approval-tasks/{ID}", approvals.get_task_view, reply=TaskView)
transition_route(
    api, f"/approval-tasks/{ID}/transitions", approvals.transition_approval_task,
    reply=ApprovalTask,
)  # fmt: skip
revise_route(
    api,
    f"/approval-tasks/{ID}/tags",
    approvals.retag_approval_task,
    body=TagsChange,
    reply=ApprovalTask,
    revision=TagsRevision,
    summary="Tag an approval task",
    answer="The task with its new tags.",
    description="""Adds the tags in ``add`` and takes off those in ``remove`` on an open or
    claimed task, at the version ``If-Match`` names (412 if it changed since). Reviewers
    only.""",
)
