"""Exception requests: raised, approved level by level and executed once (see
:mod:`leasekit.domain.exception_requests` for the rules).

A requester drafts a request for a contract (:func:`create_exception_request`), edits it
while it is a draft or returned (:func:`edit_exception_request`) and submits it
(:func:`submit_exception_request`): the approval policy's ``exception_chain`` then fixes the
roles that approve it, and the approval window (settings
``approvals.exception_window_hours``) starts. Deciders move it with
:data:`transition_exception_request` (``approve``, ``reject``, ``return``; the requester
``cancel``; anyone concerned ``expire`` once the window has passed: expiry is never implicit,
an approval or execution after the window is refused until someone expires it). The last
approval concludes it (``approved``) in the same transaction, as the system.

Executing it (``execute``, finance or the system) runs the kind's executor from
:data:`EXECUTORS` in the same transaction as the move, and stores each contract's figures
before and after: a reversal reverses the payment through
:func:`leasekit.services.funds.reverse_payment` (and re-applies it to the right contract, for
one booked to the wrong one; the contract's later payments are allocated again, as if it had
never been posted), a waiver takes the fee or penalty off the receivable line
(event ``receivable_waived``), a refund is paid out through the bank
(:mod:`leasekit.services.refunds`). The request's version is compare-and-set, so two deciders
(or two executors) acting at once cannot both win: the later gets a 409 and changes nothing.

:func:`preview_exception_request` runs the execution in a transaction it rolls back and
answers with the figures and the vouchers it would produce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

import attrs

from leasekit.domain.contracts import Contract, PaymentState
from leasekit.domain.events import DomainEvent
from leasekit.domain.exception_requests import (
    EXCEPTION_REQUEST_LIFECYCLE,
    REQUESTERS,
    ExceptionKind,
    ExceptionRequest,
    ExceptionRequestAction,
    Facts,
    Figures,
    Impact,
    Proposal,
    WaivedPart,
)
from leasekit.domain.identity import Actor
from leasekit.domain.vouchers import Voucher
from leasekit.errors import DomainError, NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.ports import ExceptionCase
from leasekit.services.accounting import accounting_of, facts_of
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import (
    ServiceContext,
    back_office_lists,
    back_office_only,
    visible_or_not_found,
)
from leasekit.services.funds import check_reapply, reverse_payment
from leasekit.services.reads import Lister, lister
from leasekit.services.refunds import ensure_no_refund_out, pay_out_refund
from leasekit.services.storage import ExceptionRequestQuery, Page, Record, UnitOfWork
from leasekit.services.templates_in_force import book_with_plugins

__all__ = [
    "EXECUTORS",
    "Preview",
    "RaiseRequest",
    "Revision",
    "Submission",
    "create_exception_request",
    "edit_exception_request",
    "get_exception_request",
    "list_contract_exception_requests",
    "list_exception_requests",
    "list_payment_exception_requests",
    "preview_exception_request",
    "submit_exception_request",
    "transition_exception_request",
]

_SUBJECT: Final = "exception_request"
_T = TypeVar("_T")
_A = ExceptionRequestAction


@attrs.frozen
class RaiseRequest:
    """A new request about a contract."""

    contract_id: str
    proposal: Proposal


@attrs.frozen
class Revision:
    """A draft's or returned request's new content, at the version the requester read."""

    request_id: str
    proposal: Proposal
    expected_version: int | None = None


@attrs.frozen
class Submission:
    request_id: str
    expected_version: int | None = None


def _facts(uow: UnitOfWork, contract: Contract, proposal: Proposal) -> Facts:
    """What *proposal* is checked against; a payment or line of another contract is a fault
    of its field, as a missing one is."""
    cur = contract.principal.currency
    payment = line = None
    if proposal.payment_id is not None:
        payment = _of_contract(uow.payments.get, proposal.payment_id, contract, "payment_id")
    if proposal.receivable_id is not None:
        line = _of_contract(uow.receivables.get, proposal.receivable_id, contract, "receivable_id")
    if proposal.reapply_to_contract_id is not None:
        _paying_target(uow, contract, proposal.reapply_to_contract_id)
    credit = uow.payments.credit_of([contract.id]).get(contract.id, Money.zero(cur))
    return Facts(contract.id, cur, payment, credit, line)


def _of_contract(get: Callable[[str], _T], item_id: str, contract: Contract, field: str) -> _T:
    try:
        found = get(item_id)
    except NotFoundError:
        raise ValidationError.single(field, "no such record") from None
    if getattr(found, "contract_id", None) != contract.id:
        raise ValidationError.single(field, f"is not of contract {contract.number}")
    return found


def _paying_target(uow: UnitOfWork, contract: Contract, target_id: str) -> Contract:
    """The contract a reversal re-applies its money to, checked by the funds' own rule."""
    field = "reapply_to_contract_id"
    try:
        target = uow.contracts.get(target_id)
    except NotFoundError:
        raise ValidationError.single(field, "no such contract") from None
    check_reapply(contract, target, field)
    return target


def _load(work: Work, request_id: str, expected_version: int | None) -> ExceptionRequest:
    request = visible_or_not_found(
        work.actor, work.uow.exception_requests.get(request_id), _SUBJECT, request_id
    )
    return at_version(_SUBJECT, request_id, request, expected_version)


@command(
    "create_exception_request",
    subject=_SUBJECT,
    creates="exception_request",
    reload=lambda uow, request_id: uow.exception_requests.get(request_id),
)
def create_exception_request(work: Work, request: RaiseRequest) -> ExceptionRequest:
    """Draft an exception request for a contract.

    A ``reversal`` of one of its payments (``payment_id``; a payment booked to the wrong
    contract may name ``reapply_to_contract_id``), a ``refund`` of its credit balance to a
    bank account (``account``: IBAN and holder; ``amount`` at most the credit) or a
    ``waiver`` of a line's fee or penalty (``receivable_id``, ``part``; ``amount`` at most
    what is owed). It is a draft until its requester submits it. Officers and finance."""
    contract = visible_or_not_found(
        work.actor, work.uow.contracts.get(request.contract_id), "contract", request.contract_id
    )
    facts = _facts(work.uow, contract, request.proposal)
    made = ExceptionRequest.draft(request.proposal, facts, actor=work.actor, at=work.at)
    work.uow.exception_requests.add(made)
    work.event("exception_request_created", _SUBJECT, made.id, _summary(made))
    return made


def _summary(request: ExceptionRequest) -> dict[str, str | None]:
    return {
        "kind": str(request.kind), "contract_id": request.contract_id,
        "payment_id": request.payment_id, "reason_code": request.reason_code,
        "amount": str(request.amount.amount), "currency": request.amount.currency.code,
    }  # fmt: skip


@command(
    "edit_exception_request",
    subject=_SUBJECT,
    roles=REQUESTERS,
    reload=lambda uow, request_id: uow.exception_requests.get(request_id),
)
def edit_exception_request(work: Work, revision: Revision) -> ExceptionRequest:
    """Replace a draft's or returned request's content.

    The whole content is given again (its kind stays), checked as a new request's is. Its
    requester only."""
    request = _load(work, revision.request_id, revision.expected_version)
    contract = work.uow.contracts.get(request.contract_id)
    event = request.apply(_A.EDIT, work.actor, at=work.at, business_date=work.business_date)
    request.revise(revision.proposal, _facts(work.uow, contract, revision.proposal))
    work.uow.exception_requests.update(request)
    work.record(event)
    return request


def _case(work: Work, request: ExceptionRequest) -> ExceptionCase:
    contract = work.uow.contracts.get(request.contract_id)
    return ExceptionCase(
        request.id, str(request.kind), request.reason_code, request.amount,
        str(contract.business_type),
    )  # fmt: skip


@command(
    "submit_exception_request",
    subject=_SUBJECT,
    roles=REQUESTERS,
    reload=lambda uow, request_id: uow.exception_requests.get(request_id),
)
def submit_exception_request(work: Work, submission: Submission) -> ExceptionRequest:
    """Submit a draft or returned request for approval.

    The approval policy names the roles that approve it, level by level (by default the
    post-loan supervisor, then the finance director; the standard policy adds the risk
    director above ``exception_director_above``); approvals start over and must be done,
    and the request executed, within ``approvals.exception_window_hours``. Its requester
    only."""
    request = _load(work, submission.request_id, submission.expected_version)
    chain = work.ctx.adapters.approval_policy.exception_chain(_case(work, request))
    request.prepare_submission(chain, work.ctx.approval_rules.exception_window, work.at)
    event = request.apply(_A.SUBMIT, work.actor, at=work.at, business_date=work.business_date)
    work.uow.exception_requests.update(request)
    work.record(event)
    return request


def _refuse(where: str) -> Callable[[Work, ExceptionRequest], None]:
    def refuse(work: Work, request: ExceptionRequest) -> None:
        raise ValidationError.single("action", f"use {where.format(id=request.id)}")

    return refuse


def _conclude(work: Work, request: ExceptionRequest) -> None:
    """The last level approved: the request is approved, as the system concludes it."""
    if request.waiting_for is not None:
        return
    event = request.apply(_A.CONCLUDE, Actor.system(), at=work.at, business_date=work.business_date)
    work.uow.exception_requests.update(request)
    work.record(event)


# --- execution --------------------------------------------------------------------------------

Executor = Callable[[Work, ExceptionRequest], None]
"""What executing a request of one kind does to the books, in the execution's transaction."""


def _reverse(work: Work, request: ExceptionRequest) -> None:
    payment = work.uow.payments.get(request.payment_id or "")
    if payment.state is PaymentState.REVERSED:
        raise DomainError(f"payment {payment.id} is reversed already")
    ensure_no_refund_out(work, payment)
    target = None
    if request.reapply_to_contract_id is not None:
        contract = work.uow.contracts.get(request.contract_id)
        target = _paying_target(work.uow, contract, request.reapply_to_contract_id)
    reason = f"exception request {request.id}: {request.reason}"
    reverse_payment(work, payment, reason, reapply_to=target)


def _waive(work: Work, request: ExceptionRequest) -> None:
    line = work.uow.receivables.get(request.receivable_id or "")
    part = str(request.part)
    owed = line.owed(part)
    if request.amount > owed:
        raise DomainError(f"line {line.sequence} owes {owed} of {part} now, less than the waiver")
    setattr(line, part, getattr(line, part) - request.amount)
    work.uow.receivables.update(line)
    zero = Money.zero(request.amount.currency)
    waived = {str(p): request.amount if p is request.part else zero for p in WaivedPart}
    work.event(
        "receivable_waived", "receivable", line.id,
        {"contract_id": line.contract_id, "currency": request.amount.currency.code,
         "part": part, **{name: str(amount.amount) for name, amount in waived.items()},
         "exception_request_id": request.id},
    )  # fmt: skip


def _refund(work: Work, request: ExceptionRequest) -> None:
    """Pay the amount out of the contract's credit to the request's account; the bank's
    answer comes later (:mod:`leasekit.services.refunds`)."""
    if request.account is None:
        raise DomainError(f"exception request {request.id} names no account to refund to")
    pay_out_refund(
        work, contract_id=request.contract_id, amount=request.amount,
        iban=request.account.iban, holder=request.account.holder,
        exception_request_id=request.id,
    )  # fmt: skip


EXECUTORS: Final[Mapping[ExceptionKind, Executor]] = {
    ExceptionKind.REVERSAL: _reverse,
    ExceptionKind.WAIVER: _waive,
    ExceptionKind.REFUND: _refund,
}
"""The executor of each kind of request."""


def _touched(request: ExceptionRequest) -> tuple[str, ...]:
    return tuple(c for c in (request.contract_id, request.reapply_to_contract_id) if c)


def _figures(uow: UnitOfWork, contract_ids: Sequence[str]) -> dict[str, Figures]:
    credits = uow.payments.credit_of(list(contract_ids))
    found = {}
    for contract_id in contract_ids:
        cur = uow.contracts.get(contract_id).principal.currency
        lines = uow.receivables.list_for_contract(contract_id)
        found[contract_id] = Figures.of(lines, credits.get(contract_id, Money.zero(cur)))
    return found


def _carry_out(work: Work, request: ExceptionRequest) -> tuple[Impact, ...]:
    """Run *request*'s executor; each contract's figures before and after."""
    contract_ids = _touched(request)
    before = _figures(work.uow, contract_ids)
    EXECUTORS[request.kind](work, request)
    after = _figures(work.uow, contract_ids)
    return tuple(Impact(c, before[c], after[c]) for c in contract_ids)


def _execute(work: Work, request: ExceptionRequest) -> None:
    request.impacts = _carry_out(work, request)
    work.uow.exception_requests.update(request)


transition_exception_request = transition_command(
    _SUBJECT, EXCEPTION_REQUEST_LIFECYCLE, lambda uow: uow.exception_requests,
    before={
        _A.EDIT: _refuse("PUT /exception-requests/{id}"),
        _A.SUBMIT: _refuse("POST /exception-requests/{id}/submission"),
    },
    after={_A.APPROVE: _conclude, _A.EXECUTE: _execute},
    roles=frozenset(role for row in EXCEPTION_REQUEST_LIFECYCLE.transitions for role in row.roles),
)  # fmt: skip
"""``approve`` (the level's role; the last approval concludes it), ``reject`` and ``return``
(with a reason), ``cancel`` (the requester), ``execute`` (finance or the system, once every
level approved) and ``expire`` (past the approval window)."""


# --- reading ----------------------------------------------------------------------------------


def get_exception_request(
    ctx: ServiceContext, actor: Actor, request_id: str, /
) -> ExceptionRequest:
    """Get an exception request.

    What it asks (kind, reason, amount, payment, line or account), who asked, the chain of
    roles that approve it and who approved each level when, until when it may be approved
    and executed, and once executed each contract's figures before and after. Back office."""
    back_office_only(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        return uow.exception_requests.get(request_id)


list_exception_requests: Lister[ExceptionRequestQuery, Record] = lister(
    "list_exception_requests",
    ExceptionRequestQuery,
    lambda uow: uow.exception_requests,
    back_office_lists(_SUBJECT),
    """List exception requests.

    Oldest first, filtered by ``state``, ``kind``, ``contract_id`` (the contract a request is
    about or re-applies a payment to: a contract's history) and ``payment_id`` (a payment's
    history); each with its approvals and, once executed, its figures before and after.
    Back office.""",
)


@attrs.frozen
class Preview:
    """What executing a request would do now: each contract's figures before and after,
    and the vouchers the accounting templates would post (not posted; ids are throwaway)."""

    impacts: tuple[Impact, ...]
    vouchers: tuple[Voucher, ...]


@attrs.define
class _Rehearsal(Work):
    """A Work that keeps the events it records, to book them in a preview."""

    events: list[DomainEvent] = attrs.field(factory=list)

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)
        super().record(event)


def preview_exception_request(ctx: ServiceContext, actor: Actor, request_id: str, /) -> Preview:
    """Preview an exception request's execution.

    The execution is run as the system in a transaction that is rolled back: each contract's
    receivables owed by part and credit balance before and after, and the vouchers its events
    would post (a refund's instruction goes to the bank only after a commit, so none goes).
    Back office."""
    back_office_only(actor, _SUBJECT)
    at, business_date = ctx.moment()
    with ctx.uow_factory() as uow:
        request = uow.exception_requests.get(request_id)
        work = _Rehearsal(ctx, uow, Actor.system(), at, business_date)
        impacts = _carry_out(work, request)
        vouchers = _vouchers(work)
        uow.rollback()
    return Preview(impacts, vouchers)


def _vouchers(work: _Rehearsal) -> tuple[Voucher, ...]:
    accounting = accounting_of(work.ctx, work.uow)
    found = []
    for event in work.events:
        booked = book_with_plugins(
            accounting, work.ctx.adapters, event, facts_of(work.uow, event),
            actor=work.actor, at=work.at,
        )  # fmt: skip
        if booked is not None and hasattr(booked, "voucher"):
            found.append(booked.voucher)
    return tuple(found)


def list_payment_exception_requests(
    ctx: ServiceContext,
    actor: Actor,
    payment_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List the exception requests about a payment.

    Its history of corrections, oldest first: who asked, who approved each level and when,
    and once executed each contract's figures before and after. Back office."""
    back_office_only(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        uow.payments.get(payment_id)
    query = ExceptionRequestQuery(payment_id=payment_id)
    return list_exception_requests(ctx, actor, query, after=after, limit=limit)


def list_contract_exception_requests(
    ctx: ServiceContext,
    actor: Actor,
    contract_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List the exception requests that touched a contract.

    Those about it and those that re-applied a payment to it, oldest first: who asked, who
    approved each level and when, and once executed its figures before and after. Back
    office."""
    back_office_only(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        uow.contracts.get(contract_id)
    query = ExceptionRequestQuery(contract_id=contract_id)
    return list_exception_requests(ctx, actor, query, after=after, limit=limit)
