"""Face photos' perceptual hashes, banded for the search for near-duplicates.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)
BANDS = tuple(f"band{index}" for index in range(4))
REFERENCES = (("document_id", "documents"), ("application_id", "applications"),
              ("customer_id", "customers"), ("partner_id", "partners"))  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "face_photo_hashes",
        sa.Column("id", ID, nullable=False),
        *(sa.Column(column, ID, nullable=False) for column, _ in REFERENCES),
        sa.Column("perceptual_hash", sa.String(length=16), nullable=False),
        *(sa.Column(band, sa.Integer(), nullable=False) for band in BANDS),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{table}.id"], name=op.f(f"fk_face_photo_hashes_{column}_{table}")
            )
            for column, table in REFERENCES
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_photo_hashes")),
        sa.UniqueConstraint("document_id", name=op.f("uq_face_photo_hashes_document_id")),
    )
    for column in ("application_id", "customer_id", *BANDS):
        op.create_index(op.f(f"ix_face_photo_hashes_{column}"), "face_photo_hashes", [column])


def downgrade() -> None:
    op.drop_table("face_photo_hashes")
