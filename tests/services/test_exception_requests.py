"""Exception requests through the services, on both databases: raised, approved level by
level with four eyes, returned and resubmitted, expired, executed once (a reversal, one
re-applied to the right contract, a waiver), previewed without a trace, and found again in a
payment's and a contract's history."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.bookings import default_accounting
from leasekit.domain.clock import FixedClock
from leasekit.domain.contracts import PaymentState
from leasekit.domain.exception_requests import (
    ExceptionRequest,
    ExceptionRequestState,
    Figures,
    Proposal,
    RefundAccount,
)
from leasekit.domain.identity import Actor, Role
from leasekit.errors import (
    ConflictError,
    DomainError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.money import Money
from leasekit.services import exception_requests as service
from leasekit.services import funds, refunds, users
from leasekit.services.context import ServiceContext
from leasekit.services.end_of_day import close_business_day
from leasekit.services.exception_requests import RaiseRequest, Revision, Submission
from leasekit.services.storage import ExceptionRequestQuery
from leasekit.store.end_of_day import ClosedDateClock
from leasekit.testing.book import BookContract
from leasekit.testing.fakes import FakeApprovalPolicy

from .conftest import taken_over
from .test_accounting import balanced, deliver_all, trial_balance, vouchers

S = ExceptionRequestState
USD = "USD"
CENT = Decimal("0.01")


def staff(ctx: ServiceContext, admin: Actor, username: str, role: Role) -> Actor:
    return users.create_user(ctx, admin, users.CreateUser(username, username, role)).actor()


@pytest.fixture
def finance(ctx: ServiceContext, admin: Actor) -> Actor:
    return staff(ctx, admin, "fin", Role.FINANCE)


@pytest.fixture
def cfo(ctx: ServiceContext, admin: Actor) -> Actor:
    return staff(ctx, admin, "cfo", Role.FINANCE_DIRECTOR)


@pytest.fixture
def book(ctx: ServiceContext) -> Callable[..., BookContract]:
    serial = iter(range(1, 10_000))
    return lambda: taken_over(ctx, next(serial), USD)


def pay(ctx: ServiceContext, finance: Actor, made: BookContract, amount: str, ref: str) -> str:
    request = funds.RecordPayment(made.contract.id, Money(amount, USD), ref, source_ref=ref)
    return funds.record_payment(ctx, finance, request).id


def raise_reversal(
    ctx: ServiceContext, officer: Actor, made: BookContract, payment_id: str, **changes: object
) -> ExceptionRequest:
    fields: dict[str, object] = {
        "kind": "reversal",
        "reason_code": "duplicate",
        "reason": "entered twice",
        "payment_id": payment_id,
        **changes,
    }
    proposal = Proposal(**fields)  # type: ignore[arg-type]
    return service.create_exception_request(ctx, officer, RaiseRequest(made.contract.id, proposal))


def move(
    ctx: ServiceContext, actor: Actor, request_id: str, action: str, **kw: str
) -> ExceptionRequest:
    return service.transition_exception_request(ctx, actor, request_id, action, **kw)  # type: ignore[arg-type]


def approved(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, request: ExceptionRequest
) -> ExceptionRequest:
    service.submit_exception_request(ctx, officer, Submission(request.id))
    move(ctx, supervisor, request.id, "approve")
    return move(ctx, cfo, request.id, "approve")


def at_once(ctx: ServiceContext, actors: list[Actor], request_id: str, action: str) -> list[object]:
    """*actors* moving the request with *action* at the same moment, each in a thread: what
    each got, the request or the error."""
    barrier = threading.Barrier(len(actors))
    results: list[object] = []

    def one(actor: Actor) -> None:
        barrier.wait()
        try:
            results.append(move(ctx, actor, request_id, action))
        except (ConflictError, DomainError) as exc:
            results.append(exc)

    threads = [threading.Thread(target=one, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def figures(ctx: ServiceContext, contract_id: str) -> Figures:
    with ctx.uow_factory() as uow:
        lines = uow.receivables.list_for_contract(contract_id)
        credit = uow.payments.credit_of([contract_id]).get(contract_id, Money.zero(USD))
    return Figures.of(lines, credit)


def test_a_reversal_goes_through_the_chain_and_is_executed_once(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    first = pay(ctx, finance, made, "500.00", "FIRST")
    untouched = figures(ctx, made.contract.id)
    duplicate = pay(ctx, finance, made, "500.00", "AGAIN")
    before = figures(ctx, made.contract.id)
    request = raise_reversal(ctx, officer, made, duplicate)
    submitted = service.submit_exception_request(ctx, officer, Submission(request.id))
    assert submitted.chain == ("post_loan_supervisor", "finance_director")
    with pytest.raises(IllegalTransitionError):
        move(ctx, finance, request.id, "execute")
    move(ctx, supervisor, request.id, "approve")
    done = move(ctx, cfo, request.id, "approve")
    assert done.state is S.APPROVED
    assert [(a.level, a.user_id) for a in done.approvals] == [(1, supervisor.user_id),
                                                              (2, cfo.user_id)]  # fmt: skip
    executed = service.transition_exception_request(
        ctx, finance, request.id, "execute", idempotency_key="run-once"
    )
    again = service.transition_exception_request(
        ctx, finance, request.id, "execute", idempotency_key="run-once"
    )
    assert (executed.state, again.version) == (S.EXECUTED, executed.version)
    with ctx.uow_factory() as uow:
        assert uow.payments.get(duplicate).state is PaymentState.REVERSED
        assert uow.payments.get(first).state is PaymentState.ALLOCATED
    assert figures(ctx, made.contract.id) == untouched
    [impact] = executed.impacts
    assert (impact.contract_id, impact.before, impact.after) == (made.contract.id, before,
                                                                 untouched)  # fmt: skip
    with pytest.raises(IllegalTransitionError):
        move(ctx, finance, request.id, "execute")


def test_a_payment_on_the_wrong_contract_moves_to_the_right_one(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    wrong, right = book(), book()
    misapplied = pay(ctx, finance, wrong, "700.00", "MISAPPLIED")
    wrong_after, right_after = figures(ctx, wrong.contract.id), None
    request = raise_reversal(
        ctx, officer, wrong, misapplied, reason_code="wrong_contract",
        reapply_to_contract_id=right.contract.id,
    )  # fmt: skip
    approved(ctx, officer, supervisor, cfo, request)
    preview = service.preview_exception_request(ctx, finance, request.id)
    assert figures(ctx, wrong.contract.id) == wrong_after, "the preview left a trace"
    executed = move(ctx, finance, request.id, "execute")
    assert executed.impacts == preview.impacts
    wrong_impact, right_impact = executed.impacts
    assert wrong_impact.after.principal - wrong_impact.before.principal > 0
    assert right_impact.before.principal - right_impact.after.principal > 0
    right_after = figures(ctx, right.contract.id)
    assert right_impact.after == right_after
    usd = attrs.evolve(ctx, accounting=default_accounting("Leasekit US", "USD"))
    delivered = {event.name for event in deliver_all(usd)}
    assert {"payment_reversed", "payment_received", "payment_allocated"} <= delivered
    assert all(balanced(v) for v in vouchers(usd, finance, contract_id=right.contract.id))
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0
    history = service.list_exception_requests(
        ctx, finance, ExceptionRequestQuery(contract_id=right.contract.id)
    )
    assert [item["id"] for item in history.items] == [request.id]
    by_payment = service.list_exception_requests(
        ctx, finance, ExceptionRequestQuery(payment_id=misapplied)
    )
    assert by_payment.items[0]["approvals"][1]["user_id"] == cfo.user_id
    assert by_payment.items[0]["impacts"][1]["after"]["principal"] == str(right_after.principal)


def test_money_is_re_applied_only_to_another_paying_contract_in_its_currency(
    ctx: ServiceContext, officer: Actor, finance: Actor, book: Callable[..., BookContract]
) -> None:
    """The request is checked by the funds' rule when it is drafted, not first when it is
    executed."""
    made, euros = book(), taken_over(ctx, 900, "EUR")
    misapplied = pay(ctx, finance, made, "700.00", "MISAPPLIED")
    for target, fault in (
        (made.contract.id, "is the contract the payment is reversed on"),
        (euros.contract.id, "is in EUR"),
        ("no-such-contract", "no such contract"),
    ):
        with pytest.raises(ValidationError, match=f"reapply_to_contract_id: .*{fault}"):
            raise_reversal(ctx, officer, made, misapplied, reason_code="wrong_contract",
                           reapply_to_contract_id=target)  # fmt: skip


def test_a_waiver_takes_the_fee_off_the_line_and_books_it(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    with ctx.uow_factory() as uow:
        line = uow.receivables.list_for_contract(made.contract.id)[0]
        line.fee += Money("25.00", USD)
        line.penalty += Money("3.10", USD)
        uow.receivables.update(line)
        uow.commit()
    proposal = Proposal(
        "waiver",
        "charged_in_error",
        "the debit was never due",  # type: ignore[arg-type]
        amount=Money("25.00", USD),
        receivable_id=line.id,
        part="fee",  # type: ignore[arg-type]
    )
    request = service.create_exception_request(
        ctx, officer, RaiseRequest(made.contract.id, proposal)
    )
    approved(ctx, officer, supervisor, cfo, request)
    preview = service.preview_exception_request(ctx, finance, request.id)
    [voucher] = preview.vouchers
    assert {(line.account, str(line.side)) for line in voucher.lines} >= {("6200", "debit")}
    move(ctx, finance, request.id, "execute")
    with ctx.uow_factory() as uow:
        waived = uow.receivables.get(line.id)
    assert (waived.fee, waived.penalty) == (line.fee - Money("25.00", USD), line.penalty)
    usd = attrs.evolve(ctx, accounting=default_accounting("Leasekit US", "USD"))
    assert "receivable_waived" in {event.name for event in deliver_all(usd)}
    [booked] = [v for v in vouchers(usd, finance, contract_id=made.contract.id)
                if v.lines[0].account == "6200"]  # fmt: skip
    assert balanced(booked)
    assert sum(trial_balance(usd).values(), Decimal(0)) == 0


def test_a_waiver_cannot_exceed_what_is_owed(
    ctx: ServiceContext, officer: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    proposal = Proposal(
        "waiver",
        "goodwill",
        "first late payment",
        amount=Money("0.01", USD),  # type: ignore[arg-type]
        receivable_id=made.lines[0].id,
        part="penalty",  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError, match="amount: at most the penalty owed"):
        service.create_exception_request(ctx, officer, RaiseRequest(made.contract.id, proposal))
    other = book()
    stranger = Proposal("waiver", "goodwill", "x", amount=Money("0.01", USD),  # type: ignore[arg-type]
                        receivable_id=other.lines[0].id, part="fee")  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(ValidationError, match="receivable_id: is not of contract"):
        service.create_exception_request(ctx, officer, RaiseRequest(made.contract.id, stranger))


def test_a_refund_of_the_credit_is_paid_out_once_approved(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    pay(ctx, finance, made, "20000.00", "TOO-MUCH")
    credit = figures(ctx, made.contract.id).credit
    account = RefundAccount("DE89370400440532013000", "Customer 1")
    too_much = Proposal("refund", "overpayment", "paid the year at once",  # type: ignore[arg-type]
                        amount=Money(credit + 1, USD), account=account)  # fmt: skip
    with pytest.raises(ValidationError, match="amount: at most the contract's credit"):
        service.create_exception_request(ctx, officer, RaiseRequest(made.contract.id, too_much))
    proposal = Proposal("refund", "overpayment", "paid the year at once",  # type: ignore[arg-type]
                        amount=Money(credit - 100, USD), account=account)  # fmt: skip
    request = service.create_exception_request(
        ctx, officer, RaiseRequest(made.contract.id, proposal)
    )
    approved(ctx, officer, supervisor, cfo, request)
    executed = move(ctx, finance, request.id, "execute")
    assert executed.state is S.EXECUTED
    assert figures(ctx, made.contract.id).credit == Decimal("100.00")
    (paid_out,) = refunds.list_contract_refunds(ctx, finance, made.contract.id).items
    assert (paid_out["exception_request_id"], paid_out["amount"]) == (
        request.id, {"amount": credit - 100, "currency": USD},
    )  # fmt: skip
    with pytest.raises((IllegalTransitionError, ConflictError)):
        move(ctx, finance, request.id, "execute")
    assert len(refunds.list_contract_refunds(ctx, finance, made.contract.id).items) == 1


def test_four_eyes_and_a_return_that_starts_over(
    ctx: ServiceContext, admin: Actor, officer: Actor, supervisor: Actor, cfo: Actor,
    finance: Actor, book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    with pytest.raises(ObjectPermissionError, match="only the requester submits"):
        service.submit_exception_request(ctx, finance, Submission(request.id))
    service.submit_exception_request(ctx, officer, Submission(request.id))
    with pytest.raises(PermissionDeniedError):
        move(ctx, officer, request.id, "approve")
    with pytest.raises(ObjectPermissionError, match="waits for a post_loan_supervisor"):
        move(ctx, cfo, request.id, "approve")
    move(ctx, supervisor, request.id, "approve")
    with pytest.raises(ObjectPermissionError, match="waits for a finance_director"):
        move(ctx, supervisor, request.id, "approve")
    returned = move(ctx, cfo, request.id, "return", reason="attach the bank's advice")
    assert (returned.state, returned.approvals) == (S.RETURNED, ())
    proposal = Proposal("reversal", "bounced", "the bank returned it",  # type: ignore[arg-type]
                        payment_id=request.payment_id)  # fmt: skip
    with pytest.raises(StaleVersionError):
        service.edit_exception_request(ctx, officer, Revision(request.id, proposal, 0))
    edited = service.edit_exception_request(
        ctx, officer, Revision(request.id, proposal, returned.version)
    )
    assert (edited.reason_code, edited.state) == ("bounced", S.RETURNED)
    with pytest.raises(ValidationError, match="action: use PUT"):
        move(ctx, officer, request.id, "edit")
    with pytest.raises(ValidationError, match="action: use POST"):
        move(ctx, officer, request.id, "submit")
    again = service.submit_exception_request(ctx, officer, Submission(request.id))
    assert (again.state, again.waiting_for) == (S.SUBMITTED, Role.POST_LOAN_SUPERVISOR)
    rejected = move(ctx, supervisor, request.id, "reject", reason="the bank says it was paid")
    assert rejected.state is S.REJECTED


def test_past_the_window_nothing_is_approved_until_it_is_expired(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract], fixed_clock: FixedClock,
) -> None:  # fmt: skip
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    submitted = service.submit_exception_request(ctx, officer, Submission(request.id))
    assert submitted.expires_at == fixed_clock.now() + ctx.approval_rules.exception_window
    move(ctx, supervisor, request.id, "approve")
    fixed_clock.advance(4)
    with pytest.raises(DomainError, match="expired at"):
        move(ctx, cfo, request.id, "approve")
    assert move(ctx, finance, request.id, "expire").state is S.EXPIRED


def test_the_close_of_business_expires_what_is_past_its_window(
    ctx: ServiceContext, officer: Actor, finance: Actor, book: Callable[..., BookContract],
    fixed_clock: FixedClock, engine: Engine,
) -> None:  # fmt: skip
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    service.submit_exception_request(ctx, officer, Submission(request.id))
    closing = attrs.evolve(ctx, clock=ClosedDateClock(fixed_clock, engine))
    assert close_business_day(closing).summary["expiries"]["exception_requests_expired"] == 0
    fixed_clock.advance(4)
    closed = close_business_day(closing)
    assert closed.summary["expiries"]["exception_requests_expired"] == 1
    assert service.get_exception_request(ctx, finance, request.id).state is S.EXPIRED


def test_a_large_request_needs_the_director_too(
    ctx: ServiceContext, officer: Actor, finance: Actor, book: Callable[..., BookContract]
) -> None:
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    policy = ctx.adapters.approval_policy
    assert isinstance(policy, FakeApprovalPolicy)
    policy.set_exception_chain(Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR, Role.DIRECTOR)
    submitted = service.submit_exception_request(ctx, officer, Submission(request.id))
    assert submitted.chain == ("post_loan_supervisor", "finance_director", "director")
    assert policy.exception_cases[-1].amount == Money("500.00", USD)


def test_dealers_see_no_exception_requests(
    ctx: ServiceContext, officer: Actor, finance: Actor, dealer: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    with pytest.raises(PermissionDeniedError):
        service.get_exception_request(ctx, dealer, request.id)
    with pytest.raises(PermissionDeniedError):
        service.list_exception_requests(ctx, dealer)
    with pytest.raises(NotFoundError):
        service.get_exception_request(ctx, finance, "nope")


def test_two_finance_directors_approving_at_once_approve_it_once(
    ctx: ServiceContext, admin: Actor, officer: Actor, supervisor: Actor, finance: Actor,
    book: Callable[..., BookContract],
) -> None:  # fmt: skip
    directors = [staff(ctx, admin, f"cfo{n}", Role.FINANCE_DIRECTOR) for n in range(2)]
    made = book()
    request = raise_reversal(ctx, officer, made, pay(ctx, finance, made, "500.00", "P1"))
    service.submit_exception_request(ctx, officer, Submission(request.id))
    move(ctx, supervisor, request.id, "approve")
    results = at_once(ctx, directors, request.id, "approve")
    won = [result for result in results if isinstance(result, ExceptionRequest)]
    assert len(won) == 1, results
    stored = service.get_exception_request(ctx, finance, request.id)
    assert (stored.state, len(stored.approvals)) == (S.APPROVED, 2)
    with ctx.uow_factory() as uow:
        log = uow.event_log.after(["exception_request"], 0, 1000)
    names = [event.name for _, event in log if event.subject_id == request.id]
    assert names.count("exception_request_approved") == 2
    assert names.count("exception_request_fully_approved") == 1


def test_two_executions_at_once_reverse_the_payment_once(
    ctx: ServiceContext, admin: Actor, officer: Actor, supervisor: Actor, cfo: Actor,
    finance: Actor, book: Callable[..., BookContract],
) -> None:  # fmt: skip
    clerks = [finance, staff(ctx, admin, "fin2", Role.FINANCE)]
    made = book()
    payment = pay(ctx, finance, made, "500.00", "P1")
    request = approved(ctx, officer, supervisor, cfo, raise_reversal(ctx, officer, made, payment))
    results = at_once(ctx, clerks, request.id, "execute")
    assert len([r for r in results if isinstance(r, ExceptionRequest)]) == 1, results
    with ctx.uow_factory() as uow:
        rows = uow.allocations.of_payment(payment)
    assert sum((row.amount for row in rows), Money.zero(USD)) == Money.zero(USD)
    assert len([row for row in rows if row.reverses]) == len([r for r in rows if not r.reverses])


def test_expiry_of_a_window_is_the_setting(ctx: ServiceContext) -> None:
    assert ctx.approval_rules.exception_window == timedelta(hours=72)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fee=st.decimals(min_value="0.01", max_value="500", places=2),
    penalty=st.decimals(min_value="0.01", max_value="500", places=2),
    part=st.sampled_from(["fee", "penalty"]),
    share=st.fractions(min_value=0, max_value=1),
)
def test_a_waiver_takes_exactly_its_amount_off_one_part(
    ctx: ServiceContext, officer: Actor, supervisor: Actor, cfo: Actor, finance: Actor,
    book: Callable[..., BookContract], fee: Decimal, penalty: Decimal, part: str,
    share: Fraction,
) -> None:  # fmt: skip
    """For any fee and penalty charged and any amount up to what one part owes: executing
    the waiver takes exactly that amount off that part and nothing else, the preview's
    voucher books the fee's share (the penalty was never booked), and a cent more than
    owed is refused."""
    made = book()
    with ctx.uow_factory() as uow:
        line = uow.receivables.list_for_contract(made.contract.id)[0]
        line.fee += Money(fee, USD)
        line.penalty += Money(penalty, USD)
        uow.receivables.update(line)
        uow.commit()
    owed = line.owed(part).amount
    amount = max(Decimal("0.01"), (owed * share.numerator / share.denominator).quantize(CENT))

    def waiver(of: Decimal) -> Proposal:
        return Proposal("waiver", "goodwill", "a loyal customer", amount=Money(of, USD),  # type: ignore[arg-type]
                        receivable_id=line.id, part=part)  # type: ignore[arg-type]  # fmt: skip

    with pytest.raises(ValidationError, match="amount: at most"):
        service.create_exception_request(
            ctx, officer, RaiseRequest(made.contract.id, waiver(owed + CENT))
        )
    request = service.create_exception_request(
        ctx, officer, RaiseRequest(made.contract.id, waiver(amount))
    )
    approved(ctx, officer, supervisor, cfo, request)
    vouchers = service.preview_exception_request(ctx, finance, request.id).vouchers
    booked = sum((ln.amount.amount for v in vouchers for ln in v.lines if ln.account == "6200"),
                 Decimal(0))  # fmt: skip
    assert booked == (amount if part == "fee" else 0)
    [impact] = move(ctx, finance, request.id, "execute").impacts
    changes = {name: getattr(impact.before, name) - getattr(impact.after, name)
               for name in ("principal", "interest", "fee", "penalty", "credit")}  # fmt: skip
    assert changes == {name: amount if name == part else 0 for name in changes}
