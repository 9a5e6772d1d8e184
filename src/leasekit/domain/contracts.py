"""Contracts, their repayment schedules (receivables) and the payments made against them.

A contract is drawn up from an approved application and fixes its terms; each schedule line
is a :class:`Receivable` that records what falls due on a date and how much of each part has
been paid. A :class:`Payment` is money received from the customer; how it is split over the
receivables (allocation) and how it is undone (reversal) follow the payment lifecycle.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs

from leasekit.domain.access import ensure_may_act, ensure_may_create
from leasekit.domain.applications import Application, BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.events import StateChanged
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.lifecycle import (
    APPLICATION_LIFECYCLE,
    CONTRACT_LIFECYCLE,
    PAYMENT_LIFECYCLE,
    ApplicationState,
    ContractState,
    PaymentState,
    change_state,
)
from leasekit.domain.validation import Checks, is_whole_number, money_amount, text
from leasekit.errors import IllegalTransitionError
from leasekit.money import Money

__all__ = ["Contract", "ContractState", "Payment", "PaymentState", "Receivable"]


@attrs.define
class Contract:
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

    def apply(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        """Move the contract along its lifecycle; activation fixes the start date."""
        ensure_may_act(actor, self, CONTRACT_LIFECYCLE.name, action)
        target, event = change_state(
            CONTRACT_LIFECYCLE,
            self.id,
            self.state,
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={"partner_id": self.partner_id, "application_id": self.application_id},
        )
        self.state = ContractState(target)
        if self.state is ContractState.ACTIVE and self.start_date is None:
            self.start_date = business_date
        return event


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
class Payment:
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

    def apply(
        self,
        action: str,
        actor: Actor,
        *,
        at: datetime,
        business_date: date,
        reason: str | None = None,
    ) -> StateChanged:
        ensure_may_act(actor, self, PAYMENT_LIFECYCLE.name, action)
        target, event = change_state(
            PAYMENT_LIFECYCLE,
            self.id,
            self.state,
            action,
            actor,
            at=at,
            business_date=business_date,
            reason=reason,
            details={"contract_id": self.contract_id, "amount": str(self.amount.amount),
                     "currency": self.amount.currency.code},
        )  # fmt: skip
        self.state = PaymentState(target)
        return event
