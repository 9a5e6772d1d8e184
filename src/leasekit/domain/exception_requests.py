"""Exception requests: reversing or refunding a payment, which needs two approvals.

Undoing money that has been booked is the classic route for mistakes and fraud, so it never
happens on one person's say-so: the post-loan supervisor approves first, the finance director
second, neither may be the requester, and the two approvers must differ. Only then may
finance (or the system) execute it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import attrs

from leasekit.domain.access import ObjectPermissionError, ensure_may_act, ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.contracts import Payment
from leasekit.domain.events import StateChanged
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.lifecycle import (
    EXCEPTION_REQUEST_LIFECYCLE,
    ExceptionRequestState,
    change_state,
)
from leasekit.domain.validation import Checks, choice, money_amount, text
from leasekit.money import Money

__all__ = ["ExceptionKind", "ExceptionRequest", "ExceptionRequestState"]

_MACHINE = EXCEPTION_REQUEST_LIFECYCLE.name


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


@attrs.define
class ExceptionRequest:
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

    def apply(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Move the request along; approvals also enforce the four-eyes rule."""
        ensure_may_act(actor, self, _MACHINE, action)
        if action == "approve":
            EXCEPTION_REQUEST_LIFECYCLE.fire(self.state, action, actor)
            self._check_four_eyes(actor)
        target, event = change_state(
            EXCEPTION_REQUEST_LIFECYCLE,
            self.id,
            self.state,
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={
                "kind": str(self.kind),
                "payment_id": self.payment_id,
                "contract_id": self.contract_id,
                "amount": str(self.amount.amount),
                "currency": self.amount.currency.code,
            },
        )
        self._record_approver(ExceptionRequestState(target), actor)
        self.state = ExceptionRequestState(target)
        return event

    def _check_four_eyes(self, actor: Actor) -> None:
        if actor.user_id == self.requested_by:
            why = "requesters may not approve their own request"
        elif actor.user_id == self.level1_approved_by:
            why = "the second approval must come from another person"
        else:
            return
        raise ObjectPermissionError(_MACHINE, "approve", actor.role.value, why)

    def _record_approver(self, target: ExceptionRequestState, actor: Actor) -> None:
        if target is ExceptionRequestState.LEVEL1_APPROVED:
            self.level1_approved_by = actor.user_id
        elif target is ExceptionRequestState.APPROVED:
            self.approved_by = actor.user_id
