"""*My queue*: the approval tasks a reviewer works on, the ones they hold first (with the
time left on their claim), then the queue, filtered by tier, state, tag, product, partner
and the day opened, oldest first and paged."""

from __future__ import annotations

import attrs
from aiohttp import web

from leasekit.domain.approvals import ApprovalTaskState, Tier
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.forms import next_page_url, read_filters
from leasekit.server.workbench.handlers import page_handler
from leasekit.server.workbench.render import render
from leasekit.services import approvals
from leasekit.services.storage import ApprovalTaskQuery

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/workbench/queue")
@page_handler
async def queue(request: web.Request) -> web.StreamResponse:
    who = actor(request)
    query, given = read_filters(request, ApprovalTaskQuery)
    if not given:
        query = attrs.evolve(query, state=ApprovalTaskState.OPEN)
    held = ApprovalTaskQuery(state=ApprovalTaskState.CLAIMED, locked_by=who.user_id)
    ctx, after = services(request), request.query.get("after")
    page = await run_sync(request, approvals.list_approval_tasks, ctx, who, query, after=after)
    mine = await run_sync(request, approvals.list_approval_tasks, ctx, who, held)
    context = {
        "tasks": page.items,
        "next_url": next_page_url(request, page),
        "held": mine.items,
        "filters": given or {"state": ApprovalTaskState.OPEN.value},
        "tiers": [tier.value for tier in Tier],
        "states": [state.value for state in ApprovalTaskState],
    }
    return render(request, "queue.html", context)
