"""The books under random business, on SQLite and PostgreSQL: payouts, payments by hand,
direct debits collected or returned (a reversal and a fee), early settlements, write-offs,
refunds of credit paid or failed by the bank and days passing, in any order. After every step
the trial balance is zero, every voucher balances, no event waits unmapped, each contract's
receivable account equals what it still owes and the credit balances account the credit the
payments hold; at the end the event log, booked again into an emptied journal, gives the same
vouchers."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine

from leasekit.domain.identity import Actor, Role
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.errors import DomainError
from leasekit.money import Money
from leasekit.services import (
    accounting,
    accounting_reports,
    contracts,
    debit_runs,
    disbursements,
    funds,
    mandates,
    refunds,
    settlement_quotes,
    users,
)
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.settlement_quotes import PayQuote, QuotePayment, RequestQuote
from leasekit.services.voucher_batches import replay_log
from leasekit.testing.fakes import Fakes

from .test_accounting import deliver_all, finance, settled_partner, trial_balance  # noqa: F401
from .test_disbursements import ACCOUNT, pay, payout
from .test_refunds import COMPACT, relay

SYSTEM = Actor.system()
_CREDIT_HELD = sa.text("SELECT unallocated FROM payments WHERE state <> 'reversed'")
_JOURNAL = ("voucher_syncs", "voucher_lines", "vouchers", "unmapped_events")


def journal(engine: Engine) -> list[tuple[object, ...]]:
    """Every voucher as booked, without what differs between two bookings of one event (its
    id, when it was made): source key, date, template, and each line with its dimensions."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT v.source_key, v.business_date, v.event_type, v.template, "
                "v.template_version, l.line_no, l.account, l.side, l.currency, l.amount, "
                "l.memo, l.contract_id, l.partner_id, l.product, l.branch "
                "FROM vouchers v JOIN voucher_lines l ON l.voucher_id = v.id "
                "ORDER BY v.source_key, l.line_no"
            )
        ).all()
    return [(*row[:9], Decimal(str(row[9])), *row[10:]) for row in rows]


def emptied(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in _JOURNAL:
            connection.execute(sa.text(f"DELETE FROM {table}"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_books_stay_whole_under_random_business(
    ctx: ServiceContext, engine: Engine, admin: Actor, dealer: Actor, officer: Actor,
    finance: Actor,  # noqa: F811
    fakes: Fakes, settled_partner: Partner, lease: Product,  # noqa: F811
) -> None:  # fmt: skip
    serial = itertools.count()
    request = users.CreateUser("cfo", "Finance director", Role.FINANCE_DIRECTOR)
    cfo = users.create_user(ctx, admin, request).actor()
    with ctx.uow_factory() as uow:  # room for every payout the machine may make
        limit = uow.credit_limits.get_for_update(settled_partner.id)
        uow.credit_limits.update(attrs.evolve(limit, total=Money("100000000.00", "CNY")))
        uow.commit()

    class Business(RuleBasedStateMachine):
        contracts = Bundle("contracts")

        def __init__(self) -> None:
            super().__init__()
            self.active: set[str] = set()
            self.paid_out = 0

        @precondition(lambda self: self.paid_out < 3)
        @rule(target=contracts)
        def pay_out(self) -> str:
            n = next(serial)
            item = payout(ctx, dealer, officer, fakes, settled_partner, n)
            approved = disbursements.transition_disbursement(ctx, finance, item.id, "approve")
            pay(ctx, approved)
            fakes.bank.settle(fakes.bank.paid(ACCOUNT.card_number)[-1].instruction_id)
            disbursements.track_payout(ctx, finance, item.id)
            request = mandates.TakeMandate(
                item.contract_id, f"M-{n}", DebitScheme.CSV, "Zhang Wei",
                "6222020200112233446", ctx.clock.business_date(), agent="ICBC",
            )  # fmt: skip
            mandates.take_mandate(ctx, officer, request)
            self.active.add(item.contract_id)
            self.paid_out += 1
            return item.contract_id

        @rule(contract=contracts, cents=st.integers(1, 2_000_000))
        def pay_by_hand(self, contract: str, cents: int) -> None:
            if contract in self.active:
                amount = Money(Decimal(cents).scaleb(-2), "CNY")
                request = funds.RecordPayment(contract, amount, f"cash {next(serial)}")
                funds.record_payment(ctx, finance, request)

        @rule(days=st.integers(1, 45))
        def days_pass(self, days: int) -> None:
            ctx.clock.advance(days)  # type: ignore[attr-defined]

        @rule(returned=st.booleans())
        def debit(self, returned: bool) -> None:
            try:
                run = debit_runs.start_debit_run(ctx, finance, StartDebitRun("cn"))
            except DomainError:
                return  # nothing due to debit today
            debit_runs.settle_debit_run(ctx, finance, SettleRun(run.id))
            batch = debit_runs.debit_batch(ctx, SYSTEM, run.id)
            items = tuple(batch.items)
            if not items:
                return  # nobody with a mandate owed anything today
            codes = {item.item_id: "R01" for item in items} if returned else {}
            debit_runs.import_debit_results(ctx, finance, [fakes.bank.return_file(batch, codes)])

        @rule(contract=consumes(contracts))
        def settle_early(self, contract: str) -> None:
            if contract not in self.active:
                return
            quote = settlement_quotes.create_settlement_quote(ctx, finance, RequestQuote(contract))
            n = next(serial)
            payment = QuotePayment(quote.total, f"payoff {n}", source_ref=f"payoff-{n}")
            settlement_quotes.pay_settlement_quote(ctx, finance, PayQuote(quote.id, payment))
            self.active.discard(contract)

        @rule(contract=consumes(contracts))
        def write_off(self, contract: str) -> None:
            if contract in self.active:
                contracts.transition_contract(ctx, cfo, contract, "write_off", "uncollectable")
                self.active.discard(contract)

        @rule(contract=contracts, paid=st.integers(1, 20_000_000), percent=st.integers(1, 100),
              fails=st.booleans())  # fmt: skip
        def refund(self, contract: str, paid: int, percent: int, fails: bool) -> None:
            """The customer pays, perhaps more than is due, and a share of the contract's
            credit is refunded; the bank pays the refund or returns it."""
            if contract not in self.active:
                return
            self.pay_by_hand(contract, paid)
            with ctx.uow_factory() as uow:
                held = sum(p.unallocated.amount for p in uow.payments.with_credit(contract))
                at, business_date = ctx.moment()
                cents = int(held * percent)
                if not cents:
                    return
                made = refunds.pay_out_refund(
                    Work(ctx, uow, cfo, at, business_date), contract_id=contract,
                    amount=Money(Decimal(cents).scaleb(-2), "CNY"), iban=COMPACT,
                    holder="Zhang Wei", exception_request_id=None,
                )  # fmt: skip
                uow.commit()
            relay(ctx, made)
            (fakes.bank.fail_settlement if fails else fakes.bank.settle)(made.id)
            refunds.track_refund(ctx, finance, made.id)

        @invariant()
        def the_books_are_whole(self) -> None:
            deliver_all(ctx)
            assert accounting.list_unmapped(ctx, finance).items == []
            assert sum(trial_balance(ctx).values(), Decimal(0)) == 0
            for contract in self.active:
                report = accounting_reports.contract_sub_ledger(ctx, finance, contract)
                assert report.matches, (report.receivable_balance, report.outstanding)
            with engine.connect() as connection:
                held = sum(Decimal(str(row[0])) for row in connection.execute(_CREDIT_HELD))
            assert -trial_balance(ctx).get("2200", Decimal(0)) == held

    run_state_machine_as_test(
        Business,
        settings=settings(
            max_examples=10,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )

    booked = journal(engine)
    kinds = {row[2] for row in booked}
    assert {"contract_disbursed", "payment_received", "payment_allocated"} <= kinds
    emptied(engine)
    replay_log(ctx)
    assert journal(engine) == booked
    assert ctx.clock.business_date() >= date(2024, 1, 15)
