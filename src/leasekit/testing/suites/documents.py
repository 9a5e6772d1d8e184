"""The document store suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from leasekit.errors import NotFoundError, ValidationError
from leasekit.ports import DocumentStore
from leasekit.testing.suites._base import Suite

__all__ = ["UNSAFE_KEYS", "DocumentStoreSuite"]


class _UploadFailed(Exception):
    pass


def _failing_upload() -> Iterator[bytes]:
    yield b"first part of the upload"
    raise _UploadFailed


UNSAFE_KEYS = (
    "",
    "../outside",
    "a/../../outside",
    "/etc/passwd",
    "a//b",
    ".hidden",
    "a/./b",
    "a\\..\\b",
    "C:/windows",
    "a/b/",
    "x" * 600,
)


class DocumentStoreSuite(Suite):
    port = DocumentStore

    @pytest.fixture
    def key(self) -> str:
        return f"applications/{uuid.uuid4().hex}/id-card.pdf"

    def test_put_then_open_gives_the_chunks_back_joined(
        self, adapter: DocumentStore, key: str
    ) -> None:
        chunks = [b"%PDF-1.7\n", b"", b"\x00\xff" * 50_000, b"%%EOF\n"]
        adapter.put(key, iter(chunks))
        assert b"".join(adapter.open(key)) == b"".join(chunks)

    def test_an_empty_document_round_trips(self, adapter: DocumentStore, key: str) -> None:
        adapter.put(key, [])
        assert adapter.exists(key)
        assert b"".join(adapter.open(key)) == b""

    def test_a_large_document_comes_back_in_several_chunks(
        self, adapter: DocumentStore, key: str
    ) -> None:
        content = bytes(range(256)) * 8192
        adapter.put(key, [content])
        chunks = list(adapter.open(key))
        assert b"".join(chunks) == content
        assert len(chunks) > 1, "open() must stream, not return the whole file at once"

    def test_put_replaces_the_content(self, adapter: DocumentStore, key: str) -> None:
        adapter.put(key, [b"first version"])
        adapter.put(key, [b"second"])
        assert b"".join(adapter.open(key)) == b"second"

    def test_exists_and_delete(self, adapter: DocumentStore, key: str) -> None:
        assert not adapter.exists(key)
        adapter.put(key, [b"content"])
        assert adapter.exists(key)
        adapter.delete(key)
        assert not adapter.exists(key)

    def test_deleting_a_missing_key_does_nothing(self, adapter: DocumentStore, key: str) -> None:
        adapter.delete(key)
        assert not adapter.exists(key)

    def test_opening_a_missing_key_fails_at_the_call(
        self, adapter: DocumentStore, key: str
    ) -> None:
        with pytest.raises(NotFoundError):
            adapter.open(key)

    def test_a_failed_upload_leaves_nothing(self, adapter: DocumentStore, key: str) -> None:
        with pytest.raises(_UploadFailed):
            adapter.put(key, _failing_upload())
        assert not adapter.exists(key)

    def test_a_failed_upload_keeps_the_previous_content(
        self, adapter: DocumentStore, key: str
    ) -> None:
        adapter.put(key, [b"signed contract"])
        with pytest.raises(_UploadFailed):
            adapter.put(key, _failing_upload())
        assert b"".join(adapter.open(key)) == b"signed contract"

    @pytest.mark.parametrize("unsafe", UNSAFE_KEYS)
    def test_unsafe_keys_are_refused(self, adapter: DocumentStore, unsafe: str) -> None:
        for operation in (
            lambda: adapter.put(unsafe, [b"x"]),
            lambda: adapter.open(unsafe),
            lambda: adapter.exists(unsafe),
            lambda: adapter.delete(unsafe),
        ):
            with pytest.raises(ValidationError):
                operation()
