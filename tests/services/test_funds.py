"""Payments, allocation, mandates, debit runs and the bank's results, on a taken-over book of
active contracts (:mod:`leasekit.testing.book`), on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
import sepaxml
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import Contract, PaymentSource, PaymentState
from leasekit.domain.debit_runs import ResultOutcome
from leasekit.domain.funds import ReceivableStatus
from leasekit.domain.identity import Actor, Role
from leasekit.domain.mandates import AccountType, DebitScheme, MandateState
from leasekit.domain.products import Product
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.money import Money
from leasekit.ports import DebitBatch
from leasekit.services import debit_runs, funds, mandates, users
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.debit_runs import SettleRun, StartDebitRun
from leasekit.services.funds import RecordPayment
from leasekit.services.mandates import TakeMandate
from leasekit.testing.book import TAKEN_OVER_TERMS, BookContract
from leasekit.testing.fakes import Fakes

from .conftest import taken_over

SYSTEM = Actor.system()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser("fin", "Finance", Role.FINANCE)).actor()


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    """Makes taken-over contracts (see :func:`taken_over`), each with a serial of its own."""
    serial = iter(range(1, 10_000))
    return lambda currency="USD", mandate=True: taken_over(
        ctx, next(serial), currency, mandate=mandate
    )


def statuses(ctx: ServiceContext, contract: Contract) -> list[ReceivableStatus]:
    return [line.status for line in funds.list_receivables(ctx, SYSTEM, contract.id).items]


def pay(ctx: ServiceContext, finance: Actor, contract: Contract, amount: str, ref: str) -> str:
    request = RecordPayment(contract.id, Money(amount, contract.principal.currency), ref,
                            source_ref=ref)  # fmt: skip
    return funds.record_payment(ctx, finance, request).id


def money_in_balance(ctx: ServiceContext, contract: Contract) -> None:
    """Allocations plus credit equal the payments not reversed, and each line's paid parts
    are the sum of its allocations."""
    with ctx.uow_factory() as uow:
        payments = uow.payments.list_for_contract(contract.id)
        lines = uow.receivables.list_for_contract(contract.id)
        rows = [row for payment in payments for row in uow.allocations.of_payment(payment.id)]
    kept = [payment for payment in payments if payment.state is not PaymentState.REVERSED]
    zero = Money(0, contract.principal.currency)
    allocated_kept = sum((row.amount for row in rows
                          if any(p.id == row.payment_id for p in kept)), zero)  # fmt: skip
    credit = sum((payment.unallocated for payment in kept), zero)
    assert allocated_kept + credit == sum((payment.amount for payment in kept), zero)
    for payment in payments:
        if payment.state is PaymentState.REVERSED:
            assert sum((r.amount for r in rows if r.payment_id == payment.id), zero) == zero
    for line in lines:
        assert sum((r.amount for r in rows if r.receivable_id == line.id), zero) == line.paid
        assert zero <= line.paid <= line.amount_due


# --- receivables and payments ------------------------------------------------------------------


def test_installments_have_a_status_on_the_business_date(
    ctx: ServiceContext, fixed_clock: FixedClock, book: Callable[..., BookContract]
) -> None:
    made = book()
    assert statuses(ctx, made.contract)[:3] == ["overdue", "due", "not_due"]
    fixed_clock.set_business_date(fixed_clock.business_date() - timedelta(days=28))
    assert statuses(ctx, made.contract)[:2] == ["due", "not_due"]  # within the grace days


def test_a_payment_pays_the_oldest_installment_first_and_keeps_the_rest_as_credit(
    ctx: ServiceContext, finance: Actor, fixed_clock: FixedClock, book: Callable[..., BookContract]
) -> None:
    made = book()
    first, second, third = made.lines[:3]
    payment_id = pay(ctx, finance, made.contract, "2000.00", "TRF-1")
    view = funds.get_payment(ctx, finance, payment_id)
    # Interest before principal within an installment, the oldest installment first.
    assert [(row.sequence, str(row.part)) for row in view.allocations] == [
        (1, "interest"),
        (1, "principal"),
        (2, "interest"),
        (2, "principal"),
    ]
    assert (
        view.payment.unallocated == Money("2000.00", "USD") - first.amount_due - second.amount_due
    )
    assert statuses(ctx, made.contract)[:3] == ["paid", "paid", "not_due"]
    # The credit pays the next installment once it falls due.
    fixed_clock.set_business_date(third.due_date)
    with ctx.uow_factory() as uow:
        contract = uow.contracts.get(made.contract.id)
    _credit_applied(ctx, contract)
    assert statuses(ctx, made.contract)[2] == "partly_paid"
    money_in_balance(ctx, made.contract)


def _credit_applied(ctx: ServiceContext, contract: Contract) -> None:
    with ctx.uow_factory() as uow:
        at, business_date = ctx.moment()
        work = Work(ctx, uow, SYSTEM, at, business_date)
        assert funds.allocate_credit(work, contract)
        uow.commit()


def test_a_source_item_pays_once(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    pay(ctx, finance, made.contract, "100.00", "LINE-7")
    with pytest.raises(ValidationError) as refused:
        pay(ctx, finance, made.contract, "100.00", "LINE-7")
    assert refused.value.errors[0].field == "source_ref"


def test_a_payment_is_refused_for_a_contract_that_takes_none_or_in_another_currency(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    wrong = RecordPayment(made.contract.id, Money("10.00", "EUR"), "X")
    with pytest.raises(ValidationError, match="amount"):
        funds.record_payment(ctx, finance, wrong)
    debit = RecordPayment(made.contract.id, Money("10.00", "USD"), "X",
                          source=PaymentSource.DIRECT_DEBIT)  # fmt: skip
    with pytest.raises(ValidationError, match="source"):
        funds.record_payment(ctx, finance, debit)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amounts=st.lists(st.integers(min_value=1, max_value=400_000), min_size=1, max_size=6))
def test_money_is_always_accounted_for(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract], amounts: list[int]
) -> None:
    made = book()
    for n, cents in enumerate(amounts):
        pay(
            ctx, finance, made.contract, str(Decimal(cents).scaleb(-2)), f"P-{made.contract.id}-{n}"
        )
        money_in_balance(ctx, made.contract)


# --- mandates ----------------------------------------------------------------------------------


def test_a_mandate_is_checked_by_its_scheme_and_one_is_active_per_contract(
    ctx: ServiceContext, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book("EUR", mandate=False)
    day = ctx.clock.business_date()
    bad = TakeMandate(made.contract.id, "MD-1", DebitScheme.SEPA, "Erika", "DE00123", day,
                      "COBADEFFXXX")  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        mandates.take_mandate(ctx, finance, bad)
    assert [error.field for error in refused.value.errors] == ["account"]
    good = attrs.evolve(bad, account="DE89 3704 0044 0532 0130 00")
    taken = mandates.take_mandate(ctx, finance, good)
    assert (taken.account, taken.state) == ("DE89370400440532013000", MandateState.ACTIVE)
    with pytest.raises(ValidationError) as twice:
        mandates.take_mandate(ctx, finance, attrs.evolve(good, reference="MD-2"))
    assert twice.value.errors[0].field == "contract_id"
    us = TakeMandate(made.contract.id, "MD-3", DebitScheme.NACHA, "J", "12", day, "011000016",
                     AccountType.SAVINGS)  # fmt: skip
    with pytest.raises(ValidationError) as us_refused:
        mandates.take_mandate(ctx, finance, us)
    assert {error.field for error in us_refused.value.errors} == {"account", "agent"}


# --- debit runs and results --------------------------------------------------------------------


def run(ctx: ServiceContext, finance: Actor, account: str) -> debit_runs.DebitRun:
    return debit_runs.start_debit_run(ctx, finance, StartDebitRun(account))


def batch_of(ctx: ServiceContext, run_id: str) -> DebitBatch:
    return debit_runs.debit_batch(ctx, SYSTEM, run_id)


def test_a_run_debits_what_is_due_once_and_says_whom_it_left_out(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    debited, unmandated = book("USD"), book("USD", mandate=False)
    book("EUR")  # another account's
    made = run(ctx, finance, "us")
    due = sum((line.amount_due for line in debited.lines[:2]), Money(0, "USD"))
    assert (made.item_count, made.total) == (1, due)
    assert [(e.contract_number, e.reason) for e in made.excluded] == [
        (unmandated.contract.number, "no debit mandate")
    ]
    (item,) = batch_of(ctx, made.id).items
    assert (item.debtor_account, item.debtor_agent, len(item.item_id)) == (
        "000123456789",
        "011000015",
        15,
    )
    assert item.item_id.startswith("02100002")
    content = b"".join(debit_runs.debit_run_file(ctx, finance, made.id)[2])
    assert content.splitlines()[0].startswith(b"101 021000021")
    # Asking again answers the same run; the next day's run leaves what is in flight alone.
    assert run(ctx, finance, "us").id == made.id
    ctx.clock.advance(1)  # type: ignore[attr-defined]
    tomorrow = run(ctx, finance, "us")
    assert tomorrow.item_count == 0
    reasons = {exclusion.contract_number: exclusion.reason for exclusion in tomorrow.excluded}
    assert "covered by debits in flight" in reasons[debited.contract.number]


def test_a_run_of_many_chunks_debits_each_contract_once_for_all_it_owes(
    ctx: ServiceContext,
    finance: Actor,
    book: Callable[..., BookContract],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run works through the book a chunk of contracts at a time; a contract's lines
    never straddle two chunks, and one file holds every chunk's debits."""
    monkeypatch.setattr(debit_runs, "RUN_CHUNK", 1)
    made = [book("USD"), book("USD", mandate=False), book("USD")]
    run_ = run(ctx, finance, "us")
    owed = {m.contract.number: sum((line.amount_due for line in m.lines[:2]), Money(0, "USD"))
            for m in (made[0], made[2])}  # fmt: skip
    batch = batch_of(ctx, run_.id)
    assert {item.remittance.split()[0]: item.amount for item in batch.items} == owed
    assert [e.contract_number for e in run_.excluded] == [made[1].contract.number]
    content = b"".join(debit_runs.debit_run_file(ctx, finance, run_.id)[2])
    assert sum(1 for record in content.splitlines() if record.startswith(b"6")) == 2


def test_by_contract_groups_a_streamed_book_in_chunks_of_contracts() -> None:
    @attrs.frozen
    class Line:
        contract_id: str
        n: int

    lines = [Line("a", 1), Line("a", 2), Line("b", 1), Line("c", 1), Line("c", 2), Line("c", 3)]
    chunks = [
        {key: [line.n for line in group] for key, group in chunk.items()}
        for chunk in funds.by_contract(iter(lines), 2)
    ]
    assert chunks == [{"a": [1, 2], "b": [1]}, {"c": [1, 2, 3]}]


def test_results_collect_and_return_debits_once(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    paid, bounced = book("EUR"), book("EUR")
    made = run(ctx, finance, "eu")
    schema = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
    xmlschema.XMLSchema(schema).validate(
        b"".join(debit_runs.debit_run_file(ctx, finance, made.id)[2]).decode()
    )
    batch = batch_of(ctx, made.id)
    trace = {item.remittance.split()[0]: item.item_id for item in batch.items}
    content = fakes.bank.return_file(batch, {trace[bounced.contract.number]: "AM04"})
    report, applied = debit_runs.import_debit_results(ctx, finance, [content], filename="p2.xml")
    assert applied
    assert sorted(str(line.outcome) for line in report.lines) == ["collected", "returned"]
    assert statuses(ctx, paid.contract)[:2] == ["paid", "paid"]
    assert statuses(ctx, bounced.contract)[:2] == ["overdue", "due"]
    # The same file again changes nothing and answers the first report.
    again, applied_again = debit_runs.import_debit_results(ctx, finance, [content])
    assert (again.id, applied_again) == (report.id, False)
    money_in_balance(ctx, paid.contract)
    # AM04 (insufficient funds) is tried again: the mandate stays active.
    with ctx.uow_factory() as uow:
        assert uow.mandates.active_for([bounced.contract.id])


def test_a_late_nacha_return_undoes_the_collected_payment_and_stops_the_mandate(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    made_contract = book("USD")
    made = run(ctx, finance, "us")
    debit_runs.settle_debit_run(ctx, finance, SettleRun(made.id))
    assert statuses(ctx, made_contract.contract)[:2] == ["paid", "paid"]
    (item,) = batch_of(ctx, made.id).items
    content = fakes.bank.return_file(batch_of(ctx, made.id), {item.item_id: "R02"})
    report, _ = debit_runs.import_debit_results(ctx, finance, [content])
    (line,) = report.lines
    assert (line.outcome, line.reason_code, line.action) == (
        ResultOutcome.RETURNED,
        "R02",
        "stop_mandate",
    )
    assert statuses(ctx, made_contract.contract)[:2] == ["overdue", "due"]
    with ctx.uow_factory() as uow:
        mandate = uow.mandates.get(made_contract.mandate.id)  # type: ignore[union-attr]
        lines = uow.receivables.list_for_contract(made_contract.contract.id)
    assert mandate.state is MandateState.STOPPED
    assert lines[0].fee == Money("25.00", "USD")  # the return fee
    money_in_balance(ctx, made_contract.contract)
    # Settling again collects nothing more; the next run leaves the contract out.
    debit_runs.settle_debit_run(ctx, finance, SettleRun(made.id))
    ctx.clock.advance(1)  # type: ignore[attr-defined]
    later = run(ctx, finance, "us")
    assert [e.reason for e in later.excluded] == [f"mandate {mandate.reference} is stopped"]


def test_a_products_return_fee_is_charged_instead_of_the_companys(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    made_contract = book("USD")
    contract = made_contract.contract
    terms = attrs.evolve(TAKEN_OVER_TERMS, currency="USD", return_fee=Decimal("10"))
    product, version = Product.create(
        code="LOAN-RF",
        business_type="loan",
        terms=terms,
        actor=Actor("m-1", Role.MANAGER),
        at=ctx.clock.now(),
    )
    with ctx.uow_factory() as uow:
        uow.products.add(product)
        uow.product_versions.add(version)
        contract = uow.contracts.get(contract.id)
        contract.product_version_id = version.id
        uow.contracts.update(contract)
        uow.commit()
    made = run(ctx, finance, "us")
    (item,) = batch_of(ctx, made.id).items
    content = fakes.bank.return_file(batch_of(ctx, made.id), {item.item_id: "R01"})
    debit_runs.import_debit_results(ctx, finance, [content])
    with ctx.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(contract.id)
    assert lines[0].fee == Money("10.00", "USD")  # the product's, not the company's 25.00
    money_in_balance(ctx, contract)


def test_unknown_repeated_and_mismatched_lines_are_reported_and_change_nothing(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    book("CNY")
    made = run(ctx, finance, "cn")
    (item,) = batch_of(ctx, made.id).items
    header = "item_id,batch_id,status,amount,currency,reason_code,reason\n"
    rows = [
        f"{item.item_id},{made.id},collected,{item.amount.amount},CNY,,\n",
        f"{item.item_id},{made.id},collected,{item.amount.amount},CNY,,\n",
        f"999999999999999,{made.id},collected,1.00,CNY,,\n",
    ]
    with pytest.raises(ValidationError):  # the reader refuses a repeated trace id whole
        debit_runs.import_debit_results(ctx, finance, [(header + "".join(rows)).encode()])
    odd = header + rows[2] + f"{item.item_id},{made.id},collected,1.00,CNY,,\n"
    report, _ = debit_runs.import_debit_results(ctx, finance, [odd.encode()])
    assert [str(line.outcome) for line in report.lines] == ["unknown", "mismatch"]
    with ctx.uow_factory() as uow:
        assert not uow.payments.list_for_contract(
            uow.debit_items.get(item_id(ctx, made.id)).contract_id
        )


def item_id(ctx: ServiceContext, run_id: str) -> str:
    with ctx.uow_factory() as uow:
        (item,) = uow.debit_items.all_of_run(run_id)
    return item.id


def test_a_malformed_file_is_refused_whole(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    book("USD")
    made = run(ctx, finance, "us")
    (item,) = batch_of(ctx, made.id).items
    content = fakes.bank.return_file(batch_of(ctx, made.id), {item.item_id: "R01"})
    broken = content.replace(b"\n9", b"\n8", 1)
    with pytest.raises(ValidationError):
        debit_runs.import_debit_results(ctx, finance, [broken])
    with ctx.uow_factory() as uow:
        assert uow.debit_items.get(item_id(ctx, made.id)).state == "in_flight"


def test_only_finance_runs_debits(
    ctx: ServiceContext, officer: Actor, book: Callable[..., BookContract]
) -> None:
    with pytest.raises(PermissionDeniedError):
        run(ctx, officer, "us")
    with pytest.raises(PermissionDeniedError):
        debit_runs.import_debit_results(ctx, officer, iter(()))


def test_what_a_bank_writes_is_kept_as_text_whatever_it_is(
    ctx: ServiceContext, finance: Actor, fakes: Fakes, book: Callable[..., BookContract]
) -> None:
    book("CNY")
    made = run(ctx, finance, "cn")
    (item,) = batch_of(ctx, made.id).items
    said = "Insufficient\x00 funds\x07 \u202e" + "!" * 2_000
    content = (
        "item_id,batch_id,status,amount,currency,reason_code,reason\n"
        f'{item.item_id},{made.id},returned,{item.amount.amount},CNY,R01,"{said}"\n'
    ).encode()
    report, _ = debit_runs.import_debit_results(ctx, finance, [content])
    assert [str(line.outcome) for line in report.lines] == ["returned"]
    with ctx.uow_factory() as uow:
        (debit,) = uow.debit_items.all_of_run(made.id)
    assert debit.return_reason is not None
    assert debit.return_reason.startswith("Insufficient funds !!")
    assert len(debit.return_reason) == 200
