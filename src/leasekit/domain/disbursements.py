"""Disbursements: a signed contract's payout, from the review queue to money paid.

A signed contract enters the payout queue as one :class:`Disbursement`, with the results of
the automated checks (:class:`PayoutCheck`). A reviewer claims it (a lock for a lease, as
approval tasks have), and approves, rejects or reports fraud. Approving re-runs the checks and
takes the partner's limit; the checks need what only storage can tell, so the service runs
them, and :func:`failed_checks` says why they refuse.

The payout is then an instruction to the bank, one per attempt: pending until the bank
accepts it (``sent``), then ``paid`` when it settles. A payout the bank refuses fails: the
limit is given back and the item returns to the queue for another attempt under a new
instruction id, while a retry of the *same* attempt reuses its id, so the bank never pays one
attempt twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.business import BusinessType
from leasekit.domain.claims import (
    check_holder,
    check_live_claim,
    check_not_taken,
    leased,
    lock,
    unlock,
)
from leasekit.domain.clock import instant, optional_instant, require_utc
from leasekit.domain.documents import DocumentKind
from leasekit.domain.events import PayloadValue
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import Effect, Guard, Move, Stateful, StateMachine, row
from leasekit.errors import ValidationError
from leasekit.money import Money

__all__ = [
    "DEFAULT_PAYOUT_DOCUMENTS",
    "DISBURSEMENT_LIFECYCLE",
    "PAYOUT_REVIEWERS",
    "Disbursement",
    "DisbursementAction",
    "DisbursementState",
    "Payee",
    "PayoutAttempt",
    "PayoutCheck",
    "PayoutRules",
    "failed_checks",
]


class DisbursementState(StrEnum):
    QUEUED = "queued"
    """Waiting for a reviewer."""
    CLAIMED = "claimed"
    APPROVED = "approved"
    """Approved; the payout instruction is pending at the bank."""
    SENT = "sent"
    """The bank accepted the instruction; the money is on its way."""
    PAID = "paid"
    REJECTED = "rejected"


class DisbursementAction(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    APPROVE = "approve"
    REJECT = "reject"
    REPORT_FRAUD = "report_fraud"
    SEND = "send"
    SETTLE = "settle"
    FAIL = "fail"


PAYOUT_REVIEWERS: Final = frozenset({Role.FINANCE})
"""Who reviews payouts: finance staff; the finance director frees their stale claims."""
_MACHINE: Final = "disbursement"
_HELD: Final = "another reviewer holds the payout"
_Q = DisbursementState
_D = DisbursementAction
_BANK: Final = (Role.SYSTEM,)
"""What the bank's answers move: the payout workflow only."""

DISBURSEMENT_LIFECYCLE: Final = StateMachine(
    _MACHINE,
    _Q.QUEUED,
    (
        row(_D.CLAIM, [_Q.QUEUED, _Q.CLAIMED], _Q.CLAIMED, PAYOUT_REVIEWERS,
            "disbursement_claimed"),
        row(_D.RELEASE, [_Q.CLAIMED], _Q.QUEUED,
            [*PAYOUT_REVIEWERS, Role.FINANCE_DIRECTOR, Role.SYSTEM], "disbursement_released"),
        # An unclaimed item may be approved too: a batch approval takes items nobody holds.
        row(_D.APPROVE, [_Q.QUEUED, _Q.CLAIMED], _Q.APPROVED, PAYOUT_REVIEWERS,
            "disbursement_approved"),
        # The workflow rejects the payout of a contract that is cancelled.
        row(_D.REJECT, [_Q.QUEUED, _Q.CLAIMED], _Q.REJECTED, [*PAYOUT_REVIEWERS, Role.SYSTEM],
            "disbursement_rejected", True),
        # Fraud found at payout: rejected, and the finding counts against the partner.
        # *person* names a customer on the contract whose id number goes on the blacklist.
        row(_D.REPORT_FRAUD, [_Q.QUEUED, _Q.CLAIMED], _Q.REJECTED, PAYOUT_REVIEWERS,
            "disbursement_fraud_reported", True, optional=["person"]),
        row(_D.SEND, [_Q.APPROVED], _Q.SENT, _BANK, "disbursement_sent",
            params=["bank_reference"]),
        row(_D.SETTLE, [_Q.SENT], _Q.PAID, _BANK, "disbursement_paid"),
        # The bank refused or returned the payment: back to the queue for another attempt.
        row(_D.FAIL, [_Q.APPROVED, _Q.SENT], _Q.QUEUED, _BANK, "disbursement_failed", True),
    ),
    final=frozenset({_Q.PAID, _Q.REJECTED}),
    actions_enum=DisbursementAction,
)  # fmt: skip


DEFAULT_PAYOUT_DOCUMENTS: Final[Mapping[BusinessType, tuple[DocumentKind, ...]]] = {
    BusinessType.LOAN: (DocumentKind.VEHICLE_INVOICE,),
    BusinessType.FINANCE_LEASE: (DocumentKind.VEHICLE_INVOICE,),
    BusinessType.OPERATING_LEASE: (DocumentKind.VEHICLE_INVOICE,),
    BusinessType.SALE_LEASEBACK: (DocumentKind.VEHICLE_REGISTRATION,),
}
"""What must be on file before a payout, by business type: the dealer's invoice for the
vehicle bought, or for a sale-leaseback the registration showing the seller owned it."""


@attrs.frozen
class PayoutRules:
    """How payouts are reviewed: a claim's lease, and the documents each business type
    needs on file (attached to the contract or its application)."""

    claim_lease: timedelta = timedelta(minutes=30)
    required_documents: Mapping[BusinessType, tuple[DocumentKind, ...]] = attrs.field(
        factory=lambda: dict(DEFAULT_PAYOUT_DOCUMENTS)
    )

    def documents_for(self, business_type: BusinessType) -> tuple[DocumentKind, ...]:
        return tuple(self.required_documents.get(business_type, ()))


@attrs.frozen
class PayoutCheck:
    """One automated check before payout, and what it found."""

    name: str
    passed: bool
    detail: str


@attrs.frozen
class Payee:
    """Who is paid and into which account: the dealer's settlement account, or the seller's
    own for a sale-leaseback. ``account`` is the number the bank needs; views mask it."""

    name: str
    account: str
    bank: str | None = None


@attrs.frozen
class PayoutAttempt:
    """One instruction to the bank and what became of it, with when."""

    number: int
    instruction_id: str
    approved_by: str
    approved_at: datetime = attrs.field(converter=instant)
    sent_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    paid_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    failed_at: datetime | None = attrs.field(default=None, converter=optional_instant)
    bank_reference: str | None = None
    reason: str | None = None


def _check_claim(item: Disbursement, move: Move) -> None:
    check_not_taken(item, move, _MACHINE, _HELD)


def _check_holder(item: Disbursement, move: Move) -> None:
    """Work on a claimed item is its holder's (or the workflow's); an unclaimed one is
    anyone's."""
    if move.actor.role is Role.SYSTEM:
        return
    if item.state is DisbursementState.CLAIMED and leased(item, move.at):
        check_live_claim(item, move, _MACHINE, _HELD)


def _check_release(item: Disbursement, move: Move) -> None:
    """The holder releases; so do the finance director and the system, for stale locks."""
    if move.actor.role not in {Role.FINANCE_DIRECTOR, Role.SYSTEM}:
        check_holder(item, move, _MACHINE, _HELD)


def failed_checks(checks: Iterable[PayoutCheck]) -> ValidationError | None:
    """The refusal of an approval that *checks* do not all pass, each failure with why."""
    failed = [check for check in checks if not check.passed]
    if not failed:
        return None
    return ValidationError.single(
        "checks", "; ".join(f"{check.name}: {check.detail}" for check in failed)
    )


def _refused(item: Disbursement, move: Move) -> Mapping[str, PayloadValue] | None:
    """Rejected or reported: why, and whom a fraud report names, are kept on the item."""
    unlock(item, move)
    item.reason, item.reported_person = move.reason, move.params.get("person")
    return None if item.reported_person is None else {"person": item.reported_person}


def _approved(item: Disbursement, move: Move) -> Mapping[str, PayloadValue]:
    """A new attempt, under an instruction id of its own."""
    unlock(item, move)
    number = len(item.attempts) + 1
    attempt = PayoutAttempt(number, f"{item.id}-{number}", move.actor.user_id, require_utc(move.at))
    item.attempts = (*item.attempts, attempt)
    return {"instruction_id": attempt.instruction_id, "attempt": number}


def _update_attempt(item: Disbursement, **changes: Any) -> Mapping[str, PayloadValue]:
    item.attempts = (*item.attempts[:-1], attrs.evolve(item.current, **changes))
    return {"instruction_id": item.current.instruction_id, "attempt": item.current.number}


def _sent(item: Disbursement, move: Move) -> Mapping[str, PayloadValue]:
    reference = move.params["bank_reference"]
    done = _update_attempt(item, sent_at=require_utc(move.at), bank_reference=reference)
    return {**done, "bank_reference": reference}


def _paid(item: Disbursement, move: Move) -> Mapping[str, PayloadValue]:
    done = _update_attempt(item, paid_at=require_utc(move.at))
    return {**done, "amount": str(item.amount.amount), "currency": item.amount.currency.code}


def _failed(item: Disbursement, move: Move) -> Mapping[str, PayloadValue]:
    return _update_attempt(item, failed_at=require_utc(move.at), reason=move.reason)


@attrs.define
class Disbursement(Stateful):
    """The payout of one contract: how much, to whom, what the checks found, who holds it,
    and every attempt at the bank."""

    id: str
    contract_id: str
    contract_number: str
    application_id: str
    partner_id: str
    amount: Money
    """What the payee receives: the vehicle price less the down payment."""
    payee: Payee | None
    """None while the account to pay into is not on file (a check then fails)."""
    checks: tuple[PayoutCheck, ...]
    state: DisbursementState = attrs.field(converter=DisbursementState)
    locked_by: str | None
    locked_at: datetime | None
    lock_expires_at: datetime | None
    attempts: tuple[PayoutAttempt, ...]
    created_at: datetime
    checked_at: datetime
    reason: str | None = None
    """Why it was rejected or reported for fraud."""
    reported_person: str | None = None
    """The customer a fraud report names, whose id number the blacklist took."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[DisbursementState]] = DISBURSEMENT_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "partner_id", "contract_number")
    guards: ClassVar[Mapping[str, Guard]] = {
        _D.CLAIM: _check_claim,
        _D.RELEASE: _check_release,
        _D.APPROVE: _check_holder,
        _D.REJECT: _check_holder,
        _D.REPORT_FRAUD: _check_holder,
    }
    effects: ClassVar[Mapping[str, Effect]] = {
        _D.CLAIM: lock,
        _D.RELEASE: unlock,
        _D.APPROVE: _approved,
        _D.REJECT: _refused,
        _D.REPORT_FRAUD: _refused,
        _D.SEND: _sent,
        _D.SETTLE: _paid,
        _D.FAIL: _failed,
    }

    @classmethod
    def queue(
        cls,
        *,
        contract_id: str,
        contract_number: str,
        application_id: str,
        partner_id: str,
        amount: Money,
        payee: Payee | None,
        checks: Iterable[PayoutCheck],
        actor: Actor,
        at: datetime,
    ) -> Disbursement:
        ensure_may_create(actor, "disbursement")
        return cls(
            id=new_id(),
            contract_id=contract_id,
            contract_number=contract_number,
            application_id=application_id,
            partner_id=partner_id,
            amount=amount,
            payee=payee,
            checks=tuple(checks),
            state=DisbursementState.QUEUED,
            locked_by=None,
            locked_at=None,
            lock_expires_at=None,
            attempts=(),
            created_at=require_utc(at),
            checked_at=require_utc(at),
        )

    @property
    def current(self) -> PayoutAttempt:
        """The latest attempt; only an approved item has one."""
        return self.attempts[-1]

    def recheck(self, checks: Iterable[PayoutCheck], at: datetime) -> None:
        self.checks, self.checked_at = tuple(checks), require_utc(at)
