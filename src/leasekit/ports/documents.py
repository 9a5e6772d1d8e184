"""Document store: where uploaded files live, under keys that are safe in every store."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final, Protocol, runtime_checkable

from leasekit.errors import ValidationError

__all__ = ["DOCUMENT_KEY_PATTERN", "DocumentStore", "check_document_key"]


DOCUMENT_KEY_PATTERN: Final = re.compile(
    r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,127})*"
)
"""Keys are ``/``-separated segments of letters, digits, ``.``, ``_`` and ``-``, none starting
with a dot: no ``..``, no absolute paths, no drive letters, no hidden files."""
_MAX_KEY_LENGTH: Final = 512


def check_document_key(key: str) -> str:
    """*key* if it is safe as a storage path in every store, else a ValidationError."""
    if len(key) > _MAX_KEY_LENGTH:
        raise ValidationError.single("key", f"is longer than {_MAX_KEY_LENGTH} characters")
    if not DOCUMENT_KEY_PATTERN.fullmatch(key):
        raise ValidationError.single(
            "key", f"{key!r} is not /-separated segments of letters, digits, '.', '_', '-'"
        )
    return key


@runtime_checkable
class DocumentStore(Protocol):
    """Where uploaded files live. Keys pass :func:`check_document_key`."""

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store the concatenated *chunks* under *key*, replacing what was there. All or
        nothing: if *chunks* raises, the key keeps its old content (or stays absent)."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The content in chunks; a missing key raises :class:`~leasekit.errors.NotFoundError`
        at the call, not at the first chunk."""
        ...

    def delete(self, key: str) -> None:
        """Remove *key*; removing a missing key does nothing, so a cleanup may be retried."""
        ...

    def exists(self, key: str) -> bool: ...
