"""The audit log: entries appended by every command, chained by SHA-256 shortly afterwards.

Writers never wait on each other: a command only inserts its entries into ``audit_log`` (and
their ids into the small ``audit_unchained`` queue), in its own transaction. One chainer at a
time (:func:`chain_pending`, run by the background worker) then takes the queued entries in
order, numbers them, and links each to the previous by hash in ``audit_chain``, moving the
single ``audit_chain_head`` row. Tamper evidence arrives a moment after the commit, and no
transaction ever holds a global lock while Python works.

Each chain link's ``hash`` covers the entry, its sequence number and the previous link's hash,
so changing or deleting any entry breaks every link after it, and :func:`verify` names the
first that no longer fits. Removing the newest links and rewinding the head leaves a shorter
chain that is still consistent; a **checkpoint** kept outside the database catches that:
:func:`checkpoint` signs the head with the installation's secret key, and
:func:`verify_checkpoint` later proves that link still stands as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from leasekit.services.storage import AuditRecord
from leasekit.store.database import begin_writing, inserted_ids
from leasekit.store.schema import COUNTER, Base
from leasekit.store.types import CanonicalText, JsonValue, canonical_json

__all__ = [
    "CHAIN_HEAD_ID",
    "GENESIS_HASH",
    "AuditAction",
    "AuditChainHeadRow",
    "AuditChainRow",
    "AuditEntryRow",
    "AuditReport",
    "AuditUnchainedRow",
    "Checkpoint",
    "append",
    "chain_head",
    "chain_pending",
    "checkpoint",
    "count_entries",
    "entries_for",
    "entry_hash",
    "verify",
    "verify_checkpoint",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first link."""
CHAIN_HEAD_ID: Final = 1
"""The primary key of the one row of ``audit_chain_head``."""
_BATCH: Final = 1000


class AuditEntryRow(Base):
    """One recorded action; inserted by the command that did it, never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime]
    actor_id: Mapped[str | None]
    token_id: Mapped[str | None]
    action: Mapped[str]
    subject: Mapped[str]
    subject_id: Mapped[str]
    details: Mapped[dict[str, Any]]

    __table_args__ = (Index(None, "subject", "subject_id", "id"),)


class AuditUnchainedRow(Base):
    """Entries written but not chained yet: the chainer's queue, emptied as it goes."""

    __tablename__ = "audit_unchained"

    entry_id: Mapped[int] = mapped_column(
        COUNTER, ForeignKey("audit_log.id"), primary_key=True, autoincrement=False
    )


class AuditChainRow(Base):
    """One link of the hash chain; never updated or deleted."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(COUNTER, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(COUNTER, ForeignKey("audit_log.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHeadRow(Base):
    """The single row naming the newest link; only the chainer moves it, so holding it (a row
    lock on PostgreSQL, the write lock on SQLite) keeps two chainers from forking the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(COUNTER)
    hash: Mapped[str] = mapped_column(String(64))


_HEAD: Final = sa.select(AuditChainHeadRow.seq, AuditChainHeadRow.hash).where(
    AuditChainHeadRow.id == CHAIN_HEAD_ID
)


@attrs.frozen
class AuditAction:
    """What an entry is to record: who did what to which object, when, and the details."""

    at: dt.datetime
    actor_id: str | None
    action: str
    subject: str
    subject_id: str
    details: Mapping[str, JsonValue] | CanonicalText
    """The details, or their canonical JSON text when the writer has it already."""
    token_id: str | None = None
    """The API token the actor used, so the log says which credential acted."""


@attrs.frozen
class AuditReport:
    """The outcome of :func:`verify`; ``first_broken`` is the first link that fails."""

    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None
    unchained: int = 0
    """Entries written but not chained yet; a moment's worth is normal."""


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
    token_id: str | None = None,
) -> str:
    """SHA-256 (hex) of *prev_hash* followed by the entry in canonical JSON.

    ``token_id`` is part of the entry only when there is one, so entries written before
    tokens were recorded keep their hashes.
    """
    body: dict[str, JsonValue] = {
        "seq": seq,
        "at": _timestamp(at),
        "actor_id": actor_id,
        "action": action,
        "subject": subject,
        "subject_id": subject_id,
        "details": details,
    }
    if token_id is not None:
        body["token_id"] = token_id
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append(session: Session, actions: Sequence[AuditAction]) -> None:
    """Add *actions* to the log inside *session*'s transaction, in order, for the chainer to
    link; two statements however many there are, and no lock another writer waits on."""
    if not actions:
        return
    connection = session.connection()
    rows = [
        {"at": action.at, "actor_id": action.actor_id, "action": action.action,
         "subject": action.subject, "subject_id": action.subject_id,
         "token_id": action.token_id, "details": _details(action.details)}
        for action in actions
    ]  # fmt: skip
    ids = inserted_ids(connection, AuditEntryRow.id, rows)
    connection.execute(sa.insert(AuditUnchainedRow), [{"entry_id": id_} for id_ in ids])


def _details(details: Mapping[str, JsonValue] | CanonicalText) -> object:
    """As the column takes them: text as it is, a mapping (maybe read-only) as a dict."""
    return details if isinstance(details, CanonicalText) else dict(details)


_ENTRY_COLUMNS: Final = (
    AuditEntryRow.id,
    AuditEntryRow.at,
    AuditEntryRow.actor_id,
    AuditEntryRow.token_id,
    AuditEntryRow.action,
    AuditEntryRow.subject,
    AuditEntryRow.subject_id,
    AuditEntryRow.details,
)


def _entry(row: sa.RowMapping) -> AuditRecord:
    """The entry in *row*; its ``seq`` is None until the chainer has linked it."""
    fields = {key: row[key] for key in attrs.fields_dict(AuditRecord) if key in row}
    return AuditRecord(**{"seq": None, **fields})


def _hash_of(entry: AuditRecord, seq: int, prev_hash: str) -> str:
    return entry_hash(
        prev_hash,
        seq=seq,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        subject=entry.subject,
        subject_id=entry.subject_id,
        details=entry.details,
        token_id=entry.token_id,
    )


def _lock_head(connection: sa.Connection) -> Any:
    """The head, held until the transaction ends; None when another chainer holds it
    (PostgreSQL skips a locked row; on SQLite the writer lock makes us wait our turn)."""
    query = _HEAD
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    begin_writing(connection)
    head: Any = connection.execute(query).one_or_none()
    return head


def chain_pending(engine: Engine, limit: int = _BATCH) -> int:
    """Link up to *limit* queued entries to the chain, in the order they were written;
    return how many. Safe to run from any number of processes: one chains at a time."""
    with engine.begin() as connection:
        head = _lock_head(connection)
        if head is None:
            return 0
        queued = connection.execute(
            sa.select(*_ENTRY_COLUMNS)
            .join(AuditUnchainedRow, AuditUnchainedRow.entry_id == AuditEntryRow.id)
            .order_by(AuditEntryRow.id)
            .limit(limit)
        ).mappings()
        seq, prev_hash = head.seq, head.hash
        links = []
        for entry in map(_entry, queued):
            seq, digest = seq + 1, _hash_of(entry, seq + 1, prev_hash)
            links.append({"seq": seq, "entry_id": entry.id, "prev_hash": prev_hash, "hash": digest})
            prev_hash = digest
        if not links:
            return 0
        connection.execute(sa.insert(AuditChainRow), links)
        connection.execute(
            sa.delete(AuditUnchainedRow).where(
                AuditUnchainedRow.entry_id.in_([link["entry_id"] for link in links])
            )
        )
        connection.execute(
            sa.update(AuditChainHeadRow)
            .where(AuditChainHeadRow.id == CHAIN_HEAD_ID)
            .values(seq=seq, hash=prev_hash)
        )
        return len(links)


def entries_for(session: Session, subject: str, subject_id: str) -> list[AuditRecord]:
    """Every entry about one object, oldest first: its history as the audit log tells it."""
    query = (
        sa.select(*_ENTRY_COLUMNS, AuditChainRow.seq)
        .outerjoin(AuditChainRow, AuditChainRow.entry_id == AuditEntryRow.id)
        .where(AuditEntryRow.subject == subject, AuditEntryRow.subject_id == subject_id)
        .order_by(AuditEntryRow.id)
    )
    return [_entry(row) for row in session.connection().execute(query).mappings()]


def count_entries(engine: Engine) -> int:
    """How many entries the log holds, chained or not."""
    with engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(AuditEntryRow)) or 0)


def chain_head(engine: Engine) -> tuple[int, str]:
    """The newest link's sequence number and hash."""
    with engine.connect() as connection:
        head = connection.execute(_HEAD).one()
    return head.seq, head.hash


def _links_up_to(
    connection: sa.Connection, last_seq: int
) -> Iterator[tuple[int, str, str, AuditRecord | None]]:
    """Links with ``seq <= last_seq`` in order, each with its entry (None if it is gone), read
    in batches so memory stays flat."""
    after = 0
    while True:
        batch = (
            connection.execute(
                sa.select(
                    AuditChainRow.seq.label("link_seq"),
                    AuditChainRow.prev_hash,
                    AuditChainRow.hash,
                    *_ENTRY_COLUMNS,
                )
                .outerjoin(AuditEntryRow, AuditEntryRow.id == AuditChainRow.entry_id)
                .where(AuditChainRow.seq > after, AuditChainRow.seq <= last_seq)
                .order_by(AuditChainRow.seq)
                .limit(_BATCH)
            )
            .mappings()
            .all()
        )
        if not batch:
            return
        for row in batch:
            entry = None if row["id"] is None else _entry(row)
            yield row["link_seq"], row["prev_hash"], row["hash"], entry
        after = batch[-1]["link_seq"]


def _first_fault(
    link: tuple[int, str, str, AuditRecord | None], expected_seq: int, prev_hash: str
) -> AuditReport | None:
    """Why *link* cannot be link *expected_seq* following *prev_hash*; None if it can."""
    seq, link_prev, digest, entry = link
    checked = expected_seq - 1
    if seq != expected_seq:
        return AuditReport(False, checked, expected_seq, f"entry {expected_seq} is missing")
    if entry is None:
        return AuditReport(False, checked, seq, f"entry {seq} is missing")
    if link_prev != prev_hash:
        return AuditReport(False, checked, seq, f"entry {seq} does not link to entry {seq - 1}")
    if _hash_of(entry, seq, prev_hash) != digest:
        return AuditReport(False, checked, seq, f"entry {seq} was changed after it was written")
    return None


def _unchained(connection: sa.Connection) -> int:
    return int(connection.scalar(sa.select(sa.func.count()).select_from(AuditUnchainedRow)) or 0)


def _orphans(connection: sa.Connection) -> int:
    """Entries neither chained nor queued: written around the chainer, which never happens."""
    linked = sa.select(AuditChainRow.entry_id).where(AuditChainRow.entry_id == AuditEntryRow.id)
    queued = sa.select(AuditUnchainedRow.entry_id).where(
        AuditUnchainedRow.entry_id == AuditEntryRow.id
    )
    return int(
        connection.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntryRow)
            .where(~linked.exists(), ~queued.exists())
        )
        or 0
    )


def verify(engine: Engine) -> AuditReport:
    """Recompute the whole chain and report the first link that does not fit, if any.

    Only links up to the head as it stands when the check starts are read, so chaining
    running at the same time neither disturbs nor fails the check.
    """
    with engine.connect() as connection:
        head = connection.execute(_HEAD).one_or_none()
        if head is None:
            return AuditReport(False, 0, None, "the audit chain head is missing")
        prev_hash, seq = GENESIS_HASH, 0
        for link in _links_up_to(connection, head.seq):
            fault = _first_fault(link, seq + 1, prev_hash)
            if fault is not None:
                return fault
            prev_hash, seq = link[2], link[0]
        unchained, orphans = _unchained(connection), _orphans(connection)
    if seq != head.seq:
        reason = f"entries {seq + 1} to {head.seq} are missing (the chain head is at {head.seq})"
        return AuditReport(False, seq, seq + 1, reason, unchained)
    if prev_hash != head.hash:
        reason = f"entry {seq} is not the entry the chain head recorded"
        return AuditReport(False, seq, seq or None, reason, unchained)
    if orphans:
        reason = f"{orphans} entries were written outside the chain"
        return AuditReport(False, seq, None, reason, unchained)
    return AuditReport(True, seq, unchained=unchained)


@attrs.frozen
class Checkpoint:
    """The chain head at one moment, signed with the installation's secret key; keep it
    outside the database (a file, a ticket, an e-mail) to prove the chain was not cut short."""

    seq: int
    hash: str
    signature: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint as :meth:`__str__` writes it: ``leasekit-audit:<seq>:<hash>:<mac>``."""
        prefix, _, rest = text.strip().partition(":")
        seq, _, rest = rest.partition(":")
        digest, _, signature = rest.partition(":")
        well_formed = re.fullmatch("[0-9]{1,18}", seq) and digest and signature
        if prefix != "leasekit-audit" or not well_formed:
            raise ValueError("not a leasekit audit checkpoint")
        return cls(int(seq), digest, signature)

    def __str__(self) -> str:
        return f"leasekit-audit:{self.seq}:{self.hash}:{self.signature}"


def _sign(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def checkpoint(engine: Engine, key: bytes) -> Checkpoint:
    """Chain whatever is queued, then sign the head."""
    while chain_pending(engine):
        pass
    seq, digest = chain_head(engine)
    return Checkpoint(seq, digest, _sign(key, seq, digest))


def verify_checkpoint(engine: Engine, mark: Checkpoint, key: bytes) -> AuditReport:
    """The chain verifies, and the link *mark* names still exists with the hash it had."""
    if not hmac.compare_digest(mark.signature, _sign(key, mark.seq, mark.hash)):
        return AuditReport(False, 0, None, "the checkpoint's signature does not match this key")
    report = verify(engine)
    if not report.ok:
        return report
    with engine.connect() as connection:
        kept = connection.scalar(sa.select(AuditChainRow.hash).where(AuditChainRow.seq == mark.seq))
    if kept is None:
        reason = (
            f"entries from {report.checked + 1} to {mark.seq} were removed since the checkpoint"
        )
        return AuditReport(False, report.checked, report.checked + 1, reason, report.unchained)
    if kept != mark.hash:
        reason = f"entry {mark.seq} differs from the checkpoint: the chain was rewritten"
        return AuditReport(False, report.checked, mark.seq, reason, report.unchained)
    return report
