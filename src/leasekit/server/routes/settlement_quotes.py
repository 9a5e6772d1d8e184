"""``/settlement-quotes``: what paying a contract off early costs until a date, and the money
that pays it off.

``POST /contracts/{id}/settlement-quotes`` quotes an active contract (``early_settlement`` or
``buy_back``); ``POST /settlement-quotes/{id}/payments`` records money received for it (at
least the total settles the contract); ``POST /settlement-quotes/{id}/transitions`` cancels
or expires it. Statement and settlement-file imports match a quote by its number too.
"""

from __future__ import annotations

import attrs
from aiohttp import web

from leasekit.domain.contracts import Payment
from leasekit.domain.settlement_quotes import QuoteKind, SettlementQuote
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route, transition_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import settlement_quotes
from leasekit.services.settlement_quotes import PayQuote, QuotePayment, RequestQuote

__all__ = ["api"]

api = ApiRoutes("settlement-quotes", "Early settlement and buy-back quotes, and their payoff.")


@attrs.frozen
class QuoteRequest:
    """Who pays the contract off."""

    kind: QuoteKind = attrs.field(
        default=QuoteKind.EARLY_SETTLEMENT,
        metadata={"description": "`early_settlement` (the customer pays the contract off) "
                  "or `buy_back` (the dealer repurchases it)."},
    )  # fmt: skip


@api.post(
    f"/contracts/{ID}/settlement-quotes",
    retryable=True,
    summary="Quote paying a contract off",
    body=QuoteRequest,
    responses={201: Reply("The quote; ``Location`` names it.", SettlementQuote)},
)
async def create_settlement_quote(request: web.Request) -> web.Response:
    """The calculator's figures on the business date: overdue, outstanding principal,
    accrued interest, fee and total, payable until ``valid_until``. One open quote per
    contract (422 on ``contract_id`` otherwise). An active contract only."""
    who = actor(request)
    settlement_quotes.create_settlement_quote.authorize(who)
    body = await read_json(request, QuoteRequest)
    made = await run_sync(
        request, settlement_quotes.create_settlement_quote, services(request), who,
        RequestQuote(request.match_info["id"], body.kind),
        idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, made, status=201, location=f"/settlement-quotes/{made.id}")


list_route(
    api,
    f"/contracts/{ID}/settlement-quotes",
    settlement_quotes.list_contract_settlement_quotes,
    item=SettlementQuote,
    path_args=lambda request: (request.match_info["id"],),
)
get_route(
    api, f"/settlement-quotes/{ID}", settlement_quotes.get_settlement_quote, reply=SettlementQuote
)
transition_route(
    api,
    f"/settlement-quotes/{ID}/transitions",
    settlement_quotes.transition_settlement_quote,
    reply=SettlementQuote,
)


@api.post(
    f"/settlement-quotes/{ID}/payments",
    retryable=True,
    summary="Record money received for a settlement quote",
    body=QuotePayment,
    responses={201: Reply("The payment; ``Location`` names it.", Payment)},
)
async def pay_settlement_quote(request: web.Request) -> web.Response:
    """At least the total, within the quote's validity, settles the contract and pays the
    quote; less is an ordinary payment. Finance."""
    who = actor(request)
    settlement_quotes.pay_settlement_quote.authorize(who)
    body = await read_json(request, QuotePayment)
    made = await run_sync(
        request, settlement_quotes.pay_settlement_quote, services(request), who,
        PayQuote(request.match_info["id"], body), idempotency_key=idempotency_key(request),
    )  # fmt: skip
    return json_response(request, made, status=201, location=f"/payments/{made.id}")
