"""What the filesystem store adds to the document store suite (see
tests/testing/test_suites.py): its files on disk, atomic replacement, and no way out
of the root."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leasekit.builtin.filesystem import FilesystemDocumentStore
from leasekit.domain.clock import FixedClock
from leasekit.errors import NotFoundError, ValidationError
from leasekit.ports import AdapterContext


class _Interrupted(Exception):
    pass


def _interrupted_upload() -> Iterator[bytes]:
    yield b"x" * 1000
    raise _Interrupted


@pytest.fixture
def store(tmp_path: Path) -> FilesystemDocumentStore:
    return FilesystemDocumentStore(tmp_path / "documents", chunk_size=1024)


def _context(data_dir: Path) -> AdapterContext:
    clock = FixedClock(
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), business_date=dt.date(2026, 1, 1)
    )
    return AdapterContext({}, data_dir, clock)


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_key_is_a_file_under_the_root(store: FilesystemDocumentStore) -> None:
    store.put("contracts/C-1/signed.pdf", [b"%PDF", b"-1.7"])
    assert (store.root / "contracts" / "C-1" / "signed.pdf").read_bytes() == b"%PDF-1.7"


def test_an_interrupted_upload_leaves_no_file_behind(store: FilesystemDocumentStore) -> None:
    store.put("a/kept.pdf", [b"kept"])
    with pytest.raises(_Interrupted):
        store.put("a/new.pdf", _interrupted_upload())
    with pytest.raises(_Interrupted):
        store.put("a/kept.pdf", _interrupted_upload())
    assert _files(store.root) == ["a/kept.pdf"]
    assert (store.root / "a" / "kept.pdf").read_bytes() == b"kept"


def test_an_interrupted_upload_leaves_no_folder_behind(store: FilesystemDocumentStore) -> None:
    with pytest.raises(_Interrupted):
        store.put("b/c/new.pdf", _interrupted_upload())
    assert list(store.root.rglob("*")) == []


def test_a_killed_writer_s_temporary_file_is_swept_at_start(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    root.mkdir()
    abandoned, recent = root / ".upload-abandoned", root / ".upload-recent"
    for temp in (abandoned, recent):
        temp.write_bytes(b"half an upload")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(abandoned, (two_days_ago, two_days_ago))
    FilesystemDocumentStore.from_context(_context(tmp_path))
    assert sorted(root.iterdir()) == [recent], "a write still going on is left alone"


def test_open_streams_in_chunks_of_the_configured_size(store: FilesystemDocumentStore) -> None:
    store.put("big.bin", [b"y" * 2500])
    assert [len(chunk) for chunk in store.open("big.bin")] == [1024, 1024, 452]


def test_a_file_removed_between_open_and_read_is_not_found(
    store: FilesystemDocumentStore,
) -> None:
    store.put("gone.pdf", [b"soon gone"])
    chunks = store.open("gone.pdf")
    store.delete("gone.pdf")
    with pytest.raises(NotFoundError):
        next(chunks)


def test_a_symbolic_link_cannot_lead_out_of_the_root(
    store: FilesystemDocumentStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    store.root.mkdir(parents=True)
    os.symlink(outside, store.root / "link")
    with pytest.raises(ValidationError, match="outside"):
        store.open("link/secret.txt")
    with pytest.raises(ValidationError, match="outside"):
        store.put("link/planted.txt", [b"x"])
    assert not (outside / "planted.txt").exists()


def test_a_directory_is_not_a_document(store: FilesystemDocumentStore) -> None:
    store.put("folder/file.txt", [b"x"])
    assert not store.exists("folder")
    with pytest.raises(NotFoundError):
        store.open("folder")
