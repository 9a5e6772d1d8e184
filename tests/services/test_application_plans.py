"""Applications priced with a product, on SQLite and PostgreSQL: the version on sale prices a
draft and each revision, the plan's totals and rows are stored exactly, terms outside the
product are refused by field and range with nothing written, co-applicants and guarantors
are kept in their own table, and an approver's conditions price the plan again."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from leasekit.demo import DEMO_PRODUCTS
from leasekit.domain.applications import (
    Application,
    ApplicationState,
    BusinessType,
    RequestedTerms,
)
from leasekit.domain.identity import Actor
from leasekit.domain.partners import Partner
from leasekit.domain.plans import MAX_PARTIES, Party, PartyRole, PlanConvention, plan_for
from leasekit.domain.products import Product
from leasekit.errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
)
from leasekit.services import applications, approvals, products
from leasekit.services.context import ServiceContext
from leasekit.services.products import ProductRevision
from leasekit.services.storage import ApprovalTaskQuery

from ..domain.test_application_plans import _PRODUCT, DAY, deals
from .conftest import (
    decide,
    open_review,
    open_task,
    register_customer,
    register_vehicle,
)
from .conftest import (
    published as _published,
)
from .test_applications import draft_command

LOAN, LEASE, OPERATING = DEMO_PRODUCTS
SYSTEM = Actor.system()


@pytest.fixture
def ids(ctx: ServiceContext, dealer: Actor) -> tuple[str, str]:
    """A customer and a vehicle of the dealer's."""
    return register_customer(ctx, dealer), register_vehicle(ctx, dealer)


def _draft(partner: Partner, ids: tuple[str, str], **changes: object):
    return draft_command(partner, *ids, **({"product_code": "FL-STD"} | changes))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)


def test_a_draft_is_priced_with_the_version_on_sale_and_its_plan_stored_exactly(
    ctx: ServiceContext, dealer: Actor, partner: Partner, lease: Product, ids: tuple[str, str]
) -> None:
    draft = applications.create_draft(ctx, dealer, _draft(partner, ids))
    assert (draft.product_version_id, draft.schedule_method) == (
        lease.current_version_id, "annuity")  # fmt: skip
    plan = draft.plan
    assert plan is not None
    # 238,000 less 47,600 down, plus the 1 % handling fee financed (1,904.00).
    assert (plan.principal, plan.amount_financed) == (Decimal("192304.00"), Decimal("190400.00"))
    assert (plan.installments, plan.residual_value) == (36, Decimal("23800.00"))
    assert plan.apr_convention == "us_actuarial"
    assert plan.apr == plan.apr.quantize(Decimal("0.01")) > Decimal("5.99")
    assert plan.first_due_date.month != plan.priced_on.month
    stored = applications.get_application(ctx, dealer, draft.id)
    assert stored.plan == plan
    whole = applications.get_application_plan(ctx, dealer, draft.id)
    with ctx.uow_factory() as uow:
        version = uow.product_versions.get(draft.product_version_id or "")
    expected = plan_for(version.terms, draft.requested, "annuity", plan.priced_on,
                        PlanConvention())  # fmt: skip
    assert whole.summary == expected.summary
    assert whole.rows == expected.rows
    assert [str(row.payment) for row in whole.rows] == [str(r.payment) for r in expected.rows]
    assert sum(row.principal for row in whole.rows) == plan.principal - plan.residual_value
    assert sum(row.payment for row in whole.rows) + plan.residual_value == plan.total_of_payments


def test_a_revision_is_priced_again_at_the_version_on_sale_at_revision_time(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    manager: Actor,
    director: Actor,
    lease: Product,
    ids: tuple[str, str],
) -> None:
    draft = applications.create_draft(ctx, dealer, _draft(partner, ids))
    revised = applications.update_draft(
        ctx, dealer, draft.id, _draft(partner, ids, term_months=24, schedule_method="flat")
    )
    assert revised.plan is not None
    assert revised.plan.installments == 24
    assert revised.schedule_method == "flat"
    assert len(applications.get_application_plan(ctx, dealer, draft.id).rows) == 24
    cheaper = attrs.evolve(LEASE.terms, annual_rate_min=Decimal("0.0299"))
    product = products.revise_product(ctx, manager, ProductRevision(lease.id, cheaper))
    assert product.draft_version_id is not None
    products.transition_product_version(ctx, director, product.draft_version_id, "publish")
    again = applications.update_draft(
        ctx, dealer, draft.id, _draft(partner, ids, annual_rate=Decimal("0.0399"))
    )
    assert again.product_version_id == product.draft_version_id != draft.product_version_id
    assert again.plan is not None
    assert again.plan.installments == 36
    unpriced = applications.update_draft(
        ctx, dealer, draft.id, _draft(partner, ids, product_code=None)
    )
    assert (unpriced.product_version_id, unpriced.plan) == (None, None)
    with pytest.raises(NotFoundError):
        applications.get_application_plan(ctx, dealer, draft.id)


def _faults(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    """Each field at fault with its messages, joined."""
    found: dict[str, list[str]] = {}
    for error in exc.value.errors:
        found.setdefault(error.field, []).append(error.message)
    return {field: "; ".join(messages) for field, messages in found.items()}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"term_months": 72}, "term_months", "72 is not one of 12, 24, 36, 48, 60"),
        ({"annual_rate": Decimal("0.1299")}, "annual_rate", "outside 0.0499 to 0.0999"),
        ({"down_payment": Decimal("20000.00")}, "down_payment", "minimum of 15% of the price"),
        ({"residual_value": Decimal("95200.00")}, "residual_value", "up to 30%"),
        ({"schedule_method": "interest_only"}, "schedule_method", "annuity, equal_principal"),
        ({"business_type": BusinessType.LOAN}, "product_code", "finance_lease product, not loan"),
        ({"product_code": "NOPE"}, "product_code", "no such product"),
        ({"product_code": None, "schedule_method": "flat"}, "schedule_method", "product_code"),
    ],
)
def test_terms_outside_the_product_are_refused_by_field_and_range_with_nothing_written(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    lease: Product,
    ids: tuple[str, str],
    engine: Engine,
    change: dict[str, object],
    field: str,
    says: str,
) -> None:
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, dealer, _draft(partner, ids, **change))
    assert says in _faults(caught)[field]
    assert _count(engine, "applications") == _count(engine, "application_plan_rows") == 0


def test_a_product_the_partner_may_not_sell_or_not_on_sale_is_refused_with_its_reason(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    manager: Actor,
    director: Actor,
    ids: tuple[str, str],
) -> None:
    _published(ctx, manager, director, OPERATING)
    operating = _draft(partner, ids, product_code="OL-FLEET",
                       business_type=BusinessType.OPERATING_LEASE,
                       residual_value=Decimal("71400.00"))  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, dealer, operating)
    assert _faults(caught)["product_code"] == (
        "partner Sunrise Motors is rated B; it needs A or better"
    )
    products.create_product(ctx, manager, LOAN)
    loan = _draft(partner, ids, product_code="ncl-new", business_type=BusinessType.LOAN,
                  residual_value=None)  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        applications.create_draft(ctx, dealer, loan)
    assert _faults(caught)["product_code"] == "product NCL-NEW is draft: it is not on sale"


def test_co_applicants_and_guarantors_are_listed_checked_and_replaced(
    ctx: ServiceContext,
    dealer: Actor,
    other_dealer: Actor,
    officer: Actor,
    partner: Partner,
    ids: tuple[str, str],
    engine: Engine,
) -> None:
    spouse = register_customer(ctx, dealer, "11010519870302002")
    father = register_customer(ctx, dealer, "11010519600101001")
    elsewhere = register_customer(ctx, other_dealer, "44030419900101214")
    parties = (Party(spouse, PartyRole.CO_APPLICANT), Party(father, PartyRole.GUARANTOR))
    draft = applications.create_draft(ctx, dealer, draft_command(partner, *ids, parties=parties))
    assert applications.get_application(ctx, dealer, draft.id).parties == parties
    listed = applications.list_applications(ctx, officer).items
    assert listed[0]["parties"] == [
        {"customer_id": spouse, "role": "co_applicant"},
        {"customer_id": father, "role": "guarantor"},
    ]
    applications.update_draft(
        ctx, dealer, draft.id, draft_command(partner, *ids, parties=parties[1:])
    )
    assert applications.get_application(ctx, dealer, draft.id).parties == parties[1:]
    assert _count(engine, "application_parties") == 1
    for bad, field, says in (
        ((Party(ids[0], "guarantor"),), "parties", "main customer"),
        ((parties[0], Party(spouse, "guarantor")), "parties", "listed twice"),
        ((Party(elsewhere, "guarantor"),), "parties[0].customer_id", "no such customer"),
        (parties * 3, "parties", f"at most {MAX_PARTIES}"),
    ):
        with pytest.raises(ValidationError) as caught:
            applications.update_draft(
                ctx, dealer, draft.id, draft_command(partner, *ids, parties=bad)
            )
        assert says in _faults(caught)[field]
    assert applications.get_application(ctx, dealer, draft.id).parties == parties[1:]


def test_the_database_refuses_a_customer_listed_twice_on_one_application(
    ctx: ServiceContext, dealer: Actor, partner: Partner, ids: tuple[str, str]
) -> None:
    spouse = register_customer(ctx, dealer, "11010519870302002")
    draft = applications.create_draft(ctx, dealer, draft_command(partner, *ids))
    twice = (Party(spouse, "co_applicant"), Party(spouse, "guarantor"))
    with ctx.uow_factory() as uow, pytest.raises(ValidationError) as caught:
        uow.applications.add(attrs.evolve(draft, id="f" * 32, parties=twice))
    assert _faults(caught) == {"parties": "a customer is listed twice"}


def _claimed(ctx: ServiceContext, dealer: Actor, officer: Actor, application: Application) -> str:
    """The application submitted, pre-approved and its officer-tier task claimed by *officer*."""
    applications.transition_application(ctx, dealer, application.id, "submit")
    open_review(ctx, application.id)
    task = open_task(ctx, application.id)
    approvals.transition_approval_task(ctx, officer, task.id, "claim")
    return task.id


def _with_conditions(
    ctx: ServiceContext, officer: Actor, task_id: str, reason: str | None, **conditions: str
) -> object:
    return approvals.transition_approval_task(
        ctx, officer, task_id, "decide", reason, decision="approve_with_conditions", **conditions
    )


def test_conditions_reprice_the_plan_and_keep_the_request(
    ctx: ServiceContext,
    dealer: Actor,
    officer: Actor,
    partner: Partner,
    lease: Product,
    ids: tuple[str, str],
    engine: Engine,
) -> None:
    draft = applications.create_draft(ctx, dealer, _draft(partner, ids))
    task_id = _claimed(ctx, dealer, officer, draft)
    queue = approvals.list_approval_tasks(ctx, officer, ApprovalTaskQuery(product_code=lease.code))
    assert [item["id"] for item in queue.items] == [task_id]
    reason = "a larger down payment for a first-time customer"
    with pytest.raises(ValidationError) as caught:
        _with_conditions(ctx, officer, task_id, reason, term_months="72")
    assert "72 is not one of" in _faults(caught)["term_months"]
    for field, value in (("term_months", "two years"), ("down_payment", "lots")):
        with pytest.raises(ValidationError) as caught:
            _with_conditions(ctx, officer, task_id, reason, **{field: value})
        assert field in _faults(caught)
    before = applications.get_application(ctx, officer, draft.id)
    assert (before.state, before.conditions) == (ApplicationState.IN_REVIEW, None), "unchanged"
    _with_conditions(ctx, officer, task_id, reason, down_payment="71400.00", residual_value="0")
    conditioned = applications.get_application(ctx, officer, draft.id)
    assert conditioned.requested == before.requested
    assert conditioned.conditions is not None
    assert (conditioned.conditions.down_payment, conditioned.conditions.residual_value) == (
        Decimal("71400.00"), None)  # fmt: skip
    assert conditioned.state is ApplicationState.APPROVED
    assert conditioned.plan is not None
    assert draft.plan is not None
    assert conditioned.plan.principal == Decimal("168266.00")  # 166,600 + 1 % handling
    assert conditioned.plan.residual_value == 0
    rows = applications.get_application_plan(ctx, officer, draft.id).rows
    assert rows[-1].balance == 0
    assert len(rows) == 36
    assert _count(engine, "application_plan_rows") == 36
    with ctx.uow_factory() as uow:
        trail = uow.audit.for_subject("application", draft.id)
    assert [entry.action for entry in trail[-2:]] == [
        "application_conditions_imposed", "application_approved",
    ]  # fmt: skip
    assert trail[-2].details["payload"]["reason"] == reason


def test_conditions_that_raise_the_amount_climb_to_the_tier_it_needs(
    ctx: ServiceContext,
    dealer: Actor,
    officer: Actor,
    manager: Actor,
    partner: Partner,
    lease: Product,
    ids: tuple[str, str],
) -> None:
    draft = applications.create_draft(ctx, dealer, _draft(partner, ids))  # 190,400.00
    task_id = _claimed(ctx, dealer, officer, draft)
    _with_conditions(ctx, officer, task_id, "a smaller down payment", down_payment="35700.00")
    conditioned = applications.get_application(ctx, officer, draft.id)
    assert conditioned.terms.amount_financed.amount == Decimal("202300.00")  # above 200,000
    assert conditioned.state is ApplicationState.IN_REVIEW
    upper = open_task(ctx, draft.id)
    assert (upper.tier, upper.required_tier) == ("manager", "manager")
    decide(ctx, manager, draft.id, "approve")
    assert applications.get_application(ctx, officer, draft.id).state is ApplicationState.APPROVED


def test_conditions_need_a_priced_application(
    ctx: ServiceContext, dealer: Actor, officer: Actor, partner: Partner, ids: tuple[str, str]
) -> None:
    draft = applications.create_draft(ctx, dealer, draft_command(partner, *ids))
    task_id = _claimed(ctx, dealer, officer, draft)
    with pytest.raises(ConflictError, match="no product"):
        _with_conditions(ctx, officer, task_id, "why", term_months="24")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(deal=deals())
def test_a_stored_schedule_reads_back_exactly_and_sums_to_its_totals(
    ctx: ServiceContext,
    dealer: Actor,
    partner: Partner,
    lease: Product,
    ids: tuple[str, str],
    deal: tuple[RequestedTerms, str],
) -> None:
    """Whatever the deal, the rows come back from the database digit for digit (scale
    included) and add up to the totals stored with the application."""
    terms, method = deal
    application = applications.create_draft(ctx, dealer, _draft(partner, ids))
    plan = plan_for(_PRODUCT, terms, method, DAY, PlanConvention())
    with ctx.uow_factory() as uow:
        uow.plan_rows.replace(application.id, plan.rows)
        uow.commit()
    with ctx.uow_factory() as uow:
        stored = uow.plan_rows.for_application(application.id)
    assert [attrs.astuple(row) for row in stored] == [attrs.astuple(row) for row in plan.rows]
    assert [str(row.balance) for row in stored] == [str(row.balance) for row in plan.rows]
    summary = plan.summary
    assert sum(row.principal for row in stored) == summary.principal - summary.residual_value
    assert sum(row.payment for row in stored) + summary.residual_value == summary.total_of_payments
