"""Vouchers generated from business events, on SQLite and PostgreSQL: a disbursement and the
funds events (payments received, allocated, reversed, credit applied, return fees) each book
one balanced voucher with its dimensions, once however often the event is delivered; an event
that cannot be booked waits in the unmapped queue with the reason and is booked by a replay
once the cause is fixed; the trial balance over every voucher is zero."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.domain.accounting import default_chart
from leasekit.domain.bookings import Accounting, UnmappedState, default_accounting
from leasekit.domain.contracts import Contract
from leasekit.domain.disbursements import Disbursement
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.domain.settlement_quotes import QuoteKind, QuoteTerms
from leasekit.domain.voucher_templates import EVENT_TYPES, TemplateSet
from leasekit.domain.vouchers import Side
from leasekit.errors import DomainError, NotFoundError, PermissionDeniedError
from leasekit.money import Money
from leasekit.services import (
    accounting,
    contracts,
    debit_runs,
    disbursements,
    funds,
    partners,
    settlement_quotes,
    users,
)
from leasekit.services.catalog import handlers
from leasekit.services.commands import execute
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.events import HandlerSubscriber, Occurrence
from leasekit.services.funds import RecordPayment
from leasekit.services.settlement_quotes import PayQuote, QuotePayment, RequestQuote
from leasekit.services.storage import UnmappedQuery, VoucherQuery, VoucherView
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .conftest import taken_over
from .test_disbursements import ACCOUNT, pay, payout

SYSTEM = Actor.system()
_SUBJECTS = ("contract", "payment", "receivable", "refund")


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def settled_partner(ctx: ServiceContext, officer: Actor, partner: Partner) -> Partner:
    """The partner with the account its payouts are paid into, served by branch NORTH-1."""
    change = partners.ProfileChange(
        name=partner.name, bank_accounts=(ACCOUNT,), branch="NORTH-1", reason="settlement account"
    )
    return partners.revise_partner(ctx, officer, partners.ProfileRevision(partner.id, change))


@pytest.fixture
def usd(ctx: ServiceContext) -> ServiceContext:
    """The services booking to a chart in dollars, the taken-over book's currency."""
    return attrs.evolve(ctx, accounting=default_accounting("Leasekit US", "USD"))


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    serial = iter(range(1, 10_000))
    return lambda: taken_over(ctx, next(serial), "USD")


def money_events(ctx: ServiceContext) -> list[DomainEvent]:
    with ctx.uow_factory() as uow:
        found = uow.event_log.after(_SUBJECTS, 0, 100_000)
    return [event for _, event in found if event.name in EVENT_TYPES]


def deliver_all(ctx: ServiceContext) -> list[DomainEvent]:
    """Deliver every money event to the accounting handler, as the relay does."""
    subscriber = HandlerSubscriber(handlers()["accounting.book"], ctx)
    found = money_events(ctx)
    for event in found:
        subscriber.deliver(event)
    return found


def vouchers(ctx: ServiceContext, finance: Actor, **query: object) -> list[VoucherView]:
    page = accounting.list_vouchers(ctx, finance, VoucherQuery(**query), limit=200)  # type: ignore[arg-type]
    return [accounting.get_voucher(ctx, finance, record["id"]) for record in page.items]


def balanced(view: VoucherView) -> bool:
    debit = sum((line.amount.amount for line in view.lines if line.side is Side.DEBIT), Decimal(0))
    credit = sum(
        (line.amount.amount for line in view.lines if line.side is Side.CREDIT), Decimal(0)
    )
    return debit == credit > 0


def trial_balance(ctx: ServiceContext) -> dict[str, Decimal]:
    with ctx.uow_factory() as uow:
        return uow.vouchers.trial_balance(ctx.accounting.chart.currency.code)


def record(ctx: ServiceContext, finance: Actor, contract: Contract, amount: str, ref: str) -> None:
    request = RecordPayment(contract.id, Money(amount, contract.principal.currency), ref,
                            source_ref=ref)  # fmt: skip
    funds.record_payment(ctx, finance, request)


# --- a contract's life --------------------------------------------------------------------------


def test_a_disbursement_and_a_payment_each_book_a_balanced_voucher_with_dimensions(
    ctx: ServiceContext, dealer: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    settled_partner: Partner, lease: Product,
) -> None:  # fmt: skip
    item: Disbursement = payout(ctx, dealer, officer, fakes, settled_partner, 0)
    approved = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
    pay(ctx, approved)
    (instruction,) = fakes.bank.paid(ACCOUNT.card_number)
    fakes.bank.settle(instruction.instruction_id)
    disbursements.track_payout(ctx, finance, item.id)
    contract = contracts.get_contract(ctx, SYSTEM, item.contract_id)
    record(ctx, finance, contract, "1000.00", "T-1")

    delivered = deliver_all(ctx)
    assert [e.name for e in delivered] == [
        "contract_disbursed", "payment_received", "payment_allocated",
    ]  # fmt: skip
    found = vouchers(ctx, finance, contract_id=contract.id)
    assert [v.event_type for v in found] == [e.name for e in delivered]
    assert all(balanced(v) for v in found)
    disbursed = found[0]
    assert (disbursed.template, disbursed.template_version) == ("finance_lease_disbursed", 1)
    assert disbursed.source_key == delivered[0].idempotency_key
    lent = next(line for line in disbursed.lines if line.account == "1210")
    assert lent.side is Side.DEBIT
    assert lent.amount == contract.principal
    assert (lent.contract_id, lent.partner_id, lent.product, lent.branch) == (
        contract.id, contract.partner_id, lease.code, "NORTH-1",
    )  # fmt: skip
    assert all(line.contract_id == contract.id for v in found for line in v.lines)
    assert sum(trial_balance(ctx).values(), Decimal(0)) == 0

    # Delivered again, nothing more is booked.
    deliver_all(ctx)
    assert len(vouchers(ctx, finance)) == len(found)
    assert accounting.list_unmapped(ctx, finance).items == []


def test_the_funds_events_book_balanced_vouchers_once(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, fakes: Fakes,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    contract = made.contract
    # A direct debit collected, then returned late: received, allocated, reversed, a fee.
    run = debit_runs.start_debit_run(ctx, finance, StartDebitRun("us"))
    debit_runs.settle_debit_run(ctx, finance, SettleRun(run.id))
    batch = debit_runs.debit_batch(ctx, SYSTEM, run.id)
    (debit,) = batch.items
    debit_runs.import_debit_results(
        ctx, finance, [fakes.bank.return_file(batch, {debit.item_id: "R01"})]
    )
    # Paid by hand beyond what is due; the credit pays the next installment when it falls due.
    record(ctx, finance, contract, str(made.lines[0].amount_due.amount * 3), "T-1")
    ctx.clock.advance(31)  # type: ignore[attr-defined]
    record(ctx, finance, contract, "1.00", "T-2")

    delivered = deliver_all(usd)
    kinds = Counter(event.name for event in delivered)
    # A disbursement, a payoff, a write-off, a replay, a take-over, a waiver, a refund (and
    # its claw-back) and the close's interest have tests of their own.
    assert set(kinds) == set(EVENT_TYPES) - {
        "contract_disbursed", "settlement_fee_charged", "receivables_written_off",
        "allocation_undone", "contract_taken_over", "receivable_waived", "credit_refunded",
        "refund_failed", "refund_clawed_back", "interest_accrued",
    }  # fmt: skip
    found = vouchers(usd, finance, contract_id=contract.id)
    assert [w["reason"] for w in accounting.list_unmapped(usd, finance).items] == []
    assert Counter(v.event_type for v in found) == kinds
    assert all(balanced(v) for v in found)
    (reversed_,) = [v for v in found if v.event_type == "payment_reversed"]
    assert reversed_.template == "loan_payment_reversed_direct_debit"
    assert any(line.account == "1110" and line.side is Side.CREDIT for line in reversed_.lines)
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0
    assert trial_balance(usd)["2900"] == 0, "every receipt was allocated"

    deliver_all(usd)
    assert len(vouchers(usd, finance)) == len(found)
    assert accounting.list_unmapped(usd, finance).items == []


def test_replaying_the_event_log_books_nothing_twice(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    contract = book().contract
    record(ctx, finance, contract, "10.00", "T-1")
    deliver_all(usd)
    before = [v.id for v in vouchers(usd, finance)]
    # The log replayed by another worker: new command keys, the same event keys.
    handler = handlers()["accounting.book"]
    for n, event in enumerate(money_events(usd)):
        execute(usd, SYSTEM, handler.command, Occurrence(event), idempotency_key=f"replay-{n}")
    assert [v.id for v in vouchers(usd, finance)] == before


# --- the unmapped queue -------------------------------------------------------------------------


def test_an_event_that_cannot_be_booked_waits_and_is_booked_once_fixed(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    contract = book().contract
    record(ctx, finance, contract, "10.00", "T-1")
    closed = attrs.evolve(usd, accounting=Accounting.of(usd.accounting.chart, ["2900"]))
    deliver_all(closed)
    deliver_all(closed)  # once in the queue, however often delivered
    assert vouchers(usd, finance) == []
    waiting = accounting.list_unmapped(usd, finance, UnmappedQuery(UnmappedState.OPEN)).items
    assert sorted(w["event_type"] for w in waiting) == ["payment_allocated", "payment_received"]
    assert all("account 2900" in w["reason"] and "closed" in w["reason"] for w in waiting)
    assert all(w["payload"]["contract_id"] == contract.id for w in waiting)

    # Still closed: the replay is refused with the reason and the event stays queued.
    with pytest.raises(DomainError, match="closed"):
        accounting.replay_unmapped(closed, finance, waiting[0]["id"])
    # Opened again, each books; a second replay is refused.
    for unmapped in waiting:
        resolved = accounting.replay_unmapped(usd, finance, unmapped["id"])
        assert resolved.state is UnmappedState.RESOLVED
        assert resolved.resolved_by == finance.user_id
        assert resolved.voucher_id is not None
        view = accounting.get_voucher(usd, finance, resolved.voucher_id)
        assert (view.source_key, view.event_type) == (unmapped["event_key"], unmapped["event_type"])
        assert balanced(view)
    with pytest.raises(DomainError, match="resolved"):
        accounting.replay_unmapped(usd, finance, waiting[0]["id"])
    assert accounting.list_unmapped(usd, finance, UnmappedQuery(UnmappedState.OPEN)).items == []
    deliver_all(usd)  # the events delivered again change nothing
    assert len(vouchers(usd, finance)) == 2


def test_an_event_no_template_meets_is_queued_then_mapped(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    contract = book().contract
    record(ctx, finance, contract, "10.00", "T-1")
    bare = attrs.evolve(usd, accounting=Accounting(TemplateSet(default_chart("X", "USD"))))
    deliver_all(bare)
    waiting = accounting.list_unmapped(usd, finance).items
    assert len(waiting) == 2
    assert all(w["reason"].startswith("no template meets business_type=loan") for w in waiting)
    with pytest.raises(DomainError, match="still unmapped"):
        accounting.replay_unmapped(bare, finance, waiting[0]["id"])
    for unmapped in waiting:
        accounting.replay_unmapped(usd, finance, unmapped["id"])
    assert [v.event_type for v in vouchers(usd, finance, contract_id=contract.id)] == [
        "payment_received", "payment_allocated",
    ]  # fmt: skip


def test_an_event_in_another_currency_books_to_the_same_codes_in_its_own_ledger(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    contract = book().contract  # in dollars; the services' chart is kept in yuan
    record(ctx, finance, contract, "10.00", "T-1")
    deliver_all(ctx)
    assert accounting.list_unmapped(ctx, finance).items == []
    booked = vouchers(ctx, finance, contract_id=contract.id)
    assert [v.event_type for v in booked] == ["payment_received", "payment_allocated"]
    lines = [line for view in booked for line in view.lines]
    assert {line.amount.currency.code for line in lines} == {"USD"}
    assert {line.account for line in lines} <= set(ctx.accounting.chart.accounts)


def test_a_payoff_books_its_fee_as_a_fee_receivable_the_payment_then_clears(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    terms = QuoteTerms(valid_days=10, fee_rate=Decimal("0.02"))
    priced = attrs.evolve(ctx, collection=attrs.evolve(ctx.collection, quotes=terms))
    contract = book().contract
    quote = settlement_quotes.create_settlement_quote(
        priced, finance, RequestQuote(contract.id, QuoteKind.EARLY_SETTLEMENT)
    )
    settlement_quotes.pay_settlement_quote(
        priced, finance, PayQuote(quote.id, QuotePayment(quote.total, "PAYOFF", source_ref="P-1"))
    )
    deliver_all(priced)
    assert accounting.list_unmapped(priced, finance).items == []
    booked = vouchers(priced, finance, contract_id=contract.id)
    (fee,) = [view for view in booked if view.event_type == "settlement_fee_charged"]
    assert [(line.account, line.side, line.amount) for line in fee.lines] == [
        ("1200", Side.DEBIT, quote.fee), ("4200", Side.CREDIT, quote.fee),
    ]  # fmt: skip
    assert all(balanced(view) for view in booked)


# --- reading ------------------------------------------------------------------------------------


def test_vouchers_are_filtered_and_paged(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    one, other = book().contract, book().contract
    record(ctx, finance, one, "10.00", "T-1")
    record(ctx, finance, other, "20.00", "T-2")
    deliver_all(usd)
    assert len(vouchers(usd, finance)) == 4
    assert len(vouchers(usd, finance, contract_id=one.id)) == 2
    received = vouchers(usd, finance, event_type="payment_received")
    assert [v.lines[0].amount for v in received] == [Money("10.00", "USD"), Money("20.00", "USD")]
    today = usd.clock.business_date()
    assert len(vouchers(usd, finance, business_date=today)) == 4
    assert vouchers(usd, finance, business_date=today.replace(year=today.year - 1)) == []
    first = accounting.list_vouchers(usd, finance, limit=3)
    assert len(first.items) == 3
    assert first.next_after is not None
    rest = accounting.list_vouchers(usd, finance, after=first.next_after, limit=3)
    assert (len(rest.items), rest.next_after) == (1, None)


def test_only_finance_reads_the_books_and_works_the_queue(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, officer: Actor, dealer: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    contract = book().contract
    record(ctx, finance, contract, "10.00", "T-1")
    deliver_all(usd)
    (voucher,) = vouchers(usd, finance, event_type="payment_received")
    for actor in (officer, dealer):
        with pytest.raises(PermissionDeniedError):
            accounting.list_vouchers(usd, actor)
        with pytest.raises(PermissionDeniedError):
            accounting.get_voucher(usd, actor, voucher.id)
        with pytest.raises(PermissionDeniedError):
            accounting.list_unmapped(usd, actor)
        with pytest.raises(PermissionDeniedError):
            accounting.replay_unmapped(usd, actor, "0" * 26)
    with pytest.raises(NotFoundError):
        accounting.get_voucher(usd, finance, "0" * 26)


# --- the property -------------------------------------------------------------------------------


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=1, max_value=300_000), st.integers(0, 40)),
        min_size=1,
        max_size=5,
    )
)
def test_the_trial_balance_of_random_payments_on_a_contract_is_zero(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[..., BookContract],
    steps: list[tuple[int, int]],
) -> None:  # fmt: skip
    contract = book().contract
    for n, (cents, days) in enumerate(steps):
        record(ctx, finance, contract, str(Decimal(cents).scaleb(-2)), f"P-{contract.id}-{n}")
        ctx.clock.advance(days)  # type: ignore[attr-defined]
    delivered = deliver_all(usd)
    mine = [e for e in delivered if e.payload.get("contract_id") == contract.id]
    found = vouchers(usd, finance, contract_id=contract.id)
    assert len(found) == len(mine)
    assert all(balanced(v) for v in found)
    assert accounting.list_unmapped(usd, finance).items == []
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0
    assert trial_balance(usd)["2900"] == 0
