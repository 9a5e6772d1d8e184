"""What a receivable's status is on a business date, and how money is spread over
receivables (the allocation waterfall).

A payment pays what is due, in an order the product sets: by default the oldest installment
first, and within it penalty, then fees, then interest, then principal, so that the company is
paid what costs the customer most before the balance shrinks. Some products pay each part
across all installments before the next part (:attr:`WaterfallOrder.BY_PART`). Nothing is
paid before it falls due: what is left over stays with the payment as the customer's credit.

:func:`play` allocates a sequence of arrivals and credit runs as the services do one at a
time: the replay of a contract's history after a payment is reversed, and the oracle that
checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.contracts import Payment, Receivable
from leasekit.domain.identity import new_id
from leasekit.errors import ValidationError
from leasekit.money import Money

__all__ = [
    "DEFAULT_WATERFALL",
    "Allocation",
    "Arrival",
    "CreditRun",
    "Placed",
    "PostedAllocation",
    "ReceivablePart",
    "ReceivableStatus",
    "Waterfall",
    "WaterfallOrder",
    "allocate",
    "by_part",
    "play",
    "status_of",
]


class ReceivablePart(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class ReceivableStatus(StrEnum):
    """Where a receivable stands on a business date."""

    NOT_DUE = "not_due"
    DUE = "due"
    """Due and unpaid, within the grace days."""
    PARTLY_PAID = "partly_paid"
    """Due, something paid, something owed, within the grace days."""
    PAID = "paid"
    OVERDUE = "overdue"
    """Still owed after the grace days (partly paid or not)."""
    WRITTEN_OFF = "written_off"


def status_of(line: Receivable, on: date, grace_days: int = 0) -> ReceivableStatus:
    """The status of *line* on the business date *on*; *grace_days* after the due date a
    line still owed is overdue."""
    if line.written_off_on is not None and line.written_off_on <= on:
        return ReceivableStatus.WRITTEN_OFF
    if line.settled:
        return ReceivableStatus.PAID
    if on < line.due_date:
        return ReceivableStatus.NOT_DUE
    if on > line.due_date + timedelta(days=grace_days):
        return ReceivableStatus.OVERDUE
    if line.paid.amount > 0:
        return ReceivableStatus.PARTLY_PAID
    return ReceivableStatus.DUE


class WaterfallOrder(StrEnum):
    BY_INSTALLMENT = "by_installment"
    """The oldest installment in full (part by part) before the next one."""
    BY_PART = "by_part"
    """The first part of every installment, oldest first, before the next part."""


def _parts(value: Iterable[str]) -> tuple[ReceivablePart, ...]:
    try:
        parts = tuple(ReceivablePart(part) for part in value)
    except ValueError:
        raise ValidationError.single(
            "parts", f"must name each of {', '.join(ReceivablePart)} once"
        ) from None
    if sorted(parts) != sorted(ReceivablePart):
        raise ValidationError.single("parts", f"must name each of {', '.join(ReceivablePart)} once")
    return parts


@attrs.frozen
class Waterfall:
    """The order a payment pays what is due in."""

    parts: tuple[ReceivablePart, ...] = attrs.field(default=tuple(ReceivablePart), converter=_parts)
    order: WaterfallOrder = attrs.field(
        default=WaterfallOrder.BY_INSTALLMENT, converter=WaterfallOrder
    )

    def steps(self, lines: Sequence[Receivable]) -> list[tuple[Receivable, ReceivablePart]]:
        """Each (line, part) in the order they are paid; *lines* oldest first."""
        if self.order is WaterfallOrder.BY_PART:
            return [(line, part) for part in self.parts for line in lines]
        return [(line, part) for line in lines for part in self.parts]


DEFAULT_WATERFALL: Final = Waterfall()


@attrs.frozen
class Allocation:
    """An amount of a payment that paid one part of one receivable (negative: undone)."""

    receivable_id: str
    sequence: int
    part: ReceivablePart = attrs.field(converter=ReceivablePart)
    amount: Money


def allocate(
    lines: Iterable[Receivable], amount: Money, waterfall: Waterfall, on: date
) -> tuple[list[Allocation], Money]:
    """Pay up to *amount* of what *lines* have due on or before *on*, in *waterfall* order;
    the lines are updated. Returns the allocations and what is left (the credit).

    Written-off lines take nothing: what the company gave up on is recovered, if ever, by a
    decision of its own, not by the next payment."""
    due = sorted(
        (
            line
            for line in lines
            if line.due_date <= on and line.written_off_on is None and not line.settled
        ),
        key=lambda line: (line.due_date, line.sequence),
    )
    left = amount
    allocations = []
    for line, part in waterfall.steps(due):
        if left.amount <= 0:
            break
        share = min(line.owed(part), left)
        if share.amount <= 0:
            continue
        line.pay(part, share)
        left -= share
        allocations.append(Allocation(line.id, line.sequence, part, share))
    return allocations, left


@attrs.frozen
class Arrival:
    """A payment arriving on *on*: the credit held pays what is due by *through* first, then
    the payment does (*through* is *on* but for a payoff, which pays what is not yet due)."""

    payment_id: str
    amount: Money
    on: date
    through: date


@attrs.frozen
class CreditRun:
    """The credit held paying what is due by *on* (the end of day, as installments fall due)."""

    on: date


@attrs.frozen
class Placed:
    """An allocation :func:`play` made: of which payment, on which day."""

    payment_id: str
    allocation: Allocation
    on: date


def play(
    lines: Iterable[Receivable],
    steps: Iterable[Arrival | CreditRun],
    waterfall: Waterfall,
    credit: Mapping[str, Money] | None = None,
    closes: Callable[[date], None] | None = None,
) -> tuple[list[Placed], dict[str, Money]]:
    """Allocate *steps* in order over *lines* (updated), as posting each payment and applying
    credit would have: at every step the credit held, by payment id (oldest payment first),
    pays what is due by the step's date, then an arriving payment pays and keeps the rest.
    *credit* is what payments hold before the first step; *closes*, if given, runs the
    closes of business through a day (they charge penalty), called with the day before each
    step. Returns the allocations made and the credit each payment holds at the end."""
    lines = list(lines)
    held = dict(credit or {})
    placed: list[Placed] = []
    for step in steps:
        if closes is not None:
            closes(step.on - timedelta(days=1))
        through = step.through if isinstance(step, Arrival) else step.on
        for payment_id in sorted(held):
            made, held[payment_id] = allocate(lines, held[payment_id], waterfall, through)
            placed += (Placed(payment_id, allocation, step.on) for allocation in made)
        if isinstance(step, Arrival):
            made, held[step.payment_id] = allocate(lines, step.amount, waterfall, through)
            placed += (Placed(step.payment_id, allocation, step.on) for allocation in made)
    return placed, held


def by_part(allocations: Iterable[Allocation], zero: Money) -> Mapping[str, str]:
    """Totals per part as event payloads carry them (text, exact): what the voucher engine
    books to penalty, fee and interest income and to the receivable's principal."""
    totals = dict.fromkeys(ReceivablePart, zero)
    for allocation in allocations:
        totals[allocation.part] += allocation.amount
    return {str(part): str(total.amount) for part, total in totals.items()}


@attrs.define
class PostedAllocation:
    """An allocation as the books keep it: never changed; undoing one posts its negative,
    which names the allocation it reverses."""

    id: str
    payment_id: str
    contract_id: str
    receivable_id: str
    sequence: int
    part: ReceivablePart = attrs.field(converter=ReceivablePart)
    amount: Money
    allocated_on: date
    created_at: datetime
    reverses: str | None = None
    version: int = 0

    @classmethod
    def of(
        cls, payment: Payment, allocation: Allocation, *, on: date, at: datetime
    ) -> PostedAllocation:
        return cls(
            id=new_id(),
            payment_id=payment.id,
            contract_id=payment.contract_id,
            receivable_id=allocation.receivable_id,
            sequence=allocation.sequence,
            part=allocation.part,
            amount=allocation.amount,
            allocated_on=on,
            created_at=at,
        )

    def reversal(self, *, on: date, at: datetime) -> PostedAllocation:
        return attrs.evolve(
            self, id=new_id(), amount=-self.amount, allocated_on=on, created_at=at,
            reverses=self.id, version=0,
        )  # fmt: skip
