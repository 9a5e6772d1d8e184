"""Payments: recorded with their source, allocated to the contract's receivables by the
product's waterfall, kept as credit where nothing is due, and undone when the bank takes the
money back.

Every movement of money is an event the voucher engine books: ``payment_received``,
``payment_allocated`` (what the payment paid of each part, and the credit left),
``credit_applied`` (credit a later installment used), ``payment_reversed`` (what was given
back of each part, negative, and the credit that went with the payment, refunded or not),
``allocation_undone`` (a later payment's allocation given back to its credit when a reversal
replays what came after it), ``refund_clawed_back`` (what was refunded of a reversed
payment's credit, owed again) and ``return_fee_charged``. Allocations are append-only rows; a
receivable's paid parts are their running sum, updated in the same transaction, so
allocations plus credit equal the payments at every commit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Final, Protocol, TypeVar

import attrs

from leasekit.domain.contracts import (
    Contract,
    ContractState,
    Payment,
    PaymentAction,
    PaymentSource,
    PaymentState,
    Receivable,
)
from leasekit.domain.end_of_day import PenaltyReplay
from leasekit.domain.funds import (
    Allocation,
    Arrival,
    CreditRun,
    Placed,
    PostedAllocation,
    ReceivablePart,
    ReceivableStatus,
    allocate,
    by_part,
    play,
    status_of,
)
from leasekit.domain.identity import Actor
from leasekit.domain.refunds import RefundState
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.services.commands import Work, command
from leasekit.services.context import (
    ServiceContext,
    page_size,
    visible_contract,
    visible_or_not_found,
)
from leasekit.services.reads import number_cursor
from leasekit.services.refunds import claw_back, refunded_from
from leasekit.services.storage import Page, Record

__all__ = [
    "PAYING_STATES",
    "PaymentView",
    "ReceivableLine",
    "RecordPayment",
    "allocate_credit",
    "by_contract",
    "charge_return_fee",
    "check_reapply",
    "get_payment",
    "list_contract_payments",
    "list_receivables",
    "post_payment",
    "record_payment",
    "reverse_payment",
    "write_off_receivables",
]

_SUBJECT: Final = "payment"
PAYING_STATES: Final = frozenset({ContractState.ACTIVE, ContractState.TERMINATED})
"""The states in which a contract's customer owes, and pays, installments."""
_MANUAL_SOURCES: Final = frozenset(PaymentSource) - {PaymentSource.DIRECT_DEBIT}


class _OfContract(Protocol):
    @property
    def contract_id(self) -> str: ...


_L = TypeVar("_L", bound=_OfContract)


def by_contract(lines: Iterable[_L], contracts: int) -> Iterator[dict[str, list[_L]]]:
    """*lines* (in contract order, as the book's queries stream them) grouped by contract,
    *contracts* contracts at a time: what a pass over a whole book holds at once."""
    grouped = itertools.groupby(lines, lambda line: line.contract_id)
    while chunk := {contract_id: list(group) for contract_id, group in
                    itertools.islice(grouped, contracts)}:  # fmt: skip
        yield chunk


@attrs.frozen
class RecordPayment:
    """Money received for a contract by hand: a transfer, cash, a dealer paying for its
    customer. Direct debits are recorded by importing the bank's results."""

    contract_id: str
    amount: Money
    reference: str = attrs.field(metadata={"max_length": 140})
    source: PaymentSource = attrs.field(
        default=PaymentSource.BANK_TRANSFER,
        metadata={"description": "bank_transfer, dealer_settlement, cash or other."},
    )
    source_ref: str | None = attrs.field(
        default=None,
        metadata={"max_length": 64, "description": "The id of the item it came from (a "
                  "statement line, a receipt number): one payment per source item."},
    )  # fmt: skip
    received_on: date | None = attrs.field(
        default=None, metadata={"description": "The business date it arrived; today's if left out."}
    )


def _paying_contract(work: Work, contract_id: str) -> Contract:
    contract = visible_or_not_found(
        work.actor, work.uow.contracts.get(contract_id), "contract", contract_id
    )
    if contract.state not in PAYING_STATES:
        raise ValidationError.single(
            "contract_id", f"contract {contract.number} is {contract.state}; it takes no payments"
        )
    return contract


def _split(allocations: Sequence[Allocation], credit: Money) -> dict[str, str]:
    zero = Money(0, credit.currency)
    return {**by_part(allocations, zero), "credit": str(credit.amount)}


def _post(work: Work, payment: Payment, allocations: Sequence[Allocation], on: date) -> None:
    work.uow.allocations.add_many(
        PostedAllocation.of(payment, allocation, on=on, at=work.at) for allocation in allocations
    )


def _store_lines(work: Work, lines: Sequence[Receivable], touched: set[str]) -> None:
    for line in lines:
        if line.id in touched:
            work.uow.receivables.update(line)


def post_payment(
    work: Work, contract: Contract, payment: Payment, *, through: date | None = None
) -> Payment:
    """Record *payment* and allocate it (after any older credit) to what is due by the day it
    arrived (or by *through*: a payoff pays installments not yet due); what nothing is due
    for stays with it as credit."""
    if payment.amount.currency != contract.principal.currency:
        raise ValidationError.single("amount", f"the contract is in {contract.principal.currency}")
    lines = work.uow.receivables.list_for_contract(contract.id)
    due_by = through or payment.received_on
    touched = _use_credit(work, contract, lines, payment.received_on, through=due_by)
    work.uow.payments.add(payment)
    work.event(
        "payment_received",
        _SUBJECT,
        payment.id,
        {"contract_id": contract.id, "amount": str(payment.amount.amount),
         "currency": payment.amount.currency.code, "source": str(payment.source),
         "source_ref": payment.source_ref},
    )  # fmt: skip
    waterfall = work.ctx.collection.waterfall_for(contract.business_type)
    allocations, left = allocate(lines, payment.amount, waterfall, due_by)
    _post(work, payment, allocations, payment.received_on)
    touched |= {allocation.receivable_id for allocation in allocations}
    _store_lines(work, lines, touched)
    payment.unallocated = left
    _move(work, payment, PaymentAction.ALLOCATE, _split(allocations, left))
    return payment


def _move(
    work: Work,
    payment: Payment,
    action: PaymentAction,
    split: dict[str, str],
    reason: str | None = None,
) -> None:
    """Move *payment* with what it paid of each part and its credit in the event."""
    event = payment.apply(
        action, work.actor, at=work.at, business_date=work.business_date, reason=reason,
        penalty=split["penalty"], fee=split["fee"], interest=split["interest"],
        principal=split["principal"], credit=split["credit"],
    )  # fmt: skip
    work.uow.payments.update(payment)
    work.record(event)


def _use_credit(
    work: Work,
    contract: Contract,
    lines: Sequence[Receivable],
    on: date,
    *,
    through: date | None = None,
) -> set[str]:
    """Let older payments' credit pay what is due by *on* (or by *through*), oldest payment
    first, allocated on *on*; the lines changed."""
    waterfall = work.ctx.collection.waterfall_for(contract.business_type)
    touched: set[str] = set()
    for payment in work.uow.payments.with_credit(contract.id):
        allocations, left = allocate(lines, payment.unallocated, waterfall, through or on)
        if not allocations:
            break
        _post(work, payment, allocations, on)
        touched |= {allocation.receivable_id for allocation in allocations}
        payment.unallocated = left
        work.uow.payments.update(payment)
        work.event(
            "credit_applied", _SUBJECT, payment.id,
            {"contract_id": contract.id, "currency": left.currency.code,
             **_split(allocations, left)},
        )  # fmt: skip
    return touched


def allocate_credit(work: Work, contract: Contract) -> bool:
    """Let the contract's credit pay what has fallen due by the business date (end of day
    calls it for installments falling due); True if any credit was used."""
    lines = work.uow.receivables.list_for_contract(contract.id)
    touched = _use_credit(work, contract, lines, work.business_date)
    _store_lines(work, lines, touched)
    return bool(touched)


@command(
    "record_payment",
    subject=_SUBJECT,
    creates="payment",
    reload=lambda uow, payment_id: uow.payments.get(payment_id),
)
def record_payment(work: Work, request: RecordPayment) -> Payment:
    """Record money received for a contract and allocate it.

    The amount pays what the contract's receivables have due by the day it arrived, oldest
    installment first and within it penalty, fees, interest, principal (the product's
    waterfall may differ); what is left is the customer's credit, which the next installment
    uses when it falls due. ``source_ref`` names the item it came from, once: recording the
    same source item again is a 422. An active (or terminated) contract only. Finance."""
    if request.source not in _MANUAL_SOURCES:
        raise ValidationError.single("source", "direct debits come from the bank's result files")
    contract = _paying_contract(work, request.contract_id)
    payment = Payment.receive(
        contract_id=contract.id,
        amount=request.amount,
        received_on=request.received_on or work.business_date,
        reference=request.reference,
        source=request.source,
        source_ref=request.source_ref,
        actor=work.actor,
        at=work.at,
    )
    if payment.received_on > work.business_date:
        raise ValidationError.single("received_on", "is after the business date")
    return post_payment(work, contract, payment)


def reverse_payment(
    work: Work, payment: Payment, reason: str, *, reapply_to: Contract | None = None
) -> Payment | None:
    """Undo *payment* and replay what came after it: each of its allocations is reversed by a
    row of its own, its credit goes with it, and the contract's later history is allocated
    again as if it had never been posted (:func:`_replay`). With *reapply_to* (a paying
    contract in the same currency) the same money is then posted there, as it arrived, and
    that payment is returned.

    The bank takes back the whole payment, credit included, even what a refund has already
    paid out of that credit: what refunds paid becomes owed again
    (:func:`~leasekit.services.refunds.claw_back`), and what a refund still out at the bank
    pays is owed once it is paid."""
    contract = work.uow.contracts.get(payment.contract_id)
    if reapply_to is not None:
        check_reapply(contract, reapply_to)
    lines = work.uow.receivables.list_for_contract(contract.id)
    refunded = refunded_from(work, payment)
    taken = sum((amount for _, amount in refunded), Money.zero(payment.amount.currency))
    _undo(work, payment, reason, lines, taken)
    _replay(work, contract, payment.received_on, lines)
    paid = [(refund, amount) for refund, amount in refunded if refund.state is RefundState.PAID]
    claw_back(work, payment, paid)
    return None if reapply_to is None else _reapply(work, payment, reapply_to)


def _undo(
    work: Work, payment: Payment, reason: str, lines: Sequence[Receivable], refunded: Money
) -> None:
    """Reverse *payment*'s standing allocations; its contract's *lines* (changed and stored)
    owe again what it had paid. The event's credit is what the payment still holds and what
    was *refunded* of it, so that its voucher takes the whole payment out of the bank."""
    reversals = [row.reversal(on=work.business_date, at=work.at)
                 for row in _standing(work.uow.allocations.of_payment(payment.id))]  # fmt: skip
    by_id = {line.id: line for line in lines}
    for row in reversals:
        by_id[row.receivable_id].pay(str(row.part), row.amount)
    work.uow.allocations.add_many(reversals)
    for line_id in {row.receivable_id for row in reversals}:
        work.uow.receivables.update(by_id[line_id])
    # What was given back of each part, negative as the reversal rows are (the voucher
    # engine's payment_reversed declares its parts so); the credit held, as it was, and
    # the credit refunded, which refund_clawed_back then books as owed.
    split = _split(_as_allocations(reversals), payment.unallocated + refunded)
    payment.unallocated = Money(0, payment.amount.currency)
    _move(work, payment, PaymentAction.REVERSE, split, reason)


def _standing(rows: Iterable[PostedAllocation]) -> list[PostedAllocation]:
    """The allocations in *rows* that still count: not reversals, and not undone."""
    rows = list(rows)
    undone = {row.reverses for row in rows if row.reverses}
    return [row for row in rows if row.reverses is None and row.id not in undone]


def _as_allocations(rows: Iterable[PostedAllocation]) -> list[Allocation]:
    return [Allocation(row.receivable_id, row.sequence, row.part, row.amount) for row in rows]


def _replay(work: Work, contract: Contract, since: date, lines: Sequence[Receivable]) -> None:
    """Allocate again what *contract*'s allocated payments did from the day *since* on, as
    posting them one by one would have without the payments reversed since; *lines* are its
    receivables as they stand in this transaction (changed, and stored where they change).

    The order is the payments' ``received_on``, then the order they were recorded in (their
    ids); on each day the credit held first pays what falls due that day (as the end of day
    does, up to the business date, and on any other day credit was applied), then the
    payments of the day arrive, each after the older credit (:func:`~leasekit.domain.funds.play`).
    A payment whose allocations come out as they stand keeps them; each other one has them
    reversed (``allocation_undone``: the parts go back to its credit) and the new ones posted
    on the days the replay made them (``credit_applied``). Rows only: nothing is updated or
    deleted among the allocations."""
    payments = [payment for payment in work.uow.payments.list_for_contract(contract.id)
                if payment.state is PaymentState.ALLOCATED]  # fmt: skip
    window: dict[str, list[PostedAllocation]] = {payment.id: [] for payment in payments}
    kept: list[PostedAllocation] = []
    for row in _standing(work.uow.allocations.of_contract(contract.id)):
        if row.allocated_on >= since:
            window[row.payment_id].append(row)
        else:
            kept.append(row)
    figures_before = {line.id: _figures(line) for line in lines}
    by_id = {line.id: line for line in lines}
    for row in itertools.chain.from_iterable(window.values()):
        by_id[row.receivable_id].pay(str(row.part), -row.amount)
    arriving = sorted((p for p in payments if p.received_on >= since),
                      key=lambda p: (p.received_on, p.id))  # fmt: skip
    held = {p.id: p.unallocated + _total(window[p.id], p) for p in payments
            if p.received_on < since}  # fmt: skip
    waterfall = work.ctx.collection.waterfall_for(contract.business_type)
    penalty = _penalty_replay(work, contract, lines, since, kept)
    closes = None if penalty is None else partial(penalty.close_through, lines)
    placed, credit = play(lines, _steps(window, arriving, lines, since, work.business_date),
                          waterfall, held, closes)  # fmt: skip
    if penalty is not None:
        penalty.close_through(lines, penalty.last)
        work.uow.end_of_day.set_penalty_states(penalty.states)
    new: dict[str, list[Placed]] = {payment.id: [] for payment in payments}
    for one in placed:
        new[one.payment_id].append(one)
    for payment in payments:
        _replace(work, payment, window[payment.id], new[payment.id], credit[payment.id])
    for line in lines:
        if _figures(line) != figures_before[line.id]:
            work.uow.receivables.update(line)


def _penalty_replay(
    work: Work,
    contract: Contract,
    lines: Sequence[Receivable],
    since: date,
    kept: Sequence[PostedAllocation],
) -> PenaltyReplay | None:
    """The closes' penalty to be charged again as the replay goes (None if no close has
    charged the contract). They ran every day from the first close after the contract was
    booked through the last, or through the day a running close has charged its lines."""
    span = work.uow.end_of_day.closed_span(contract.created_at)
    if span is None:
        return None
    states = work.uow.end_of_day.penalty_states([line.id for line in lines])
    last = max([span[1], *(state.through for state in states.values() if state.through)])
    paid_since = [(row.receivable_id, row.allocated_on, row.amount.amount) for row in kept
                  if row.part is not ReceivablePart.PENALTY]  # fmt: skip
    return PenaltyReplay.before(
        lines, since, paid_since, first=span[0], last=last,
        daily_rate=work.ctx.close_rules.penalty_daily_rate,
        grace_days=work.ctx.collection.retry.grace_days,
        exact={line_id: state.exact for line_id, state in states.items()},
    )  # fmt: skip


def _figures(line: Receivable) -> tuple[Money, ...]:
    """What a replay may change of a line: what is paid of each part, and the penalty."""
    return (*(getattr(line, f"paid_{part}") for part in ReceivablePart), line.penalty)


def _total(rows: Iterable[PostedAllocation], payment: Payment) -> Money:
    return sum((row.amount for row in rows), Money(0, payment.amount.currency))


def _steps(
    window: Mapping[str, Sequence[PostedAllocation]],
    arriving: Sequence[Payment],
    lines: Sequence[Receivable],
    since: date,
    today: date,
) -> list[Arrival | CreditRun]:
    """The replay's days in order. Credit is applied on each due date up to *today* (as the
    end of day does) and on each other day it was applied but not by a payment arriving (nor
    by the one reversed, which arrived on *since*); then the day's payments arrive. A payment
    that paid installments not yet due when it arrived (a payoff) pays as far again."""
    due = {line.id: line.due_date for line in lines}
    arrival_days = {payment.received_on for payment in arriving} | {since}
    runs = {day for day in due.values() if since <= day <= today}
    runs |= {row.allocated_on for rows in window.values() for row in rows} - arrival_days
    steps: list[tuple[date, str, Arrival | CreditRun]] = [(day, "", CreditRun(day)) for day in runs]
    for payment in arriving:
        day = payment.received_on
        paid = [due[row.receivable_id] for row in window[payment.id] if row.allocated_on == day]
        through = max([day, *paid])
        steps.append((day, payment.id, Arrival(payment.id, payment.amount, day, through)))
    return [step for _, _, step in sorted(steps, key=lambda entry: entry[:2])]


def _replace(
    work: Work,
    payment: Payment,
    old: Sequence[PostedAllocation],
    new: Sequence[Placed],
    credit: Money,
) -> None:
    """Post *payment*'s replayed allocations (*new*) in place of its standing ones of the
    replayed days (*old*), unless they come out the same."""
    if _by_line_part_day(old) == _by_line_part_day(new):
        return
    reversals = [row.reversal(on=work.business_date, at=work.at) for row in old]
    work.uow.allocations.add_many(reversals)
    cur = payment.amount.currency
    if reversals:
        back = payment.unallocated - _total(reversals, payment)
        work.event(
            "allocation_undone", _SUBJECT, payment.id,
            {"contract_id": payment.contract_id, "currency": cur.code,
             **_split(_as_allocations(reversals), back)},
        )  # fmt: skip
    work.uow.allocations.add_many(
        PostedAllocation.of(payment, one.allocation, on=one.on, at=work.at) for one in new
    )
    payment.unallocated = credit
    work.uow.payments.update(payment)
    if new:
        work.event(
            "credit_applied", _SUBJECT, payment.id,
            {"contract_id": payment.contract_id, "currency": cur.code,
             **_split([one.allocation for one in new], credit)},
        )  # fmt: skip


def _by_line_part_day(
    rows: Iterable[PostedAllocation | Placed],
) -> dict[tuple[str, ReceivablePart, date], Money]:
    """What *rows* paid of each line's part on each day (a row split in two counts once)."""
    totals: dict[tuple[str, ReceivablePart, date], Money] = {}
    for row in rows:
        one = row.allocation if isinstance(row, Placed) else row
        day = row.on if isinstance(row, Placed) else row.allocated_on
        key = (one.receivable_id, one.part, day)
        totals[key] = totals[key] + one.amount if key in totals else one.amount
    return totals


def check_reapply(contract: Contract, target: Contract, field: str = "reapply_to") -> None:
    """Money reversed on *contract* may be re-applied to *target* only if it is another
    contract that takes payments in the same currency; otherwise a fault of *field*."""
    if target.id == contract.id:
        raise ValidationError.single(field, "is the contract the payment is reversed on")
    if target.state not in PAYING_STATES:
        raise ValidationError.single(
            field, f"contract {target.number} is {target.state}; it takes no payments"
        )
    if target.principal.currency != contract.principal.currency:
        raise ValidationError.single(
            field, f"contract {target.number} is in {target.principal.currency}"
        )


def _reapply(work: Work, reversed_: Payment, target: Contract) -> Payment:
    """Post the money of *reversed_* to *target* as it arrived (its source, reference and
    day; ``source_ref`` names the payment reversed, one re-application each), then replay
    what *target*'s later payments did after it."""
    payment = Payment.receive(
        contract_id=target.id,
        amount=reversed_.amount,
        received_on=reversed_.received_on,
        reference=reversed_.reference,
        source=reversed_.source,
        source_ref=f"reapplied:{reversed_.id}",
        actor=work.actor,
        at=work.at,
    )
    post_payment(work, target, payment)
    _replay(work, target, payment.received_on, work.uow.receivables.list_for_contract(target.id))
    return work.uow.payments.get(payment.id)


def _return_fee(work: Work, contract: Contract) -> Decimal | None:
    """What a returned debit costs under the contract's product, else the company's fee for
    its currency; None if neither charges one."""
    if contract.product_version_id is not None:
        fee = work.uow.product_versions.get(contract.product_version_id).terms.return_fee
        if fee is not None:
            return fee
    return work.ctx.collection.return_fees.get(contract.principal.currency.code)


def charge_return_fee(work: Work, contract: Contract, line_ids: Sequence[str], code: str) -> None:
    """Add the fee for a returned debit (the product's, else the company's for the currency)
    to the first line the debit was for."""
    cur = contract.principal.currency
    fee = _return_fee(work, contract)
    if not fee or not line_ids:
        return
    line = work.uow.receivables.get(line_ids[0])
    line.fee += Money(Decimal(fee), cur)
    work.uow.receivables.update(line)
    work.event(
        "return_fee_charged", "receivable", line.id,
        {"contract_id": contract.id, "amount": str(fee), "currency": cur.code,
         "reason_code": code},
    )  # fmt: skip


_WRITTEN_OFF_PARTS: Final = ("principal", "interest", "fee", "penalty")


def write_off_receivables(work: Work, contract: Contract) -> None:
    """Once *contract* is written off: every line it still owes on is written off on the
    business date (so nothing of it is owed or debited again), and one event says what was
    given up of each part, for the voucher that takes it off the books."""
    cur = contract.principal.currency
    given_up = dict.fromkeys(_WRITTEN_OFF_PARTS, Money.zero(cur))
    for line in work.uow.receivables.list_for_contract(contract.id):
        if line.written_off_on is not None or line.settled:
            continue
        for part in _WRITTEN_OFF_PARTS:
            given_up[part] += line.owed(part)
        line.written_off_on = work.business_date
        work.uow.receivables.update(line)
    work.event(
        "receivables_written_off", "contract", contract.id,
        {"contract_id": contract.id, "currency": cur.code,
         **{part: str(amount.amount) for part, amount in given_up.items()}},
    )  # fmt: skip


# --- reading ----------------------------------------------------------------------------------


@attrs.frozen
class PaymentView:
    """A payment and every allocation it made (reversals as negative amounts)."""

    payment: Payment
    allocations: tuple[PostedAllocation, ...]


def get_payment(ctx: ServiceContext, actor: Actor, payment_id: str) -> PaymentView:
    """Get a payment with its allocations.

    Where it came from (``source`` and ``source_ref``: the debit, the statement line, the
    person who entered it), what it paid of which installment and part, what is left as
    credit. Back office, or the contract's dealer."""
    with ctx.uow_factory() as uow:
        payment = uow.payments.get(payment_id)
        visible_or_not_found(actor, uow.contracts.get(payment.contract_id), _SUBJECT, payment_id)
        return PaymentView(payment, tuple(uow.allocations.of_payment(payment_id)))


def list_contract_payments(
    ctx: ServiceContext,
    actor: Actor,
    contract_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List a contract's payments.

    Oldest first, each with its source, state and what is still unallocated (credit)."""
    with ctx.uow_factory() as uow:
        visible_contract(uow, actor, contract_id)
        return uow.payments.for_contract(contract_id, after=after, limit=page_size(limit))


@attrs.frozen
class ReceivableLine:
    """An installment as it stands on the business date."""

    id: str
    sequence: int
    due_date: date
    status: ReceivableStatus
    amount_due: Money
    outstanding: Money
    principal: Money
    interest: Money
    fee: Money
    penalty: Money
    paid_principal: Money
    paid_interest: Money
    paid_fee: Money
    paid_penalty: Money

    @classmethod
    def of(cls, line: Receivable, on: date, grace_days: int) -> ReceivableLine:
        parts = {f"{paid}{part}": getattr(line, f"{paid}{part}")
                 for part in ReceivablePart for paid in ("", "paid_")}  # fmt: skip
        return cls(
            id=line.id, sequence=line.sequence, due_date=line.due_date,
            status=status_of(line, on, grace_days), amount_due=line.amount_due,
            outstanding=line.outstanding, **parts,
        )  # fmt: skip


def list_receivables(
    ctx: ServiceContext,
    actor: Actor,
    contract_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[ReceivableLine]:
    """List a contract's receivables with their status.

    In schedule order, one per installment: when it falls due, its principal, interest, fee
    and penalty and what has been paid of each, and its status on the business date
    (``not_due``, ``due``, ``partly_paid``, ``paid``, ``overdue`` past the grace days,
    ``written_off``). A dealer user reads its own partner's contracts'."""
    since = number_cursor(after)
    on, grace = ctx.clock.business_date(), ctx.collection.retry.grace_days
    with ctx.uow_factory() as uow:
        visible_contract(uow, actor, contract_id)
        page = uow.receivables.schedule(contract_id, after=since, limit=page_size(limit))
    return Page([ReceivableLine.of(line, on, grace) for line in page.items], page.next_after)
