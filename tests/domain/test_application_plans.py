"""Pricing an application with a product version: what the product refuses (each field named
with the range it allows, another business type, a partner that may not sell it), the plan
the calculator makes, the parties and an approver's conditions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leasekit.domain.applications import (
    Application,
    ApplicationState,
    BusinessType,
    Pricing,
    RequestedTerms,
)
from leasekit.domain.customers import Customer
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.domain.plans import Party, PartyRole, PlanConvention, plan_for
from leasekit.domain.products import ProductTerms, ProductVersion, ProductVersionState
from leasekit.domain.vehicles import Vehicle
from leasekit.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from leasekit.money import Money

from .test_products import created, requested
from .test_products import terms as product_terms

DAY = date(2024, 3, 1)
MANAGER = Actor("manager-1", Role.MANAGER)


def _published(**changes: object) -> ProductVersion:
    _, version = created(**changes)
    version.state = ProductVersionState.PUBLISHED
    return version


def _pricing(partner: Partner, version: ProductVersion | None = None, **more: object) -> Pricing:
    values: dict[str, object] = {
        "version": version or _published(),
        "partner": partner,
        "schedule_method": None,
        "priced_on": DAY,
        "convention": PlanConvention(),
    }
    return Pricing(**(values | more))  # type: ignore[arg-type]


def _draft(
    partner: Partner,
    customer: Customer,
    vehicle: Vehicle,
    dealer: Actor,
    at: datetime,
    **changes: object,
) -> Application:
    values: dict[str, object] = {
        "partner": partner,
        "customer": customer,
        "vehicle": vehicle,
        "business_type": BusinessType.FINANCE_LEASE,
        "requested": requested(),
        "actor": dealer,
        "at": at,
        "pricing": _pricing(partner),
    }
    return Application.draft(**(values | changes))  # type: ignore[arg-type]


def _messages(caught: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {error.field: error.message for error in caught.value.errors}


def test_a_priced_draft_holds_the_version_its_method_and_the_plans_totals(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    draft = _draft(partner, customer, vehicle, dealer, at)
    pricing = _pricing(partner)
    assert draft.schedule_method == "annuity"
    assert draft.product_version_id is not None
    plan = draft.plan
    assert plan is not None
    assert plan == draft.priced_plan(pricing).summary
    # 200,000 less 40,000 down plus the financed handling fee of 1 % (1,600.00), a prepaid
    # finance charge: the amount financed leaves it out.
    assert (plan.principal, plan.amount_financed) == (Decimal("161600.00"), Decimal("160000.00"))
    assert (plan.priced_on, plan.first_due_date, plan.installments) == (
        DAY, date(2024, 4, 1), 36)  # fmt: skip
    assert plan.apr_convention == "us_actuarial"


def test_each_term_outside_the_product_is_named_with_the_range_it_allows(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    outside = requested(term_months=72, annual_rate=Decimal("0.15"),
                        down_payment=Money("20000.00", "CNY"))  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        _draft(partner, customer, vehicle, dealer, at, requested=outside)
    assert _messages(caught) == {
        "term_months": "72 is not one of 12, 24, 36, 48, 60",
        "annual_rate": "0.15 is outside 0.0499 to 0.0999",
        "down_payment": "20000.00 is below the product's minimum of 20% of the price "
        "(40000.00 CNY)",
        "amount_financed": "181800.00 is above the product's maximum of 85% of the price "
        "(170000.00 CNY)",
    }


def test_a_schedule_method_the_product_does_not_offer_is_refused(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    with pytest.raises(ValidationError) as caught:
        _draft(partner, customer, vehicle, dealer, at,
               pricing=_pricing(partner, schedule_method="interest_only"))  # fmt: skip
    assert _messages(caught) == {"schedule_method": "'interest_only' is not one of annuity, flat"}


def test_a_product_of_another_business_type_is_refused(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    with pytest.raises(ValidationError) as caught:
        _draft(partner, customer, vehicle, dealer, at, business_type=BusinessType.LOAN)
    assert _messages(caught) == {"product_code": "the product is a finance_lease product, not loan"}


def test_a_product_the_partner_may_not_sell_is_refused_with_the_reason(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    fussy = _published(min_partner_rating=PartnerRating.A)
    with pytest.raises(ValidationError) as caught:
        _draft(partner, customer, vehicle, dealer, at, pricing=_pricing(partner, fussy))
    assert _messages(caught) == {
        "product_code": "partner Shanghai Motors Ltd is not rated; it needs A or better"
    }
    _, unpublished = created()
    with pytest.raises(ValidationError) as caught:
        _draft(partner, customer, vehicle, dealer, at, pricing=_pricing(partner, unpublished))
    assert _messages(caught) == {"product_code": "version 1 is draft, not on sale"}


def test_parties_are_other_customers_each_listed_once(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    spouse = Party("spouse-1", PartyRole.CO_APPLICANT)
    draft = _draft(partner, customer, vehicle, dealer, at, parties=[spouse])
    assert draft.parties == (spouse,)
    for parties, says in (
        ([Party(customer.id, "guarantor")], "the main customer cannot be"),
        ([spouse, Party("spouse-1", "guarantor")], "a customer is listed twice"),
        ([Party(f"c-{n}", "guarantor") for n in range(5)], "at most 4"),
    ):
        with pytest.raises(ValidationError) as caught:
            _draft(partner, customer, vehicle, dealer, at, parties=parties)
        assert says in _messages(caught)["parties"]
    with pytest.raises(ValueError, match="'witness' is not a valid PartyRole"):
        Party("x", "witness")


def test_a_revision_replaces_the_parties_drops_conditions_and_prices_again(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    draft = _draft(partner, customer, vehicle, dealer, at, parties=[Party("c-2", "guarantor")])
    draft.revise(
        customer=customer, vehicle=vehicle, business_type="finance_lease",
        requested=requested(term_months=24), actor=dealer, at=at, business_date=DAY,
        pricing=_pricing(partner, schedule_method="flat"),
    )  # fmt: skip
    assert draft.parties == ()
    assert draft.plan is not None
    assert (draft.plan.installments, draft.schedule_method) == (24, "flat")


def _reviewed(application: Application) -> Application:
    application.state = ApplicationState.IN_REVIEW
    return application


def test_conditions_are_checked_against_the_version_and_price_the_plan_again(
    partner: Partner, customer: Customer, vehicle: Vehicle, dealer: Actor, at: datetime
) -> None:
    version = _published()
    pricing = _pricing(partner, version)
    application = _draft(partner, customer, vehicle, dealer, at, pricing=pricing)
    larger = requested(down_payment=Money("60000.00", "CNY"))
    impose = {"terms": larger, "reason": "first-time customer", "pricing": pricing,
              "at": at, "business_date": DAY}  # fmt: skip
    with pytest.raises(IllegalTransitionError):
        application.impose_conditions(actor=MANAGER, **impose)  # type: ignore[arg-type]
    _reviewed(application)
    with pytest.raises(PermissionDeniedError):
        application.impose_conditions(actor=dealer, **impose)  # type: ignore[arg-type]
    version.state = ProductVersionState.RETIRED  # retired since: the conditions still hold
    event = application.impose_conditions(actor=MANAGER, **impose)  # type: ignore[arg-type]
    assert event.name == "application_conditions_imposed"
    assert event.payload["down_payment"] == "60000.00"
    assert application.requested == requested()
    assert application.terms == larger
    assert application.plan is not None
    assert application.plan.principal == Decimal("141400.00")
    with pytest.raises(ValidationError) as caught:
        application.impose_conditions(
            actor=MANAGER,
            **(impose | {"terms": requested(term_months=72)}),  # type: ignore[arg-type]
        )
    assert _messages(caught) == {"term_months": "72 is not one of 12, 24, 36, 48, 60"}
    other = _pricing(partner, _published())
    with pytest.raises(ValidationError) as caught:
        application.impose_conditions(actor=MANAGER, **(impose | {"pricing": other}))  # type: ignore[arg-type]
    assert "product_code" in _messages(caught)


def test_the_eu_convention_discloses_the_aprc_to_one_decimal() -> None:
    terms = product_terms()
    us = plan_for(terms, requested(), "annuity", DAY, PlanConvention())
    eu = plan_for(terms, requested(), "annuity", DAY, PlanConvention("eu"))
    assert us.summary.apr == us.summary.apr.quantize(Decimal("0.01"))
    assert eu.summary.apr == eu.summary.apr.quantize(Decimal("0.1"))
    assert (us.summary.apr_convention, eu.summary.apr_convention) == ("us_actuarial", "eu")
    assert eu.rows == us.rows


_PRODUCT: ProductTerms = attrs.evolve(
    product_terms(), term_months=tuple(range(1, 121)), annual_rate_min=Decimal(0),
    schedule_methods=("annuity", "equal_principal", "interest_only", "flat"),
    min_down_payment_ratio=Decimal(0),
)  # fmt: skip


@st.composite
def deals(draw: st.DrawFn) -> tuple[RequestedTerms, str]:
    cents = draw(st.integers(min_value=1_000_00, max_value=2_000_000_00))
    price = Decimal(cents).scaleb(-2)
    down_share = Decimal(draw(st.sampled_from(["0", "0.1", "0.2", "0.35"])))
    down = (price * down_share).quantize(Decimal("0.01"))
    residual_share = draw(st.sampled_from(["0", "0.1", "0.3"]))
    residual = (price * Decimal(residual_share)).quantize(Decimal("0.01"))
    terms = RequestedTerms(
        vehicle_price=Money(price, "CNY"),
        down_payment=Money(down, "CNY"),
        term_months=draw(st.integers(min_value=1, max_value=120)),
        annual_rate=Decimal(draw(st.integers(min_value=0, max_value=2400))).scaleb(-4),
        residual_value=Money(residual, "CNY") if residual else None,
    )
    return terms, draw(st.sampled_from(_PRODUCT.schedule_methods))


@settings(max_examples=60, deadline=None)
@given(deals(), st.sampled_from(["standard", "level_total"]))
def test_a_plans_rows_sum_to_its_totals(deal: tuple[RequestedTerms, str], rounding: str) -> None:
    terms, method = deal
    plan = plan_for(_PRODUCT, terms, method, DAY, PlanConvention(rounding=rounding))
    summary, rows = plan.summary, plan.rows
    assert len(rows) == summary.installments == terms.term_months
    assert sum(row.principal for row in rows) == summary.principal - summary.residual_value
    assert sum(row.payment for row in rows) + summary.residual_value == summary.total_of_payments
    assert sum(row.interest for row in rows) == summary.total_interest
    assert summary.finance_charge == summary.total_of_payments - summary.amount_financed
    assert rows[-1].balance == summary.residual_value
    assert rows[-1].due_date == summary.maturity_date
