"""Settlement quotes: made for an active contract, paid off by a payment of at least their
total within their validity (by hand, or matched from a statement or a dealer's settlement
file), cancelled by people, expired once their day has passed.

Paying a quote off is one transaction: the interest the quote does not charge is taken off
the installments not yet due (``interest_forgone``), the quote's fee is charged on the first
of them, the payment is allocated to every installment by the product's waterfall (what is
left over stays as the customer's credit), the contract is settled and the quote is paid,
naming the payment. Every step is an event with its amounts for the voucher engine:
``settlement_quote_created``, ``payment_received``, ``payment_allocated``,
``contract_settled``, ``settlement_quote_paid``. A payment short of the total is an
ordinary payment and the quote stays open.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import attrs

from leasekit.domain.contracts import (
    Contract,
    ContractAction,
    ContractState,
    Payment,
    PaymentSource,
)
from leasekit.domain.identity import Actor
from leasekit.domain.settlement_quotes import (
    QUOTE_LIFECYCLE,
    QuoteAction,
    QuoteKind,
    QuoteState,
    SettlementQuote,
    payoff,
)
from leasekit.errors import DomainError, ValidationError
from leasekit.money import Money
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import (
    ServiceContext,
    page_size,
    visible_contract,
    visible_or_not_found,
)
from leasekit.services.funds import post_payment
from leasekit.services.reads import reader
from leasekit.services.storage import Page, Record

__all__ = [
    "PayQuote",
    "QuotePayment",
    "RequestQuote",
    "create_settlement_quote",
    "expire",
    "get_settlement_quote",
    "list_contract_settlement_quotes",
    "pay_off",
    "pay_settlement_quote",
    "transition_settlement_quote",
]

_SUBJECT: Final = "settlement_quote"
_MANUAL_SOURCES: Final = frozenset(PaymentSource) - {PaymentSource.DIRECT_DEBIT}


@attrs.frozen
class RequestQuote:
    """Which contract is to be paid off, and by whom."""

    contract_id: str
    kind: QuoteKind = attrs.field(
        default=QuoteKind.EARLY_SETTLEMENT,
        metadata={"description": "`early_settlement` (the customer pays the contract off) "
                  "or `buy_back` (the dealer repurchases it)."},
    )  # fmt: skip


def expire(work: Work, quote: SettlementQuote) -> None:
    """Move an open quote whose day has passed to expired (as the system: time did it)."""
    event = quote.apply(
        QuoteAction.EXPIRE, Actor.system(), at=work.at, business_date=work.business_date
    )
    work.uow.settlement_quotes.update(quote)
    work.record(event)


@command(
    "create_settlement_quote",
    subject=_SUBJECT,
    creates="settlement_quote",
    reload=lambda uow, quote_id: uow.settlement_quotes.get(quote_id),
)
def create_settlement_quote(work: Work, request: RequestQuote) -> SettlementQuote:
    """Quote paying an active contract off early.

    The figures are the calculator's (``leasekit.calc.settlement_quote``) on the business
    date: what the installments due by then still owe (``overdue``), the principal still
    outstanding (the balloon included), the interest accrued since the last due date and the
    company's fee (settings ``funds.settlement_fee_rate`` and ``funds.settlement_fees``);
    ``total`` is their sum. It can be paid until ``valid_until`` (settings
    ``funds.quote_valid_days`` later). A contract has one open quote: cancel it first (422 on
    ``contract_id``); one whose day has passed is expired by this request. Officers,
    finance, post-loan supervisors, and the contract's dealer (its own contracts)."""
    contract = visible_or_not_found(
        work.actor, work.uow.contracts.get(request.contract_id), "contract", request.contract_id
    )
    if contract.state is not ContractState.ACTIVE:
        raise ValidationError.single(
            "contract_id", f"contract {contract.number} is {contract.state}; only an active "
            "contract is paid off",
        )  # fmt: skip
    earlier = work.uow.settlement_quotes.open_for(contract.id)
    if earlier is not None:
        if not earlier.expired_on(work.business_date):
            raise ValidationError.single(
                "contract_id", f"has an open settlement quote already ({earlier.number}); "
                "cancel it first",
            )  # fmt: skip
        expire(work, earlier)
    quote = SettlementQuote.make(
        contract=contract,
        lines=work.uow.receivables.list_for_contract(contract.id),
        kind=request.kind,
        sequence=work.uow.settlement_quotes.count_for(contract.id) + 1,
        terms=work.ctx.collection.quotes,
        rounding=work.ctx.pricing.rounding,
        business_date=work.business_date,
        actor=work.actor,
        at=work.at,
    )
    work.uow.settlement_quotes.add(quote)
    work.event(
        "settlement_quote_created", _SUBJECT, quote.id,
        {"contract_id": contract.id, "number": quote.number, "kind": str(quote.kind),
         "quoted_on": quote.quoted_on.isoformat(), "valid_until": quote.valid_until.isoformat(),
         **quote.figures()},
    )  # fmt: skip
    return quote


def pay_off(work: Work, quote: SettlementQuote, payment: Payment) -> Payment:
    """Post *payment* against *quote*'s contract: at least the total, within the validity,
    pays the contract off (see the module); less is an ordinary payment."""
    contract = work.uow.contracts.get(quote.contract_id)
    if quote.state is not QuoteState.OPEN:
        raise ValidationError.single("quote", f"settlement quote {quote.number} is {quote.state}")
    if quote.expired_on(payment.received_on) or quote.expired_on(work.business_date):
        raise ValidationError.single(
            "quote", f"settlement quote {quote.number} expired after {quote.valid_until}"
        )
    if contract.state is not ContractState.ACTIVE:
        raise ValidationError.single(
            "quote", f"contract {contract.number} is {contract.state}; the quote no longer holds"
        )
    if payment.amount.currency != quote.total.currency:
        raise ValidationError.single("amount", f"the quote is in {quote.total.currency}")
    if payment.amount < quote.total:
        return post_payment(work, contract, payment)
    lines = work.uow.receivables.list_for_contract(contract.id)
    credit = work.uow.payments.credit_of([contract.id]).get(contract.id, Money.zero(
        quote.total.currency))  # fmt: skip
    try:
        changes = payoff(quote, lines, payment.amount + credit)
    except DomainError as exc:
        raise ValidationError.single("amount", str(exc)) from None
    for line in lines:
        if line.id in changes.changed:
            work.uow.receivables.update(line)
    if quote.fee.amount > 0:
        work.event(
            "settlement_fee_charged", "receivable", changes.fee_line,
            {"contract_id": contract.id, "amount": str(quote.fee.amount),
             "currency": quote.fee.currency.code, "settlement_quote_id": quote.id},
        )  # fmt: skip
    last_due = max(line.due_date for line in lines)
    paid = post_payment(work, contract, payment, through=max(last_due, payment.received_on))
    remaining = work.uow.receivables.list_for_contract(contract.id)
    if any(not line.settled for line in remaining):  # pragma: no cover - payoff() checked it
        raise DomainError(f"contract {contract.number}: the payoff left installments owed")
    _settle(work, contract, quote, paid)
    event = quote.apply(
        QuoteAction.PAY, work.actor, at=work.at, business_date=work.business_date,
        payment_id=paid.id, amount=str(paid.amount.amount),
        credit=str(paid.unallocated.amount),
        interest_forgone=str(changes.interest_forgone.amount),
        penalty_waived=str(changes.penalty_waived.amount),
    )  # fmt: skip
    quote.payment_id = paid.id
    work.uow.settlement_quotes.update(quote)
    work.record(event)
    return paid


def _settle(work: Work, contract: Contract, quote: SettlementQuote, payment: Payment) -> None:
    event = contract.apply(
        ContractAction.SETTLE, work.actor, at=work.at, business_date=work.business_date,
        settlement_quote_id=quote.id, payment_id=payment.id,
        amount=str(payment.amount.amount),
    )  # fmt: skip
    work.uow.contracts.update(contract)
    work.record(event)


@attrs.frozen
class QuotePayment:
    """Money received to pay a settlement quote off, entered by hand."""

    amount: Money
    reference: str = attrs.field(metadata={"max_length": 140})
    source: PaymentSource | None = attrs.field(
        default=None,
        metadata={"description": "bank_transfer, dealer_settlement, cash or other; a "
                  "buy-back's is dealer_settlement, an early settlement's bank_transfer, if "
                  "left out."},
    )  # fmt: skip
    source_ref: str | None = attrs.field(
        default=None,
        metadata={"max_length": 64, "description": "The id of the item it came from; one "
                  "payment per source item."},
    )  # fmt: skip
    received_on: date | None = attrs.field(
        default=None, metadata={"description": "The business date it arrived; today's if left out."}
    )


@attrs.frozen
class PayQuote:
    quote_id: str
    payment: QuotePayment


def _source(quote: SettlementQuote, given: PaymentSource | None) -> PaymentSource:
    if given is None:
        dealer = quote.kind is QuoteKind.BUY_BACK
        return PaymentSource.DEALER_SETTLEMENT if dealer else PaymentSource.BANK_TRANSFER
    if given not in _MANUAL_SOURCES:
        raise ValidationError.single("source", "direct debits come from the bank's result files")
    return given


@command(
    "pay_settlement_quote",
    subject=_SUBJECT,
    creates="payment",
    reload=lambda uow, payment_id: uow.payments.get(payment_id),
)
def pay_settlement_quote(work: Work, request: PayQuote) -> Payment:
    """Record money received for a settlement quote.

    At least the quote's total, received within its validity, pays the contract off in one
    transaction: installments due are paid, the rest of the principal is paid, interest not
    yet accrued is no longer owed, the fee is charged and paid, the excess stays as credit;
    the contract is ``settled`` and the quote ``paid``, naming the payment. Less than the
    total is an ordinary payment and the quote stays open. An expired, paid or cancelled
    quote is refused (422). Finance."""
    quote = visible_or_not_found(
        work.actor, work.uow.settlement_quotes.get(request.quote_id), _SUBJECT, request.quote_id
    )
    given = request.payment
    payment = Payment.receive(
        contract_id=quote.contract_id,
        amount=given.amount,
        received_on=given.received_on or work.business_date,
        reference=given.reference,
        source=_source(quote, given.source),
        source_ref=given.source_ref,
        actor=work.actor,
        at=work.at,
    )
    if payment.received_on > work.business_date:
        raise ValidationError.single("received_on", "is after the business date")
    return pay_off(work, quote, payment)


def _refuse_pay(work: Work, quote: SettlementQuote) -> None:
    raise ValidationError.single(
        "action", f"a quote is paid by a payment: POST /settlement-quotes/{quote.id}/payments"
    )


transition_settlement_quote = transition_command(
    _SUBJECT, QUOTE_LIFECYCLE, lambda uow: uow.settlement_quotes,
    before={QuoteAction.PAY: _refuse_pay},
    roles=frozenset(role for row in QUOTE_LIFECYCLE.transitions for role in row.roles),
)  # fmt: skip
"""``cancel`` an open quote with a reason; ``expire`` one whose ``valid_until`` has passed
(paying is :func:`pay_settlement_quote`'s)."""


get_settlement_quote = reader(
    "get_settlement_quote",
    _SUBJECT,
    lambda uow: uow.settlement_quotes,
    """Get a settlement quote.

    Its figures (overdue, outstanding principal, accrued interest, fee, total), until when it
    can be paid, its state, and the payment that paid it off. Back office, or the contract's
    dealer.""",
)


def list_contract_settlement_quotes(
    ctx: ServiceContext,
    actor: Actor,
    contract_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List a contract's settlement quotes.

    Oldest first, each with its figures and state. Back office, or the contract's dealer."""
    with ctx.uow_factory() as uow:
        visible_contract(uow, actor, contract_id)
        return uow.settlement_quotes.for_contract(contract_id, after=after, limit=page_size(limit))
