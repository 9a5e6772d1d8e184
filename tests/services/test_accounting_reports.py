"""Accounting reports over vouchers that real commands booked, on SQLite and PostgreSQL: the
trial balance of a period balances and agrees with the journal; an account's ledger carries
its running balance across pages and into CSV; a contract's sub-ledger equals what it still
owes after disbursement and payments, and moves with its receivables through a reversal."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from leasekit.domain.bookings import default_accounting
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import Contract
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner
from leasekit.domain.products import Product
from leasekit.domain.voucher_templates import DEFAULT_TEMPLATES, RECEIVABLE_ACCOUNTS, receivable_of
from leasekit.domain.vouchers import Side
from leasekit.errors import NotFoundError, PermissionDeniedError, ValidationError
from leasekit.money import Money
from leasekit.services import (
    accounting,
    contracts,
    debit_runs,
    disbursements,
    funds,
    partners,
    users,
)
from leasekit.services.accounting_reports import (
    Period,
    account_ledger,
    contract_sub_ledger,
    csv_chunks,
    ledger_csv_rows,
    sub_ledger_csv_rows,
    trial_balance,
    trial_balance_csv_rows,
)
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.funds import RecordPayment
from leasekit.services.storage import VoucherQuery, VoucherView
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import Fakes

from .conftest import taken_over
from .test_accounting import deliver_all
from .test_disbursements import ACCOUNT, pay, payout

SYSTEM = Actor.system()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def usd(ctx: ServiceContext) -> ServiceContext:
    """The services booking to a chart in dollars, the taken-over book's currency."""
    return attrs.evolve(ctx, accounting=default_accounting("Leasekit US", "USD"))


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[[], BookContract]:
    serial = iter(range(1, 10_000))
    return lambda: taken_over(ctx, next(serial), "USD")


def record(ctx: ServiceContext, finance: Actor, contract: Contract, amount: str, ref: str) -> None:
    request = RecordPayment(contract.id, Money(amount, contract.principal.currency), ref,
                            source_ref=ref)  # fmt: skip
    funds.record_payment(ctx, finance, request)


def ever(ctx: ServiceContext) -> Period:
    today = ctx.clock.business_date()
    return Period(today - timedelta(days=3650), today)


def parsed(chunks: object) -> list[dict[str, str]]:
    text = b"".join(chunks).decode("utf-8")  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def disbursed(
    ctx: ServiceContext, dealer: Actor, officer: Actor, finance: Actor, fakes: Fakes,
    partner: Partner, lease: Product,
) -> Contract:  # fmt: skip
    """A finance lease paid out to the dealer, its disbursement booked."""
    change = partners.ProfileChange(
        name=partner.name, bank_accounts=(ACCOUNT,), reason="settlement account"
    )
    settled = partners.revise_partner(ctx, officer, partners.ProfileRevision(partner.id, change))
    item = payout(ctx, dealer, officer, fakes, settled, 0)
    pay(ctx, disbursements.transition_disbursement(ctx, finance, item.id, "approve"))
    (instruction,) = fakes.bank.paid(ACCOUNT.card_number)
    fakes.bank.settle(instruction.instruction_id)
    disbursements.track_payout(ctx, finance, item.id)
    return contracts.get_contract(ctx, SYSTEM, item.contract_id)


# --- the trial balance --------------------------------------------------------------------------


def test_the_trial_balance_of_a_period_balances_and_agrees_with_the_journal(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[[], BookContract]
) -> None:
    contract = book().contract
    record(ctx, finance, contract, "150.00", "T-1")
    ctx.clock.advance(10)  # type: ignore[attr-defined]
    record(ctx, finance, contract, "2000.00", "T-2")
    deliver_all(usd)
    today = usd.clock.business_date()

    whole = trial_balance(usd, finance, ever(usd))
    assert whole.balanced
    assert whole.debits == whole.credits > 0
    assert whole.opening == whole.closing == 0
    with usd.uow_factory() as uow:
        journal = uow.vouchers.trial_balance("USD")
    assert {row.account: row.closing for row in whole.accounts} == {
        account: balance for account, balance in journal.items() if balance or account
    }

    # The last ten days: what came before is the opening, and the books still balance.
    late = trial_balance(usd, finance, Period(today - timedelta(days=5), today))
    assert late.balanced
    assert late.opening == 0
    assert any(row.opening for row in late.accounts)
    assert late.debits == Decimal("4000.00"), "received, then allocated"
    assert {row.account: row.closing for row in late.accounts} == {
        row.account: row.closing for row in whole.accounts
    }
    for row in late.accounts:
        assert row.closing == row.opening + row.debits - row.credits

    # Quiet accounts only when asked; another currency's ledger is empty.
    every = trial_balance(usd, finance, Period(today, today), every_account=True)
    assert {row.account for row in every.accounts} >= set(usd.accounting.chart.accounts)
    assert trial_balance(usd, finance, ever(usd), "EUR").accounts == ()

    rows = parsed(csv_chunks(trial_balance_csv_rows(late)))
    assert [row["account"] for row in rows] == [r.account for r in late.accounts] + ["total"]
    assert [Decimal(row["closing"]) for row in rows[:-1]] == [r.closing for r in late.accounts]
    assert Decimal(rows[-1]["debits"]) == late.debits


def test_a_report_refuses_a_backwards_period_an_unknown_currency_and_account(
    usd: ServiceContext, finance: Actor
) -> None:
    today = usd.clock.business_date()
    with pytest.raises(ValidationError) as caught:
        Period(today, today - timedelta(days=1))
    assert caught.value.errors[0].field == "from"
    with pytest.raises(ValidationError) as caught:
        trial_balance(usd, finance, ever(usd), "XXX")
    assert caught.value.errors[0].field == "currency"
    with pytest.raises(ValidationError) as caught:
        account_ledger(usd, finance, "9999", ever(usd))
    assert caught.value.errors[0].field == "account"
    with pytest.raises(ValidationError) as caught:
        account_ledger(usd, finance, "1100", ever(usd), after="not-a-cursor")
    assert caught.value.errors[0].field == "after"


# --- an account's ledger ------------------------------------------------------------------------


def test_an_accounts_ledger_runs_its_balance_across_pages_and_into_csv(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[[], BookContract]
) -> None:
    contract = book().contract
    for n, amount in enumerate(("10.00", "20.00", "30.00", "40.00")):
        record(ctx, finance, contract, amount, f"T-{n}")
        ctx.clock.advance(1)  # type: ignore[attr-defined]
    deliver_all(usd)
    today = usd.clock.business_date()

    whole = account_ledger(usd, finance, "1100", ever(usd))
    assert (whole.opening, whole.closing, whole.next_after) == (0, Decimal("100.00"), None)
    assert [line.amount for line in whole.lines] == [Decimal(a) for a in ("10", "20", "30", "40")]
    assert [line.balance for line in whole.lines] == [Decimal(b) for b in ("10", "30", "60", "100")]
    assert {line.event_type for line in whole.lines} == {"payment_received"}
    assert {line.contract_id for line in whole.lines} == {contract.id}

    pages, after = [], None
    while True:
        page = account_ledger(usd, finance, "1100", ever(usd), after=after, limit=1)
        pages.extend(page.lines)
        if page.next_after is None:
            break
        after = page.next_after
    assert pages == list(whole.lines)

    # From the third day: the first two payments are the opening balance.
    later = account_ledger(usd, finance, "1100", Period(today - timedelta(days=2), today))
    assert later.opening == Decimal("30.00")
    assert [line.balance for line in later.lines] == [Decimal("60.00"), Decimal("100.00")]

    rows = parsed(csv_chunks(ledger_csv_rows(usd, finance, "1100", ever(usd))))
    assert rows[0]["description"] == "opening"
    assert rows[-1]["description"] == "closing"
    balances = [line.balance for line in whole.lines]
    assert [Decimal(row["balance"]) for row in rows] == [0, *balances, Decimal("100.00")]
    assert [row["voucher_id"] for row in rows[1:-1]] == [line.voucher_id for line in whole.lines]


# --- a contract's sub-ledger --------------------------------------------------------------------


def test_a_disbursed_contracts_receivable_account_equals_what_it_owes(
    ctx: ServiceContext, finance: Actor, disbursed: Contract
) -> None:
    deliver_all(ctx)
    report = contract_sub_ledger(ctx, finance, disbursed.id)
    assert (report.receivable_account, report.receivable_parts) == ("1210", ("principal", "fee"))
    assert report.receivable_balance == disbursed.principal.amount
    assert report.matches
    assert report.difference == 0

    record(ctx, finance, disbursed, "1000.00", "T-1")
    ctx.clock.advance(40)  # type: ignore[attr-defined]
    record(ctx, finance, disbursed, "3000.00", "T-2")
    deliver_all(ctx)
    report = contract_sub_ledger(ctx, finance, disbursed.id)
    assert report.matches, report
    assert 0 < report.receivable_balance < disbursed.principal.amount
    held = {account.account: account for account in report.accounts}
    assert held["1100"].debits == Decimal("4000.00"), "the payments received"
    assert held["1210"].debits == disbursed.principal.amount, "what was lent"
    for account in report.accounts:
        assert account.balance == account.debits - account.credits
        assert account.lines[-1].balance == account.balance

    rows = parsed(csv_chunks(sub_ledger_csv_rows(report)))
    assert len(rows) == sum(len(account.lines) for account in report.accounts)
    assert {row["contract_id"] for row in rows} == {disbursed.id}


def test_a_taken_over_contract_opens_with_what_it_owed_and_moves_with_its_receivables(
    ctx: ServiceContext,
    usd: ServiceContext,
    finance: Actor,
    fakes: Fakes,
) -> None:
    """The opening voucher puts what a taken-over contract owed in its receivable account,
    against the opening balances; a payment, a returned debit and its fee then move both
    alike."""
    made = taken_over(ctx, 1, "USD", opening=True)
    contract = made.contract
    taken = sum((line.owed("principal").amount + line.owed("fee").amount
                 for line in made.lines), Decimal(0))  # fmt: skip
    deliver_all(usd)
    opened = contract_sub_ledger(usd, finance, contract.id)
    assert (opened.receivable_balance, opened.matches) == (taken, True)
    assert {held.account: held.balance for held in opened.accounts} == {
        "1200": taken, "3900": -taken,
    }  # fmt: skip
    record(ctx, finance, contract, "500.00", "T-1")
    deliver_all(usd)
    assert contract_sub_ledger(usd, finance, contract.id).matches

    run = debit_runs.start_debit_run(ctx, finance, StartDebitRun("us"))
    debit_runs.settle_debit_run(ctx, finance, SettleRun(run.id))
    batch = debit_runs.debit_batch(ctx, SYSTEM, run.id)
    (debit,) = batch.items
    debit_runs.import_debit_results(
        ctx, finance, [fakes.bank.return_file(batch, {debit.item_id: "R01"})]
    )
    deliver_all(usd)
    report = contract_sub_ledger(usd, finance, contract.id)
    kinds = {line.event_type for account in report.accounts for line in account.lines}
    assert {"contract_taken_over", "payment_reversed", "return_fee_charged"} <= kinds
    assert report.receivable_account == "1200"
    assert (report.difference, report.matches) == (0, True)


def test_only_finance_reads_the_reports(
    usd: ServiceContext, finance: Actor, dealer: Actor, officer: Actor,
    book: Callable[[], BookContract],
) -> None:  # fmt: skip
    contract = book().contract
    for actor in (dealer, officer):
        with pytest.raises(PermissionDeniedError):
            trial_balance(usd, actor, ever(usd))
        with pytest.raises(PermissionDeniedError):
            account_ledger(usd, actor, "1100", ever(usd))
        with pytest.raises(PermissionDeniedError):
            ledger_csv_rows(usd, actor, "1100", ever(usd))
        with pytest.raises(PermissionDeniedError):
            contract_sub_ledger(usd, actor, contract.id)
    with pytest.raises(NotFoundError):
        contract_sub_ledger(usd, finance, "0" * 26)


# --- the receivable account -------------------------------------------------------------------


@pytest.mark.parametrize("business_type", [str(kind) for kind in BusinessType])
def test_the_receivable_account_and_its_parts_are_those_the_default_templates_book(
    business_type: str,
) -> None:
    """A fee charged is debited to the receivable account; paying credits it with exactly
    the parts :func:`receivable_of` names."""
    account, parts = receivable_of(business_type)
    kind = business_type if business_type in RECEIVABLE_ACCOUNTS else "loan"

    def of_kind(event_type: str) -> Mapping[str, Any]:
        (found,) = [
            t for t in DEFAULT_TEMPLATES
            if t["event_type"] == event_type
            and t["conditions"].get("business_type", "loan") == kind
        ]  # fmt: skip
        return found

    (charged,) = [line for line in of_kind("return_fee_charged")["lines"]
                  if line["side"] == "debit"]  # fmt: skip
    assert charged["account"] == account
    paid = of_kind("payment_allocated")["lines"]
    assert sorted(line["amount"] for line in paid if line["account"] == account) == sorted(parts)


def test_a_hand_reversal_of_a_contracts_voucher_is_in_its_sub_ledger(
    ctx: ServiceContext, usd: ServiceContext, finance: Actor, book: Callable[[], BookContract]
) -> None:
    """A reversal mirrors its original line for line: its lines are the contract's, and
    undoing an allocation the receivables still show puts the account out by what it paid."""
    contract = book().contract
    record(ctx, finance, contract, "500.00", "T-1")
    deliver_all(usd)
    before = contract_sub_ledger(usd, finance, contract.id)
    found = accounting.list_vouchers(usd, finance, VoucherQuery(contract_id=contract.id))
    (allocated,) = [v for v in found.items if v["event_type"] == "payment_allocated"]
    view = accounting.get_voucher(usd, finance, allocated["id"])
    paid = sum((line.amount.amount for line in view.lines
                if line.account == before.receivable_account), Decimal(0))  # fmt: skip
    reversal = accounting.reverse_voucher(
        usd, finance, accounting.ReverseVoucher(view.id, accounting.Correction("wrong contract"))
    )
    after = contract_sub_ledger(usd, finance, contract.id)
    shown = {line.voucher_id for account in after.accounts for line in account.lines}
    assert reversal.id in shown
    assert after.difference - before.difference == paid > 0


def test_a_write_off_takes_what_the_contract_owes_off_the_books(
    ctx: ServiceContext, admin: Actor, finance: Actor, disbursed: Contract
) -> None:
    record(ctx, finance, disbursed, "1000.00", "T-1")
    ctx.clock.advance(40)  # type: ignore[attr-defined]
    deliver_all(ctx)
    owed = contract_sub_ledger(ctx, finance, disbursed.id).receivable_balance
    request = users.CreateUser("cfo", "Finance director", Role.FINANCE_DIRECTOR)
    cfo = users.create_user(ctx, admin, request).actor()
    contracts.transition_contract(ctx, cfo, disbursed.id, "write_off", "uncollectable")

    deliver_all(ctx)
    (voucher,) = vouchers_of(ctx, finance, disbursed.id, "receivables_written_off")
    assert [(line.account, line.side, line.amount.amount) for line in voucher.lines] == [
        ("6100", Side.DEBIT, owed), ("1210", Side.CREDIT, owed),
    ]  # fmt: skip
    report = contract_sub_ledger(ctx, finance, disbursed.id)
    assert (report.receivable_balance, report.outstanding, report.matches) == (0, 0, True)
    with ctx.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(disbursed.id)
    assert all(line.written_off_on == ctx.clock.business_date() for line in lines)


def vouchers_of(
    ctx: ServiceContext, finance: Actor, contract_id: str, event_type: str
) -> list[VoucherView]:
    query = VoucherQuery(contract_id=contract_id, event_type=event_type)
    page = accounting.list_vouchers(ctx, finance, query)
    return [accounting.get_voucher(ctx, finance, record["id"]) for record in page.items]
