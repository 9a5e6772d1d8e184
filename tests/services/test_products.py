"""The product catalogue through the services, on SQLite and PostgreSQL: a product is created
with a draft, published by someone other than its author, revised as new versions whose
predecessors stay as they were, and retired; every step is audited."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.demo import DEMO_PRODUCTS
from leasekit.domain.applications import BusinessType
from leasekit.domain.identity import Actor, Role
from leasekit.domain.products import ProductState, ProductVersionState
from leasekit.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    ValidationError,
)
from leasekit.services import products, users
from leasekit.services.context import ServiceContext
from leasekit.services.products import CreateProduct, ProductQuery, ProductRevision
from leasekit.store.audit import count_entries

LOAN, LEASE, OPERATING = DEMO_PRODUCTS


@pytest.fixture
def other_manager(ctx: ServiceContext, admin: Actor) -> Actor:
    request = users.CreateUser("manager2", "Second manager", Role.MANAGER)
    return users.create_user(ctx, admin, request).actor()


def _published(ctx: ServiceContext, author: Actor, publisher: Actor, request: CreateProduct):
    product = products.create_product(ctx, author, request)
    assert product.draft_version_id is not None
    products.transition_product_version(ctx, publisher, product.draft_version_id, "publish")
    return products.get_product(ctx, author, product.id)


def test_a_product_goes_on_sale_when_another_person_publishes_its_draft(
    ctx: ServiceContext, manager: Actor, director: Actor, engine: Engine
) -> None:
    product = products.create_product(ctx, manager, LEASE)
    assert (product.code, product.state, product.latest) == ("FL-STD", ProductState.DRAFT, 1)
    draft = products.get_product_version(ctx, manager, product.draft_version_id or "")
    assert draft.terms == LEASE.terms
    with pytest.raises(PermissionDeniedError, match="author"):
        products.transition_product_version(ctx, manager, draft.id, "publish")
    published = products.transition_product_version(ctx, director, draft.id, "publish")
    assert (published.state, published.published_by) == (
        ProductVersionState.PUBLISHED, director.user_id)  # fmt: skip
    product = products.get_product(ctx, manager, product.id)
    assert (product.state, product.current_version_id, product.draft_version_id) == (
        ProductState.PUBLISHED, draft.id, None)  # fmt: skip
    with ctx.uow_factory() as uow:
        assert products.current_version(uow, product.id).id == draft.id
    assert count_entries(engine) > 0


def test_a_revision_is_a_new_version_and_publishing_it_retires_the_old_one(
    ctx: ServiceContext, manager: Actor, director: Actor, other_manager: Actor
) -> None:
    product = _published(ctx, manager, director, LEASE)
    first = product.current_version_id
    dearer = attrs.evolve(LEASE.terms, annual_rate_max=Decimal("0.1299"))
    with pytest.raises(StaleVersionError):
        products.revise_product(ctx, director, ProductRevision(product.id, dearer, 0))
    revised = products.revise_product(
        ctx, director, ProductRevision(product.id, dearer, product.version)
    )
    assert (revised.latest, revised.current_version_id) == (2, first)
    second = revised.draft_version_id
    assert second is not None
    products.transition_product_version(ctx, other_manager, second, "publish")
    old = products.get_product_version(ctx, manager, first or "")
    assert (old.state, old.terms) == (ProductVersionState.RETIRED, LEASE.terms)
    product = products.get_product(ctx, manager, product.id)
    assert product.current_version_id == second
    page = products.list_product_versions(ctx, manager, product.id)
    assert [(v["number"], v["state"]) for v in page.items] == [(1, "retired"), (2, "published")]
    assert page.items[0]["terms"]["annual_rate_max"] == Decimal("0.0999")
    with ctx.uow_factory() as uow:
        history = [
            (entry.action, entry.actor_id)
            for version_id in (first or "", second)
            for entry in uow.audit.for_subject("product_version", version_id)
        ]
    assert history == [
        ("product_version_drafted", manager.user_id),
        ("product_version_published", director.user_id),
        ("product_version_retired", other_manager.user_id),
        ("product_version_drafted", director.user_id),
        ("product_version_published", other_manager.user_id),
    ]


def test_a_second_draft_replaces_the_first(
    ctx: ServiceContext, manager: Actor, director: Actor
) -> None:
    product = products.create_product(ctx, manager, LOAN)
    first = product.draft_version_id
    product = products.revise_product(ctx, manager, ProductRevision(product.id, LOAN.terms))
    assert product.draft_version_id != first
    dropped = products.get_product_version(ctx, manager, first or "")
    assert dropped.state is ProductVersionState.RETIRED
    with pytest.raises(IllegalTransitionError):
        products.transition_product_version(ctx, director, dropped.id, "publish")


def test_a_published_version_is_never_updated_in_the_database(
    ctx: ServiceContext, manager: Actor, director: Actor, engine: Engine
) -> None:
    product = _published(ctx, manager, director, LOAN)
    version_id = product.current_version_id or ""
    with engine.connect() as connection:
        before = dict(connection.execute(
            sa.text("SELECT * FROM product_versions WHERE id = :id"), {"id": version_id}
        ).mappings().one())  # fmt: skip
    version = products.get_product_version(ctx, manager, version_id)
    tampered = attrs.evolve(version, terms=attrs.evolve(version.terms, name="Cheaper loan"))
    with ctx.uow_factory() as uow:
        uow.product_versions.update(tampered)
        uow.commit()
    after = products.get_product_version(ctx, manager, version_id)
    assert after.terms == version.terms, "an update stores the lifecycle, never the terms"
    with engine.connect() as connection:
        row = (
            connection.execute(
                sa.text("SELECT * FROM product_versions WHERE id = :id"), {"id": version_id}
            )
            .mappings()
            .one()
        )
    assert {k: v for k, v in row.items() if k != "version"} == {
        k: v for k, v in before.items() if k != "version"
    }


def test_retiring_the_current_version_takes_the_product_off_sale(
    ctx: ServiceContext, manager: Actor, director: Actor
) -> None:
    product = _published(ctx, manager, director, OPERATING)
    with pytest.raises(ValidationError):
        products.transition_product_version(ctx, manager, product.current_version_id, "retire")
    products.transition_product_version(
        ctx, manager, product.current_version_id, "retire", "no more fleet business"
    )
    product = products.get_product(ctx, manager, product.id)
    assert (product.state, product.current_version_id) == (ProductState.RETIRED, None)
    with ctx.uow_factory() as uow, pytest.raises(ConflictError, match="not on sale"):
        products.current_version(uow, product.id)


def test_a_code_is_taken_once(ctx: ServiceContext, manager: Actor) -> None:
    products.create_product(ctx, manager, LOAN)
    with pytest.raises(ValidationError) as caught:
        products.create_product(ctx, manager, attrs.evolve(LOAN, code="ncl-new"))
    assert [error.field for error in caught.value.errors] == ["code"]


def test_lists_filter_by_business_type_and_state(
    ctx: ServiceContext, manager: Actor, director: Actor
) -> None:
    _published(ctx, manager, director, LOAN)
    products.create_product(ctx, manager, LEASE)
    _published(ctx, manager, director, OPERATING)

    def codes(query: ProductQuery) -> list[str]:
        return [item["code"] for item in products.list_products(ctx, manager, query).items]

    assert codes(ProductQuery(state=ProductState.PUBLISHED)) == ["NCL-NEW", "OL-FLEET"]
    assert codes(ProductQuery(business_type=BusinessType.FINANCE_LEASE)) == ["FL-STD"]
    page = products.list_products(ctx, manager, ProductQuery(), limit=2)
    assert len(page.items) == 2
    assert page.next_after is not None


def test_the_catalogue_is_the_back_offices(
    ctx: ServiceContext, manager: Actor, officer: Actor, dealer: Actor
) -> None:
    product = products.create_product(ctx, manager, LOAN)
    with pytest.raises(PermissionDeniedError):
        products.create_product(ctx, officer, LEASE)
    assert products.get_product(ctx, officer, product.id).code == "NCL-NEW"
    with pytest.raises(NotFoundError):
        products.get_product(ctx, dealer, product.id)
    with pytest.raises(PermissionDeniedError):
        products.list_products(ctx, dealer)
    with pytest.raises(PermissionDeniedError):
        products.list_product_versions(ctx, dealer, product.id)


def test_a_retried_create_makes_one_product(ctx: ServiceContext, manager: Actor) -> None:
    first = products.create_product(ctx, manager, LOAN, idempotency_key="catalogue-1")
    again = products.create_product(ctx, manager, LOAN, idempotency_key="catalogue-1")
    assert again.id == first.id
