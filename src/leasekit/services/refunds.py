"""Refunds of a customer's credit, paid out through the bank with their status followed.

:func:`pay_out_refund` runs inside the command that decided the refund (an approved exception
request's execution) and commits with it: it takes the amount from the credit the contract's
payments hold, oldest payment first, records a :class:`~leasekit.domain.refunds.Refund` and
one event, ``credit_refunded``, which the vouchers book (out of the customer's credit
balances, through the operating account) and which sends the bank instruction once the
transaction has committed.

The instruction goes out as the payouts' do (:mod:`leasekit.services.disbursements`): in a
handler whose bank call happens outside any transaction, which first asks the bank about the
refund's instruction id (the refund's own id; a call that timed out may have been carried
out) and sends only if the bank has never seen it, so a redelivered event pays once. The
bank's receipt moves the refund: accepted is ``sent``, settled is ``paid``, refused or
returned is ``failed``, which gives each payment back exactly the credit taken from it, and
whose event (``refund_failed``) the vouchers book back. A refund out at the bank is followed
with :func:`track_refund`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from leasekit.domain.contracts import Payment, PaymentState, Receivable
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.lifecycle import MAX_REASON
from leasekit.domain.partner_profiles import mask_number
from leasekit.domain.refunds import Refund, RefundAction, RefundState
from leasekit.errors import DomainError, PermissionDeniedError
from leasekit.money import Money
from leasekit.ports import PaymentInstruction, PaymentReceipt, PaymentStatus, send_once
from leasekit.services.commands import Work, command, execute
from leasekit.services.context import ServiceContext, back_office_only, page_size
from leasekit.services.events import handles_gathered
from leasekit.services.storage import Page, Record
from leasekit.services.workflow import WORKFLOW, move_along

__all__ = [
    "CLAWBACK",
    "REFUND_TRACKERS",
    "claw_back",
    "ensure_no_refund_out",
    "get_refund",
    "list_contract_refunds",
    "mask_iban",
    "pay_out",
    "pay_out_refund",
    "record_refund_status",
    "refunded_from",
    "track_refund",
]

_SUBJECT: Final = "refund"
REFUND_TRACKERS: Final = frozenset({Role.FINANCE, Role.FINANCE_DIRECTOR})
"""Who may ask the bank where a refund stands."""
_OUT: Final = frozenset({RefundState.REQUESTED, RefundState.SENT})
"""The states in which the bank still has something to say."""
CLAWBACK: Final = "refunded credit of a reversed payment"
"""What a ``refund_clawed_back`` event says its line is for."""


def pay_out_refund(
    work: Work,
    *,
    contract_id: str,
    amount: Money,
    iban: str,
    holder: str,
    exception_request_id: str | None,
) -> Refund:
    """Refund *amount* of the contract's credit to the account *iban* of *holder*, within
    *work* (which commits it): the credit is taken oldest payment first, and refused, with
    nothing written, when it is smaller than *amount* (see the module)."""
    contract = work.uow.contracts.get(contract_id)
    holding = work.uow.payments.with_credit(contract.id)
    refund = Refund.request(
        contract_id=contract.id,
        partner_id=contract.partner_id,
        amount=amount,
        iban=iban,
        holder=holder,
        reference=f"Refund of credit, contract {contract.number}",
        exception_request_id=exception_request_id,
        held=[(payment.id, payment.unallocated) for payment in holding],
        actor=work.actor,
        at=work.at,
    )
    by_id = {payment.id: payment for payment in holding}
    for part in refund.taken:
        _change_credit(work, by_id[part.payment_id], -Money(part.amount, refund.amount.currency))
    work.uow.refunds.add(refund)
    work.event(
        "credit_refunded", _SUBJECT, refund.id,
        {"contract_id": contract.id, "partner_id": contract.partner_id,
         "amount": str(refund.amount.amount), "currency": refund.amount.currency.code,
         "exception_request_id": exception_request_id,
         "payments": ",".join(part.payment_id for part in refund.taken)},
    )  # fmt: skip
    return refund


def ensure_no_refund_out(work: Work, payment: Payment) -> None:
    """Refuse to change *payment* (a reversal) while a refund that took its credit is still
    out at the bank: if the bank failed it afterwards, the credit would come back to a
    payment that no longer holds any."""
    for refund in work.uow.refunds.of_payment(payment.id):
        if refund.state in _OUT:
            raise DomainError(
                f"refund {refund.id} of this payment's credit is {refund.state} at the bank; "
                "wait until it is paid or failed"
            )


def refunded_from(work: Work, payment: Payment) -> list[tuple[Refund, Money]]:
    """Each refund not failed (paid, or still out at the bank) that took of *payment*'s
    credit, with what it took: money the customer has, or may yet have, which a reversal of
    the payment must count, since the bank takes back the whole payment."""
    found = []
    for refund in work.uow.refunds.of_payment(payment.id):
        taken = sum(
            (part.amount for part in refund.taken if part.payment_id == payment.id), Decimal(0)
        )
        if refund.state is not RefundState.FAILED and taken:
            found.append((refund, Money(taken, refund.amount.currency)))
    return found


def claw_back(work: Work, payment: Payment, paid: Sequence[tuple[Refund, Money]]) -> None:
    """Make the contract of the reversed *payment* owe what the refunds *paid* out of its
    credit: a new line due on the business date whose fee part is that amount (the part every
    business type keeps in its receivable account, and which is never income), so that it is
    collected, ages and is paid as any line. Its event books it from the customer credit
    balances, which the reversal debited with the refunded credit too, to the receivable."""
    if not paid:
        return
    amount = sum((taken for _, taken in paid), Money.zero(payment.amount.currency))
    lines = work.uow.receivables.list_for_contract(payment.contract_id)
    zero = Money.zero(amount.currency)
    line = Receivable.line(
        contract_id=payment.contract_id,
        sequence=max((line.sequence for line in lines), default=0) + 1,
        due_date=work.business_date,
        principal=zero,
        interest=zero,
        fee=amount,
    )
    work.uow.receivables.add_many([line])
    work.event(
        "refund_clawed_back", "receivable", line.id,
        {"contract_id": payment.contract_id, "amount": str(amount.amount),
         "currency": amount.currency.code, "payment_id": payment.id,
         "refunds": ",".join(refund.id for refund, _ in paid), "description": CLAWBACK},
    )  # fmt: skip


def _change_credit(work: Work, payment: Payment, change: Money) -> None:
    payment.unallocated += change
    work.uow.payments.update(payment)


# --- paying out ------------------------------------------------------------------------------


def _instruction(refund: Refund, on: date) -> PaymentInstruction:
    return PaymentInstruction(
        instruction_id=refund.instruction_id,
        payee_name=refund.holder,
        payee_account=refund.iban,
        amount=refund.amount,
        requested_date=on,
        remittance=refund.reference,
    )


def _ask_bank(ctx: ServiceContext, event: DomainEvent) -> PaymentReceipt | None:
    """The bank's receipt for a refund just recorded, before any transaction: what the bank
    knows of its instruction id first, and only if it knows nothing, the instruction sent."""
    if event.subject != _SUBJECT:
        return None
    with ctx.uow_factory() as uow:
        refund = uow.refunds.get(event.subject_id)
    if refund.state is not RefundState.REQUESTED:
        return None  # answered already
    return send_once(ctx.adapters.bank, _instruction(refund, ctx.moment()[1]))


@handles_gathered("credit_refunded", name="refunds.pay_out", gather=_ask_bank)
def pay_out(work: Work, event: DomainEvent, receipt: PaymentReceipt | None) -> None:
    """Record what the bank answered for a refund just recorded (see the module)."""
    if receipt is None:
        return
    refund = work.uow.refunds.get(event.subject_id)
    if refund.state is RefundState.REQUESTED:
        _record_receipt(work, refund, receipt)


def _record_receipt(work: Work, refund: Refund, receipt: PaymentReceipt) -> None:
    if receipt.status is PaymentStatus.REJECTED:
        _fail(work, refund, (receipt.reason or "refused by the bank")[:MAX_REASON])
        return
    if refund.state is RefundState.REQUESTED:
        _move(work, refund, RefundAction.SEND, bank_reference=receipt.bank_reference)
    if receipt.status is PaymentStatus.SETTLED:
        _move(work, refund, RefundAction.SETTLE)
        _claw_back_reversed(work, refund)


def _move(
    work: Work, refund: Refund, action: RefundAction, reason: str | None = None, **params: str
) -> None:
    move_along(work, refund, work.uow.refunds, action, reason, **params)


def _fail(work: Work, refund: Refund, reason: str) -> None:
    """Failed: each payment gets back exactly the credit the refund took from it, but one
    reversed meanwhile, whose reversal took that credit out with the whole payment: the
    money is back, and nobody owes it."""
    _move(work, refund, RefundAction.FAIL, reason)
    for payment, taken in _taken_from(work, refund):
        if payment.state is not PaymentState.REVERSED:
            _change_credit(work, payment, taken)


def _claw_back_reversed(work: Work, refund: Refund) -> None:
    """Paid after a payment it took credit from was reversed: the customer has that money,
    which the reversal counted as taken back with the payment; it is owed now
    (:func:`claw_back`)."""
    for payment, taken in _taken_from(work, refund):
        if payment.state is PaymentState.REVERSED:
            claw_back(work, payment, [(refund, taken)])


def _taken_from(work: Work, refund: Refund) -> list[tuple[Payment, Money]]:
    """Each payment *refund* took credit from, with what it took, read in one query."""
    payments = work.uow.payments.get_many([part.payment_id for part in refund.taken])
    currency = refund.amount.currency
    return [(payments[part.payment_id], Money(part.amount, currency)) for part in refund.taken]


@command(
    "record_refund_status",
    subject=_SUBJECT,
    roles=frozenset({Role.SYSTEM}),
    reload=lambda uow, refund_id: uow.refunds.get(refund_id),
    quiet=True,
)
def record_refund_status(work: Work, receipt: PaymentReceipt) -> Refund:
    """Record the bank's current receipt for a refund that is out at the bank."""
    refund = work.uow.refunds.get(receipt.instruction_id)
    if refund.state in _OUT:
        _record_receipt(work, refund, receipt)
    return refund


def _ensure_tracker(actor: Actor) -> None:
    if actor.role not in REFUND_TRACKERS:
        raise PermissionDeniedError(_SUBJECT, "track", actor.role.value)


def track_refund(ctx: ServiceContext, actor: Actor, refund_id: str, /) -> Refund:
    """Ask the bank where a refund that is out stands, and record its answer: settled is
    paid, refused or returned fails and gives the credit back. Finance only."""
    _ensure_tracker(actor)
    refund = get_refund(ctx, actor, refund_id)
    if refund.state not in _OUT:
        return refund
    receipt = ctx.adapters.bank.payment_status(refund.instruction_id)
    if receipt is None:
        return refund
    return execute(ctx, WORKFLOW, record_refund_status, receipt)


# --- reading ---------------------------------------------------------------------------------


def mask_iban(record: Record) -> Record:
    """A listed refund with its account number cut, as lists show it."""
    return {**record, "iban": mask_number(record["iban"])}


def get_refund(ctx: ServiceContext, actor: Actor, refund_id: str, /) -> Refund:
    """Get a refund: the account paid, the payments whose credit it took, the exception
    request that asked for it and what the bank made of it. Back office."""
    back_office_only(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        return uow.refunds.get(refund_id)


def list_contract_refunds(
    ctx: ServiceContext,
    actor: Actor,
    contract_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List a contract's refunds.

    Oldest first, each with its state and amount; account numbers masked. Back office."""
    back_office_only(actor, _SUBJECT)
    with ctx.uow_factory() as uow:
        uow.contracts.get(contract_id)
        page = uow.refunds.for_contract(contract_id, after=after, limit=page_size(limit))
    return Page([mask_iban(record) for record in page.items], page.next_after)
