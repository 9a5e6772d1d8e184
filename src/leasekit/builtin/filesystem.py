"""Adapters on local disk, both under adapter id ``filesystem``.

- The default **document store**: files under a folder. Keys are checked by
  :func:`leasekit.ports.check_document_key` and the resolved path must stay under the root,
  so a key cannot reach outside it.
- A **notifier** for development and QA machines, as Django's file-based e-mail backend:
  messages become text files and events lines of a JSON file, so nothing reaches a real person
  and a tester can still read what would have.

Documents and messages are written to a temporary file at the top of the store and renamed
into their folder, made only then: a reader never sees half a file, and a write that fails
part-way (an upload over the limit, a client gone) leaves nothing behind, not even a folder.
Temporary files a killed process left are swept when the store starts. Events are appended to
their file a whole line at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from leasekit.domain.clock import Clock
from leasekit.domain.events import DomainEvent
from leasekit.errors import NotFoundError, ValidationError
from leasekit.hookspecs import hookimpl
from leasekit.ports import (
    AdapterContext,
    DocumentStore,
    Message,
    Notifier,
    Register,
    check_document_key,
)

__all__ = ["CHUNK_SIZE", "EVENTS_FILE", "FilesystemDocumentStore", "FilesystemNotifier"]

CHUNK_SIZE: Final = 64 * 1024
EVENTS_FILE: Final = "events.jsonl"
_TEMP_PREFIX: Final = ".upload-"
"""Temporary names start with a dot, which no valid key segment does, so they never collide."""
ABANDONED_AFTER: Final = dt.timedelta(days=1)
"""A temporary file this old belongs to no write still going on."""


def _write_atomically(path: Path, chunks: Iterable[bytes], staging: Path) -> None:
    """*chunks* as the content of *path*, through a temporary file in *staging* (on the
    same filesystem) renamed into place once complete."""
    staging.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=staging, prefix=_TEMP_PREFIX)
    temp = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _sweep_abandoned(staging: Path, now: float) -> None:
    """Remove the temporary files of writes a killed process never finished."""
    if not staging.is_dir():
        return
    for temp in staging.glob(f"{_TEMP_PREFIX}*"):
        with contextlib.suppress(FileNotFoundError):
            if now - temp.stat().st_mtime > ABANDONED_AFTER.total_seconds():
                temp.unlink()


class FilesystemDocumentStore:
    """Documents as files under *root*, one per key."""

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = chunk_size

    @classmethod
    def from_context(cls, context: AdapterContext) -> FilesystemDocumentStore:
        """Root from option ``root``, else ``<data_dir>/documents``."""
        root = Path(context.option("root") or context.data_dir / "documents")
        _sweep_abandoned(root, time.time())
        return cls(root)

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        _write_atomically(self._path(key), chunks, staging=self.root)

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError("document", key)
        return self._read(path, key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _read(self, path: Path, key: str) -> Iterator[bytes]:
        """The file in chunks, opened at the first chunk so an unread iterator holds no file."""
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(self.chunk_size):
                    yield chunk
        except FileNotFoundError:
            raise NotFoundError("document", key) from None

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        path = (root / check_document_key(key)).resolve()
        if not path.is_relative_to(root):
            # Only a symbolic link inside the root can get here; the key itself was checked.
            raise ValidationError.single("key", f"{key!r} leads outside the document store")
        return path


class FilesystemNotifier:
    """Each message a text file, each event a line of ``events.jsonl``, in one folder.

    A message's file is named by the time it was sent and a hash of its idempotency key, so
    the folder lists messages in order and a repeat finds the first one's file and writes
    nothing. An event's line holds its name, subject, business date and key, but never its
    payload, whose values may be personal data; a repeat finds its key in the file and is
    dropped. Keys already in the file are read once and then only the lines added since, so
    a second process writing to the same folder is seen too.
    """

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = folder
        self.clock = clock
        self._lock = threading.Lock()
        self._recorded_events: set[str] = set()
        self._read_to = 0

    @classmethod
    def from_context(cls, context: AdapterContext) -> FilesystemNotifier:
        """Folder from option ``dir``, else ``<data_dir>/messages``."""
        folder = context.option("dir")
        return cls(Path(folder) if folder else context.data_dir / "messages", context.clock)

    def send(self, message: Message) -> None:
        digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
        with self._lock:
            if any(self.folder.glob(f"*-{digest}.txt")):
                return
            name = f"{self.clock.now():%Y%m%dT%H%M%S.%fZ}-{digest}.txt"
            _write_atomically(
                self.folder / name, [_message_text(message).encode("utf-8")], self.folder
            )

    def notify(self, event: DomainEvent) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, (self.folder / EVENTS_FILE).open("a+b") as handle:
            self._catch_up(handle)
            if event.idempotency_key in self._recorded_events:
                return
            handle.write(_event_line(event))
            self._recorded_events.add(event.idempotency_key)

    def _catch_up(self, handle: BinaryIO) -> None:
        """Learn the keys of the lines written since the last call, by any process; read from
        the top again if the file shrank (someone emptied the folder meanwhile)."""
        if handle.seek(0, os.SEEK_END) < self._read_to:
            self._read_to = 0
        handle.seek(self._read_to)
        added = handle.read()
        complete = added[: added.rfind(b"\n") + 1]
        self._recorded_events.update(
            json.loads(line)["idempotency_key"] for line in complete.splitlines()
        )
        self._read_to += len(complete)


def _message_text(message: Message) -> str:
    return f"To: {message.recipient}\nSubject: {message.subject}\n\n{message.body}\n"


def _event_line(event: DomainEvent) -> bytes:
    """The event without its payload, as one line of JSON."""
    fields = {
        "name": event.name,
        "subject": event.subject,
        "subject_id": event.subject_id,
        "business_date": event.business_date.isoformat(),
        "idempotency_key": event.idempotency_key,
    }
    return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"


@hookimpl(trylast=True)
def leasekit_register_document_stores(register: Register[DocumentStore]) -> None:
    register("filesystem", FilesystemDocumentStore.from_context)


@hookimpl(trylast=True)
def leasekit_register_notifiers(register: Register[Notifier]) -> None:
    register("filesystem", FilesystemNotifier.from_context)
