"""Exception requests: reversing or refunding a payment, which needs two approvals.

Undoing money that has been booked is the classic route for mistakes and fraud, so it never
happens on one person's say-so: the post-loan supervisor approves first, the finance director
second, neither may be the requester, and the two approvers must differ. Only then may
finance (or the system) execute it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.contracts import Payment
from leasekit.domain.identity import BOOKKEEPERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Effect, Guard, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, choice, money_amount, text
from leasekit.money import Money

__all__ = [
    "EXCEPTION_REQUEST_LIFECYCLE",
    "ExceptionKind",
    "ExceptionRequest",
    "ExceptionRequestAction",
    "ExceptionRequestState",
]


class ExceptionRequestState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LEVEL1_APPROVED = "level1_approved"
    APPROVED = "approved"
    EXECUTED = "executed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ExceptionRequestAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    EXECUTE = "execute"
    CANCEL = "cancel"


_X = ExceptionRequestState
_A = ExceptionRequestAction
_REQUESTERS: Final = (Role.OFFICER, Role.FINANCE)
_LEVEL1: Final = [Role.POST_LOAN_SUPERVISOR]
_LEVEL2: Final = [Role.FINANCE_DIRECTOR]

EXCEPTION_REQUEST_LIFECYCLE: Final = StateMachine(
    "exception_request",
    _X.DRAFT,
    (
        row(_A.SUBMIT, [_X.DRAFT], _X.SUBMITTED, _REQUESTERS, "exception_request_submitted"),
        # Two levels: the post-loan supervisor, then the finance director.
        row(_A.APPROVE, [_X.SUBMITTED], _X.LEVEL1_APPROVED, _LEVEL1,
            "exception_request_level1_approved"),
        row(_A.APPROVE, [_X.LEVEL1_APPROVED], _X.APPROVED, _LEVEL2, "exception_request_approved"),
        row(_A.REJECT, [_X.SUBMITTED], _X.REJECTED, _LEVEL1, "exception_request_rejected", True),
        row(_A.REJECT, [_X.LEVEL1_APPROVED], _X.REJECTED, _LEVEL2, "exception_request_rejected",
            True),
        row(_A.EXECUTE, [_X.APPROVED], _X.EXECUTED, BOOKKEEPERS, "exception_request_executed"),
        row(_A.CANCEL, [_X.DRAFT, _X.SUBMITTED], _X.CANCELLED, _REQUESTERS,
            "exception_request_cancelled"),
    ),
    final=frozenset({_X.EXECUTED, _X.REJECTED, _X.CANCELLED}),
    actions_enum=ExceptionRequestAction,
)  # fmt: skip
_MACHINE: Final = EXCEPTION_REQUEST_LIFECYCLE.name


class ExceptionKind(StrEnum):
    REVERSAL = "reversal"
    """Undo a payment entirely (it bounced, or was booked to the wrong contract)."""
    REFUND = "refund"
    """Pay money back to the customer (an overpayment), up to the payment's amount."""


def _amount_errors(checks: Checks, kind: ExceptionKind, amount: Money, payment: Money) -> None:
    valid = checks.run(lambda: money_amount(amount, "amount", payment.currency))
    if valid is None:
        return
    if kind is ExceptionKind.REVERSAL and valid != payment:
        checks.add("amount", f"a reversal undoes the whole payment of {payment}")
    elif not 0 < valid.amount <= payment.amount:
        checks.add("amount", f"must be positive and at most the payment of {payment}")


def _check_four_eyes(request: ExceptionRequest, move: Move) -> None:
    """Neither approver may be the requester, and the two approvers must differ."""
    if move.actor.user_id == request.requested_by:
        why = "requesters may not approve their own request"
    elif move.actor.user_id == request.level1_approved_by:
        why = "the second approval must come from another person"
    else:
        return
    raise ObjectPermissionError(_MACHINE, "approve", move.actor.role.value, why)


def _record_approver(request: ExceptionRequest, move: Move) -> None:
    if move.transition.target == _X.LEVEL1_APPROVED:
        request.level1_approved_by = move.actor.user_id
    else:
        request.approved_by = move.actor.user_id


@attrs.define
class ExceptionRequest(Stateful):
    """A request to reverse or refund one payment, with who asked and who approved."""

    id: str
    kind: ExceptionKind = attrs.field(converter=ExceptionKind)
    contract_id: str
    payment_id: str
    amount: Money
    reason: str
    requested_by: str
    level1_approved_by: str | None
    approved_by: str | None
    state: ExceptionRequestState = attrs.field(converter=ExceptionRequestState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[ExceptionRequestState]] = EXCEPTION_REQUEST_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("kind", "payment_id", "contract_id", "amount")
    guards: ClassVar[Mapping[str, Guard]] = {_A.APPROVE: _check_four_eyes}
    effects: ClassVar[Mapping[str, Effect]] = {_A.APPROVE: _record_approver}

    @classmethod
    def draft(
        cls,
        *,
        kind: ExceptionKind | str,
        payment: Payment,
        reason: str,
        actor: Actor,
        at: datetime,
        amount: Money | None = None,
    ) -> ExceptionRequest:
        """A draft for *payment*; a reversal's amount defaults to the whole payment."""
        ensure_may_create(actor, "exception_request")
        checks = Checks()
        valid_kind = checks.run(lambda: choice(ExceptionKind, kind, "kind"))
        valid_reason = checks.run(lambda: text(reason, "reason", max_length=1000))
        requested = payment.amount if amount is None else amount
        if valid_kind is not None:
            _amount_errors(checks, valid_kind, requested, payment.amount)
        if valid_kind is None or valid_reason is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            kind=valid_kind,
            contract_id=payment.contract_id,
            payment_id=payment.id,
            amount=requested,
            reason=valid_reason,
            requested_by=actor.user_id,
            level1_approved_by=None,
            approved_by=None,
            state=ExceptionRequestState.DRAFT,
            created_at=require_utc(at),
        )
