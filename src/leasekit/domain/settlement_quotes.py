"""Settlement quotes: what it costs to end an active contract early, fixed for a few days.

A quote is made for a contract on a business date from the calculator's regulator-exact
figures (:func:`leasekit.calc.settlement_quote`): what is overdue, the principal still
outstanding (the balloon included), the interest accrued since the last due date and the
company's early-settlement fee. ``early_settlement`` is the customer paying the contract off;
``buy_back`` is the dealer repurchasing it. A contract has at most one open quote (the
database says so). Paid in full within its validity, the contract is settled; a quote past
its ``valid_until`` is expired and can no longer be paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.calc import SettlementFee, settlement_quote
from leasekit.calc.schedule import Schedule, schedule
from leasekit.domain.access import ensure_may_create
from leasekit.domain.business import BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.contracts import Contract, Receivable
from leasekit.domain.identity import BOOKKEEPERS, Actor, Role, new_id
from leasekit.domain.lifecycle import Guard, Move, Stateful, StateMachine, row
from leasekit.errors import CalculationError, DomainError, ValidationError
from leasekit.money import Money

__all__ = [
    "QUOTE_LIFECYCLE",
    "Payoff",
    "QuoteAction",
    "QuoteKind",
    "QuoteState",
    "QuoteTerms",
    "SettlementQuote",
    "contract_schedule",
    "payoff",
]


class QuoteKind(StrEnum):
    EARLY_SETTLEMENT = "early_settlement"
    """The customer pays the contract off."""
    BUY_BACK = "buy_back"
    """The dealer repurchases the contract (pays it off for its customer)."""


class QuoteState(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class QuoteAction(StrEnum):
    PAY = "pay"
    CANCEL = "cancel"
    EXPIRE = "expire"


_Q = QuoteState
_QA = QuoteAction
_PAID: Final = ("payment_id", "amount", "credit", "interest_forgone", "penalty_waived")
"""What a payoff's event says: the payment, what it paid, what stayed as credit and what the
receivables no longer owe (interest not accrued, penalty charged after the quote)."""


def _check_expiry(quote: SettlementQuote, move: Move) -> None:
    if move.business_date <= quote.valid_until:
        raise DomainError(f"settlement quote {quote.number} is valid until {quote.valid_until}")


QUOTE_LIFECYCLE: Final = StateMachine(
    "settlement_quote",
    _Q.OPEN,
    (
        row(_QA.PAY, [_Q.OPEN], _Q.PAID, BOOKKEEPERS, "settlement_quote_paid", params=_PAID),
        row(_QA.CANCEL, [_Q.OPEN], _Q.CANCELLED,
            [*BOOKKEEPERS, Role.OFFICER, Role.POST_LOAN_SUPERVISOR], "settlement_quote_cancelled",
            True),
        row(_QA.EXPIRE, [_Q.OPEN], _Q.EXPIRED,
            [*BOOKKEEPERS, Role.OFFICER, Role.POST_LOAN_SUPERVISOR], "settlement_quote_expired"),
    ),
    final=frozenset({_Q.PAID, _Q.CANCELLED, _Q.EXPIRED}),
    actions_enum=QuoteAction,
)  # fmt: skip


@attrs.frozen
class QuoteTerms:
    """How the company quotes: days a quote holds, and its fee (a share of the outstanding
    principal plus a fixed amount by currency; none if not set)."""

    valid_days: int = 10
    fee_rate: Decimal = Decimal(0)
    fixed_fees: Mapping[str, Decimal] = attrs.field(factory=dict)

    def fee(self, currency_code: str) -> SettlementFee:
        return SettlementFee(rate=self.fee_rate, fixed=self.fixed_fees.get(currency_code, 0))


def contract_schedule(contract: Contract, lines: Sequence[Receivable], rounding: str) -> Schedule:
    """The calculator's schedule of *contract*, rebuilt from its frozen plan the way the plan
    was priced, and checked against its receivables (*lines*): the same due dates, principal
    and interest, line by line, or a DomainError (the quote would not be about this
    contract's schedule)."""
    plan = contract.plan
    try:
        rebuilt = schedule(
            principal=plan.principal, annual_rate=contract.annual_rate,
            periods=plan.installments, start_date=plan.priced_on,
            method=plan.schedule_method,  # type: ignore[arg-type]
            balloon=plan.residual_value, currency=plan.currency, rounding=rounding,
        )  # fmt: skip
    except CalculationError as exc:
        raise DomainError(
            f"contract {contract.number}: its schedule cannot be rebuilt: {exc}"
        ) from exc
    ordered = sorted(lines, key=lambda line: line.sequence)
    balloon = plan.residual_value
    differs = len(ordered) != len(rebuilt.rows) or any(
        line.due_date != got.due_date
        or line.interest.amount != got.interest
        or line.principal.amount != got.principal + (balloon if got is rebuilt.rows[-1] else 0)
        for line, got in zip(ordered, rebuilt.rows, strict=False)
    )
    if differs:
        raise DomainError(
            f"contract {contract.number}: its receivables differ from its plan's schedule"
        )
    return rebuilt


def _paid_through(lines: Sequence[Receivable], on: date) -> int:
    """How many of the lines due by *on*, oldest first, are paid, before the first that is
    not."""
    count = 0
    for line in lines:
        if line.due_date > on or not line.settled:
            break
        count += 1
    return count


@attrs.define
class SettlementQuote(Stateful):
    """What paying a contract off costs until *valid_until*.

    ``total = overdue + outstanding_principal + accrued_interest + fee``: *overdue* is what the
    installments due by *quoted_on* still owe (penalties and fees included; the calculator's
    figure when they are paid whole or not at all), the other three are the calculator's.
    """

    id: str
    number: str
    """``SQ-<contract number>-<n>``; unique."""
    contract_id: str
    partner_id: str
    kind: QuoteKind = attrs.field(converter=QuoteKind)
    quoted_on: date
    valid_until: date
    overdue: Money
    outstanding_principal: Money
    accrued_interest: Money
    fee: Money
    total: Money
    state: QuoteState = attrs.field(converter=QuoteState)
    created_at: datetime
    created_by: str
    payment_id: str | None = None
    """The payment that paid it off."""
    version: int = 0

    lifecycle: ClassVar[StateMachine[QuoteState]] = QUOTE_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "number", "kind")
    guards: ClassVar[Mapping[str, Guard]] = {_QA.EXPIRE: _check_expiry}

    @classmethod
    def make(
        cls,
        *,
        contract: Contract,
        lines: Sequence[Receivable],
        kind: QuoteKind,
        sequence: int,
        terms: QuoteTerms,
        rounding: str,
        business_date: date,
        actor: Actor,
        at: datetime,
    ) -> SettlementQuote:
        """Quote paying *contract* off on *business_date*, from its receivables *lines*."""
        ensure_may_create(actor, "settlement_quote")
        if contract.business_type is BusinessType.OPERATING_LEASE:
            raise ValidationError.single(
                "contract_id", "an operating lease ends by returning the vehicle, not by a quote"
            )
        ordered = sorted(lines, key=lambda line: line.sequence)
        cur = contract.principal.currency
        figures = settlement_quote(
            contract_schedule(contract, ordered, rounding), business_date,
            fee=terms.fee(cur.code), paid_through=_paid_through(ordered, business_date),
        )  # fmt: skip
        zero = Money.zero(cur)
        overdue = sum((line.outstanding for line in ordered if line.due_date <= business_date),
                      zero)  # fmt: skip
        principal = Money(figures.outstanding_principal, cur)
        accrued = Money(figures.accrued_interest, cur)
        fee = Money(figures.fee, cur)
        return cls(
            id=new_id(), number=f"SQ-{contract.number}-{sequence}", contract_id=contract.id,
            partner_id=contract.partner_id, kind=kind, quoted_on=business_date,
            valid_until=business_date + timedelta(days=terms.valid_days), overdue=overdue,
            outstanding_principal=principal, accrued_interest=accrued, fee=fee,
            total=overdue + principal + accrued + fee, state=QuoteState.OPEN,
            created_at=require_utc(at), created_by=actor.user_id,
        )  # fmt: skip

    def expired_on(self, business_date: date) -> bool:
        return business_date > self.valid_until

    def figures(self) -> dict[str, str]:
        """The amounts as events carry them (text, exact)."""
        return {
            "currency": self.total.currency.code,
            "overdue": str(self.overdue.amount),
            "outstanding_principal": str(self.outstanding_principal.amount),
            "accrued_interest": str(self.accrued_interest.amount),
            "fee": str(self.fee.amount),
            "total": str(self.total.amount),
        }


@attrs.frozen
class Payoff:
    """How the receivables change so that paying the quote pays them all: interest the
    quote does not charge is no longer owed, the fee is charged, penalty charged since the
    quote (beyond what the payment covers) is waived. Amounts are totals over the lines."""

    interest_forgone: Money
    penalty_waived: Money
    fee_line: str
    """The id of the line the fee is charged on."""
    changed: tuple[str, ...]


def payoff(quote: SettlementQuote, lines: Sequence[Receivable], available: Money) -> Payoff:
    """Change *lines* (updated in place) so that they owe exactly what *quote* charges, less
    what has been paid since; *available* is the money that pays them (the payment and any
    credit). Refuses (DomainError) if they would still owe more than *available* after
    penalty charged since the quote is waived."""
    ordered = sorted(lines, key=lambda line: line.sequence)
    future = [line for line in ordered if line.due_date > quote.quoted_on]
    changed: dict[str, None] = {}
    zero = Money.zero(quote.total.currency)
    forgone = zero
    for index, line in enumerate(future):
        target = quote.accrued_interest if index == 0 else zero
        reduced = max(target, line.paid_interest)
        if reduced < line.interest:
            forgone += line.interest - reduced
            line.interest = reduced
            changed[line.id] = None
    fee_line = (future or ordered)[0 if future else -1]
    if quote.fee.amount > 0:
        fee_line.fee += quote.fee
        changed[fee_line.id] = None
    owed = sum((line.outstanding for line in ordered), zero)
    short = owed - available
    waived = zero
    for line in reversed(ordered):
        if short.amount <= 0:
            break
        cut = min(line.owed("penalty"), short)
        if cut.amount > 0:
            line.penalty -= cut
            short -= cut
            waived += cut
            changed[line.id] = None
    if short.amount > 0:
        raise DomainError(
            f"contract owes {owed.amount} after the quote's reductions, more than the "
            f"{available.amount} paid; the quote {quote.number} no longer covers it"
        )
    return Payoff(forgone, waived, fee_line.id, tuple(changed))
