"""``/pre-approvals``: the automatic assessments of submitted applications, with the facts the
rules read and every reason. Back-office staff only."""

from __future__ import annotations

from leasekit.domain.pre_approvals import PreApproval
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import list_route
from leasekit.services import pre_approval
from leasekit.services.pre_approval import PreApprovalQuery

__all__ = ["api"]

api = ApiRoutes("pre-approvals", "Automatic assessments of submitted applications.")

list_route(api, "/pre-approvals", pre_approval.list_pre_approvals, query=PreApprovalQuery,
           item=PreApproval)  # fmt: skip
