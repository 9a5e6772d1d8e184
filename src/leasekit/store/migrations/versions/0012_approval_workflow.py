"""Approval tasks that climb the tiers: the partner and the product they concern, the tier
that approves the case, the claim's lease, who decided, the conditions of an approval, and a
key to filter a queue by tag.

An existing task takes its partner from its application, needs no higher tier than its own,
and keeps its tags.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)
INSTANT = sa.DateTime(timezone=True)
_FILLED = ("partner_id", "required_tier", "conditions", "tag_key")


def _tag_key(tags: str) -> str:
    return "|" + "".join(f"{tag}|" for tag in json.loads(tags))


def upgrade() -> None:
    with op.batch_alter_table("approval_tasks") as batch:
        batch.add_column(sa.Column("partner_id", ID, nullable=True))
        batch.add_column(sa.Column("product_code", sa.String(), nullable=True))
        batch.add_column(sa.Column("required_tier", sa.String(), nullable=True))
        batch.add_column(sa.Column("lock_expires_at", INSTANT, nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("conditions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("tag_key", sa.String(), nullable=True))
    bind = op.get_bind()
    tasks = bind.execute(sa.text("SELECT id, tags FROM approval_tasks")).all()
    for task_id, tags in tasks:
        bind.execute(
            sa.text("UPDATE approval_tasks SET tag_key = :key WHERE id = :id"),
            {"key": _tag_key(tags), "id": task_id},
        )
    op.execute(
        "UPDATE approval_tasks SET required_tier = tier, conditions = '{}', partner_id = "
        "(SELECT partner_id FROM applications "
        "WHERE applications.id = approval_tasks.application_id)"
    )
    with op.batch_alter_table("approval_tasks") as batch:
        for column in _FILLED:
            batch.alter_column(column, existing_type=sa.String(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_approval_tasks_partner_id_partners"), "partners", ["partner_id"], ["id"]
        )
        batch.drop_index("ix_approval_tasks_state_tier")
        batch.create_index(op.f("ix_approval_tasks_state_tier_id"), ["state", "tier", "id"])
        batch.create_index(op.f("ix_approval_tasks_partner_id_id"), ["partner_id", "id"])
        batch.create_index(op.f("ix_approval_tasks_product_code_id"), ["product_code", "id"])


def downgrade() -> None:
    with op.batch_alter_table("approval_tasks") as batch:
        batch.drop_index("ix_approval_tasks_product_code_id")
        batch.drop_index("ix_approval_tasks_partner_id_id")
        batch.drop_index("ix_approval_tasks_state_tier_id")
        batch.create_index("ix_approval_tasks_state_tier", ["state", "tier"])
        batch.drop_constraint("fk_approval_tasks_partner_id_partners", type_="foreignkey")
        for column in (*_FILLED, "product_code", "lock_expires_at", "decided_by", "reason"):
            batch.drop_column(column)
