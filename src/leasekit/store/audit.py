"""The audit log: an append-only table whose entries are chained by SHA-256.

Each entry's ``hash`` covers its content and the previous entry's hash, so changing or
deleting any entry breaks every link after it, and :func:`verify` names the first entry
that no longer fits. Appends are serialised through the single ``audit_chain_head`` row:
the first statement of an append increments its ``seq``, which waits for any other
transaction appending at the same time (a row lock on PostgreSQL, the write lock on
SQLite), so two transactions can never both extend the same entry.

The chain proves that the log was not edited after the fact by someone who could not also
rewrite every later entry and the head; it is not a signature. Copy :func:`chain_head`
somewhere else (a ledger, a daily e-mail) to make a full rewrite detectable too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from leasekit.store.tables import AuditChainHeadRow, AuditEntryRow
from leasekit.store.types import JsonValue, canonical_json

__all__ = [
    "CHAIN_HEAD_ID",
    "GENESIS_HASH",
    "AuditAction",
    "AuditEntry",
    "AuditReport",
    "append",
    "chain_head",
    "entries_for",
    "entry_hash",
    "verify",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first entry."""
CHAIN_HEAD_ID: Final = 1
"""The primary key of the one row of ``audit_chain_head``."""
_BATCH: Final = 1000
_HEAD: Final = sa.select(AuditChainHeadRow.seq, AuditChainHeadRow.hash).where(
    AuditChainHeadRow.id == CHAIN_HEAD_ID
)
"""The newest sequence number and hash, as the chain head records them."""


@attrs.frozen
class AuditEntry:
    """One recorded action: who did what to which object, when, and the details."""

    seq: int
    at: dt.datetime
    actor_id: str | None
    action: str
    subject: str
    subject_id: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@attrs.frozen
class AuditAction:
    """What an entry is to record, before :func:`append` numbers and hashes it."""

    at: dt.datetime
    actor_id: str | None
    action: str
    subject: str
    subject_id: str
    details: Mapping[str, JsonValue]


@attrs.frozen
class AuditReport:
    """The outcome of :func:`verify`; ``first_broken`` is the first entry that fails."""

    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None


def _timestamp(at: dt.datetime) -> str:
    """The instant as hashed: UTC, microseconds, which both databases store exactly."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: dt.datetime,
    actor_id: str | None,
    action: str,
    subject: str,
    subject_id: str,
    details: Mapping[str, JsonValue],
) -> str:
    """SHA-256 (hex) of *prev_hash* followed by the entry in canonical JSON."""
    body = canonical_json(
        {
            "seq": seq,
            "at": _timestamp(at),
            "actor_id": actor_id,
            "action": action,
            "subject": subject,
            "subject_id": subject_id,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _reserve(session: Session, count: int) -> tuple[int, str]:
    """Reserve the next *count* sequence numbers, holding the chain head until the transaction
    ends; return the first of them and the hash the first entry links to."""
    bump = (
        sa.update(AuditChainHeadRow)
        .where(AuditChainHeadRow.id == CHAIN_HEAD_ID)
        .values(seq=AuditChainHeadRow.seq + count)
        .execution_options(synchronize_session=False)
    )
    session.execute(bump)
    head = session.execute(_HEAD).one_or_none()
    if head is None:
        raise RuntimeError("the audit chain head is missing; run the database migrations")
    return head.seq - count + 1, head.hash


def append(session: Session, actions: Sequence[AuditAction]) -> list[AuditEntry]:
    """Add *actions* to the chain, in order, inside *session*'s transaction; committing is
    the caller's. However many there are, this takes three statements: reserve their numbers,
    insert the entries, move the head."""
    if not actions:
        return []
    seq, prev_hash = _reserve(session, len(actions))
    entries: list[AuditEntry] = []
    for action in actions:
        fields = attrs.asdict(action, recurse=False)
        digest = entry_hash(prev_hash, seq=seq, **fields)
        entries.append(AuditEntry(seq=seq, prev_hash=prev_hash, hash=digest, **fields))
        seq, prev_hash = seq + 1, digest
    rows = [
        {**attrs.asdict(entry, recurse=False), "details": dict(entry.details)} for entry in entries
    ]
    session.execute(sa.insert(AuditEntryRow), rows)
    session.execute(
        sa.update(AuditChainHeadRow)
        .where(AuditChainHeadRow.id == CHAIN_HEAD_ID)
        .values(hash=prev_hash)
        .execution_options(synchronize_session=False)
    )
    return entries


def _to_entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor_id=row.actor_id,
        action=row.action,
        subject=row.subject,
        subject_id=row.subject_id,
        details=row.details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


_ENTRY_COLUMNS: Final = (
    AuditEntryRow.seq,
    AuditEntryRow.at,
    AuditEntryRow.actor_id,
    AuditEntryRow.action,
    AuditEntryRow.subject,
    AuditEntryRow.subject_id,
    AuditEntryRow.details,
    AuditEntryRow.prev_hash,
    AuditEntryRow.hash,
)


def entries_for(session: Session, subject: str, subject_id: str) -> list[AuditEntry]:
    """Every entry about one object, oldest first: its history as the audit log tells it."""
    query = (
        sa.select(*_ENTRY_COLUMNS)
        .where(AuditEntryRow.subject == subject, AuditEntryRow.subject_id == subject_id)
        .order_by(AuditEntryRow.seq)
    )
    return [_to_entry(row) for row in session.execute(query)]


def chain_head(engine: Engine) -> tuple[int, str]:
    """The newest sequence number and hash, to be kept outside the database."""
    with engine.connect() as connection:
        head = connection.execute(_HEAD).one()
    return head.seq, head.hash


def _entries_up_to(connection: sa.Connection, last_seq: int) -> Iterator[AuditEntry]:
    """Entries with ``seq <= last_seq`` in order, read in batches so memory stays flat."""
    after = 0
    while True:
        batch = connection.execute(
            sa.select(*_ENTRY_COLUMNS)
            .where(AuditEntryRow.seq > after, AuditEntryRow.seq <= last_seq)
            .order_by(AuditEntryRow.seq)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        for row in batch:
            yield _to_entry(row)
        after = batch[-1].seq


def _first_fault(entry: AuditEntry, expected_seq: int, prev_hash: str) -> AuditReport | None:
    """Why *entry* cannot be entry *expected_seq* following *prev_hash*; None if it can."""
    checked = expected_seq - 1
    if entry.seq != expected_seq:
        return AuditReport(False, checked, expected_seq, f"entry {expected_seq} is missing")
    if entry.prev_hash != prev_hash:
        reason = f"entry {entry.seq} does not link to entry {entry.seq - 1}"
        return AuditReport(False, checked, entry.seq, reason)
    recomputed = entry_hash(
        prev_hash,
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        subject=entry.subject,
        subject_id=entry.subject_id,
        details=entry.details,
    )
    if recomputed != entry.hash:
        reason = f"entry {entry.seq} was changed after it was written"
        return AuditReport(False, checked, entry.seq, reason)
    return None


def verify(engine: Engine) -> AuditReport:
    """Recompute the whole chain and report the first entry that does not fit, if any.

    Only entries up to the head as it stands when the check starts are read, so appends
    running at the same time neither disturb nor fail the check.
    """
    with engine.connect() as connection:
        head = connection.execute(_HEAD).one_or_none()
        if head is None:
            return AuditReport(False, 0, None, "the audit chain head is missing")
        prev_hash, seq = GENESIS_HASH, 0
        for entry in _entries_up_to(connection, head.seq):
            fault = _first_fault(entry, seq + 1, prev_hash)
            if fault is not None:
                return fault
            prev_hash, seq = entry.hash, entry.seq
    if seq != head.seq:
        reason = f"entries {seq + 1} to {head.seq} are missing (the chain head is at {head.seq})"
        return AuditReport(False, seq, seq + 1, reason)
    if prev_hash != head.hash:
        reason = f"entry {seq} is not the entry the chain head recorded"
        return AuditReport(False, seq, seq or None, reason)
    return AuditReport(True, seq)
