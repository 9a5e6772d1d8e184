from __future__ import annotations

from datetime import date, datetime

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.contracts import Payment, PaymentSource
from leasekit.domain.exception_requests import (
    ExceptionKind,
    ExceptionRequest,
    ExceptionRequestState,
)
from leasekit.domain.identity import Actor, Role
from leasekit.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from leasekit.money import Money

S = ExceptionRequestState
FINANCE, FINANCE_2 = Actor("f1", Role.FINANCE), Actor("f2", Role.FINANCE)
SUPERVISOR = Actor("s1", Role.POST_LOAN_SUPERVISOR)
FINANCE_DIRECTOR = Actor("fd1", Role.FINANCE_DIRECTOR)


@pytest.fixture
def payment(at: datetime) -> Payment:
    return Payment.receive(
        contract_id="c1", amount=Money("5000.00", "CNY"), received_on=date(2024, 3, 1),
        reference="BANK-1", source=PaymentSource.BANK_TRANSFER, actor=FINANCE, at=at,
    )  # fmt: skip


def test_a_reversal_defaults_to_the_whole_payment(payment: Payment, at: datetime) -> None:
    request = ExceptionRequest.draft(
        kind="reversal",
        payment=payment,
        reason="booked to the wrong contract",
        actor=FINANCE,
        at=at,
    )
    assert (request.kind, request.amount, request.contract_id) == (
        ExceptionKind.REVERSAL, payment.amount, "c1",
    )  # fmt: skip
    assert (request.state, request.requested_by) == (S.DRAFT, "f1")


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [
        ("reversal", "4000.00", "undoes the whole payment"),
        ("refund", "5000.01", "at most the payment"),
        ("refund", "0", "must be positive"),
        ("refund", "1.001", "decimal places"),
    ],
)
def test_amount_rules(payment: Payment, at: datetime, kind: str, amount: str, message: str) -> None:
    with pytest.raises(ValidationError, match=f"amount: .*{message}"):
        ExceptionRequest.draft(
            kind=kind,
            payment=payment,
            reason="x",
            actor=FINANCE,
            at=at,
            amount=Money(amount, "CNY"),
        )


def test_draft_names_every_bad_field(payment: Payment, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        ExceptionRequest.draft(kind="gift", payment=payment, reason="", actor=FINANCE, at=at)
    assert [e.field for e in caught.value.errors] == ["kind", "reason"]


def test_two_approvals_then_execution(payment: Payment, at: datetime, business_date: date) -> None:
    request = ExceptionRequest.draft(
        kind="refund", payment=payment, reason="overpaid", actor=FINANCE, at=at,
        amount=Money("300.00", "CNY"),
    )  # fmt: skip
    names = [
        request.apply("submit", FINANCE, at=at, business_date=business_date).name,
        request.apply("approve", SUPERVISOR, at=at, business_date=business_date).name,
        request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date).name,
        request.apply("execute", FINANCE_2, at=at, business_date=business_date).name,
    ]
    assert names == [
        "exception_request_submitted",
        "exception_request_level1_approved",
        "exception_request_approved",
        "exception_request_executed",
    ]
    assert (request.level1_approved_by, request.approved_by) == ("s1", "fd1")
    assert request.state is S.EXECUTED


def test_each_level_has_its_own_approver(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = ExceptionRequest.draft(
        kind="reversal", payment=payment, reason="x", actor=FINANCE, at=at
    )
    request.apply("submit", FINANCE, at=at, business_date=business_date)
    with pytest.raises(PermissionDeniedError):
        request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date)
    request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(PermissionDeniedError):
        request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    with pytest.raises(ValidationError, match="reason"):
        request.apply("reject", FINANCE_DIRECTOR, at=at, business_date=business_date)
    request.apply("reject", FINANCE_DIRECTOR, at=at, business_date=business_date, reason="no proof")
    assert request.state is S.REJECTED


def test_nobody_approves_their_own_request(
    payment: Payment, at: datetime, business_date: date
) -> None:
    """A supervisor who raised a request (through a second account as finance, say) is caught
    by user id, not role."""
    request = ExceptionRequest.draft(
        kind="reversal", payment=payment, reason="x", actor=FINANCE, at=at
    )
    request.apply("submit", FINANCE, at=at, business_date=business_date)
    request.requested_by = "s1"
    with pytest.raises(ObjectPermissionError, match="may not approve their own request"):
        request.apply("approve", SUPERVISOR, at=at, business_date=business_date)
    assert request.state is S.SUBMITTED


def test_the_same_person_cannot_approve_twice(
    payment: Payment, at: datetime, business_date: date
) -> None:
    request = ExceptionRequest.draft(
        kind="reversal", payment=payment, reason="x", actor=FINANCE, at=at
    )
    request.state, request.level1_approved_by = S.LEVEL1_APPROVED, "fd1"
    with pytest.raises(ObjectPermissionError, match="another person"):
        request.apply("approve", FINANCE_DIRECTOR, at=at, business_date=business_date)


def test_no_execution_before_approval(payment: Payment, at: datetime, business_date: date) -> None:
    request = ExceptionRequest.draft(
        kind="reversal", payment=payment, reason="x", actor=FINANCE, at=at
    )
    request.apply("submit", FINANCE, at=at, business_date=business_date)
    with pytest.raises(
        IllegalTransitionError, match="cannot execute an exception_request in state 'submitted'"
    ):
        request.apply("execute", FINANCE, at=at, business_date=business_date)


def test_only_requesting_roles_draft(payment: Payment, at: datetime) -> None:
    with pytest.raises(PermissionDeniedError):
        ExceptionRequest.draft(
            kind="reversal", payment=payment, reason="x", actor=SUPERVISOR, at=at
        )
