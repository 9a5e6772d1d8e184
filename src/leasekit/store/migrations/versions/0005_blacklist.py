"""The blacklist of individuals, phones, vehicles and partners, and review flags on
applications.

Partners already blacklisted get their entry on the list, as the lifecycle would have made
it, so the list and the partners' states agree from the start.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)
ID = sa.String(length=32)
ON_LIST = sa.text("state <> 'removed'")
OPEN = sa.text("state = 'open'")


def _new_id() -> str:
    """An entity id as ``leasekit.domain.identity.new_id`` makes them (time, then random)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.randbits(80):020x}"


def upgrade() -> None:
    op.create_table(
        "blacklist_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("id_number", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("partner_id", ID, nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", INSTANT, nullable=False),
        sa.Column("removal_requested_by", sa.String(), nullable=True),
        sa.Column("removal_decided_by", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_blacklist_entries_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
    )
    for name, columns in (
        ("uq_blacklist_entries_country_id_number", ["country", "id_number"]),
        ("uq_blacklist_entries_phone", ["phone"]),
        ("uq_blacklist_entries_vin", ["vin"]),
        ("uq_blacklist_entries_partner_id", ["partner_id"]),
    ):
        op.create_index(
            name,
            "blacklist_entries",
            columns,
            unique=True,
            sqlite_where=ON_LIST,
            postgresql_where=ON_LIST,
        )
    op.create_index(op.f("ix_blacklist_entries_state_id"), "blacklist_entries", ["state", "id"])
    op.create_index(op.f("ix_blacklist_entries_kind_id"), "blacklist_entries", ["kind", "id"])
    op.create_table(
        "review_flags",
        sa.Column("id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("raised_at", INSTANT, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_review_flags_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_review_flags_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flags")),
    )
    op.create_index(
        "uq_review_flags_application_id_cause",
        "review_flags",
        ["application_id", "cause"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    for columns in (["application_id", "id"], ["partner_id", "id"], ["state", "id"]):
        op.create_index(op.f(f"ix_review_flags_{'_'.join(columns)}"), "review_flags", columns)
    _list_blacklisted_partners()


def _list_blacklisted_partners() -> None:
    bind = op.get_bind()
    partners = bind.execute(sa.text("SELECT id FROM partners WHERE state = 'blacklisted'"))
    entries = sa.table(
        "blacklist_entries",
        *(sa.column(name) for name in ("id", "version", "kind", "partner_id", "reason")),
        *(sa.column(name) for name in ("evidence", "added_by", "state")),
        sa.column("added_at", INSTANT),
    )
    rows = [
        {
            "id": _new_id(),
            "version": 0,
            "kind": "partner",
            "partner_id": partner_id,
            "reason": "blacklisted before the blacklist was kept; the partner's audit trail "
            "says why",
            "evidence": "[]",
            "added_by": "system",
            "added_at": dt.datetime.now(dt.UTC),
            "state": "listed",
        }
        for (partner_id,) in partners
    ]
    if rows:
        op.bulk_insert(entries, rows)


def downgrade() -> None:
    """Back to 0004. Refused while the list holds anything but the partners' mirror entries
    (which the partners' states keep) or any application is flagged: 0004 cannot hold them."""
    bind = op.get_bind()
    held = bind.scalar(sa.text("SELECT count(*) FROM blacklist_entries WHERE kind <> 'partner'"))
    held = (held or 0) + (bind.scalar(sa.text("SELECT count(*) FROM review_flags")) or 0)
    if held:
        raise RuntimeError(
            "the blacklist or the review flags hold records that revision 0004 cannot hold; "
            "the downgrade would lose them"
        )
    op.drop_table("review_flags")
    op.drop_table("blacklist_entries")
