"""The product catalogue: products and the versions of their terms.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)
DRAFT = sa.text("state = 'draft'")


def _columns(kind: sa.types.TypeEngine[Any], *names: str, null: bool = False) -> list[Any]:
    return [sa.Column(name, kind, nullable=null) for name in names]


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        *_columns(sa.String(), "business_type", "name", "state"),
        *_columns(ID, "current_version_id", "draft_version_id", null=True),
        sa.Column("latest", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
    )
    op.create_index(op.f("ix_products_business_type_id"), "products", ["business_type", "id"])
    op.create_index(op.f("ix_products_state_id"), "products", ["state", "id"])
    op.create_table(
        "product_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        *_columns(sa.String(), "business_type", "name"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_columns(AMOUNT, "annual_rate_min", "annual_rate_max"),
        sa.Column("term_months", sa.Text(), nullable=False),
        *_columns(AMOUNT, "min_down_payment_ratio", "max_financed_ratio"),
        *_columns(sa.Text(), "schedule_methods", "fees"),
        sa.Column("residual", sa.String(), nullable=False),
        *_columns(AMOUNT, "residual_min_ratio", "residual_max_ratio", null=True),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("min_partner_rating", sa.String(length=1), nullable=True),
        sa.Column("partner_kinds", sa.Text(), nullable=False),
        *_columns(sa.String(), "state", "created_by"),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("published_by", sa.String(), nullable=True),
        sa.Column("published_at", INSTANT, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_versions_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_versions")),
        sa.UniqueConstraint(
            "product_id", "number", name=op.f("uq_product_versions_product_id_number")
        ),
    )
    op.create_index(
        "uq_product_versions_product_id_draft",
        "product_versions",
        ["product_id"],
        unique=True,
        sqlite_where=DRAFT,
        postgresql_where=DRAFT,
    )


def downgrade() -> None:
    """Back to 0008. Refused while any product is held: its versions are the terms
    applications are priced with, and 0008 cannot hold them."""
    held = op.get_bind().scalar(sa.text("SELECT count(*) FROM products")) or 0
    if held:
        raise RuntimeError(
            f"{held} products are held that revision 0008 cannot hold; the downgrade would "
            "lose them"
        )
    op.drop_table("product_versions")
    op.drop_table("products")
