"""*Payouts*: the disbursement queue of signed contracts, each with what its checks found;
finance reviewers claim, release, report fraud or approve many at once, and statuses change
on screen as the payout stream reports them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import attrs
from aiohttp import web

from leasekit.domain.disbursements import (
    DISBURSEMENT_LIFECYCLE,
    DisbursementAction,
    DisbursementState,
)
from leasekit.domain.identity import Actor
from leasekit.domain.partner_profiles import mask_number
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.money import Money
from leasekit.server.routes.disbursements import payout_events
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.forms import (
    done,
    form_text,
    form_texts,
    form_version,
    next_page_url,
    read_filters,
)
from leasekit.server.workbench.handlers import form_handler, page_handler
from leasekit.server.workbench.render import NOTICES, render
from leasekit.server.workbench.session import safe_next
from leasekit.services import disbursements
from leasekit.services.disbursements import MAX_BATCH, BatchApproval, DisbursementQuery
from leasekit.services.storage import Record

__all__ = ["routes"]

routes = web.RouteTableDef()

NOTICES.update(
    {
        "payout_claim": "Payout claimed.",
        "payout_release": "Payout released.",
        "payout_report_fraud": "Fraud reported; the payout is refused.",
        "payout_reject": "Payout rejected.",
        "payout_tracked": "The bank was asked where the payout stands.",
    }
)

_ITEM_MOVES: Final = (
    DisbursementAction.CLAIM,
    DisbursementAction.RELEASE,
    DisbursementAction.REJECT,
    DisbursementAction.REPORT_FRAUD,
)
"""The moves a reviewer makes on one payout from its row; approval goes through the batch."""
_TRACKED: Final = frozenset({DisbursementState.APPROVED, DisbursementState.SENT})
"""Payouts out at the bank, which a reviewer may ask the bank about."""


@attrs.frozen
class PayoutRow:
    """One payout as the table shows it: the payee's account masked as the API masks it,
    the checks that failed, and the moves the reader's role may make from its state."""

    id: str
    contract_id: str
    contract_number: str
    payee_name: str | None
    payee_account: str | None
    amount: Money
    state: str
    version: int
    checks: tuple[dict[str, Any], ...]
    failures: tuple[dict[str, Any], ...]
    checked_at: datetime
    """When the checks ran: on queueing, and again at each claim and approval."""
    moves: tuple[str, ...]
    trackable: bool
    locked_by: str | None


def _row(record: Record, who: Actor, may_track: bool) -> PayoutRow:
    payee = record["payee"] or {}
    checks = tuple(record["checks"])
    state = str(record["state"])
    allowed = DISBURSEMENT_LIFECYCLE.actions_from(state, who.role)
    return PayoutRow(
        id=record["id"],
        contract_id=record["contract_id"],
        contract_number=record["contract_number"],
        payee_name=payee.get("name"),
        payee_account=mask_number(payee["account"]) if payee.get("account") else None,
        amount=Money(record["amount"]["amount"], record["amount"]["currency"]),
        state=state,
        version=int(record["version"]),
        checks=checks,
        failures=tuple(check for check in checks if not check["passed"]),
        checked_at=record["checked_at"],
        moves=tuple(move for move in _ITEM_MOVES if move in allowed),
        trackable=may_track and state in _TRACKED,
        locked_by=record["locked_by"],
    )


def _may_approve(who: Actor) -> bool:
    """Whether the reader's role approves payouts at all, from any state."""
    return any(
        DisbursementAction.APPROVE in DISBURSEMENT_LIFECYCLE.actions_from(state, who.role)
        for state in DISBURSEMENT_LIFECYCLE.states
    )


def _may_track(who: Actor) -> bool:
    """Whether the reader may ask the bank about payouts (the service's own check)."""
    try:
        disbursements.transition_disbursement.authorize(who)
    except PermissionDeniedError:
        return False
    return True


@routes.get("/workbench/payouts")
@page_handler
async def payouts(request: web.Request) -> web.StreamResponse:
    """Every payout the reader may see, oldest first, filtered by state or contract, paged
    (``?state=queued`` is the queue)."""
    who = actor(request)
    query, given = read_filters(request, DisbursementQuery)
    page = await run_sync(
        request, disbursements.list_disbursements, services(request), who, query,
        after=request.query.get("after"),
    )  # fmt: skip
    may_track = _may_track(who)
    context = {
        "items": [_row(record, who, may_track) for record in page.items],
        "next_url": next_page_url(request, page),
        "filters": given,
        "states": [state.value for state in DisbursementState],
        "may_approve": _may_approve(who),
        "max_batch": MAX_BATCH,
    }
    return render(request, "payouts.html", context)


@routes.post("/workbench/payout-approvals")
@form_handler
async def approve_batch(request: web.Request) -> web.StreamResponse:
    """Approve the ticked payouts, each on its own, and show each outcome: approved, or
    refused with the service's reason. The page is the answer (a reload asks again, and the
    service refuses what is approved already)."""
    who = actor(request)
    disbursements.transition_disbursement.authorize(who)
    form = await request.post()
    ids = tuple(dict.fromkeys(form_texts(form, "ids", 64)))
    if not ids:
        raise ValidationError.single("ids", "tick at least one payout")
    outcome = await run_sync(
        request, disbursements.approve_disbursements, services(request), who, BatchApproval(ids)
    )
    numbers = await run_sync(
        request, disbursements.batch_contract_numbers, services(request), who, ids
    )
    context = {"outcome": outcome, "numbers": numbers, "back": safe_next(form_text(form, "back"))}
    return render(request, "payout_batch.html", context)


@routes.post("/workbench/payouts/{id}/moves")
@form_handler
async def move_payout(request: web.Request) -> web.StreamResponse:
    """Claim, release, reject or report fraud on one payout, at the version the page
    showed (a payout changed since is refused with 412)."""
    form = await request.post()
    action = DISBURSEMENT_LIFECYCLE.parse_action(form_text(form, "action", 64))
    if action not in _ITEM_MOVES:
        raise ValidationError.single("action", "approve payouts with the batch form")
    reason = form_text(form, "reason", 1000) or None
    await run_sync(
        request, disbursements.transition_disbursement, services(request), actor(request),
        request.match_info["id"], action, reason, expected_version=form_version(form),
    )  # fmt: skip
    raise done(form, f"payout_{action}")


@routes.post("/workbench/payouts/{id}/bank-checks")
@form_handler
async def track_payout(request: web.Request) -> web.StreamResponse:
    """Ask the bank where a payout that is out stands (as the API's payout checks)."""
    form = await request.post()
    await run_sync(
        request, disbursements.track_payout, services(request), actor(request),
        request.match_info["id"],
    )  # fmt: skip
    raise done(form, "payout_tracked")


@routes.get("/workbench/payout-events")
@page_handler
async def payout_stream(request: web.Request) -> web.StreamResponse:
    """The API's payout stream for the signed-in person (a dealer follows its own
    partner's payouts), which the payouts page listens to."""
    return await payout_events(request)
