"""*My queue*: the approval tasks a reviewer works on, the ones they hold first (with the
time left on their claim), then the queue, filtered by tier, state, tag, product, partner
and the day opened, oldest first and paged, with a chart of how long the whole filtered
queue's cases have waited."""

from __future__ import annotations

import functools
from collections.abc import Iterable

import attrs
from aiohttp import web

from leasekit.domain.approvals import ApprovalTaskState, Tier
from leasekit.domain.identity import Actor
from leasekit.errors import NotFoundError
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.charts import BarChart, bar_chart
from leasekit.server.workbench.forms import next_page_url, read_filters
from leasekit.server.workbench.handlers import page_handler
from leasekit.server.workbench.render import render
from leasekit.services import approvals, partners
from leasekit.services.context import ServiceContext
from leasekit.services.storage import ApprovalTaskQuery

__all__ = ["routes"]

routes = web.RouteTableDef()


def partner_names(ctx: ServiceContext, who: Actor, ids: Iterable[str]) -> dict[str, str]:
    """The names of the partners *ids* name (a page holds few), each read once; an id the
    person may not read stays an id."""
    names = {}
    for partner_id in sorted(set(ids)):
        try:
            names[partner_id] = partners.get_partner(ctx, who, partner_id).name
        except NotFoundError:
            names[partner_id] = partner_id
    return names


def _ageing_chart(counts: list[int], labels: list[str]) -> BarChart:
    """The ageing chart; the template gives the spans' labels in the page's language."""
    bars = [(label, count, str(count)) for label, count in zip(labels, counts, strict=True)]
    return bar_chart("queue-ageing", bars)


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
    ageing = await run_sync(request, approvals.queue_ageing, ctx, who, query)
    ids = [task["partner_id"] for task in [*page.items, *mine.items]]
    names = await run_sync(request, partner_names, ctx, who, ids)
    context = {
        "tasks": page.items,
        "next_url": next_page_url(request, page),
        "held": mine.items,
        "partners": names,
        "ageing_chart": functools.partial(_ageing_chart, ageing),
        "filters": given or {"state": ApprovalTaskState.OPEN.value},
        "tiers": [tier.value for tier in Tier],
        "states": [state.value for state in ApprovalTaskState],
    }
    return render(request, "queue.html", context)
