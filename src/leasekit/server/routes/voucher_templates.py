"""``/accounting/templates``: the voucher templates that book business events, as data,
saved as numbered versions through the API, for finance.

A template books one event type under some conditions; its lines name an account, a side
and an amount expression over the event's amount fields. A version is checked when it is
saved (it must balance, book to open accounts and leave no event to chance) and books from
the next event on; the defaults that come with leasekit are version 1 of theirs.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import voucher_templates
from leasekit.services.voucher_templates import (
    TemplateData,
    TemplateSummary,
    VersionView,
    VoucherTemplateQuery,
    VoucherTemplateView,
)

__all__ = ["api"]

api = ApiRoutes("voucher_templates", "Voucher templates: how business events are booked.")

list_route(
    api,
    "/accounting/templates",
    voucher_templates.list_voucher_templates,
    query=VoucherTemplateQuery,
    item=TemplateSummary,
)
get_route(
    api,
    f"/accounting/templates/{ID}",
    voucher_templates.get_voucher_template,
    reply=VoucherTemplateView,
)

_SAVE = voucher_templates.save_voucher_template


@api.post(
    "/accounting/templates",
    retryable=True,
    summary="Save a new version of a voucher template",
    body=TemplateData,
    responses={201: Reply("The version saved; ``Location`` names its template.", VersionView)},
)
async def save_voucher_template(request: web.Request) -> web.Response:
    """Checked before it is stored: the next version of its name (left out, the next is
    taken; one taken already is a 409), expressions over the event's amount fields, known
    and open accounts, lines that balance, and no overlap with a template as specific that
    no third settles; a refusal is a 422 naming the field (``lines[1].amount``). In force
    from the next booking on. Finance (``finance`` and ``finance_director``)."""
    who = actor(request)
    _SAVE.authorize(who)
    body: TemplateData = await read_json(request, TemplateData)
    saved = await run_sync(
        request, _SAVE, services(request), who, body, idempotency_key=idempotency_key(request)
    )
    location = f"/accounting/templates/{saved.template.name}"
    return json_response(
        request, voucher_templates.saved_view(saved), status=201, location=location
    )
