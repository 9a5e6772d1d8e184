"""Partners' credit limits: an account per partner, the movements that use it, and the
requests that change it.

Each partner's ``credit_limit`` becomes the standing total of its new ``credit_limits``
account (nothing used or frozen, no temporary addition), and leaves ``partners`` together with
its ``currency``, which only that amount had.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)


def _amounts(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(name, AMOUNT, nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "credit_limits",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_amounts("total", "temporary"),
        sa.Column("temporary_until", sa.Date(), nullable=True),
        *_amounts("used", "frozen"),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(["id"], ["partners.id"], name=op.f("fk_credit_limits_id_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_limits")),
    )
    op.create_table(
        "limit_movements",
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_amounts("amount", "used_change", "frozen_change", "used_after", "frozen_after"),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_limit_movements_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_movements")),
    )
    op.create_index(
        op.f("ix_limit_movements_partner_id_reference"),
        "limit_movements",
        ["partner_id", "reference"],
    )
    op.create_index(
        op.f("ix_limit_movements_partner_id_id"), "limit_movements", ["partner_id", "id"]
    )
    op.create_table(
        "limit_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("increase", AMOUNT, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_limit_requests_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limit_requests")),
    )
    op.create_index(op.f("ix_limit_requests_partner_id_id"), "limit_requests", ["partner_id", "id"])
    op.create_index(op.f("ix_limit_requests_state_id"), "limit_requests", ["state", "id"])
    op.execute(
        "INSERT INTO credit_limits (id, version, currency, total, temporary, temporary_until, "
        "used, frozen, updated_at) SELECT id, 0, currency, credit_limit, '0', NULL, '0', '0', "
        "created_at FROM partners"
        if op.get_bind().dialect.name == "sqlite"
        else "INSERT INTO credit_limits (id, version, currency, total, temporary, "
        "temporary_until, used, frozen, updated_at) SELECT id, 0, currency, credit_limit, 0, "
        "NULL, 0, 0, created_at FROM partners"
    )
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("credit_limit")
        batch.drop_column("currency")


def downgrade() -> None:
    """Back to 0002: each partner gets its standing total back as its limit. Refused while
    any limit is in use or any request or movement exists, which 0002 cannot hold."""
    bind = op.get_bind()
    held = bind.scalar(sa.text("SELECT count(*) FROM limit_movements")) or 0
    held += bind.scalar(sa.text("SELECT count(*) FROM limit_requests")) or 0
    if held:
        raise RuntimeError(
            "partners' credit limits have movements or requests that revision 0002 cannot "
            "hold; the downgrade would lose them"
        )
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("credit_limit", AMOUNT, nullable=True))
    op.execute(
        "UPDATE partners SET currency = (SELECT currency FROM credit_limits c WHERE c.id = "
        "partners.id), credit_limit = (SELECT total FROM credit_limits c WHERE c.id = "
        "partners.id)"
    )
    with op.batch_alter_table("partners") as batch:
        batch.alter_column("currency", nullable=False)
        batch.alter_column("credit_limit", nullable=False)
    op.drop_table("limit_requests")
    op.drop_table("limit_movements")
    op.drop_table("credit_limits")
