"""The default document store: files under a folder on local disk (adapter id ``filesystem``).

Uploads are written to a temporary file in the target folder and renamed into place, so a
reader never sees half a file and an upload that fails part-way leaves the key as it was. Keys
are checked by :func:`leasekit.ports.check_document_key` and the resolved path must stay under
the root, so a key cannot reach outside it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from leasekit.errors import NotFoundError, ValidationError
from leasekit.hookspecs import hookimpl
from leasekit.ports import AdapterContext, DocumentStore, Register, check_document_key

__all__ = ["CHUNK_SIZE", "FilesystemDocumentStore"]

CHUNK_SIZE: Final = 64 * 1024
_TEMP_PREFIX: Final = ".upload-"
"""Temporary names start with a dot, which no valid key segment does, so they never collide."""


class FilesystemDocumentStore:
    """Documents as files under *root*, one per key."""

    def __init__(self, root: Path, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = root
        self.chunk_size = chunk_size

    @classmethod
    def from_context(cls, context: AdapterContext) -> FilesystemDocumentStore:
        """Root from option ``root``, else ``<data_dir>/documents``."""
        root = context.option("root")
        return cls(Path(root) if root else context.data_dir / "documents")

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
        temp = Path(temp_name)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

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


@hookimpl(trylast=True)
def leasekit_register_document_stores(register: Register[DocumentStore]) -> None:
    register("filesystem", FilesystemDocumentStore.from_context)
