from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.applications import Application, ApplicationState
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import (
    Contract,
    ContractSigner,
    ContractState,
    DraftChanges,
    NumberPattern,
    Payment,
    PaymentSource,
    PaymentState,
    Receivable,
    SignerContact,
    SignerRole,
    StoredFile,
    receivables,
)
from leasekit.domain.identity import Actor, Role
from leasekit.domain.plans import PlanConvention, PlanRow, plan_for
from leasekit.errors import (
    DomainError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money

from .test_application_plans import _PRODUCT, DAY

C = ContractState
SYSTEM, FINANCE = Actor.system(), Actor("f1", Role.FINANCE)


def cny(amount: str) -> Money:
    return Money(amount, "CNY")


@pytest.fixture
def contracted(application: Application) -> Application:
    """The application priced with a product, approved, and just being contracted."""
    plan = plan_for(_PRODUCT, application.requested, "annuity", DAY, PlanConvention())
    application.plan, application.product_version_id = plan.summary, "version-1"
    application.state = ApplicationState.CONTRACTED
    return application


def draw_up(application: Application, at: datetime, actor: Actor = SYSTEM) -> Contract:
    signer = ContractSigner(application.customer_id, SignerRole.CUSTOMER, "Zhang Wei")
    return Contract.draw_up(
        application, number="LK-2024-000001", signers=[signer], language="en", actor=actor, at=at
    )


@pytest.fixture
def contract(contracted: Application, at: datetime) -> Contract:
    return draw_up(contracted, at)


def test_a_contract_copies_the_approved_terms_and_plan(
    contract: Contract, contracted: Application
) -> None:
    assert contract.state is C.DRAFT
    assert (contract.application_id, contract.partner_id) == (
        contracted.id, contracted.partner_id,
    )  # fmt: skip
    assert (contract.customer_id, contract.vehicle_id) == (
        contracted.customer_id, contracted.vehicle_id,
    )  # fmt: skip
    assert contract.plan == contracted.plan
    assert contract.principal == cny("161600.00"), "the amount lent and the financed fee"
    assert (contract.annual_rate, contract.term_months) == (Decimal("0.0599"), 36)
    assert (contract.residual_value, contract.start_date, contract.document) == (None, None, None)


def test_only_an_application_being_contracted_is_drawn_up(
    application: Application, at: datetime
) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        draw_up(application, at)
    assert (caught.value.machine, caught.value.state, caught.value.action) == (
        "application", "draft", "contract",
    )  # fmt: skip


def test_an_application_without_a_plan_is_not_drawn_up(
    application: Application, at: datetime
) -> None:
    application.state = ApplicationState.CONTRACTED
    with pytest.raises(DomainError, match="without a product's plan"):
        draw_up(application, at)


def test_dealers_do_not_draw_up_contracts(
    contracted: Application, dealer: Actor, at: datetime
) -> None:
    with pytest.raises(PermissionDeniedError):
        draw_up(contracted, at, dealer)


def test_from_draft_to_closed(
    contract: Contract, dealer: Actor, at: datetime, business_date: date
) -> None:
    payout = {"disbursement_id": "d1", "payout_amount": "190400.00", "bank_reference": "B-1"}
    steps = [
        ("send_for_signature", SYSTEM, C.SENT_FOR_SIGNATURE, {}),
        ("sign", SYSTEM, C.SIGNED, {}),
        ("request_disbursement", dealer, C.DISBURSEMENT_REQUESTED, {}),
        ("disburse", SYSTEM, C.DISBURSED, payout),
        ("activate", SYSTEM, C.ACTIVE, {}),
        ("settle", SYSTEM, C.SETTLED, {}),
        ("close", SYSTEM, C.CLOSED, {}),
    ]
    for action, actor, expected, params in steps:
        event = contract.apply(action, actor, at=at, business_date=business_date, **params)
        assert contract.state is expected
        assert event.payload["application_id"] == contract.application_id
        if action == "disburse":
            assert (event.payload["principal"], event.payload["payout_amount"]) == (
                "161600.00", "190400.00",
            )  # fmt: skip
            assert event.payload["financed_fees"] == "1600.00"
    assert contract.start_date == business_date


@pytest.mark.parametrize("action", ["sign", "disburse", "activate"])
def test_people_do_not_make_the_workflows_moves(
    contract: Contract, at: datetime, business_date: date, action: str
) -> None:
    contract.state = {"sign": C.SENT_FOR_SIGNATURE, "disburse": C.DISBURSEMENT_REQUESTED,
                      "activate": C.DISBURSED}[action]  # fmt: skip
    for role in (Role.OFFICER, Role.FINANCE, Role.DIRECTOR):
        with pytest.raises(PermissionDeniedError):
            contract.apply(action, Actor("p", role), at=at, business_date=business_date)


# --- numbers and data entry -------------------------------------------------------------


def test_numbers_read_as_the_pattern_says() -> None:
    assert NumberPattern().format(2026, 42) == "LK-2026-000042"
    assert NumberPattern("{year}/{company}/{sequence:04d}", "ACME").format(2026, 7) == (
        "2026/ACME/0007"
    )


@pytest.mark.parametrize(
    "pattern", ["{company}-{sequence}", "{year}-{sequence}-{branch}", "{year}-{sequence:q}",
                "{year}-{0}-{sequence}"],
)  # fmt: skip
def test_a_pattern_without_year_and_sequence_or_with_more_is_refused(pattern: str) -> None:
    with pytest.raises(ValidationError, match="number_pattern"):
        NumberPattern(pattern)


def test_data_entry_changes_a_draft_and_voids_its_document(contract: Contract) -> None:
    contract.document = StoredFile("k", "0" * 64, 1)
    customer = contract.signers[0].customer_id
    changed = contract.revise(
        DraftChanges("zh", (SignerContact(customer, phone="+86 138 0013 8000"),)), SYSTEM
    )
    assert changed == ["language", "signers"]
    assert contract.signers[0].phone == "+8613800138000"
    assert contract.document is None
    assert contract.revise(DraftChanges("zh"), SYSTEM) == []


def test_no_data_entry_after_the_draft(contract: Contract) -> None:
    contract.state = C.SIGNED
    with pytest.raises(DomainError, match="only a draft is edited"):
        contract.revise(DraftChanges("zh"), SYSTEM)


def test_another_dealers_user_cannot_enter_data(contract: Contract) -> None:
    with pytest.raises(ObjectPermissionError):
        contract.revise(DraftChanges("zh"), Actor("x", Role.DEALER_USER, "other"))


# --- receivables ------------------------------------------------------------------------


def _priced(
    application: Application, at: datetime, business_type: BusinessType, residual: str
) -> tuple[Contract, tuple[PlanRow, ...]]:
    """*application* priced with a residual value, as *business_type*, and drawn up."""
    requested = attrs.evolve(application.requested, residual_value=cny(residual))
    plan = plan_for(_PRODUCT, requested, "annuity", DAY, PlanConvention())
    application.requested, application.plan = requested, plan.summary
    application.business_type = business_type
    application.state = ApplicationState.CONTRACTED
    return draw_up(application, at), plan.rows


def test_receivables_are_the_plan_with_the_residual_owed_last(
    application: Application, at: datetime
) -> None:
    contract, rows = _priced(application, at, BusinessType.FINANCE_LEASE, "20000.00")
    lines = receivables(contract, rows)
    assert [(line.sequence, line.due_date) for line in lines] == [
        (row.number, row.due_date) for row in rows
    ]
    assert sum(line.principal.amount for line in lines) == contract.principal.amount
    assert lines[-1].principal.amount == rows[-1].principal + Decimal("20000.00")
    assert [line.interest.amount for line in lines] == [row.interest for row in rows]


def test_an_operating_lease_owes_no_residual_the_vehicle_goes_back(
    application: Application, at: datetime
) -> None:
    contract, rows = _priced(application, at, BusinessType.OPERATING_LEASE, "20000.00")
    lines = receivables(contract, rows)
    owed = sum(line.principal.amount for line in lines)
    assert owed == contract.principal.amount - Decimal("20000.00")


def test_receivables_refuse_rows_that_are_not_the_plans(
    application: Application, at: datetime
) -> None:
    contract, rows = _priced(application, at, BusinessType.FINANCE_LEASE, "0.00")
    with pytest.raises(DomainError, match="rows"):
        receivables(contract, rows[:-1])


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
        source=PaymentSource.CASH, actor=actor, at=at,
    )  # fmt: skip


def test_payment_lifecycle(at: datetime, business_date: date) -> None:
    payment = receive(FINANCE, at, cny("4798.67"))
    assert (payment.state, payment.reference) == (PaymentState.RECEIVED, "BANK-778")
    split = {"penalty": "0", "fee": "0", "interest": "798.67", "principal": "4000.00",
             "credit": "0"}  # fmt: skip
    allocated = payment.apply("allocate", SYSTEM, at=at, business_date=business_date, **split)
    assert allocated.payload["interest"] == "798.67"
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
