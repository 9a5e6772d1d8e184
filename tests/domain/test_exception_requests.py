"""Exception requests in the domain: what each kind takes, the chain of approvals with four
eyes at every level, returns that start the approvals over, and the approval window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.contracts import Payment, PaymentSource, Receivable
from leasekit.domain.exception_requests import (
    DEFAULT_CHAIN,
    ExceptionKind,
    ExceptionRequest,
    ExceptionRequestState,
    Facts,
    Proposal,
    RefundAccount,
)
from leasekit.domain.identity import Actor, Role
from leasekit.errors import (
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money, currency

S = ExceptionRequestState
CNY = currency("CNY")
OFFICER, FINANCE = Actor("o1", Role.OFFICER), Actor("f1", Role.FINANCE)
SUPERVISOR, SUPERVISOR_2 = (
    Actor("s1", Role.POST_LOAN_SUPERVISOR),
    Actor("s2", Role.POST_LOAN_SUPERVISOR),
)
FINANCE_DIRECTOR = Actor("fd1", Role.FINANCE_DIRECTOR)
DIRECTOR = Actor("d1", Role.DIRECTOR)
WINDOW = timedelta(hours=72)
REASONS = {"reversal": "duplicate", "refund": "overpayment", "waiver": "goodwill"}


@pytest.fixture
def payment(at: datetime) -> Payment:
    return Payment.receive(
        contract_id="c1", amount=Money("5000.00", "CNY"), received_on=date(2024, 3, 1),
        reference="BANK-1", source=PaymentSource.BANK_TRANSFER, actor=FINANCE, at=at,
    )  # fmt: skip


@pytest.fixture
def line() -> Receivable:
    made = Receivable.line(
        contract_id="c1", sequence=1, due_date=date(2024, 3, 1),
        principal=Money("900.00", "CNY"), interest=Money("100.00", "CNY"),
        fee=Money("25.00", "CNY"),
    )  # fmt: skip
    made.penalty = Money("12.34", "CNY")
    return made


def reversal(payment: Payment, at: datetime, **changes: object) -> ExceptionRequest:
    proposal = Proposal(
        **{
            "kind": "reversal",
            "reason_code": "duplicate",  # type: ignore[arg-type]
            "reason": "posted twice",
            "payment_id": payment.id,
            **changes,
        }
    )
    return ExceptionRequest.draft(proposal, Facts("c1", CNY, payment=payment), actor=OFFICER, at=at)


def submitted(
    payment: Payment, at: datetime, business_date: date, chain: tuple[Role, ...] = DEFAULT_CHAIN
) -> ExceptionRequest:
    request = reversal(payment, at)
    request.prepare_submission(chain, WINDOW, at)
    request.apply("submit", OFFICER, at=at, business_date=business_date)
    return request


def test_a_reversal_undoes_the_whole_payment(payment: Payment, at: datetime) -> None:
    request = reversal(payment, at)
    assert (request.kind, request.amount, request.contract_id, request.state) == (
        ExceptionKind.REVERSAL, payment.amount, "c1", S.DRAFT,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="amount: a reversal undoes the whole payment"):
        reversal(payment, at, amount=Money("4000.00", "CNY"))


def test_a_draft_names_every_bad_field(payment: Payment, at: datetime) -> None:
    proposal = Proposal(
        kind="reversal",
        reason_code="gift",
        reason="",
        payment_id=payment.id,  # type: ignore[arg-type]
        reapply_to_contract_id="c1",
        part="fee",  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError) as caught:
        ExceptionRequest.draft(proposal, Facts("c1", CNY, payment=payment), actor=OFFICER, at=at)
    assert sorted(e.field for e in caught.value.errors) == [
        "part", "reapply_to_contract_id", "reason", "reason_code",
    ]  # fmt: skip


def test_a_refund_takes_a_valid_iban_and_at_most_the_credit(at: datetime) -> None:
    def refund(amount: str, iban: str) -> ExceptionRequest:
        proposal = Proposal(
            kind="refund",
            reason_code="overpayment",
            reason="paid twice",  # type: ignore[arg-type]
            amount=Money(amount, "CNY"),
            account=RefundAccount(iban, "Zhang Wei"),
        )
        facts = Facts("c1", CNY, credit=Money("300.00", "CNY"))
        return ExceptionRequest.draft(proposal, facts, actor=FINANCE, at=at)

    made = refund("300.00", "DE89 3704 0044 0532 0130 00")
    assert made.account == RefundAccount("DE89370400440532013000", "Zhang Wei")
    with pytest.raises(ValidationError) as caught:
        refund("300.01", "DE89370400440532013001")
    assert sorted(e.field for e in caught.value.errors) == ["account.iban", "amount"]


def test_a_waiver_takes_at_most_what_the_line_owes(line: Receivable, at: datetime) -> None:
    def waive(part: str, amount: str) -> ExceptionRequest:
        proposal = Proposal(
            kind="waiver",
            reason_code="goodwill",
            reason="first late payment",  # type: ignore[arg-type]
            amount=Money(amount, "CNY"),
            receivable_id=line.id,
            part=part,  # type: ignore[arg-type]
        )
        return ExceptionRequest.draft(proposal, Facts("c1", CNY, line=line), actor=OFFICER, at=at)

    assert waive("penalty", "12.34").receivable_id == line.id
    with pytest.raises(ValidationError, match="amount: at most the fee owed"):
        waive("fee", "25.01")
    with pytest.raises(ValidationError, match="amount: must be positive"):
        waive("fee", "0")


def test_the_chain_is_approved_level_by_level(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = submitted(payment, at, business_date, (*DEFAULT_CHAIN, Role.DIRECTOR))
    with pytest.raises(ObjectPermissionError, match="waits for a post_loan_supervisor"):
        request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date)
    event = request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    assert (event.payload["level"], event.payload["levels"]) == (1, 3)
    request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date)
    with pytest.raises(DomainError, match="waits for a director"):
        request.apply("conclude", Actor.system(), at=at, business_date=business_date)
    request.apply("approve", DIRECTOR, at=at, business_date=business_date)
    assert request.state is S.SUBMITTED
    assert request.waiting_for is None
    request.apply("conclude", Actor.system(), at=at, business_date=business_date)
    assert [(a.level, a.user_id) for a in request.approvals] == [(1, "s1"), (2, "fd1"), (3, "d1")]
    request.apply("execute", FINANCE, at=at, business_date=business_date)
    assert (request.state, request.executed_by) == (S.EXECUTED, "f1")


def test_nobody_approves_their_own_request_or_two_levels(
    payment: Payment, at: datetime, business_date: date
) -> None:
    """Checked by user id, not role: a chain naming one role twice still needs two people."""
    request = submitted(payment, at, business_date, (Role.POST_LOAN_SUPERVISOR,) * 2)
    request.requested_by = "s2"
    with pytest.raises(ObjectPermissionError, match="may not decide their own request"):
        request.apply("approve", SUPERVISOR_2, at=at, business_date=business_date)
    request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(ObjectPermissionError, match="one person approves one level"):
        request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    assert len(request.approvals) == 1


def test_a_return_starts_the_approvals_over(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = submitted(payment, at, business_date)
    request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="reason"):
        request.apply("return", FINANCE_DIRECTOR, at=at, business_date=business_date)
    request.apply("return", FINANCE_DIRECTOR, at=at, business_date=business_date, reason="proof?")
    assert (request.state, request.approvals) == (S.RETURNED, ())
    with pytest.raises(ObjectPermissionError, match="only the requester"):
        request.apply("edit", FINANCE, at=at, business_date=business_date)
    request.apply("edit", OFFICER, at=at, business_date=business_date)
    request.prepare_submission(DEFAULT_CHAIN, WINDOW, at)
    request.apply("submit", OFFICER, at=at, business_date=business_date)
    assert request.waiting_for is Role.POST_LOAN_SUPERVISOR


def test_a_rejection_is_final(payment: Payment, at: datetime, business_date: date) -> None:
    request = submitted(payment, at, business_date)
    request.apply("reject", SUPERVISOR, at=at, business_date=business_date, reason="no proof")
    with pytest.raises(IllegalTransitionError):
        request.apply("approve", SUPERVISOR_2, at=at, business_date=business_date)


def test_no_execution_before_every_level_approved(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = submitted(payment, at, business_date)
    request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(IllegalTransitionError):
        request.apply("execute", FINANCE, at=at, business_date=business_date)
    with pytest.raises(PermissionDeniedError):
        request.apply("conclude", FINANCE, at=at, business_date=business_date)


def test_past_its_window_it_is_neither_approved_nor_executed_but_expired(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = submitted(payment, at, business_date)
    late = at + WINDOW + timedelta(seconds=1)
    with pytest.raises(DomainError, match="is open until"):
        request.apply("expire", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(DomainError, match="expired at"):
        request.apply("approve", SUPERVISOR, at=late, business_date=business_date)
    request.apply("expire", SUPERVISOR, at=late, business_date=business_date)
    assert request.state is S.EXPIRED


def test_the_requester_does_not_execute_it(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = ExceptionRequest.draft(
        Proposal("reversal", "bounced", "returned by the bank", payment_id=payment.id),  # type: ignore[arg-type]
        Facts("c1", CNY, payment=payment), actor=FINANCE, at=at,
    )  # fmt: skip
    request.prepare_submission(DEFAULT_CHAIN, WINDOW, at)
    request.apply("submit", FINANCE, at=at, business_date=business_date)
    request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date)
    request.apply("conclude", Actor.system(), at=at, business_date=business_date)
    with pytest.raises(ObjectPermissionError, match="execute their own"):
        request.apply("execute", FINANCE, at=at, business_date=business_date)


def test_a_chain_names_approvers_only(payment: Payment, at: datetime) -> None:
    with pytest.raises(DomainError, match="approvers only"):
        reversal(payment, at).prepare_submission((Role.FINANCE,), WINDOW, at)
    with pytest.raises(DomainError, match="approvers only"):
        reversal(payment, at).prepare_submission((), WINDOW, at)


@pytest.mark.parametrize("kind", ["reversal", "refund", "waiver"])
def test_an_amount_in_another_currency_is_a_fault_of_its_field(
    kind: str, payment: Payment, line: Receivable, at: datetime
) -> None:
    proposal = Proposal(
        kind, REASONS[kind], "x", amount=Money("10.00", "USD"),  # type: ignore[arg-type]
        payment_id=payment.id if kind == "reversal" else None,
        receivable_id=line.id if kind == "waiver" else None,
        part="fee" if kind == "waiver" else None,  # type: ignore[arg-type]
        account=RefundAccount("DE89370400440532013000", "Zhang Wei") if kind == "refund" else None,
    )  # fmt: skip
    facts = Facts("c1", CNY, payment=payment, credit=Money("300.00", "CNY"), line=line)
    with pytest.raises(ValidationError) as caught:
        ExceptionRequest.draft(proposal, facts, actor=OFFICER, at=at)
    assert [e.field for e in caught.value.errors] == ["amount"]
