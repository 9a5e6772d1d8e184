"""Contracts, their repayment schedules (receivables) and the payments made against them.

A contract is drawn up from an approved application and fixes its terms; each schedule line
is a :class:`Receivable` that records what falls due on a date and how much of each part has
been paid. A :class:`Payment` is money received from the customer; how it is split over the
receivables (allocation) and how it is undone (reversal) follow :data:`PAYMENT_LIFECYCLE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.applications import (
    APPLICATION_LIFECYCLE,
    Application,
    ApplicationState,
    BusinessType,
)
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import (
    BOOKKEEPERS,
    ORIGINATORS,
    SENIOR_REVIEWERS,
    Actor,
    Role,
    new_id,
)
from leasekit.domain.lifecycle import Effect, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, is_whole_number, money_amount, text
from leasekit.errors import IllegalTransitionError
from leasekit.money import Money

__all__ = [
    "CONTRACT_LIFECYCLE",
    "PAYMENT_LIFECYCLE",
    "Contract",
    "ContractAction",
    "ContractState",
    "Payment",
    "PaymentAction",
    "PaymentState",
    "Receivable",
]


class ContractState(StrEnum):
    DRAFT = "draft"
    SENT_FOR_SIGNATURE = "sent_for_signature"
    SIGNED = "signed"
    DISBURSEMENT_REQUESTED = "disbursement_requested"
    DISBURSED = "disbursed"
    ACTIVE = "active"
    SETTLED = "settled"
    TERMINATED = "terminated"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ContractAction(StrEnum):
    SEND_FOR_SIGNATURE = "send_for_signature"
    RECALL = "recall"
    SIGN = "sign"
    REQUEST_DISBURSEMENT = "request_disbursement"
    REJECT_DISBURSEMENT = "reject_disbursement"
    DISBURSE = "disburse"
    ACTIVATE = "activate"
    SETTLE = "settle"
    TERMINATE = "terminate"
    WRITE_OFF = "write_off"
    CLOSE = "close"
    CANCEL = "cancel"


_C = ContractState
_CA = ContractAction
_OFFICE_OR_SYSTEM: Final = (Role.OFFICER, Role.SYSTEM)

CONTRACT_LIFECYCLE: Final = StateMachine(
    "contract",
    _C.DRAFT,
    (
        row(_CA.SEND_FOR_SIGNATURE, [_C.DRAFT], _C.SENT_FOR_SIGNATURE, _OFFICE_OR_SYSTEM,
            "contract_sent_for_signature"),
        # Corrections or an expired signing link: back to draft, the old envelope is void.
        row(_CA.RECALL, [_C.SENT_FOR_SIGNATURE], _C.DRAFT, [Role.OFFICER, Role.MANAGER],
            "contract_recalled", True),
        row(_CA.SIGN, [_C.SENT_FOR_SIGNATURE], _C.SIGNED, _OFFICE_OR_SYSTEM, "contract_signed"),
        row(_CA.REQUEST_DISBURSEMENT, [_C.SIGNED], _C.DISBURSEMENT_REQUESTED, ORIGINATORS,
            "contract_disbursement_requested"),
        row(_CA.REJECT_DISBURSEMENT, [_C.DISBURSEMENT_REQUESTED], _C.SIGNED, [Role.FINANCE],
            "contract_disbursement_rejected", True),
        row(_CA.DISBURSE, [_C.DISBURSEMENT_REQUESTED], _C.DISBURSED, [Role.FINANCE],
            "contract_disbursed"),
        row(_CA.ACTIVATE, [_C.DISBURSED], _C.ACTIVE, BOOKKEEPERS, "contract_activated"),
        row(_CA.SETTLE, [_C.ACTIVE], _C.SETTLED, BOOKKEEPERS, "contract_settled"),
        # Default: the contract is ended early and the vehicle recovered.
        row(_CA.TERMINATE, [_C.ACTIVE], _C.TERMINATED,
            [Role.POST_LOAN_SUPERVISOR, Role.DIRECTOR], "contract_terminated", True),
        row(_CA.WRITE_OFF, [_C.ACTIVE, _C.TERMINATED], _C.WRITTEN_OFF, [Role.FINANCE_DIRECTOR],
            "contract_written_off", True),
        row(_CA.CLOSE, [_C.SETTLED, _C.TERMINATED], _C.CLOSED, BOOKKEEPERS, "contract_closed"),
        # Nothing has been paid out before disbursement, so cancelling needs no accounting.
        row(_CA.CANCEL,
            [_C.DRAFT, _C.SENT_FOR_SIGNATURE, _C.SIGNED, _C.DISBURSEMENT_REQUESTED],
            _C.CANCELLED, SENIOR_REVIEWERS, "contract_cancelled", True),
    ),
    final=frozenset({_C.WRITTEN_OFF, _C.CLOSED, _C.CANCELLED}),
    actions_enum=ContractAction,
)  # fmt: skip


class PaymentState(StrEnum):
    RECEIVED = "received"
    ALLOCATED = "allocated"
    REVERSED = "reversed"
    REFUNDED = "refunded"


class PaymentAction(StrEnum):
    ALLOCATE = "allocate"
    REVERSE = "reverse"
    REFUND = "refund"


_Y = PaymentState
_YA = PaymentAction

PAYMENT_LIFECYCLE: Final = StateMachine(
    "payment",
    _Y.RECEIVED,
    (
        row(_YA.ALLOCATE, [_Y.RECEIVED], _Y.ALLOCATED, BOOKKEEPERS, "payment_allocated"),
        # A reversal undoes a payment that bounced or was booked to the wrong contract; for an
        # allocated payment the service first requires an executed exception request.
        row(_YA.REVERSE, [_Y.RECEIVED, _Y.ALLOCATED], _Y.REVERSED, BOOKKEEPERS,
            "payment_reversed", True),
        row(_YA.REFUND, [_Y.RECEIVED], _Y.REFUNDED, BOOKKEEPERS, "payment_refunded", True),
    ),
    final=frozenset({_Y.REVERSED, _Y.REFUNDED}),
    actions_enum=PaymentAction,
)  # fmt: skip


def _start(contract: Contract, move: Move) -> None:
    """Activation fixes the start date: interest and due dates run from it."""
    if contract.start_date is None:
        contract.start_date = move.business_date


@attrs.define
class Contract(Stateful):
    """The agreement a customer signs; its terms are copied from the approved application,
    so that later revisions of anything else cannot change what was signed."""

    id: str
    application_id: str
    partner_id: str
    customer_id: str
    vehicle_id: str
    business_type: BusinessType = attrs.field(converter=BusinessType)
    principal: Money
    """The amount financed: vehicle price less down payment."""
    annual_rate: Decimal
    term_months: int
    residual_value: Money | None
    start_date: date | None
    """The business date the contract became active; interest and due dates run from it."""
    state: ContractState = attrs.field(converter=ContractState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[ContractState]] = CONTRACT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("partner_id", "application_id")
    effects: ClassVar[Mapping[str, Effect]] = {ContractAction.ACTIVATE: _start}

    @classmethod
    def from_application(cls, application: Application, *, actor: Actor, at: datetime) -> Contract:
        """A draft contract on the terms of an approved *application*."""
        ensure_may_create(actor, "contract")
        if application.state is not ApplicationState.APPROVED:
            raise IllegalTransitionError(
                APPLICATION_LIFECYCLE.name,
                str(application.state),
                "contract",
                APPLICATION_LIFECYCLE.actions_from(application.state),
            )
        terms = application.requested
        return cls(
            id=new_id(),
            application_id=application.id,
            partner_id=application.partner_id,
            customer_id=application.customer_id,
            vehicle_id=application.vehicle_id,
            business_type=application.business_type,
            principal=terms.amount_financed,
            annual_rate=terms.annual_rate,
            term_months=terms.term_months,
            residual_value=terms.residual_value,
            start_date=None,
            state=ContractState.DRAFT,
            created_at=require_utc(at),
        )


def _zero_like(amount: Money) -> Money:
    return Money(amount.currency.zero, amount.currency)


@attrs.define
class Receivable:
    """One schedule line: what falls due on *due_date*, by part, and what has been paid.

    Parts are kept apart because payments are applied to them in a set order and because
    fees, interest and principal go to different ledger accounts.
    """

    id: str
    contract_id: str
    sequence: int
    due_date: date
    principal: Money
    interest: Money
    fee: Money
    paid_principal: Money
    paid_interest: Money
    paid_fee: Money
    version: int = 0

    @classmethod
    def line(
        cls,
        *,
        contract_id: str,
        sequence: int,
        due_date: date,
        principal: Money,
        interest: Money,
        fee: Money | None = None,
    ) -> Receivable:
        """An unpaid line; every part in the principal's currency, to the cent, not negative."""
        cur = principal.currency
        checks = Checks()
        valid_principal = checks.run(lambda: money_amount(principal, "principal"))
        valid_interest = checks.run(lambda: money_amount(interest, "interest", cur))
        valid_fee = checks.run(lambda: money_amount(fee or _zero_like(principal), "fee", cur))
        for name, part in (
            ("principal", valid_principal),
            ("interest", valid_interest),
            ("fee", valid_fee),
        ):
            if part is not None and part.amount < 0:
                checks.add(name, "must not be negative")
        if not is_whole_number(sequence) or sequence < 1:
            checks.add("sequence", "lines are numbered from 1")
        if valid_principal is None or valid_interest is None or valid_fee is None or checks.errors:
            raise checks.error()
        zero = _zero_like(valid_principal)
        return cls(
            id=new_id(),
            contract_id=contract_id,
            sequence=sequence,
            due_date=due_date,
            principal=valid_principal,
            interest=valid_interest,
            fee=valid_fee,
            paid_principal=zero,
            paid_interest=zero,
            paid_fee=zero,
        )

    @property
    def amount_due(self) -> Money:
        return self.principal + self.interest + self.fee

    @property
    def paid(self) -> Money:
        return self.paid_principal + self.paid_interest + self.paid_fee

    @property
    def outstanding(self) -> Money:
        return self.amount_due - self.paid

    @property
    def settled(self) -> bool:
        return self.outstanding.amount <= 0


@attrs.define
class Payment(Stateful):
    """Money received for a contract, identified by the bank's reference."""

    id: str
    contract_id: str
    amount: Money
    received_on: date
    """The business date the money arrived; allocation and interest use it, not the time."""
    reference: str
    state: PaymentState = attrs.field(converter=PaymentState)
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[PaymentState]] = PAYMENT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "amount")

    @classmethod
    def receive(
        cls,
        *,
        contract_id: str,
        amount: Money,
        received_on: date,
        reference: str,
        actor: Actor,
        at: datetime,
    ) -> Payment:
        ensure_may_create(actor, "payment")
        checks = Checks()
        valid_amount = checks.run(lambda: money_amount(amount, "amount"))
        if valid_amount is not None and valid_amount.amount <= 0:
            checks.add("amount", "must be positive")
        valid_reference = checks.run(lambda: text(reference, "reference"))
        if valid_amount is None or valid_reference is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            contract_id=contract_id,
            amount=valid_amount,
            received_on=received_on,
            reference=valid_reference,
            state=PaymentState.RECEIVED,
            created_at=require_utc(at),
        )
