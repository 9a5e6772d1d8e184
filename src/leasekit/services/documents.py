"""Uploading and downloading documents.

The bytes stream through :class:`_MeteredUpload` into the document store: it reads the head to
learn the type from the content (never from the name or the client's header), counts the size
against the limit and hashes as it goes, so a large scan is never held in memory. Any problem
raises inside the store's ``put``, which is all or nothing, and a failure after the bytes were
stored deletes them again: a refused upload leaves no file and no record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import attrs
import filetype

from leasekit.domain.documents import (
    ALLOWED_CONTENT_TYPES,
    Document,
    DocumentKind,
    OwnerKind,
    storage_key_for,
)
from leasekit.domain.identity import Actor, new_id
from leasekit.errors import NotFoundError, ValidationError
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.ports import UnitOfWork

__all__ = [
    "UploadDocument",
    "get_document",
    "list_documents",
    "open_document",
    "upload_document",
]

SNIFF_BYTES: Final = 8192
"""How much of the head the type check reads; the longest signature filetype knows fits."""


@attrs.frozen
class UploadDocument:
    owner_kind: OwnerKind
    owner_id: str
    kind: DocumentKind
    filename: str


class _MeteredUpload:
    """The upload's chunks as the store reads them, checked, counted and hashed on the way."""

    def __init__(self, chunks: Iterable[bytes], limit: int) -> None:
        self._chunks = iter(chunks)
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        self.content_type = ""

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        head = self._read_head()
        self.content_type = _sniff(head)
        yield self._count(head)
        for chunk in self._chunks:
            yield self._count(chunk)

    def _read_head(self) -> bytes:
        head = b""
        while len(head) < SNIFF_BYTES:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            head += chunk
        if not head:
            raise ValidationError.single("file", "is empty")
        return head

    def _count(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        if self.size > self._limit:
            raise ValidationError.single("file", f"is larger than {self._limit} bytes")
        self._hash.update(chunk)
        return chunk


def _sniff(head: bytes) -> str:
    """The type the bytes say they are, if it is one documents may have."""
    guessed = filetype.guess_mime(head)
    if guessed not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_CONTENT_TYPES))
        found = f"{guessed} content" if guessed else "content of no recognised type"
        raise ValidationError.single("file", f"{found}; documents must be one of {allowed}")
    return str(guessed)


def _owner_loaders(uow: UnitOfWork) -> dict[OwnerKind, Callable[[str], object]]:
    return {
        OwnerKind.CUSTOMER: uow.customers.get,
        OwnerKind.VEHICLE: uow.vehicles.get,
        OwnerKind.PARTNER: uow.partners.get,
        OwnerKind.APPLICATION: uow.applications.get,
        OwnerKind.CONTRACT: uow.contracts.get,
        OwnerKind.EXCEPTION_REQUEST: uow.exception_requests.get,
    }


def _owner_partner_id(uow: UnitOfWork, actor: Actor, kind: OwnerKind, owner_id: str) -> str | None:
    """The partner the owner belongs to; a missing or hidden owner is a field error."""
    try:
        owner = visible_or_not_found(actor, _owner_loaders(uow)[kind](owner_id), kind, owner_id)
    except NotFoundError:
        raise ValidationError.single("owner_id", f"no {kind} {owner_id!r}") from None
    partner_id = getattr(owner, "partner_id", None)
    return partner_id if isinstance(partner_id, str) else None


def upload_document(
    ctx: ServiceContext,
    actor: Actor,
    command: UploadDocument,
    chunks: Iterable[bytes],
    *,
    idempotency_key: str | None = None,
) -> Document:
    """Store *chunks* as a document of *command.owner_id*, or refuse and keep nothing.

    A retry with the same idempotency key returns the first attempt's document without
    reading *chunks* at all.
    """
    retry = Retry.of(idempotency_key, "upload_document", command)
    with ctx.uow_factory() as uow:
        partner_id = _owner_partner_id(uow, actor, command.owner_kind, command.owner_id)
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.documents.get(earlier)
    document_id = new_id()
    key = storage_key_for(document_id)
    upload = _MeteredUpload(chunks, ctx.max_upload_bytes)
    store = ctx.adapters.document_store
    store.put(key, upload)
    try:
        document = _record(ctx, actor, command, upload, retry, document_id, key, partner_id)
    except BaseException:
        store.delete(key)
        raise
    ctx.after_commit()
    return document


def _record(
    ctx: ServiceContext,
    actor: Actor,
    command: UploadDocument,
    upload: _MeteredUpload,
    retry: Retry,
    document_id: str,
    key: str,
    partner_id: str | None,
) -> Document:
    with ctx.uow_factory() as uow:
        document = Document.record(
            owner_kind=command.owner_kind,
            owner_id=command.owner_id,
            kind=command.kind,
            filename=command.filename,
            content_type=upload.content_type,
            size=upload.size,
            sha256=upload.sha256,
            actor=actor,
            at=ctx.clock.now(),
            partner_id=partner_id,
            document_id=document_id,
            storage_key=key,
        )
        uow.documents.add(document)
        retry.remember(uow, actor, "document", document.id, document.uploaded_at)
        uow.record(
            ctx.event(
                actor,
                "document_uploaded",
                "document",
                document.id,
                {
                    "owner_kind": document.owner_kind.value,
                    "owner_id": document.owner_id,
                    "kind": document.kind.value,
                    "sha256": document.sha256,
                },
            )
        )
        uow.commit()
    return document


def get_document(ctx: ServiceContext, actor: Actor, document_id: str) -> Document:
    """The record of a document the actor may see, without reading the store."""
    with ctx.uow_factory() as uow:
        document = uow.documents.get(document_id)
    return visible_or_not_found(actor, document, "document", document_id)


def open_document(
    ctx: ServiceContext, actor: Actor, document_id: str
) -> tuple[Document, Iterator[bytes]]:
    """The record and the content of a document the actor may see, streamed from the store."""
    document = get_document(ctx, actor, document_id)
    return document, ctx.adapters.document_store.open(document.storage_key)


def list_documents(
    ctx: ServiceContext, actor: Actor, owner_kind: OwnerKind, owner_id: str
) -> list[Document]:
    with ctx.uow_factory() as uow:
        _owner_partner_id(uow, actor, owner_kind, owner_id)
        return uow.documents.list_for_owner(owner_kind.value, owner_id)
