"""The product catalogue: one row per product and one per version of its terms.

A version's terms are written when it is inserted and never again: the version repository's
update writes its lifecycle columns only (state, who published it and when), so a version an
application was priced with reads the same for ever. The database holds the rules a race
could break: one product per code, one number per version of a product, at most one open
draft per product (a partial unique index). One published version per product is kept by
the product's row, locked by every publication and retirement of its versions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.products import Product, ProductVersion, ProductVersionState
from leasekit.store.repository import Rule, SqlRepository, Stored, repository, write
from leasekit.store.schema import ID_LENGTH, EntityRow, currency_column, reference, unique_where

__all__ = [
    "ProductRepository",
    "ProductRow",
    "ProductVersionRepository",
    "ProductVersionRow",
]


class ProductRow(EntityRow):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(40))
    business_type: Mapped[str]
    name: Mapped[str]
    state: Mapped[str]
    current_version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    draft_version_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    latest: Mapped[int]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]

    __table_args__ = (
        UniqueConstraint("code"),
        Index(None, "business_type", "id"),
        Index(None, "state", "id"),
    )


@repository("products")
class ProductRepository(SqlRepository[Product]):
    stored = Stored.of(
        "product",
        ProductRow,
        Product,
        rules=[Rule("uq_products_code", ("code",), "code", "another product has this code")],
    )

    def find_by_code(self, code: str) -> Product | None:
        found = self._find(self.stored.table.c.code == code)
        return found[0] if found else None

    def get_for_update(self, product_id: str) -> Product:
        """The product, locked until the transaction ends: moves of its versions queue here."""
        return self._get(product_id, for_update=True)


_DRAFT: Final = f"state = '{ProductVersionState.DRAFT}'"


class ProductVersionRow(EntityRow):
    """A version of a product's terms; only its lifecycle columns are ever updated."""

    __tablename__ = "product_versions"

    product_id: Mapped[str] = reference("products", index=False)
    number: Mapped[int]
    business_type: Mapped[str]
    name: Mapped[str]
    currency: Mapped[str] = currency_column()
    annual_rate_min: Mapped[Decimal]
    annual_rate_max: Mapped[Decimal]
    term_months: Mapped[list[Any]]
    min_down_payment_ratio: Mapped[Decimal]
    max_financed_ratio: Mapped[Decimal]
    schedule_methods: Mapped[list[Any]]
    fees: Mapped[list[Any]]
    residual: Mapped[str]
    residual_min_ratio: Mapped[Decimal | None]
    residual_max_ratio: Mapped[Decimal | None]
    documents: Mapped[list[Any]]
    min_partner_rating: Mapped[str | None] = mapped_column(String(1))
    partner_kinds: Mapped[list[Any]]
    return_fee: Mapped[Decimal | None]
    state: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[dt.datetime]
    published_by: Mapped[str | None]
    published_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("product_id", "number"),
        unique_where("uq_product_versions_product_id_draft", "product_id", where=_DRAFT),
    )


_LIFECYCLE_COLUMNS: Final = ("state", "published_by", "published_at")
"""What an update of a version may write: never its terms."""
_CHANGED_AT_ONCE: Final = "the product changed at the same time; read it again"


@repository("product_versions")
class ProductVersionRepository(SqlRepository[ProductVersion]):
    stored = Stored.of(
        "product version",
        ProductVersionRow,
        ProductVersion,
        rules=[
            Rule("uq_product_versions_product_id_number", ("product_id", "number"), "number",
                 _CHANGED_AT_ONCE),
            Rule("uq_product_versions_product_id_draft", ("product_id",), "product_id",
                 _CHANGED_AT_ONCE),
        ],
    )  # fmt: skip

    def update(self, entity: ProductVersion) -> None:
        """Store a move of *entity* (compare-and-set on ``version``): its state and who
        published it, never its terms, which stay as they were inserted."""
        table = self._table
        columns = self.stored.mapper.columns(entity)
        statement = (
            sa.update(table)
            .where(table.c.id == entity.id, table.c.version == entity.version)
            .values({name: columns[name] for name in _LIFECYCLE_COLUMNS})
            .values(version=entity.version + 1)
        )
        if write(self._session, self.stored.kind, statement, rules=self.stored.rules) != 1:
            raise self._lost_update(entity.id, entity.version)
        entity.version += 1
