"""``/vouchers``, ``/accounting``: the vouchers business events produced, the events no
template could book, the books' closing, and the ledger's agreement with leasekit, for finance.

Every event that moves money (a disbursement, payments received, allocated and reversed,
credit applied, a returned debit's fee) is booked after its command commits by the voucher
templates in force. A voucher shows the event type and template that booked it and each
line's dimensions. An event that could not be booked waits in the unmapped queue with the
reason; once the cause is fixed, replaying it books it with the templates then in force.
A voucher is corrected by its reversal; months are closed in order, and the ledger adapter
receives every voucher exactly once, each voucher showing where it stands with it.
"""

from __future__ import annotations

import attrs
from aiohttp import web

from leasekit.domain.accounting_periods import Books
from leasekit.domain.bookings import UnmappedEvent
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    read_query,
    run_sync,
    services,
)
from leasekit.services import accounting, ledger_sync
from leasekit.services.accounting import Correction, ReverseVoucher
from leasekit.services.ledger_sync import LedgerReconciliation
from leasekit.services.storage import UnmappedQuery, VoucherQuery, VoucherSummary, VoucherView

__all__ = ["api"]

api = ApiRoutes("accounting", "Vouchers generated from business events, and the unmapped queue.")

list_route(api, "/vouchers", accounting.list_vouchers, query=VoucherQuery, item=VoucherSummary)
get_route(api, f"/vouchers/{ID}", accounting.get_voucher, reply=VoucherView)
list_route(
    api, "/accounting/unmapped", accounting.list_unmapped, query=UnmappedQuery, item=UnmappedEvent
)


@api.post(
    f"/accounting/unmapped/{ID}/replay",
    retryable=True,
    summary="Book an unmapped event again",
    responses={200: Reply("The event, resolved, naming its voucher.", UnmappedEvent)},
)
async def replay_unmapped(request: web.Request) -> web.Response:
    """Books the event with the voucher templates now in force. Booked, it is resolved and
    names its voucher; one that still cannot be booked is a 409 with the reason and stays
    in the queue, as is one resolved already. Finance."""
    unmapped = await run_sync(
        request, accounting.replay_unmapped, services(request), actor(request),
        request.match_info["id"], idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, unmapped)


@api.post(
    f"/vouchers/{ID}/reversal",
    retryable=True,
    body=Correction,
    summary="Correct a voucher by reversing it",
    responses={201: Reply("The reversing voucher; ``Location`` names it.", VoucherView)},
)
async def reverse_voucher(request: web.Request) -> web.Response:
    """Vouchers are never changed: the reversal mirrors every line, links back to the
    original and is dated today; one of a closed month also names that month. A voucher is
    reversed once (409 the second time). Finance."""
    who = actor(request)
    accounting.reverse_voucher.authorize(who)
    body = await read_json(request, Correction)
    reversal = await run_sync(
        request, accounting.reverse_voucher, services(request), who,
        ReverseVoucher(request.match_info["id"], body), idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, reversal, status=201, location=f"/vouchers/{reversal.id}")


@api.get(
    "/accounting/books",
    summary="How far the books are closed",
    responses={200: Reply("The last closed month, who closed it and when.", Books)},
)
async def get_books(request: web.Request) -> web.Response:
    """Every month up to ``closed_through`` refuses postings; later events of those months
    are booked on the first open day, naming the month they correct. Finance."""
    books = await run_sync(request, accounting.get_books, services(request), actor(request))
    return json_response(request, books)


@attrs.frozen
class CloseBooks:
    """The month to close the books through."""

    period: str = attrs.field(metadata={"description": "The month, as YYYY-MM."})


@api.post(
    "/accounting/books/close",
    retryable=True,
    body=CloseBooks,
    summary="Close the books through a month",
    responses={200: Reply("The books, closed through the month.", Books)},
)
async def close_books(request: web.Request) -> web.Response:
    """Only a month that has ended, after the last one closed, with nothing of it left in
    the unmapped queue. Finance director."""
    who = actor(request)
    accounting.close_books.authorize(who)
    body = await read_json(request, CloseBooks)
    books = await run_sync(
        request, accounting.close_books, services(request), who, body.period,
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, books)


@attrs.frozen
class ReconciliationQuery:
    currency: str | None = attrs.field(
        default=None, metadata={"description": "The ledger's currency; the company's if absent."}
    )


@api.get(
    "/accounting/ledger-reconciliation",
    query=ReconciliationQuery,
    summary="Compare the ledger with leasekit",
    responses={200: Reply("Both balances of every account, and every difference.",
                          LedgerReconciliation)},
)  # fmt: skip
async def reconcile_ledger(request: web.Request) -> web.Response:
    """Balances per account and per contract of the vouchers synchronised, against the
    ledger adapter's; every account total and contract balance that differs is named with
    both figures. Vouchers not synchronised yet are counted, not compared. Finance."""
    query = read_query(request, ReconciliationQuery)
    report = await run_sync(
        request, ledger_sync.reconcile_ledger, services(request), actor(request), query.currency
    )
    return json_response(request, report)
