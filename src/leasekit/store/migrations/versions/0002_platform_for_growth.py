"""Platform for growth: per-subscriber event delivery, an audit log chained after the fact,
users with a lifecycle and enrolment secrets, uniqueness the database enforces, paging indexes.

- ``outbox`` keeps only the events; ``outbox_pending`` queues them for fan-out and
  ``event_deliveries`` holds one row per event and subscriber. Events not delivered before
  the upgrade are queued again, for the subscribers installed now.
- ``audit_log`` entries get an auto-incremented ``id`` and the ``token_id`` that acted; their
  links move to ``audit_chain`` (same sequence numbers and hashes, so the chain verifies as
  before) and new entries wait in ``audit_unchained`` for the chainer.
- ``users.active`` becomes ``users.state``; users get an ``email``; the built-in ``system``
  account, which automated work acts as, is created; ``enrolments`` hold one-time secrets.
- Customers are unique per (country, id number, owner) and vehicles per VIN among those still
  registered. Duplicate customers stop the upgrade (they must be merged by a person); of
  duplicate registered VINs, all but the newest record are released.
- Names get a search key; lists get indexes in id order per partner and state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEARCH_KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
SYSTEM_USER_ID = "system"


def search_key(text: str) -> str:
    """``leasekit.store.schema.search_key``, copied so that this revision never changes."""
    return " ".join(text.split()).casefold()


def upgrade() -> None:
    _outbox()
    _audit_log()
    _users()
    _vehicles()
    _customers()
    _partners()
    _list_indexes()


def _outbox() -> None:
    op.create_table(
        "outbox_pending",
        sa.Column("event_id", COUNTER, autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox.id"], name=op.f("fk_outbox_pending_event_id_outbox")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_outbox_pending")),
    )
    op.execute(
        "INSERT INTO outbox_pending (event_id) SELECT id FROM outbox WHERE delivered_at IS NULL"
    )
    op.create_table(
        "event_deliveries",
        sa.Column("id", COUNTER, autoincrement=True, nullable=False),
        sa.Column("event_id", COUNTER, nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("subject_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox.id"], name=op.f("fk_event_deliveries_event_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_deliveries")),
        sa.UniqueConstraint(
            "event_id", "subscriber", name=op.f("uq_event_deliveries_event_id_subscriber")
        ),
    )
    op.create_index(
        op.f("ix_event_deliveries_status_next_attempt_at_id"),
        "event_deliveries",
        ["status", "next_attempt_at", "id"],
    )
    op.create_index(
        op.f("ix_event_deliveries_subscriber_subject_key_event_id"),
        "event_deliveries",
        ["subscriber", "subject_key", "event_id"],
    )
    op.drop_index(op.f("ix_outbox_delivered_at"), table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        for column in ("attempts", "last_error", "claim_token", "claimed_until", "delivered_at"):
            batch.drop_column(column)


def _audit_log() -> None:
    """Entries keep their sequence number as their id, and their links move to the chain."""
    op.execute("CREATE TABLE audit_log_v1 AS SELECT * FROM audit_log")
    op.drop_index(op.f("ix_audit_log_subject_subject_id_seq"), table_name="audit_log")
    op.drop_table("audit_log")
    op.create_table(
        "audit_log",
        sa.Column("id", COUNTER, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("token_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        op.f("ix_audit_log_subject_subject_id_id"), "audit_log", ["subject", "subject_id", "id"]
    )
    op.create_table(
        "audit_chain",
        sa.Column("seq", COUNTER, autoincrement=False, nullable=False),
        sa.Column("entry_id", COUNTER, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["audit_log.id"], name=op.f("fk_audit_chain_entry_id_audit_log")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_chain_entry_id")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_chain_hash")),
    )
    op.create_table(
        "audit_unchained",
        sa.Column("entry_id", COUNTER, autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["audit_log.id"], name=op.f("fk_audit_unchained_entry_id_audit_log")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_audit_unchained")),
    )
    op.execute(
        "INSERT INTO audit_log (id, at, actor_id, token_id, action, subject, subject_id, details) "
        "SELECT seq, at, actor_id, NULL, action, subject, subject_id, details FROM audit_log_v1"
    )
    op.execute(
        "INSERT INTO audit_chain (seq, entry_id, prev_hash, hash) "
        "SELECT seq, seq, prev_hash, hash FROM audit_log_v1"
    )
    op.drop_table("audit_log_v1")
    _continue_ids_after_copy("audit_log")


def _continue_ids_after_copy(table: str) -> None:
    """Rows were copied with their ids; PostgreSQL's sequence must start after them (SQLite
    continues from the largest id by itself)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _users() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("state", sa.String(), nullable=False, server_default="active"))
        batch.add_column(sa.Column("email", sa.String(), nullable=True))
    op.execute("UPDATE users SET state = 'disabled' WHERE NOT active")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("state", server_default=None)
        batch.drop_column("active")
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("id", "username", "display_name", "role", "state")),
        sa.column("partner_id"),
        sa.column("email"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer()),
    )
    op.bulk_insert(
        users,
        [
            {
                "id": SYSTEM_USER_ID,
                "username": SYSTEM_USER_ID,
                "display_name": "leasekit (automated work)",
                "role": "system",
                "state": "active",
                "partner_id": None,
                "email": None,
                "created_at": dt.datetime.now(dt.UTC),
                "version": 0,
            }
        ],
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("label", sa.String(), nullable=True))
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enrolments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_enrolments_secret_hash")),
    )
    op.create_index(op.f("ix_enrolments_user_id"), "enrolments", ["user_id"])


def _vehicles() -> None:
    with op.batch_alter_table("vehicles") as batch:
        batch.add_column(
            sa.Column("state", sa.String(), nullable=False, server_default="registered")
        )
    # Of several records holding one VIN, the newest is the one in use.
    op.execute(
        "UPDATE vehicles SET state = 'released' WHERE EXISTS (SELECT 1 FROM vehicles AS newer "
        "WHERE newer.vin = vehicles.vin AND (newer.created_at > vehicles.created_at OR "
        "(newer.created_at = vehicles.created_at AND newer.id > vehicles.id)))"
    )
    with op.batch_alter_table("vehicles") as batch:
        batch.alter_column("state", server_default=None)
        batch.drop_index(op.f("ix_vehicles_partner_id"))
        batch.create_index(op.f("ix_vehicles_partner_id_id"), ["partner_id", "id"])
        batch.create_index(
            "uq_vehicles_vin_registered",
            ["vin"],
            unique=True,
            sqlite_where=sa.text("state = 'registered'"),
            postgresql_where=sa.text("state = 'registered'"),
        )


def _refuse_duplicate_customers() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT country, COALESCE(partner_id, '(back office)') AS owner, COUNT(*) "
                "FROM customers GROUP BY country, id_number, partner_id HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if duplicates:
        listed = "; ".join(f"{n} in {country} for {owner}" for country, owner, n in duplicates[:10])
        raise RuntimeError(
            f"{len(duplicates)} customer id numbers are registered more than once by one owner "
            f"({listed}); merge those customers, then upgrade again"
        )


def _add_search_key(table: str) -> None:
    """A ``name_key`` column, filled in from the names as the application computes it."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("name_key", SEARCH_KEY, nullable=False, server_default=""))
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, name FROM {table}")).all()
    if rows:
        connection.execute(
            sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id"),
            [{"id": row.id, "key": search_key(row.name)} for row in rows],
        )
    with op.batch_alter_table(table) as batch:
        batch.alter_column("name_key", server_default=None)
        batch.create_index(op.f(f"ix_{table}_name_key"), ["name_key"])


def _customers() -> None:
    _refuse_duplicate_customers()
    _add_search_key("customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index(op.f("ix_customers_country_id_number"))
        batch.drop_index(op.f("ix_customers_partner_id"))
        batch.create_index(op.f("ix_customers_partner_id_id"), ["partner_id", "id"])
        batch.create_index(
            "uq_customers_country_id_number",
            ["country", "id_number"],
            unique=True,
            sqlite_where=sa.text("partner_id IS NULL"),
            postgresql_where=sa.text("partner_id IS NULL"),
        )
        batch.create_index(
            "uq_customers_country_id_number_partner_id",
            ["country", "id_number", "partner_id"],
            unique=True,
            sqlite_where=sa.text("partner_id IS NOT NULL"),
            postgresql_where=sa.text("partner_id IS NOT NULL"),
        )


def _partners() -> None:
    _add_search_key("partners")


def _list_indexes() -> None:
    """Pages in id order, per partner and per state, read from an index alone."""
    for table in ("applications", "contracts"):
        op.drop_index(op.f(f"ix_{table}_partner_id"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_state"), table_name=table)
        op.create_index(op.f(f"ix_{table}_partner_id_id"), table, ["partner_id", "id"])
        op.create_index(op.f(f"ix_{table}_state_id"), table, ["state", "id"])
    op.drop_index(op.f("ix_documents_owner_kind_owner_id"), table_name="documents")
    op.create_index(
        op.f("ix_documents_owner_kind_owner_id_id"), "documents", ["owner_kind", "owner_id", "id"]
    )


def downgrade() -> None:
    """Back to revision 0001's layout. Refused while the log holds entries that layout cannot
    hold (not chained yet, or naming the token that acted)."""
    _refuse_what_0001_cannot_hold()
    for table in ("applications", "contracts"):
        op.drop_index(op.f(f"ix_{table}_partner_id_id"), table_name=table)
        op.drop_index(op.f(f"ix_{table}_state_id"), table_name=table)
        op.create_index(op.f(f"ix_{table}_partner_id"), table, ["partner_id"])
        op.create_index(op.f(f"ix_{table}_state"), table, ["state"])
    op.drop_index(op.f("ix_documents_owner_kind_owner_id_id"), table_name="documents")
    op.create_index(
        op.f("ix_documents_owner_kind_owner_id"), "documents", ["owner_kind", "owner_id"]
    )
    with op.batch_alter_table("partners") as batch:
        batch.drop_index(op.f("ix_partners_name_key"))
        batch.drop_column("name_key")
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("uq_customers_country_id_number_partner_id")
        batch.drop_index("uq_customers_country_id_number")
        batch.drop_index(op.f("ix_customers_partner_id_id"))
        batch.drop_index(op.f("ix_customers_name_key"))
        batch.create_index(op.f("ix_customers_partner_id"), ["partner_id"])
        batch.create_index(op.f("ix_customers_country_id_number"), ["country", "id_number"])
        batch.drop_column("name_key")
    with op.batch_alter_table("vehicles") as batch:
        batch.drop_index("uq_vehicles_vin_registered")
        batch.drop_index(op.f("ix_vehicles_partner_id_id"))
        batch.create_index(op.f("ix_vehicles_partner_id"), ["partner_id"])
        batch.drop_column("state")
    _users_back()
    _audit_log_back()
    _outbox_back()


def _refuse_what_0001_cannot_hold() -> None:
    connection = op.get_bind()
    unchained = connection.execute(sa.text("SELECT COUNT(*) FROM audit_unchained")).scalar()
    with_tokens = connection.execute(
        sa.text("SELECT COUNT(*) FROM audit_log WHERE token_id IS NOT NULL")
    ).scalar()
    if unchained or with_tokens:
        raise RuntimeError(
            "the audit log holds entries revision 0001 cannot represent "
            f"({unchained} not chained yet, {with_tokens} naming their token); "
            "it cannot be downgraded without losing them"
        )


def _users_back() -> None:
    op.drop_index(op.f("ix_enrolments_user_id"), table_name="enrolments")
    op.drop_table("enrolments")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("label")
    op.execute(f"DELETE FROM users WHERE id = '{SYSTEM_USER_ID}'")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute("UPDATE users SET active = (state = 'active')")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("active", server_default=None)
        batch.drop_column("email")
        batch.drop_column("state")


def _audit_log_back() -> None:
    op.execute(
        "CREATE TABLE audit_log_v2 AS SELECT c.seq, e.at, e.actor_id, e.action, e.subject, "
        "e.subject_id, e.details, c.prev_hash, c.hash FROM audit_chain c "
        "JOIN audit_log e ON e.id = c.entry_id"
    )
    op.drop_table("audit_unchained")
    op.drop_table("audit_chain")
    op.drop_index(op.f("ix_audit_log_subject_subject_id_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.create_table(
        "audit_log",
        sa.Column("seq", COUNTER, autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    op.create_index(
        op.f("ix_audit_log_subject_subject_id_seq"), "audit_log", ["subject", "subject_id", "seq"]
    )
    op.execute("INSERT INTO audit_log SELECT * FROM audit_log_v2")
    op.drop_table("audit_log_v2")


def _outbox_back() -> None:
    """An event counts as delivered once every subscriber has it (or it had none)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.String(), nullable=True))
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outbox SET delivered_at = occurred_at WHERE id NOT IN "
        "(SELECT event_id FROM outbox_pending) AND id NOT IN (SELECT event_id FROM "
        "event_deliveries WHERE status IN ('pending', 'parked'))"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("attempts", server_default=None)
    op.create_index(op.f("ix_outbox_delivered_at"), "outbox", ["delivered_at"])
    op.drop_index(
        op.f("ix_event_deliveries_subscriber_subject_key_event_id"), table_name="event_deliveries"
    )
    op.drop_index(
        op.f("ix_event_deliveries_status_next_attempt_at_id"), table_name="event_deliveries"
    )
    op.drop_table("event_deliveries")
    op.drop_table("outbox_pending")
