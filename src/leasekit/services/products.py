"""The product catalogue: creating products, writing new versions of their terms, publishing
and retiring versions, and reading them.

A product is created with its first draft version (:data:`create_product`); a change of its
terms writes a new draft version and retires the draft it replaces (:data:`revise_product`);
publishing a version makes it the product's current one and retires the one before, in the
same transaction (:data:`transition_product_version`). Versions are never edited, so an
application priced with one can always be checked against it again
(:meth:`~leasekit.domain.products.ProductVersion.check`); :func:`current_version` gives the
version on sale to the work that prices applications.
"""

from __future__ import annotations

import attrs

from leasekit.domain.applications import BusinessType
from leasekit.domain.identity import Actor
from leasekit.domain.products import (
    PRODUCT_VERSION_LIFECYCLE,
    Product,
    ProductState,
    ProductTerms,
    ProductVersion,
    ProductVersionAction,
    ProductVersionState,
)
from leasekit.errors import ConflictError, ValidationError
from leasekit.services.commands import Work, at_version, command, transition_command
from leasekit.services.context import (
    ServiceContext,
    back_office_lists,
    back_office_only,
    page_size,
)
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import Page, Record, UnitOfWork

__all__ = [
    "CreateProduct",
    "ProductQuery",
    "ProductRevision",
    "create_product",
    "current_version",
    "get_product",
    "get_product_version",
    "list_product_versions",
    "list_products",
    "revise_product",
    "transition_product_version",
]


@attrs.frozen
class CreateProduct:
    code: str = attrs.field(
        metadata={"description": "The product's code, unique and never changed (``NCL-36``).",
                  "max_length": 40}
    )  # fmt: skip
    business_type: BusinessType
    terms: ProductTerms


@attrs.frozen
class ProductRevision:
    """New terms for the product at the version the caller last saw (``If-Match``)."""

    id: str
    terms: ProductTerms
    expected_version: int | None = None


@attrs.frozen
class ProductQuery:
    """Which products to list; every field left out matches all."""

    business_type: BusinessType | None = None
    state: ProductState | None = None
    code: str | None = None


@attrs.frozen
class ProductVersionQuery:
    product_id: str | None = None


def _version_event(work: Work, name: str, version: ProductVersion, **more: str | None) -> None:
    terms = version.terms
    work.event(
        name,
        "product_version",
        version.id,
        {
            "product_id": version.product_id,
            "number": version.number,
            "name": terms.name,
            "annual_rate_min": str(terms.annual_rate_min),
            "annual_rate_max": str(terms.annual_rate_max),
            **more,
        },
    )


@command(
    "create_product",
    subject="product",
    creates="product",
    reload=lambda uow, product_id: uow.products.get(product_id),
)
def create_product(work: Work, request: CreateProduct) -> Product:
    """Create a product with its first draft version.

    The product's code is unique and never changes, nor does its business type; its terms
    (rates, terms in months, down payment and financed ratios, schedule methods, fees,
    residual value rule, documents, partners who may sell it) are checked field by field. It
    goes on sale when another manager or director publishes the draft
    (``POST /product-versions/{id}/transitions``). Managers and directors only.
    """
    product, first = Product.create(
        code=request.code,
        business_type=request.business_type,
        terms=request.terms,
        actor=work.actor,
        at=work.at,
    )
    if work.uow.products.find_by_code(product.code) is not None:
        raise ValidationError.single("code", "another product has this code")
    work.uow.products.add(product)
    work.uow.product_versions.add(first)
    work.event(
        "product_created",
        "product",
        product.id,
        {"code": product.code, "business_type": str(product.business_type), "name": product.name},
    )
    _version_event(work, "product_version_drafted", first)
    return product


@command(
    "revise_product",
    subject="product",
    creates="product",
    reload=lambda uow, product_id: uow.products.get(product_id),
)
def revise_product(work: Work, request: ProductRevision) -> Product:
    """Write new terms for a product as a new draft version.

    Versions are never edited: the new terms become the next version, a draft, and a draft
    written before it is retired (its terms stay readable). The code and business type stay.
    """
    product = at_version(
        "product", request.id, work.uow.products.get_for_update(request.id),
        request.expected_version,
    )  # fmt: skip
    replaced = product.draft_version_id
    made = product.revise(request.terms, actor=work.actor, at=work.at)
    if replaced is not None:
        earlier = work.uow.product_versions.get(replaced)
        _retire(work, earlier, f"replaced by version {made.number}")
    work.uow.product_versions.add(made)
    work.uow.products.update(product)
    _version_event(work, "product_version_drafted", made, replaces=replaced)
    return product


def _retire(work: Work, version: ProductVersion, reason: str) -> None:
    """Retire *version* as part of another move, with the event the lifecycle records."""
    event = version.apply(
        ProductVersionAction.RETIRE,
        work.actor,
        at=work.at,
        business_date=work.business_date,
        reason=reason,
    )
    work.uow.product_versions.update(version)
    work.record(event)


def _put_on_sale(work: Work, version: ProductVersion) -> None:
    """On publishing: the product's current version before it is retired, and this one is
    current. The product's row is locked, so two moves of one product's versions queue."""
    product = work.uow.products.get_for_update(version.product_id)
    if product.current_version_id is not None:
        before = work.uow.product_versions.get(product.current_version_id)
        _retire(work, before, f"replaced by version {version.number}")
    product.published(version)
    work.uow.products.update(product)


def _take_off(work: Work, version: ProductVersion) -> None:
    """On retiring: a current version takes the product off sale; a draft is dropped."""
    product = work.uow.products.get_for_update(version.product_id)
    product.retired(version)
    work.uow.products.update(product)


transition_product_version = transition_command(
    "product_version",
    PRODUCT_VERSION_LIFECYCLE,
    lambda uow: uow.product_versions,
    after={
        ProductVersionAction.PUBLISH: _put_on_sale,
        ProductVersionAction.RETIRE: _take_off,
    },
)
"""``publish`` (by a manager or director who did not write it; the version before is
retired), ``retire`` with a reason (takes the product off sale, or drops a draft)."""


def current_version(uow: UnitOfWork, product_id: str) -> ProductVersion:
    """The version of *product_id* on sale now; a ``ConflictError`` when none is."""
    product = uow.products.get(product_id)
    if product.current_version_id is None:
        raise ConflictError(f"product {product.code} is {product.state}: it is not on sale")
    found = uow.product_versions.get(product.current_version_id)
    assert found.state is ProductVersionState.PUBLISHED
    return found


_BACK_OFFICE = "products"

get_product = reader(
    "get_product",
    "product",
    lambda uow: uow.products,
    """Get a product.

    Its code, business type, state (draft until a version is published, published while one
    is on sale, retired after), the name of its latest version, its current version and its
    open draft. Back-office staff only.""",
)
list_products: Lister[ProductQuery, Record] = lister(
    "list_products",
    ProductQuery,
    lambda uow: uow.products,
    back_office_lists(_BACK_OFFICE),
    """List products.

    Filter by business type and state (``published`` for those on sale). Back-office staff
    only.""",
)
get_product_version = reader(
    "get_product_version",
    "product version",
    lambda uow: uow.product_versions,
    """Get one version of a product's terms.

    Every term the version allows, its state, who wrote it and who published it. A version's
    terms never change once written. Back-office staff only.""",
)


def list_product_versions(
    ctx: ServiceContext,
    actor: Actor,
    product_id: str,
    /,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """List the versions of a product.

    Oldest first, drafts and retired ones included, each with its whole terms. Back-office
    staff only.
    """
    back_office_only(actor, _BACK_OFFICE)
    size = page_size(limit)
    with ctx.uow_factory() as uow:
        uow.products.get(product_id)
        return uow.product_versions.page(ProductVersionQuery(product_id), after=after, limit=size)
