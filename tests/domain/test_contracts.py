from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import Application, ApplicationState
from leasekit.domain.contracts import Contract, ContractState, Payment, PaymentState, Receivable
from leasekit.domain.identity import Actor, Role
from leasekit.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from leasekit.money import Money

C = ContractState
SYSTEM, FINANCE = Actor.system(), Actor("f1", Role.FINANCE)


def cny(amount: str) -> Money:
    return Money(amount, "CNY")


@pytest.fixture
def contract(application: Application, at: datetime) -> Contract:
    application.state = ApplicationState.APPROVED
    return Contract.from_application(application, actor=SYSTEM, at=at)


def test_from_application_copies_the_approved_terms(
    contract: Contract, application: Application
) -> None:
    assert contract.state is C.DRAFT
    assert (contract.application_id, contract.partner_id) == (
        application.id,
        application.partner_id,
    )
    assert (contract.customer_id, contract.vehicle_id) == (
        application.customer_id, application.vehicle_id,
    )  # fmt: skip
    assert contract.principal == cny("160000")
    assert (contract.annual_rate, contract.term_months) == (Decimal("0.0599"), 36)
    assert contract.residual_value is None
    assert contract.start_date is None


def test_only_approved_applications_are_contracted(application: Application, at: datetime) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        Contract.from_application(application, actor=SYSTEM, at=at)
    assert (caught.value.machine, caught.value.state, caught.value.action) == (
        "application", "draft", "contract",
    )  # fmt: skip


def test_dealers_do_not_draw_up_contracts(
    application: Application, dealer: Actor, at: datetime
) -> None:
    application.state = ApplicationState.APPROVED
    with pytest.raises(PermissionDeniedError):
        Contract.from_application(application, actor=dealer, at=at)


def test_from_draft_to_closed(
    contract: Contract, dealer: Actor, at: datetime, business_date: date
) -> None:
    steps = [
        ("send_for_signature", SYSTEM, C.SENT_FOR_SIGNATURE),
        ("sign", SYSTEM, C.SIGNED),
        ("request_disbursement", dealer, C.DISBURSEMENT_REQUESTED),
        ("disburse", FINANCE, C.DISBURSED),
        ("activate", SYSTEM, C.ACTIVE),
        ("settle", SYSTEM, C.SETTLED),
        ("close", SYSTEM, C.CLOSED),
    ]
    for action, actor, expected in steps:
        event = contract.apply(action, actor, at=at, business_date=business_date)
        assert contract.state is expected
        assert event.payload["application_id"] == contract.application_id
    assert contract.start_date == business_date


def test_default_termination_and_write_off(
    contract: Contract, at: datetime, business_date: date
) -> None:
    contract.state = C.ACTIVE
    contract.apply(
        "terminate", Actor("s1", Role.POST_LOAN_SUPERVISOR), at=at, business_date=business_date,
        reason="six installments overdue",
    )  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        contract.apply("write_off", FINANCE, at=at, business_date=business_date, reason="x")
    event = contract.apply(
        "write_off", Actor("fd", Role.FINANCE_DIRECTOR), at=at, business_date=business_date,
        reason="vehicle not recovered",
    )  # fmt: skip
    assert contract.state is C.WRITTEN_OFF
    assert event.name == "contract_written_off"


def test_no_cancellation_after_disbursement(
    contract: Contract, at: datetime, business_date: date
) -> None:
    contract.state = C.DISBURSED
    with pytest.raises(
        IllegalTransitionError, match="cannot cancel a contract in state 'disbursed'"
    ):
        contract.apply("cancel", Actor("d1", Role.DIRECTOR), at=at, business_date=business_date)


def test_another_dealer_cannot_request_disbursement(
    contract: Contract, at: datetime, business_date: date
) -> None:
    contract.state = C.SIGNED
    with pytest.raises(ObjectPermissionError):
        contract.apply(
            "request_disbursement", Actor("x", Role.DEALER_USER, "other"), at=at,
            business_date=business_date,
        )  # fmt: skip


# --- receivables ------------------------------------------------------------------------


def test_receivable_line() -> None:
    line = Receivable.line(
        contract_id="c1", sequence=1, due_date=date(2024, 4, 1), principal=cny("4000"),
        interest=cny("798.67"),
    )  # fmt: skip
    assert line.fee == cny("0")
    assert line.amount_due == cny("4798.67")
    assert line.paid == cny("0")
    assert line.outstanding == cny("4798.67")
    assert not line.settled
    line.paid_interest, line.paid_principal = cny("798.67"), cny("4000")
    assert line.settled
    assert line.outstanding == cny("0")


def test_receivable_line_names_every_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Receivable.line(
            contract_id="c1", sequence=0, due_date=date(2024, 4, 1), principal=cny("-1"),
            interest=cny("0.001"), fee=Money("5", "USD"),
        )  # fmt: skip
    assert [e.field for e in caught.value.errors] == ["interest", "fee", "principal", "sequence"]


@pytest.mark.parametrize("sequence", [1.0, True])
def test_receivable_lines_are_numbered_in_whole_numbers(sequence: object) -> None:
    with pytest.raises(ValidationError, match="sequence: lines are numbered from 1"):
        Receivable.line(
            contract_id="c1", sequence=sequence, due_date=date(2024, 4, 1),  # type: ignore[arg-type]
            principal=cny("4000"), interest=cny("0"),
        )  # fmt: skip


# --- payments ---------------------------------------------------------------------------


def receive(actor: Actor, at: datetime, amount: Money) -> Payment:
    return Payment.receive(
        contract_id="c1", amount=amount, received_on=date(2024, 4, 1), reference=" BANK-778 ",
        actor=actor, at=at,
    )  # fmt: skip


def test_payment_lifecycle(at: datetime, business_date: date) -> None:
    payment = receive(FINANCE, at, cny("4798.67"))
    assert (payment.state, payment.reference) == (PaymentState.RECEIVED, "BANK-778")
    payment.apply("allocate", SYSTEM, at=at, business_date=business_date)
    event = payment.apply("reverse", FINANCE, at=at, business_date=business_date, reason="bounced")
    assert payment.state is PaymentState.REVERSED
    assert (event.payload["amount"], event.payload["currency"]) == ("4798.67", "CNY")
    with pytest.raises(IllegalTransitionError):
        payment.apply("refund", FINANCE, at=at, business_date=business_date, reason="x")


@pytest.mark.parametrize(("amount", "message"), [("0", "positive"), ("1.001", "decimal places")])
def test_payment_amount(at: datetime, amount: str, message: str) -> None:
    with pytest.raises(ValidationError, match=f"amount: .*{message}"):
        receive(FINANCE, at, cny(amount))


def test_dealers_neither_record_nor_see_payments(
    dealer: Actor, at: datetime, business_date: date
) -> None:
    with pytest.raises(PermissionDeniedError):
        receive(dealer, at, cny("1"))
    payment = receive(FINANCE, at, cny("1"))
    with pytest.raises(ObjectPermissionError):
        payment.apply("allocate", dealer, at=at, business_date=business_date)
