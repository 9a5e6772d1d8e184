"""Builders for store tests: valid entities linked the way the foreign keys require.

Entities are built with their plain constructors (the way the store rehydrates them), not the
domain's named constructors, so these tests depend only on the fields being stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from leasekit.demo import vin
from leasekit.domain.applications import Application, RequestedTerms
from leasekit.domain.approvals import ApprovalTask
from leasekit.domain.contracts import (
    Contract,
    ContractSigner,
    Payment,
    Receivable,
    StoredFile,
)
from leasekit.domain.customers import Customer
from leasekit.domain.documents import Document
from leasekit.domain.events import DomainEvent, StateChanged
from leasekit.domain.exception_requests import (
    Approval,
    ExceptionRequest,
    Figures,
    Impact,
    RefundAccount,
)
from leasekit.domain.identity import Role, new_id
from leasekit.domain.partner_profiles import BankAccount
from leasekit.domain.partners import Partner
from leasekit.domain.plans import PlanConvention, plan_for
from leasekit.domain.users import User
from leasekit.domain.vehicles import Vehicle
from leasekit.domain.vouchers import JournalLine, Voucher
from leasekit.money import Money
from leasekit.store.uow import SqlUnitOfWork

from ..domain.test_application_plans import _PRODUCT

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


class Build:
    """Fresh entities; each call gets new ids, so tests can build as many as they need."""

    def __init__(self) -> None:
        self._serial = 0

    def user(self, username: str = "li.wei", partner_id: str | None = None) -> User:
        role = "dealer_user" if partner_id else "officer"
        return User(new_id(), username, "Li Wei", role, partner_id, "active", None, NOW)

    def partner(self, registration_number: str | None = None) -> Partner:
        """A partner with a company code of its own (codes are unique per country)."""
        return Partner(
            id=new_id(),
            name="Acme Motors",
            country="CN",
            registration_number=registration_number or f"9111{new_id()[-14:].upper()}",
            kind="new_car_dealer",
            rating="A",
            state="active",
            created_at=NOW,
        )

    def customer(self, partner_id: str | None = None) -> Customer:
        return Customer(
            new_id(), "individual", "Zhang San", "CN", "11010519491231002X", partner_id, NOW
        )

    def vehicle(self, partner_id: str | None = None) -> Vehicle:
        """A vehicle with a VIN of its own (a VIN is registered once at a time)."""
        self._serial += 1
        number = vin(f"LSVAU2180N{self._serial:07d}")
        return Vehicle(new_id(), number, "SAIC", "ID.4", 2026, "new", "registered", partner_id, NOW)

    def terms(self, price: str = "250000.00", rate: str = "0.0599") -> RequestedTerms:
        return RequestedTerms(
            vehicle_price=cny(price),
            down_payment=cny("50000.00"),
            term_months=36,
            annual_rate=Decimal(rate),
            residual_value=cny("10000.00"),
        )

    def application(
        self, partner: Partner, customer: Customer, vehicle: Vehicle, terms: RequestedTerms
    ) -> Application:
        return Application(
            new_id(),
            partner.id,
            customer.id,
            vehicle.id,
            "finance_lease",
            terms,
            "draft",
            "officer-1",
            NOW,
        )

    def document(self, owner_id: str, partner_id: str | None = None) -> Document:
        doc_id = new_id()
        return Document(
            doc_id,
            "application",
            owner_id,
            "id_card_front",
            "front.jpg",
            "image/jpeg",
            48213,
            "a" * 64,
            f"{doc_id[-2:]}/{doc_id}",
            partner_id,
            "officer-1",
            NOW,
        )

    def approval_task(self, application: Application) -> ApprovalTask:
        return ApprovalTask(
            new_id(),
            application.id,
            application.partner_id,
            "FL-STD",
            "manager",
            "director",
            "claimed",
            None,
            "manager-1",
            NOW,
            NOW + timedelta(minutes=30),
            None,
            "officer-1",
            {"down_payment": "60000.00"},
            "needs a larger down payment",
            ("high_amount", "used_vehicle"),
            NOW,
        )

    def contract(self, application: Application, number: str = "LK-2024-000001") -> Contract:
        """A contract on the application's requested terms, priced without fees, with a
        document, an envelope, a signed copy and a sale-leaseback seller's account, so that
        every kind of column is written and read back."""
        terms = application.requested
        plan = plan_for(_PRODUCT, terms, "annuity", TODAY, PlanConvention())
        account = BankAccount(scheme="iban", holder="Zhang Wei", bank_name="Deutsche Bank",
                              iban="DE89370400440532013000", bic="DEUTDEFF")  # fmt: skip
        return Contract(
            new_id(),
            number,
            application.id,
            application.partner_id,
            application.customer_id,
            application.vehicle_id,
            application.business_type,
            None,
            terms.vehicle_price,
            terms.down_payment,
            terms.amount_financed,
            terms.annual_rate,
            terms.term_months,
            terms.residual_value,
            plan.summary,
            (ContractSigner(application.customer_id, "customer", "Zhang Wei", "z@example.com"),),
            "zh",
            None,
            "draft",
            NOW,
            document=StoredFile("contracts/c/contract.pdf", "a" * 64, 1234),
            envelope_id=f"env-{number}",
            signed_document=StoredFile("contracts/c/signed.pdf", "b" * 64, 2345),
            seller_account=account,
        )

    def schedule(self, contract_id: str, lines: int = 3) -> list[Receivable]:
        return [
            Receivable(
                new_id(),
                contract_id,
                sequence,
                TODAY + timedelta(days=30 * sequence),
                cny("5000.00"),
                cny("998.33"),
                cny("0.00"),
                cny("0.00"),
                cny("0.00"),
                cny("0.00"),
                cny("0.00"),
                cny("0.00"),
            )
            for sequence in range(1, lines + 1)
        ]

    def payment(self, contract_id: str, amount: str = "5998.33") -> Payment:
        return Payment(
            new_id(), contract_id, cny(amount), TODAY, "BANK-REF-1", "bank_transfer",
            f"line-{new_id()}", "user-finance", cny(amount), "received", NOW,
        )  # fmt: skip

    def exception_request(self, payment: Payment) -> ExceptionRequest:
        """An executed reversal, with every part a request keeps filled in."""
        figures = Figures(*(Decimal(f"{n}.25") for n in range(5)))
        return ExceptionRequest(
            new_id(), "reversal", payment.contract_id, "wrong_contract", "typo in the number",
            payment.amount, payment.id, payment.contract_id, None, None,
            RefundAccount("DE89370400440532013000", "Zhang Wei"), "finance-1", "executed", NOW,
            ("post_loan_supervisor", "finance_director"),
            (Approval(1, Role.POST_LOAN_SUPERVISOR, "s-1", NOW),
             Approval(2, Role.FINANCE_DIRECTOR, "fd-1", NOW + timedelta(hours=1))),
            NOW, NOW + timedelta(hours=72), "finance-2", NOW + timedelta(hours=2),
            (Impact(payment.contract_id, figures, attrs.evolve(figures, credit=Decimal(0))),),
        )  # fmt: skip

    def voucher(self, source_key: str | None = None) -> Voucher:
        return Voucher(
            id=new_id(),
            business_date=TODAY,
            description="Disbursement",
            lines=(
                JournalLine("1122 receivables", "debit", cny("200000.00"), "principal"),
                JournalLine("1002 bank", "credit", cny("199999.99")),
                JournalLine("6051 fees", "credit", cny("0.01")),
            ),
            created_by="finance-1",
            created_at=NOW,
            source_key=source_key,
        )

    def event(self, subject_id: str = "app-1", name: str = "application_revised") -> DomainEvent:
        return DomainEvent.new(
            name,
            "application",
            subject_id,
            {"partner_id": "p-1", "amount": "250000.00", "count": 3, "urgent": False},
            occurred_at=NOW,
            business_date=TODAY,
            actor_id="officer-1",
        )

    def state_changed(self, subject_id: str = "app-1", reason: str | None = None) -> StateChanged:
        return StateChanged.new(
            "application_submitted",
            "application",
            subject_id,
            {"from": "draft", "to": "submitted", "action": "submit", "reason": reason},
            occurred_at=NOW,
            business_date=TODAY,
            actor_id="dealer-7",
        )


@pytest.fixture
def build() -> Build:
    return Build()


@pytest.fixture
def deal(
    uow_factory: Callable[[], SqlUnitOfWork], build: Build
) -> tuple[Partner, Customer, Vehicle, Application]:
    """A stored partner, customer, vehicle and the application linking them."""
    partner = build.partner()
    customer = build.customer(partner.id)
    vehicle = build.vehicle(partner.id)
    application = build.application(partner, customer, vehicle, build.terms())
    with uow_factory() as uow:
        uow.partners.add(partner)
        uow.customers.add(customer)
        uow.vehicles.add(vehicle)
        uow.applications.add(application)
        uow.commit()
    return partner, customer, vehicle, application
