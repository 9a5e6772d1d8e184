"""Services on a real database (SQLite and PostgreSQL) with fake adapters and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from leasekit.builtin.faces import inspect_photo
from leasekit.demo import DEMO_PRODUCTS, credit_code, resident_id, supply_onboarding_documents, vin
from leasekit.domain.approvals import ApprovalTask, ApprovalTaskState
from leasekit.domain.clock import FixedClock
from leasekit.domain.customers import CustomerKind
from leasekit.domain.debit_runs import CollectionRules, creditor_accounts
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor, Role
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.products import Product
from leasekit.domain.vehicles import VehicleCondition
from leasekit.money import Money, currency
from leasekit.plugins import Adapters
from leasekit.render import contract_renderer
from leasekit.services import (
    applications,
    approvals,
    catalog,
    customers,
    events,
    partners,
    products,
    users,
    vehicles,
)
from leasekit.services.context import ServiceContext
from leasekit.services.storage import ApprovalTaskQuery, UnitOfWork
from leasekit.testing.book import (
    BookContract,
    Debtor,
    book_partner,
    months_before,
    taken_over_contract,
)

ACCOUNTS = {
    "us": {"name": "Leasekit Demo", "scheme": "nacha", "currency": "USD",
           "account": "123456789", "agent": "021000021", "creditor_id": "1234567890"},
    "eu": {"name": "Leasekit Demo", "scheme": "sepa", "currency": "EUR",
           "account": "DE89370400440532013000", "agent": "COBADEFFXXX",
           "creditor_id": "DE98ZZZ09999999999"},
    "cn": {"name": "Leasekit Demo", "scheme": "csv", "currency": "CNY",
           "account": "6222020200000000001", "agent": "ICBC"},
}  # fmt: skip
DEBTORS = {
    "USD": Debtor("John Smith", DebitScheme.NACHA, "000123456789", "011000015"),
    "EUR": Debtor("Erika Mustermann", DebitScheme.SEPA, "DE02120300000000202051", "BYLADEM1001"),
    "CNY": Debtor("Zhang Wei", DebitScheme.CSV, "6222020200112233446", "ICBC"),
}


def taken_over(
    ctx: ServiceContext,
    n: int,
    currency: str = "USD",
    *,
    mandate: bool = True,
    opening: bool = False,
) -> BookContract:
    """An active contract whose first installment fell due a month before the business date
    and whose second falls due on it; with an active mandate unless told otherwise, and with
    the event that books its opening balance if told so."""
    today, at = ctx.clock.business_date(), ctx.clock.now()
    with ctx.uow_factory() as uow:
        partner = book_partner(uow, f"Dealer {n}", f"91110000MA{n:08d}", at)
        made = taken_over_contract(
            uow, partner, number=f"BK-{n:06d}", serial=n, customer_name=f"Customer {n}",
            price=Money("12000.00", currency), term_months=12, annual_rate=Decimal("0.06"),
            priced_on=months_before(today, 2), at=at,
            debtor=DEBTORS[currency] if mandate else None,
            taken_over_on=today if opening else None,
        )  # fmt: skip
        uow.commit()
    return made


COLLECTION = CollectionRules(creditor_accounts(ACCOUNTS), return_fees={"USD": Decimal("25.00")})
"""Collections as the services' tests see them: an account per scheme, a fee for US returns."""


@pytest.fixture
def deliveries() -> list[int]:
    """How often the context's after-commit delivery ran."""
    return []


@pytest.fixture
def ctx(
    uow_factory: Callable[[], UnitOfWork],
    fake_adapters: Adapters,
    fixed_clock: FixedClock,
    deliveries: list[int],
) -> ServiceContext:
    return ServiceContext(
        uow_factory=uow_factory,
        adapters=fake_adapters,
        clock=fixed_clock,
        currency=currency("CNY"),
        max_upload_bytes=64 * 1024,
        secret_key=b"the test installation's secret",
        after_commit=lambda: deliveries.append(1),
        inspect_photo=inspect_photo,
        render_contract=contract_renderer(),
        collection=COLLECTION,
    )


@pytest.fixture
def admin(ctx: ServiceContext) -> Actor:
    user, _ = users.bootstrap_admin(ctx, "admin", "Admin")
    return user.actor()


@pytest.fixture
def officer(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(
        ctx, admin, users.CreateUser("officer", "Officer", Role.OFFICER)
    ).actor()


@pytest.fixture
def manager(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(
        ctx, admin, users.CreateUser("manager", "Manager", Role.MANAGER)
    ).actor()


@pytest.fixture
def director(ctx: ServiceContext, admin: Actor) -> Actor:
    return users.create_user(
        ctx, admin, users.CreateUser("director", "Director", Role.DIRECTOR)
    ).actor()


@pytest.fixture
def supervisor(ctx: ServiceContext, admin: Actor) -> Actor:
    command = users.CreateUser("supervisor", "Supervisor", Role.POST_LOAN_SUPERVISOR)
    return users.create_user(ctx, admin, command).actor()


PartnerFactory = Callable[[str, str], Partner]


@pytest.fixture
def make_partner(ctx: ServiceContext, officer: Actor, manager: Actor) -> PartnerFactory:
    """An active partner, onboarded with its documents (graded B by hand) and approved
    through its lifecycle."""

    def make(name: str, code: str) -> Partner:
        command = partners.OnboardPartner(
            name, credit_code(code), Decimal("1000000.00"), rating=PartnerRating.B
        )
        partner = partners.onboard_partner(ctx, officer, command)
        partner = partners.transition_partner(ctx, officer, partner.id, "apply")
        supply_onboarding_documents(ctx, officer, partner)
        partner = partners.transition_partner(ctx, officer, partner.id, "start_review")
        return partners.transition_partner(ctx, manager, partner.id, "approve")

    return make


@pytest.fixture
def partner(make_partner: PartnerFactory) -> Partner:
    return make_partner("Sunrise Motors", "91440300MA5F0A1B2")


@pytest.fixture
def other_partner(make_partner: PartnerFactory) -> Partner:
    return make_partner("Harbour Auto", "91310000MA1K3C4D5")


def dealer_of(ctx: ServiceContext, admin: Actor, partner: Partner, username: str) -> Actor:
    command = users.CreateUser(username, username, Role.DEALER_USER, partner.id)
    return users.create_user(ctx, admin, command).actor()


@pytest.fixture
def dealer(ctx: ServiceContext, admin: Actor, partner: Partner) -> Actor:
    return dealer_of(ctx, admin, partner, "sunrise")


@pytest.fixture
def other_dealer(ctx: ServiceContext, admin: Actor, other_partner: Partner) -> Actor:
    return dealer_of(ctx, admin, other_partner, "harbour")


def register_customer(ctx: ServiceContext, actor: Actor, body: str = "11010519850712003") -> str:
    command = customers.RegisterCustomer(CustomerKind.INDIVIDUAL, "Zhang Wei", resident_id(body))
    return customers.register_customer(ctx, actor, command).id


def register_vehicle(ctx: ServiceContext, actor: Actor, text: str = "LSVAU2180N2183294") -> str:
    command = vehicles.RegisterVehicle(
        vin(text), "Volkswagen", "Passat", 2024, VehicleCondition.NEW
    )
    return vehicles.register_vehicle(ctx, actor, command).id


def deliver(ctx: ServiceContext, handler: str, name: str, subject: str, subject_id: str) -> None:
    """Deliver the event *name* of *subject_id* to the in-process *handler*, as the outbox
    relay does after the commit."""
    event = DomainEvent.new(
        name, subject, subject_id, {},
        occurred_at=ctx.clock.now(), business_date=ctx.clock.business_date(), actor_id="system",
    )  # fmt: skip
    events.HandlerSubscriber(catalog.handlers()[handler], ctx).deliver(event)


def open_review(ctx: ServiceContext, application_id: str) -> None:
    """Pre-approve the submitted application and let the workflow open its review."""
    applications.transition_application(ctx, Actor.system(), application_id, "pre_approve")
    deliver(ctx, "origination.open_review", "application_pre_approved", "application",
            application_id)  # fmt: skip


def open_task(ctx: ServiceContext, application_id: str) -> ApprovalTask:
    """The application's task waiting for a reviewer."""
    query = ApprovalTaskQuery(application_id=application_id, state=ApprovalTaskState.OPEN)
    (record,) = approvals.list_approval_tasks(ctx, Actor.system(), query).items
    return approvals.get_task_view(ctx, Actor.system(), record["id"]).task


def decide(
    ctx: ServiceContext, reviewer: Actor, application_id: str, decision: str,
    reason: str | None = None, **conditions: str,
) -> ApprovalTask:  # fmt: skip
    """*reviewer* claims the application's open task and decides it."""
    task = open_task(ctx, application_id)
    approvals.transition_approval_task(ctx, reviewer, task.id, "claim")
    return approvals.transition_approval_task(
        ctx, reviewer, task.id, "decide", reason, decision=decision, **conditions
    )


def published(
    ctx: ServiceContext, manager: Actor, director: Actor, request: products.CreateProduct
) -> Product:
    """A product written by *manager* and published by *director*."""
    product = products.create_product(ctx, manager, request)
    assert product.draft_version_id is not None
    products.transition_product_version(ctx, director, product.draft_version_id, "publish")
    return products.get_product(ctx, manager, product.id)


@pytest.fixture
def lease(ctx: ServiceContext, manager: Actor, director: Actor) -> Product:
    """The demo's direct finance lease (``FL-STD``), on sale."""
    return published(ctx, manager, director, DEMO_PRODUCTS[1])
