"""Partners' kinds, which decide their onboarding documents, and defects reviewers record on
documents.

Every existing partner becomes a ``new_car_dealer``, the kind onboarding assumes when none is
given. Partners already approved stay as they are; one still under review needs its
onboarding documents before it is approved, like any new partner.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)
OPEN = sa.text("state = 'open'")
DEFAULT_KIND = "new_car_dealer"


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("kind", sa.String(), nullable=True))
    op.execute(sa.text("UPDATE partners SET kind = :kind").bindparams(kind=DEFAULT_KIND))
    with op.batch_alter_table("partners") as batch:
        batch.alter_column("kind", existing_type=sa.String(), nullable=False)
    op.create_table(
        "document_defects",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_id", ID, nullable=False),
        sa.Column("document_kind", sa.String(), nullable=False),
        sa.Column("partner_id", ID, nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("resolved_at", INSTANT, nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_defects_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_document_defects_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_defects")),
    )
    op.create_index(
        "uq_document_defects_document_id_kind",
        "document_defects",
        ["document_id", "kind"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    for columns in (
        ["document_id", "id"],
        ["partner_id", "id"],
        ["partner_id", "recorded_at"],
        ["state", "id"],
    ):
        op.create_index(
            op.f(f"ix_document_defects_{'_'.join(columns)}"), "document_defects", columns
        )


def downgrade() -> None:
    """Back to 0005. Refused while any defect is recorded or any partner is of another kind
    than the one 0005 assumed: 0005 cannot hold them."""
    bind = op.get_bind()
    held = bind.scalar(sa.text("SELECT count(*) FROM document_defects")) or 0
    held += (
        bind.scalar(
            sa.text("SELECT count(*) FROM partners WHERE kind <> :kind").bindparams(
                kind=DEFAULT_KIND
            )
        )
        or 0
    )
    if held:
        raise RuntimeError(
            "document defects, or partners of another kind than new_car_dealer, are held that "
            "revision 0005 cannot hold; the downgrade would lose them"
        )
    op.drop_table("document_defects")
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("kind")
