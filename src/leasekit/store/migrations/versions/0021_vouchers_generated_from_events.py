"""Vouchers generated from business events: a voucher names the event type and the template
(name and version) that booked it, and each line its dimensions (contract, partner, product,
branch; lines indexed by contract for its sub-ledger). Events no template booked wait in
``unmapped_events``. Every new column of an existing table may be null (a voucher posted by
hand has no template), so existing rows need no default.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unmapped_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voucher_id", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmapped_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_unmapped_events_event_key")),
    )
    with op.batch_alter_table("unmapped_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unmapped_events_state_id"), ["state", "id"], unique=False
        )

    with op.batch_alter_table("voucher_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("partner_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("product", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("branch", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_voucher_lines_contract_id"), ["contract_id"], unique=False
        )

    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_vouchers_event_type_id"), ["event_type", "id"], unique=False
        )


def downgrade() -> None:
    """Back to 0019. Refused while a voucher came from an event or an event waits unmapped:
    0019 cannot say which template booked a voucher, and the queue would be lost."""
    bind = op.get_bind()
    generated = (
        bind.scalar(sa.text("SELECT count(*) FROM vouchers WHERE event_type IS NOT NULL")) or 0
    )
    queued = bind.scalar(sa.text("SELECT count(*) FROM unmapped_events")) or 0
    if generated or queued:
        raise RuntimeError(
            f"{generated} generated vouchers and {queued} unmapped events are held that "
            "revision 0019 cannot hold; the downgrade would lose them"
        )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_event_type_id"))
        batch_op.drop_column("template_version")
        batch_op.drop_column("template")
        batch_op.drop_column("event_type")

    with op.batch_alter_table("voucher_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_lines_contract_id"))
        batch_op.drop_column("branch")
        batch_op.drop_column("product")
        batch_op.drop_column("partner_id")
        batch_op.drop_column("contract_id")

    with op.batch_alter_table("unmapped_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unmapped_events_state_id"))

    op.drop_table("unmapped_events")
