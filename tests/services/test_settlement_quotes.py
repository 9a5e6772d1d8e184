"""Settlement quotes: the calculator's figures, paid off exactly once by hand, by a statement
line quoting the number or by a dealer's settlement file; short payments, expiry and the one
open quote per contract; on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.calc import SettlementFee, settlement_quote
from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import ContractState, PaymentSource, PaymentState
from leasekit.domain.debit_runs import CollectionRules
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.settlement_quotes import (
    QuoteKind,
    QuoteState,
    QuoteTerms,
    SettlementQuote,
    contract_schedule,
)
from leasekit.domain.statement_entries import EntryState
from leasekit.errors import ConflictError, DomainError, NotFoundError, ValidationError
from leasekit.money import Money
from leasekit.ports import BankStatement, StatementLine
from leasekit.services import funds, reconciliation, settlement_quotes, users
from leasekit.services.context import ServiceContext
from leasekit.services.settlement_quotes import PayQuote, QuotePayment, RequestQuote
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import FakeBank

from .conftest import dealer_of, taken_over

SYSTEM = Actor.system()
FEES = QuoteTerms(valid_days=10, fee_rate=Decimal("0.02"), fixed_fees={"USD": Decimal("50.00")})


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    serial = iter(range(1, 10_000))
    return lambda currency="USD": taken_over(ctx, next(serial), currency)


@pytest.fixture
def priced(ctx: ServiceContext) -> ServiceContext:
    """The context with a settlement fee of 2 % plus 50 USD."""
    return attrs.evolve(ctx, collection=attrs.evolve(ctx.collection, quotes=FEES))


def quote_for(
    ctx: ServiceContext,
    actor: Actor,
    made: BookContract,
    kind: QuoteKind = QuoteKind.EARLY_SETTLEMENT,
) -> SettlementQuote:
    return settlement_quotes.create_settlement_quote(
        ctx, actor, RequestQuote(made.contract.id, kind)
    )


def pay(ctx: ServiceContext, actor: Actor, quote: SettlementQuote, amount: Money, ref: str) -> str:
    request = PayQuote(quote.id, QuotePayment(amount, ref, source_ref=ref))
    return settlement_quotes.pay_settlement_quote(ctx, actor, request).id


def money_accounted_for(ctx: ServiceContext, contract_id: str) -> Money:
    """Allocations plus credit equal the payments; every line paid in full. The credit."""
    with ctx.uow_factory() as uow:
        payments = uow.payments.list_for_contract(contract_id)
        lines = uow.receivables.list_for_contract(contract_id)
        rows = [row for payment in payments for row in uow.allocations.of_payment(payment.id)]
    zero = Money.zero(payments[0].amount.currency)
    credit = sum((payment.unallocated for payment in payments), zero)
    assert sum((row.amount for row in rows), zero) + credit == sum(
        (payment.amount for payment in payments), zero
    )
    for line in lines:
        assert sum((r.amount for r in rows if r.receivable_id == line.id), zero) == line.paid
        assert line.settled
    return credit


def events(ctx: ServiceContext, subject: str, subject_id: str) -> list[DomainEvent]:
    with ctx.uow_factory() as uow:
        found = uow.event_log.after([subject], 0, 10_000)
    return [event for _, event in found if event.subject_id == subject_id]


def state_of(ctx: ServiceContext, made: BookContract) -> tuple[ContractState, QuoteState]:
    with ctx.uow_factory() as uow:
        contract = uow.contracts.get(made.contract.id)
        quotes = uow.settlement_quotes.for_contract(contract.id, after=None, limit=10).items
    return contract.state, QuoteState(quotes[-1]["state"])


def test_the_figures_are_the_calculators(
    priced: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(priced, finance, made)
    today = priced.clock.business_date()
    expected = settlement_quote(
        contract_schedule(made.contract, made.lines, "standard"), today,
        fee=SettlementFee(rate=Decimal("0.02"), fixed=Decimal("50.00")), paid_through=0,
    )  # fmt: skip
    usd = made.contract.principal.currency
    assert quote.overdue == Money(expected.overdue, usd)
    assert quote.outstanding_principal == Money(expected.outstanding_principal, usd)
    assert quote.accrued_interest == Money(expected.accrued_interest, usd)
    assert quote.fee == Money(expected.fee, usd) == Money(
        (expected.outstanding_principal * Decimal("0.02")).quantize(Decimal("0.01"))
        + Decimal("50.00"), usd
    )  # fmt: skip
    assert quote.total == Money(expected.total, usd)
    assert (quote.number, quote.quoted_on, quote.valid_until) == (
        f"SQ-{made.contract.number}-1",
        today,
        today + timedelta(days=10),
    )
    # Stored and read back exactly, on both databases.
    assert settlement_quotes.get_settlement_quote(priced, finance, quote.id) == quote
    (created,) = [e for e in events(priced, "settlement_quote", quote.id)
                  if e.name == "settlement_quote_created"]  # fmt: skip
    assert created.payload["total"] == str(expected.total)


def test_paying_the_total_settles_the_contract_once(
    priced: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(priced, finance, made)
    payment_id = pay(priced, finance, quote, quote.total, "PAYOFF-1")
    assert state_of(priced, made) == (ContractState.SETTLED, QuoteState.PAID)
    assert money_accounted_for(priced, made.contract.id) == Money.zero("USD")
    paid = settlement_quotes.get_settlement_quote(priced, finance, quote.id)
    assert paid.payment_id == payment_id
    view = funds.get_payment(priced, finance, payment_id)
    assert view.payment.source is PaymentSource.BANK_TRANSFER
    with priced.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(made.contract.id)
    quote_events = events(priced, "settlement_quote", quote.id)
    settled = [e for e in events(priced, "contract", made.contract.id)
               if e.name == "contract_settled"]  # fmt: skip
    # Interest not yet accrued is no longer owed: the lines charge what the quote did.
    interest_after = sum((line.interest for line in lines), Money.zero("USD"))
    interest_before = sum((line.interest for line in made.lines), Money.zero("USD"))
    due = [line for line in made.lines if line.due_date <= quote.quoted_on]
    assert interest_after == sum((line.interest for line in due), quote.accrued_interest)
    paid_event = next(e for e in quote_events if e.name == "settlement_quote_paid")
    assert paid_event.payload["interest_forgone"] == str((interest_before - interest_after).amount)
    assert paid_event.payload["payment_id"] == payment_id
    assert settled[0].payload["settlement_quote_id"] == quote.id
    # The fee is charged as its own event, which the books take as a fee receivable.
    (charged,) = [e for line in lines for e in events(priced, "receivable", line.id)
                  if e.name == "settlement_fee_charged"]  # fmt: skip
    assert (charged.payload["amount"], charged.payload["settlement_quote_id"]) == (
        str(quote.fee.amount), quote.id,
    )  # fmt: skip
    # Exactly once: the quote is paid, the contract takes no more payments.
    with pytest.raises(ValidationError, match="paid"):
        pay(priced, finance, quote, quote.total, "PAYOFF-2")
    with pytest.raises(ValidationError, match="settled"):
        funds.record_payment(priced, finance, funds.RecordPayment(
            made.contract.id, Money("10.00", "USD"), "late"))  # fmt: skip


def test_a_dealer_buy_back_overpaid_keeps_the_excess_as_credit(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made, QuoteKind.BUY_BACK)
    assert quote.fee == Money.zero("USD")  # no fee configured
    payment_id = pay(ctx, finance, quote, quote.total + Money("12.34", "USD"), "BB-1")
    assert money_accounted_for(ctx, made.contract.id) == Money("12.34", "USD")
    payment = funds.get_payment(ctx, finance, payment_id).payment
    assert (payment.source, payment.state) == (PaymentSource.DEALER_SETTLEMENT,
                                               PaymentState.ALLOCATED)  # fmt: skip
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)


def test_a_short_payment_is_an_ordinary_payment_and_the_quote_stays_open(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made)
    short = quote.total - Money("0.01", "USD")
    payment_id = pay(ctx, finance, quote, short, "SHORT-1")
    assert state_of(ctx, made) == (ContractState.ACTIVE, QuoteState.OPEN)
    view = funds.get_payment(ctx, finance, payment_id)
    # Paid what was due (the two installments), the rest is credit; no future line touched.
    assert {row.sequence for row in view.allocations} == {1, 2}
    # Another short payment is ordinary too, however much credit there is: a payoff is one
    # payment of at least the total.
    pay(ctx, finance, quote, Money("0.02", "USD"), "C-2")
    assert state_of(ctx, made) == (ContractState.ACTIVE, QuoteState.OPEN)
    pay(ctx, finance, quote, quote.total, "FULL")
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)
    # What paid the installments due before the payoff stays paid; the rest is credit.
    assert money_accounted_for(ctx, made.contract.id) == short + Money("0.02", "USD")


def test_an_expired_quote_is_refused_and_replaced(
    ctx: ServiceContext, finance: Actor, fixed_clock: FixedClock, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made)
    fixed_clock.set_business_date(quote.valid_until + timedelta(days=1))
    with pytest.raises(ValidationError, match="expired"):
        pay(ctx, finance, quote, quote.total, "LATE")
    # Asking again expires the old quote and makes a new one.
    again = quote_for(ctx, finance, made)
    assert again.number == f"SQ-{made.contract.number}-2"
    assert (
        settlement_quotes.get_settlement_quote(ctx, finance, quote.id).state is QuoteState.EXPIRED
    )
    # A quote still valid is refused a second time, and can be cancelled with a reason.
    with pytest.raises(ValidationError, match="open settlement quote"):
        quote_for(ctx, finance, made)
    transition = settlement_quotes.transition_settlement_quote
    with pytest.raises(DomainError, match="valid until"):
        transition(ctx, finance, again.id, "expire", expected_version=0)
    paid = {"payment_id": "x", "amount": "1", "credit": "0", "interest_forgone": "0",
            "penalty_waived": "0"}  # fmt: skip
    with pytest.raises(ValidationError, match="paid by a payment"):
        transition(ctx, finance, again.id, "pay", **paid)
    cancelled = transition(ctx, finance, again.id, "cancel", "customer changed mind",
                           expected_version=0)  # fmt: skip
    assert cancelled.state is QuoteState.CANCELLED
    assert quote_for(ctx, finance, made).number == f"SQ-{made.contract.number}-3"


def test_the_database_keeps_one_open_quote_per_contract(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made)
    with ctx.uow_factory() as uow, pytest.raises(ValidationError, match="open settlement quote"):
        uow.settlement_quotes.add(attrs.evolve(quote, id="q" * 32, number="SQ-other"))
    results: list[object] = []
    other = book()

    barrier = threading.Barrier(4)

    def one() -> None:
        barrier.wait()
        try:
            results.append(quote_for(ctx, finance, other))
        except (ValidationError, ConflictError) as exc:
            results.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made_quotes = [r for r in results if isinstance(r, SettlementQuote)]
    assert len(made_quotes) == 1, results
    with ctx.uow_factory() as uow:
        assert uow.settlement_quotes.count_for(other.contract.id) == 1


def test_only_an_active_contract_is_quoted_and_a_dealer_sees_its_own(
    ctx: ServiceContext, admin: Actor, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    with ctx.uow_factory() as uow:
        partner = uow.partners.get(made.contract.partner_id)
    dealer = dealer_of(ctx, admin, partner, "dealer-own")
    quote = quote_for(ctx, dealer, made, QuoteKind.BUY_BACK)
    page = settlement_quotes.list_contract_settlement_quotes(ctx, dealer, made.contract.id)
    assert [item["id"] for item in page.items] == [quote.id]
    stranger = book()
    with pytest.raises(NotFoundError):
        quote_for(ctx, dealer, stranger)
    pay(ctx, finance, quote, quote.total, "BB")
    with pytest.raises(ValidationError, match="only an active contract"):
        quote_for(ctx, finance, made)


def statement(day: date, *lines: tuple[str, Money, str, str]) -> bytes:
    """A statement of the USD account: (id, amount, payer, reference)."""
    booked = [StatementLine(line_id, day, amount, payer, "555", reference)
              for line_id, amount, payer, reference in lines]  # fmt: skip
    moved = sum((line.amount for line in booked), Money(0, "USD"))
    opening = Money("1000.00", "USD")
    return FakeBank.statement_file(
        BankStatement("US-4400", day, day, opening, opening + moved, booked)
    )


def test_a_statement_line_quoting_the_number_pays_the_quote_off(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made, other = book(), book()
    quote = quote_for(ctx, finance, made)
    owed_other = sum((line.amount_due for line in other.lines[:2]), Money.zero("USD"))
    day = ctx.clock.business_date()
    content = statement(
        day,
        ("L1", quote.total, "Customer 1", f"payoff {quote.number}"),
        ("L2", owed_other, "Customer 2", other.contract.number),
    )
    report, _ = reconciliation.import_statement(ctx, finance, [content])
    assert (report.matched, report.queued) == (2, 0)
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)
    money_accounted_for(ctx, made.contract.id)
    (entry,) = [e for e in reconciliation.list_statement_entries(
        ctx, finance, reconciliation.EntryQuery(state=EntryState.MATCHED)).items
        if e["line_id"] == "L1"]  # fmt: skip
    assert entry["rule"] == "reference"
    paid = settlement_quotes.get_settlement_quote(ctx, finance, quote.id)
    assert tuple(entry["payments"]) == (paid.payment_id,)


def test_a_dealers_settlement_file_row_of_the_total_pays_the_buy_back(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made, other = book(), book()
    quote = quote_for(ctx, finance, made, QuoteKind.BUY_BACK)
    owed_other = sum((line.amount_due for line in other.lines[:2]), Money.zero("USD"))
    day = ctx.clock.business_date()
    rows = (
        "contract_number,amount,currency,paid_on,reference\n"
        f"{made.contract.number},{quote.total.amount},USD,{day},buy-back\n"
    )
    report, _ = reconciliation.import_settlement_file(
        ctx, finance, [rows.encode()], partner_id=made.contract.partner_id
    )
    assert report.matched == 1
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)
    # Another dealer's file with the same amount for this contract pays no quote.
    rows = (
        "contract_number,amount,currency,paid_on\n"
        f"{other.contract.number},{owed_other.amount},USD,{day}\n"
    )
    reconciliation.import_settlement_file(
        ctx, finance, [rows.encode()], partner_id=other.contract.partner_id
    )
    with ctx.uow_factory() as uow:
        assert uow.contracts.get(other.contract.id).state is ContractState.ACTIVE


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(extra=st.decimals(min_value=0, max_value=5000, places=2), days=st.integers(0, 9))
def test_any_payoff_of_at_least_the_total_settles_and_accounts_for_every_cent(
    priced: ServiceContext,
    finance: Actor,
    fixed_clock: FixedClock,
    book: Callable[..., BookContract],
    extra: Decimal,
    days: int,
) -> None:
    start = fixed_clock.business_date()
    made = book()
    try:
        quote = quote_for(priced, finance, made)
        fixed_clock.set_business_date(start + timedelta(days=days))
        pay(priced, finance, quote, quote.total + Money(extra, "USD"), f"P-{made.contract.id}")
        assert state_of(priced, made) == (ContractState.SETTLED, QuoteState.PAID)
        assert money_accounted_for(priced, made.contract.id) == Money(extra, "USD")
    finally:
        fixed_clock.set_business_date(start)


def test_settings_give_the_quote_terms() -> None:
    from leasekit.settings import FundsSettings

    rules = FundsSettings(
        quote_valid_days=5, settlement_fee_rate=Decimal("0.01"), settlement_fees={"USD": "75"}
    ).rules()
    assert rules.quotes == QuoteTerms(5, Decimal("0.01"), {"USD": Decimal("75")})
    assert CollectionRules().quotes == QuoteTerms()


def test_a_statement_line_of_the_total_from_the_dealer_pays_the_quote_but_not_once_expired(
    ctx: ServiceContext, finance: Actor, fixed_clock: FixedClock, book: Callable[..., BookContract]
) -> None:
    made, late = book(), book()
    quote = quote_for(ctx, finance, made, QuoteKind.BUY_BACK)
    stale = quote_for(ctx, finance, late, QuoteKind.BUY_BACK)
    with ctx.uow_factory() as uow:
        dealer = uow.partners.get(made.contract.partner_id).name
        late_dealer = uow.partners.get(late.contract.partner_id).name
    content = statement(ctx.clock.business_date(), ("D1", quote.total, dealer.upper(), "buy back"))
    report, _ = reconciliation.import_statement(ctx, finance, [content])
    assert report.matched == 1
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)
    (payment,) = funds.list_contract_payments(ctx, finance, made.contract.id).items
    assert payment["source"] == "dealer_settlement"
    # Past its day, the quote is no open item: the line quoting its number is an ordinary
    # payment of the contract it names, and the quote stays as it was.
    day = stale.valid_until + timedelta(days=1)
    fixed_clock.set_business_date(day)
    content = statement(
        day, ("D2", stale.total, late_dealer, f"{late.contract.number} {stale.number}")
    )
    report, _ = reconciliation.import_statement(ctx, finance, [content])
    assert report.matched == 1
    assert state_of(ctx, late) == (ContractState.ACTIVE, QuoteState.OPEN)


def test_a_quote_no_longer_holds_once_the_contract_is_not_active(
    ctx: ServiceContext, finance: Actor, supervisor: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made)
    with ctx.uow_factory() as uow:
        contract = uow.contracts.get(made.contract.id)
        contract.state = ContractState.TERMINATED
        uow.contracts.update(contract)
        uow.commit()
    with pytest.raises(ValidationError, match="no longer holds"):
        pay(ctx, finance, quote, quote.total, "AFTER-TERMINATION")


def test_two_payoffs_at_once_settle_the_contract_once(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    quote = quote_for(ctx, finance, made)
    barrier = threading.Barrier(3)
    results: list[object] = []

    def one(ref: str) -> None:
        barrier.wait()
        try:
            results.append(pay(ctx, finance, quote, quote.total, ref))
        except (ValidationError, ConflictError) as exc:
            results.append(exc)

    threads = [threading.Thread(target=one, args=(f"AT-ONCE-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    paid = [result for result in results if isinstance(result, str)]
    assert len(paid) == 1, results
    assert state_of(ctx, made) == (ContractState.SETTLED, QuoteState.PAID)
    with ctx.uow_factory() as uow:
        assert [p.id for p in uow.payments.list_for_contract(made.contract.id)] == paid
    assert money_accounted_for(ctx, made.contract.id) == Money.zero("USD")


def test_no_quote_when_the_receivables_are_not_the_plans_schedule(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    with ctx.uow_factory() as uow:
        line = uow.receivables.list_for_contract(made.contract.id)[5]
        line.interest += Money("1.00", "USD")
        uow.receivables.update(line)
        uow.commit()
    with pytest.raises(DomainError, match="differ from its plan"):
        quote_for(ctx, finance, made)
