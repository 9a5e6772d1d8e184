"""Partners' computed ratings, with the figures behind each, and rating overrides.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)
SCHEDULED = sa.text("\"trigger\" = 'scheduled'")


def _columns(kind: sa.types.TypeEngine[Any], *names: str) -> list[sa.Column[Any]]:
    return [sa.Column(name, kind, nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "partner_ratings",
        sa.Column("id", ID, nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("score", AMOUNT, nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("computed_by", sa.String(), nullable=False),
        sa.Column("computed_at", INSTANT, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        *_columns(sa.Date(), "as_of", "since"),
        *_columns(sa.Integer(), "applications", "decided", "approved"),
        sa.Column("approval_rate", AMOUNT, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("volume", AMOUNT, nullable=False),
        *_columns(sa.Integer(), "contracts", "overdue_contracts"),
        sa.Column("overdue_rate", AMOUNT, nullable=True),
        *_columns(sa.Integer(), "fraud_hits", "documents", "document_defects"),
        sa.Column("defect_rate", AMOUNT, nullable=True),
        sa.Column("months_in_business", sa.Integer(), nullable=False),
        *_columns(AMOUNT, "limit", "exposure"),
        sa.Column("utilisation", AMOUNT, nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_ratings_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_ratings")),
    )
    op.create_index(
        op.f("ix_partner_ratings_partner_id_id"), "partner_ratings", ["partner_id", "id"]
    )
    op.create_index(
        "uq_partner_ratings_partner_id_as_of",
        "partner_ratings",
        ["partner_id", "as_of"],
        unique=True,
        sqlite_where=SCHEDULED,
        postgresql_where=SCHEDULED,
    )
    op.create_table(
        "rating_overrides",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("computed_grade", sa.String(length=1), nullable=True),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requester_role", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_rating_overrides_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_overrides")),
    )
    for columns in (["partner_id", "id"], ["state", "id"]):
        op.create_index(
            op.f(f"ix_rating_overrides_{'_'.join(columns)}"), "rating_overrides", columns
        )


def downgrade() -> None:
    op.drop_table("rating_overrides")
    op.drop_table("partner_ratings")
