"""Partners' profiles and their history: a legal representative, contacts, addresses, brands
and settlement bank accounts on each partner, and ``partner_revisions``, one row per change.

Every existing partner gets an empty profile (no representative, no address, empty lists)
and revision 0 of its history, numbered 0 like a new partner's first revision whatever its
version now: the profile starts here, holding only its name.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)
LISTS = ("contacts", "brands", "bank_accounts")
ADDRESSES = ("registered_address", "business_address")
REASON = "profile history begins (revision 0004)"


def upgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("legal_representative", sa.String(), nullable=True))
        for name in LISTS:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in ADDRESSES:
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
    empty = ", ".join(f"{name} = '[]'" for name in LISTS)
    op.execute(f"UPDATE partners SET {empty}")
    with op.batch_alter_table("partners") as batch:
        for name in LISTS:
            batch.alter_column(name, existing_type=sa.Text(), nullable=False)
    op.create_table(
        "partner_revisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_revisions_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_revisions")),
        sa.UniqueConstraint(
            "partner_id", "revision", name=op.f("uq_partner_revisions_partner_id_revision")
        ),
    )
    _first_revisions()


def _first_revisions() -> None:
    """Revision 0 of each partner: its name, from nothing, by the system account. The id is
    the partner's own, which no other revision can have (ids are made fresh)."""
    bind = op.get_bind()
    partners = bind.execute(sa.text("SELECT id, name, created_at FROM partners")).all()
    rows = [
        {
            "id": partner.id,
            "partner_id": partner.id,
            "changes": json.dumps(
                [{"after": partner.name, "before": None, "field": "name"}],
                ensure_ascii=False,
                separators=(",", ":"),
                sort_keys=True,
            ),
            "created_at": partner.created_at,
        }
        for partner in partners
    ]
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO partner_revisions (id, partner_id, revision, reason, changes, "
                "actor_id, created_at) VALUES (:id, :partner_id, 0, :reason, :changes, "
                "'system', :created_at)"
            ),
            [row | {"reason": REASON} for row in rows],
        )


def downgrade() -> None:
    """Back to 0003: the profiles and their history are dropped. Refused while any partner
    has more of a profile than its name, which 0003 cannot hold."""
    bind = op.get_bind()
    revised = bind.scalar(sa.text("SELECT count(*) FROM partner_revisions WHERE revision > 0"))
    filled = bind.scalar(
        sa.text(
            "SELECT count(*) FROM partners WHERE legal_representative IS NOT NULL OR "
            "registered_address IS NOT NULL OR business_address IS NOT NULL OR "
            "contacts <> '[]' OR brands <> '[]' OR bank_accounts <> '[]'"
        )
    )
    if revised or filled:
        raise RuntimeError(
            "partners have profiles or profile revisions that revision 0003 cannot hold; "
            "the downgrade would lose them"
        )
    op.drop_table("partner_revisions")
    with op.batch_alter_table("partners") as batch:
        for name in ("legal_representative", *LISTS, *ADDRESSES):
            batch.drop_column(name)
