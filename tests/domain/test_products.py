"""The product catalogue: terms checked field by field, versions that never change once
written and are published by someone other than their author, requests checked against a
version with every field outside it named, and who may sell a product."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.applications import BusinessType, RequestedTerms
from leasekit.domain.documents import DocumentKind
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import Partner, PartnerKind, PartnerRating, PartnerState
from leasekit.domain.products import (
    PRODUCT_VERSION_LIFECYCLE,
    Product,
    ProductFee,
    ProductState,
    ProductTerms,
    ProductVersion,
    ProductVersionState,
    ResidualRule,
    product_terms_errors,
    term_months_between,
)
from leasekit.errors import (
    FieldError,
    IllegalTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from leasekit.money import Money

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
MANAGER = Actor("manager-1", Role.MANAGER)
DIRECTOR = Actor("director-1", Role.DIRECTOR)
OFFICER = Actor("officer-1", Role.OFFICER)


def terms(**changes: object) -> ProductTerms:
    """A finance lease: 4.99-9.99 %, 12 to 60 months, 20 % down, at most 85 % financed."""
    made = ProductTerms(
        name="Direct finance lease",
        currency="CNY",
        annual_rate_min=Decimal("0.0499"),
        annual_rate_max=Decimal("0.0999"),
        term_months=term_months_between(12, 60),
        min_down_payment_ratio=Decimal("0.2"),
        max_financed_ratio=Decimal("0.85"),
        schedule_methods=("annuity", "flat"),
        fees=(ProductFee("handling", rate=Decimal("0.01"), financed=True),),
        residual=ResidualRule.ALLOWED,
        residual_max_ratio=Decimal("0.3"),
        documents=(DocumentKind.ID_CARD_FRONT, DocumentKind.VEHICLE_INVOICE),
    )
    return attrs.evolve(made, **changes)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def requested(**changes: object) -> RequestedTerms:
    fields: dict[str, object] = {
        "vehicle_price": cny("200000.00"),
        "down_payment": cny("40000.00"),
        "term_months": 36,
        "annual_rate": Decimal("0.0599"),
        "residual_value": cny("20000.00"),
    }
    return RequestedTerms(**(fields | changes))  # type: ignore[arg-type]


def created(**changes: object) -> tuple[Product, ProductVersion]:
    return Product.create(
        code="fl-std", business_type="finance_lease", terms=terms(**changes), actor=MANAGER,
        at=AT,
    )  # fmt: skip


def partner(
    kind: PartnerKind = PartnerKind.NEW_CAR_DEALER,
    rating: PartnerRating | None = PartnerRating.B,
    state: PartnerState = PartnerState.ACTIVE,
) -> Partner:
    return Partner("p-1", "Sunrise Motors", "CN", "x", kind, rating, state, AT)


def fields(errors: list[FieldError] | tuple[FieldError, ...]) -> list[str]:
    return [error.field for error in errors]


# --- terms ------------------------------------------------------------------------------------


def test_a_product_starts_with_a_draft_version_of_checked_terms() -> None:
    product, first = created(term_months=(36, 12, 24), schedule_methods=("flat", "annuity"))
    assert (product.code, product.business_type) == ("FL-STD", BusinessType.FINANCE_LEASE)
    assert (product.state, product.draft_version_id, product.latest) == (
        ProductState.DRAFT, first.id, 1)  # fmt: skip
    assert (first.number, first.state, first.created_by) == (1, ProductVersionState.DRAFT,
                                                              "manager-1")  # fmt: skip
    assert first.terms.term_months == (12, 24, 36)
    assert first.terms.schedule_methods == ("annuity", "flat"), "in the calculator's order"


def test_every_fault_of_the_terms_is_named_by_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        created(
            name=" ",
            currency="XYZ",
            annual_rate_min=Decimal("0.09"),
            annual_rate_max=Decimal("0.05"),
            term_months=(12, 0, 12),
            min_down_payment_ratio=Decimal("1.5"),
            max_financed_ratio=Decimal(0),
            schedule_methods=("balloon",),
            residual=ResidualRule.REQUIRED,
            residual_min_ratio=None,
            documents=(DocumentKind.ID_CARD_FRONT, DocumentKind.ID_CARD_FRONT),
        )
    assert set(fields(caught.value.errors)) == {
        "terms.name", "terms.currency", "terms.annual_rate_max", "terms.term_months",
        "terms.min_down_payment_ratio", "terms.max_financed_ratio", "terms.schedule_methods",
        "terms.residual_min_ratio", "terms.documents",
    }  # fmt: skip
    messages = {str(error) for error in caught.value.errors}
    assert "terms.annual_rate_max: 0.05 is below annual_rate_min 0.09" in messages
    assert (
        "terms.schedule_methods: 'balloon' is not one of annuity, equal_principal, "
        "interest_only, flat" in messages
    )


def test_a_fee_is_an_amount_or_a_rate_in_the_products_currency() -> None:
    fees = (
        ProductFee("both", amount=Decimal("10.00"), rate=Decimal("0.01")),
        ProductFee("cents", amount=Decimal("10.001")),
        ProductFee("rate", rate=Decimal("2")),
    )
    with pytest.raises(ValidationError) as caught:
        created(fees=fees)
    assert fields(caught.value.errors) == [
        "terms.fees[0]", "terms.fees[1].amount", "terms.fees[2].rate"]  # fmt: skip


def test_a_code_is_letters_digits_and_dashes() -> None:
    with pytest.raises(ValidationError) as caught:
        Product.create(code="new car/1", business_type="barter", terms=terms(), actor=MANAGER,
                       at=AT)  # fmt: skip
    assert fields(caught.value.errors) == ["code", "business_type"]


def test_only_managers_and_directors_write_products() -> None:
    with pytest.raises(PermissionDeniedError):
        Product.create(code="X", business_type="loan", terms=terms(), actor=OFFICER, at=AT)


# --- versions ----------------------------------------------------------------------------------


def test_versions_are_immutable_and_editing_writes_the_next_draft() -> None:
    product, first = created()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.terms.annual_rate_max = Decimal("0.2")  # type: ignore[misc]
    second = product.revise(terms(annual_rate_max=Decimal("0.12")), actor=DIRECTOR, at=AT)
    assert (second.number, second.state, product.draft_version_id) == (
        2, ProductVersionState.DRAFT, second.id)  # fmt: skip
    assert first.terms.annual_rate_max == Decimal("0.0999")


def test_the_author_may_not_publish_their_own_version() -> None:
    _, first = created()
    with pytest.raises(PermissionDeniedError, match="another manager or director"):
        first.apply("publish", MANAGER, at=AT, business_date=DAY)
    first.apply("publish", DIRECTOR, at=AT, business_date=DAY)
    assert (first.state, first.published_by, first.published_at) == (
        ProductVersionState.PUBLISHED, "director-1", AT)  # fmt: skip


def test_a_published_version_is_retired_with_a_reason_and_never_comes_back() -> None:
    product, first = created()
    first.apply("publish", DIRECTOR, at=AT, business_date=DAY)
    product.published(first)
    assert (product.state, product.current_version_id) == (ProductState.PUBLISHED, first.id)
    with pytest.raises(ValidationError):
        first.apply("retire", MANAGER, at=AT, business_date=DAY)
    event = first.apply("retire", MANAGER, at=AT, business_date=DAY, reason="rates went up")
    assert event.name == "product_version_retired"
    product.retired(first)
    assert (product.state, product.current_version_id) == (ProductState.RETIRED, None)
    with pytest.raises(IllegalTransitionError):
        first.apply("publish", DIRECTOR, at=AT, business_date=DAY)


def test_the_lifecycle_is_draft_published_retired() -> None:
    assert set(PRODUCT_VERSION_LIFECYCLE.states) == {"draft", "published", "retired"}
    assert PRODUCT_VERSION_LIFECYCLE.final == frozenset({"retired"})


# --- checking a request --------------------------------------------------------------------


def test_a_request_inside_the_product_has_no_faults() -> None:
    _, version = created()
    assert version.check(requested(), "annuity") == []


def test_each_field_outside_the_product_is_named_with_what_it_allows() -> None:
    _, version = created()
    faults = version.check(
        requested(
            term_months=72,
            annual_rate=Decimal("0.12"),
            down_payment=cny("20000.00"),
            residual_value=cny("80000.00"),
        ),
        "equal_principal",
    )
    assert [str(fault) for fault in faults] == [
        "term_months: 72 is not one of 12, 24, 36, 48, 60",
        "annual_rate: 0.12 is outside 0.0499 to 0.0999",
        "schedule_method: 'equal_principal' is not one of annuity, flat",
        "down_payment: 20000.00 is below the product's minimum of 20% of the price (40000.00 CNY)",
        "amount_financed: 181800.00 is above the product's maximum of 85% of the price "
        "(170000.00 CNY)",
        "residual_value: 80000.00 is 40% of the price, outside the product's up to 30%",
    ]


def test_financed_fees_count_towards_the_amount_financed() -> None:
    _, version = created(min_down_payment_ratio=Decimal("0.1"))
    # 200000 - 30000 = 170000, plus a 1 % fee of 1700: above 85 %.
    faults = version.check(requested(down_payment=cny("30000.00")))
    assert fields(faults) == ["amount_financed"]


@pytest.mark.parametrize(
    ("rule", "low", "residual", "expected"),
    [
        (ResidualRule.NONE, None, "1000.00", "residual_value: the product takes no residual value"),
        (ResidualRule.NONE, None, None, None),
        (ResidualRule.REQUIRED, "0.2", None, "residual_value: required: 20% to 30% of the price"),
        (ResidualRule.REQUIRED, "0.2", "50000.00", None),
        (ResidualRule.REQUIRED, "0.2", "20000.00",
         "residual_value: 20000.00 is 10% of the price, outside the product's 20% to 30%"),
        (ResidualRule.ALLOWED, None, None, None),
    ],
)  # fmt: skip
def test_residual_rules(
    rule: ResidualRule, low: str | None, residual: str | None, expected: str | None
) -> None:
    high = None if rule is ResidualRule.NONE else Decimal("0.3")
    _, version = created(
        residual=rule,
        residual_min_ratio=None if low is None else Decimal(low),
        residual_max_ratio=high,
    )
    faults = version.check(requested(residual_value=None if residual is None else cny(residual)))
    assert [str(fault) for fault in faults] == ([] if expected is None else [expected])


def test_a_request_in_another_currency_is_refused_on_the_price() -> None:
    usd = Money(Decimal("200000.00"), "USD")
    request = requested(vehicle_price=usd, down_payment=Money(Decimal("40000.00"), "USD"),
                        residual_value=None)  # fmt: skip
    assert fields(product_terms_errors(terms(), request)) == ["vehicle_price"]


# --- who may sell it ------------------------------------------------------------------------


def test_only_a_published_version_is_sellable() -> None:
    _, version = created()
    verdict = version.sellable_by(partner())
    assert not verdict
    assert verdict.reason == "version 1 is draft, not on sale"


@pytest.mark.parametrize(
    ("seller", "reason"),
    [
        (partner(), None),
        (partner(rating=PartnerRating.A), None),
        (partner(rating=PartnerRating.C),
         "partner Sunrise Motors is rated C; it needs B or better"),
        (partner(rating=None), "partner Sunrise Motors is not rated; it needs B or better"),
        (partner(kind=PartnerKind.BROKER), "a broker may not sell it; only new_car_dealer, "
         "fleet_dealer"),
        (partner(state=PartnerState.SUSPENDED),
         "partner Sunrise Motors is suspended: it may not sell"),
        (partner(state=PartnerState.WATCH), None),
    ],
)  # fmt: skip
def test_sellable_by_rating_kind_and_state(seller: Partner, reason: str | None) -> None:
    _, version = created(
        min_partner_rating=PartnerRating.B,
        partner_kinds=(PartnerKind.NEW_CAR_DEALER, PartnerKind.FLEET_DEALER),
    )
    version.apply("publish", DIRECTOR, at=AT, business_date=DAY)
    verdict = version.sellable_by(seller)
    assert (bool(verdict), verdict.reason) == (reason is None, reason)


def test_without_limits_any_trading_partner_sells_it() -> None:
    _, version = created()
    version.apply("publish", DIRECTOR, at=AT, business_date=DAY)
    assert version.sellable_by(partner(kind=PartnerKind.BROKER, rating=None))


def test_fee_amounts_are_written_to_the_currencys_decimals() -> None:
    _, version = created(fees=(ProductFee(" GPS  tracker ", amount=Decimal(1500)),))
    assert version.terms.fees == (ProductFee("GPS tracker", amount=Decimal("1500.00")),)
    assert str(version.terms.fees[0].amount) == "1500.00"
