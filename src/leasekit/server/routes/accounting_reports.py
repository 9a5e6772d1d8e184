"""``/accounting/trial-balance``, ``/accounting/ledger/{account}`` and
``/contracts/{id}/sub-ledger``: the accounting reports, for finance.

Each answers JSON, or CSV to a client that asks (``?format=csv`` or ``Accept: text/csv``)
as a file to save; an account's ledger is paged in JSON and streamed whole in CSV. Amounts
are exact decimal strings, balances debits less credits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum
from typing import Final

import attrs
from aiohttp import hdrs, web

from leasekit.money import Currency
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID
from leasekit.server.routes.helpers import (
    PAGING,
    actor,
    json_response,
    read_paging,
    read_query,
    run_sync,
    send_download,
    services,
)
from leasekit.services import accounting_reports as reports
from leasekit.services.accounting_reports import (
    AccountLedger,
    Cells,
    ContractSubLedger,
    Period,
    TrialBalance,
)

__all__ = ["LedgerQuery", "ReportFormat", "ReportQuery", "TrialBalanceQuery", "api"]

api = ApiRoutes("accounting reports", "The trial balance, general ledger and sub-ledgers.")

CSV: Final = "text/csv"
_ACCOUNT: Final = "{account:[0-9A-Za-z_.-]{1,64}}"
"""An account code in a path: anything else is a plain 404."""


class ReportFormat(StrEnum):
    """What a report is sent as."""

    JSON = "json"
    CSV = "csv"


class AllAccounts(StrEnum):
    """``true`` to list every account of the chart, quiet ones too."""

    TRUE = "true"
    FALSE = "false"


@attrs.frozen
class ReportQuery:
    """How a report is sent: JSON unless ``csv`` is asked for (or ``Accept: text/csv``)."""

    format: ReportFormat | None = None


@attrs.frozen
class LedgerQuery:
    """A period of business dates, both included, in one currency's ledger (the company's
    currency unless given)."""

    from_: date
    to: date
    currency: Currency | None = None
    format: ReportFormat | None = None


@attrs.frozen
class TrialBalanceQuery(LedgerQuery):
    """``all=true`` also lists the accounts that neither moved nor hold a balance."""

    all: AllAccounts | None = None


def _wants_csv(request: web.Request, asked: ReportFormat | None) -> bool:
    if asked is not None:
        return asked is ReportFormat.CSV
    return CSV in request.headers.get(hdrs.ACCEPT, "")


def _period(query: LedgerQuery) -> Period:
    return Period(query.from_, query.to)


def _code(query: LedgerQuery) -> str | None:
    return None if query.currency is None else query.currency.code


async def _send_csv(
    request: web.Request, rows: Iterable[Cells], filename: str
) -> web.StreamResponse:
    chunks: Iterator[bytes] = reports.csv_chunks(rows)
    return await send_download(
        request, chunks, content_type=f"{CSV}; charset=utf-8", filename=filename
    )


def _span(query: LedgerQuery) -> str:
    return f"{query.from_.isoformat()}_{query.to.isoformat()}"


@api.get(
    "/accounting/trial-balance",
    summary="Trial balance of a period",
    query=TrialBalanceQuery,
    responses={
        200: Reply("Each account's opening balance, debits, credits and closing balance, "
                   "with the totals.", TrialBalance, alternatives={CSV: bytes}),
    },
)  # fmt: skip
async def trial_balance(request: web.Request) -> web.StreamResponse:
    """Per account of the chart (code, name, kind): the balance before ``from``, the debits
    and credits from ``from`` to ``to``, and the balance after; and the totals. ``balanced``
    says whether the debits equal the credits and the balances come to zero. Accounts that
    neither moved nor hold a balance are left out unless ``all=true``. Finance."""
    query = read_query(request, TrialBalanceQuery)
    report = await run_sync(
        request, reports.trial_balance, services(request), actor(request), _period(query),
        _code(query), every_account=query.all is AllAccounts.TRUE,
    )  # fmt: skip
    if _wants_csv(request, query.format):
        rows = reports.trial_balance_csv_rows(report)
        return await _send_csv(request, rows, f"trial-balance_{report.currency}_{_span(query)}.csv")
    return json_response(request, report)


@api.get(
    f"/accounting/ledger/{_ACCOUNT}",
    summary="General-ledger detail of an account",
    query=LedgerQuery,
    paged=True,
    responses={
        200: Reply("A page of the account's lines with the running balance, between the "
                   "balances before and after the period.", AccountLedger,
                   alternatives={CSV: bytes}),
    },
)  # fmt: skip
async def account_ledger(request: web.Request) -> web.StreamResponse:
    """Every line of the account from ``from`` to ``to`` in ledger order (business date,
    then as posted): date, voucher, event type, description, memo, side, amount, contract
    and the running balance; with the balance before and after the period. JSON is paged
    (``next_after`` is the cursor of the next page, also in the ``Link`` header); CSV is
    the whole period, streamed, between an ``opening`` and a ``closing`` row. An account not
    in the chart is a 422. Finance."""
    query = read_query(request, LedgerQuery, besides=PAGING)
    after, limit = read_paging(request)
    account = request.match_info["account"]
    ctx, who = services(request), actor(request)
    if _wants_csv(request, query.format):
        rows = await run_sync(
            request, reports.ledger_csv_rows, ctx, who, account, _period(query), _code(query)
        )
        return await _send_csv(request, rows, f"ledger_{account}_{_span(query)}.csv")
    ledger = await run_sync(
        request, reports.account_ledger, ctx, who, account, _period(query), _code(query),
        after=after, limit=limit,
    )  # fmt: skip
    response = json_response(request, ledger)
    if ledger.next_after is not None:
        link = request.rel_url.update_query(after=ledger.next_after)
        response.headers[hdrs.LINK] = f'<{link}>; rel="next"'
    return response


@api.get(
    f"/contracts/{ID}/sub-ledger",
    summary="A contract's sub-ledger",
    query=ReportQuery,
    responses={
        200: Reply("The contract's lines by account, and whether its receivable account "
                   "equals what it still owes.", ContractSubLedger, alternatives={CSV: bytes}),
    },
)  # fmt: skip
async def contract_sub_ledger(request: web.Request) -> web.StreamResponse:
    """Every voucher line carrying the contract's dimension, by account, with balances; the
    receivable account its business type books to, the parts of the schedule it holds, its
    balance, what the schedule still owes of those parts, and whether they match (with the
    difference, the account's balance less what is owed). Finance; 404 for an unknown
    contract."""
    query = read_query(request, ReportQuery)
    report = await run_sync(
        request, reports.contract_sub_ledger, services(request), actor(request),
        request.match_info["id"],
    )  # fmt: skip
    if _wants_csv(request, query.format):
        rows = reports.sub_ledger_csv_rows(report)
        return await _send_csv(request, rows, f"sub-ledger_{report.contract_number}.csv")
    return json_response(request, report)
