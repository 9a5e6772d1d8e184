"""A document store in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from leasekit.errors import NotFoundError
from leasekit.ports import AdapterContext, check_document_key
from leasekit.testing.fakes._common import Outages

__all__ = ["InMemoryDocumentStore"]


class InMemoryDocumentStore(Outages):
    """Documents in a dict; *chunk_size* is small enough by default that tests see chunking."""

    def __init__(self, *, chunk_size: int = 4096) -> None:
        super().__init__()
        self.chunk_size = chunk_size
        self.documents: dict[str, bytes] = {}

    @classmethod
    def from_context(cls, context: AdapterContext) -> InMemoryDocumentStore:
        return cls()

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        self._call("put")
        check_document_key(key)
        self.documents[key] = b"".join(chunks)

    def open(self, key: str) -> Iterator[bytes]:
        self._call("open")
        try:
            content = self.documents[check_document_key(key)]
        except KeyError:
            raise NotFoundError("document", key) from None
        size = self.chunk_size
        return iter([content[start : start + size] for start in range(0, len(content), size)])

    def delete(self, key: str) -> None:
        self._call("delete")
        self.documents.pop(check_document_key(key), None)

    def exists(self, key: str) -> bool:
        self._call("exists")
        return check_document_key(key) in self.documents
