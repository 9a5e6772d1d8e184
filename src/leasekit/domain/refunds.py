"""Refunds: a customer's credit balance paid back to a bank account.

A :class:`Refund` takes money from the credit its contract's payments hold (oldest payment
first, :func:`take_credit`) and pays it out through the bank under one instruction id, the
refund's own, so a retried instruction is never paid twice. The bank's answers move it:
accepted is ``sent``, settled is ``paid``; refused at once or returned later is ``failed``,
and the credit it took goes back to the payments it came from, exactly as :attr:`Refund.taken`
records it. Both ends are final: a refund that failed is raised again as a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from leasekit.domain.clock import instant, optional_instant, require_utc
from leasekit.domain.events import PayloadValue
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import Effect, Move, Stateful, StateMachine, row
from leasekit.domain.validation import Checks, money_amount, text
from leasekit.errors import ValidationError
from leasekit.money import Money

__all__ = [
    "REFUND_LIFECYCLE",
    "CreditTaken",
    "Refund",
    "RefundAction",
    "RefundState",
    "take_credit",
    "valid_iban",
]


class RefundState(StrEnum):
    REQUESTED = "requested"
    """Recorded, the credit taken; the instruction is on its way to the bank."""
    SENT = "sent"
    """The bank accepted the instruction; the money is on its way."""
    PAID = "paid"
    FAILED = "failed"
    """The bank refused or returned it; the credit is back on the payments."""


class RefundAction(StrEnum):
    SEND = "send"
    SETTLE = "settle"
    FAIL = "fail"


_R = RefundState
_A = RefundAction
_BANK: Final = (Role.SYSTEM,)
"""What the bank's answers move: the payout workflow only."""

REFUND_LIFECYCLE: Final = StateMachine(
    "refund",
    _R.REQUESTED,
    (
        row(_A.SEND, [_R.REQUESTED], _R.SENT, _BANK, "refund_sent", params=["bank_reference"]),
        row(_A.SETTLE, [_R.SENT], _R.PAID, _BANK, "refund_paid"),
        # Refused at once or returned by the payee's bank: the credit goes back.
        row(_A.FAIL, [_R.REQUESTED, _R.SENT], _R.FAILED, _BANK, "refund_failed", True),
    ),
    final=frozenset({_R.PAID, _R.FAILED}),
    actions_enum=RefundAction,
)  # fmt: skip

MAX_HOLDER: Final = 70
"""A payee name as payment schemes carry it (SEPA's 70 characters)."""


def valid_iban(value: str, field: str = "iban") -> str:
    """*value* as an IBAN in its compact form (no blanks, upper case), or a field error
    saying what is wrong with it (length, country, check digits)."""
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError as exc:
        raise ValidationError.single(field, f"not a valid IBAN: {exc}") from None


@attrs.frozen
class CreditTaken:
    """What a refund took of one payment's credit, in the refund's currency."""

    payment_id: str
    amount: Decimal = attrs.field(converter=Decimal)


def take_credit(held: Sequence[tuple[str, Money]], amount: Money) -> list[CreditTaken]:
    """*amount* (positive) taken from the credit *held* (payment id and credit, oldest
    first), oldest first; a field error on ``amount`` when the credit is smaller, naming what
    there is."""
    if held and held[0][1].currency != amount.currency:
        raise ValidationError.single("amount", f"the contract is in {held[0][1].currency}")
    total = sum((credit for _, credit in held), Money.zero(amount.currency))
    if total < amount:
        raise ValidationError.single(
            "amount", f"the contract's credit is {total.amount} {amount.currency.code}"
        )
    taken, left = [], amount
    for payment_id, credit in held:
        if not left.amount:
            break
        part = min(credit, left)
        if part.amount > 0:
            taken.append(CreditTaken(payment_id, part.amount))
            left -= part
    return taken


def _amounts(refund: Refund) -> dict[str, PayloadValue]:
    return {"amount": str(refund.amount.amount), "currency": refund.amount.currency.code}


def _sent(refund: Refund, move: Move) -> Mapping[str, PayloadValue]:
    refund.bank_reference = move.params["bank_reference"]
    refund.sent_at = require_utc(move.at)
    return {"bank_reference": refund.bank_reference}


def _paid(refund: Refund, move: Move) -> Mapping[str, PayloadValue]:
    refund.paid_at = require_utc(move.at)
    return _amounts(refund)


def _failed(refund: Refund, move: Move) -> Mapping[str, PayloadValue]:
    """Failed: the event carries the amount, so the vouchers put the credit back."""
    refund.failed_at, refund.reason = require_utc(move.at), move.reason
    return _amounts(refund)


@attrs.define
class Refund(Stateful):
    """A payout of a contract's credit: how much, to which account, from which payments'
    credit, why (the exception request that asked for it) and what the bank made of it."""

    id: str
    contract_id: str
    partner_id: str
    amount: Money
    iban: str
    holder: str
    reference: str
    """What the payee's statement shows."""
    exception_request_id: str | None
    state: RefundState = attrs.field(converter=RefundState)
    requested_by: str
    created_at: datetime = attrs.field(converter=instant)
    sent_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    paid_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    failed_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    bank_reference: str | None = None
    reason: str | None = None
    """Why the bank refused or returned it."""
    taken: tuple[CreditTaken, ...] = ()
    """What it took of which payment's credit, oldest payment first."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[RefundState]] = REFUND_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "partner_id")
    effects: ClassVar[Mapping[str, Effect]] = {
        _A.SEND: _sent,
        _A.SETTLE: _paid,
        _A.FAIL: _failed,
    }

    @classmethod
    def request(
        cls,
        *,
        contract_id: str,
        partner_id: str,
        amount: Money,
        iban: str,
        holder: str,
        reference: str,
        exception_request_id: str | None,
        held: Sequence[tuple[str, Money]],
        actor: Actor,
        at: datetime,
    ) -> Refund:
        """A refund of *amount* from the credit *held* (payment id and credit, oldest first),
        oldest first; every input fault named at once, and then a credit too small."""
        checks = Checks()
        valid_amount = checks.run(lambda: money_amount(amount, "amount"))
        if valid_amount is not None and valid_amount.amount <= 0:
            checks.add("amount", "must be positive")
        account = checks.run(lambda: valid_iban(iban))
        payee = checks.run(lambda: text(holder, "holder", MAX_HOLDER))
        if valid_amount is None or account is None or payee is None or checks.errors:
            raise checks.error()
        return cls(
            id=new_id(),
            contract_id=contract_id,
            partner_id=partner_id,
            amount=valid_amount,
            iban=account,
            holder=payee,
            reference=reference,
            exception_request_id=exception_request_id,
            taken=tuple(take_credit(held, valid_amount)),
            state=RefundState.REQUESTED,
            requested_by=actor.user_id,
            created_at=require_utc(at),
        )

    @property
    def instruction_id(self) -> str:
        """The bank instruction's id: the refund's own, so one refund is paid at most once."""
        return self.id
