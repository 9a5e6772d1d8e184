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
    TEXT_STATEMENT,
    Document,
    DocumentKind,
    OwnerKind,
    check_filename,
    content_types_for,
    storage_key_for,
)
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.partners import PartnerCapability
from leasekit.errors import NotFoundError, ValidationError
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext, page_size, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import reader
from leasekit.services.storage import Page, Record, UnitOfWork

__all__ = [
    "DocumentQuery",
    "UploadDocument",
    "get_document",
    "list_documents",
    "open_document",
    "record_document",
    "upload_document",
]

SNIFF_BYTES: Final = 8192
"""How much of the head the type check reads; the longest signature filetype knows fits."""


@attrs.frozen
class UploadDocument:
    owner_kind: OwnerKind
    owner_id: str
    kind: DocumentKind
    filename: str = attrs.field(validator=lambda _, __, name: check_filename(name))


class _MeteredUpload:
    """The upload's chunks as the store reads them, checked, counted and hashed on the way."""

    def __init__(self, chunks: Iterable[bytes], limit: int, kind: DocumentKind) -> None:
        self._chunks = iter(chunks)
        self._limit = limit
        self._kind = kind
        self._hash = hashlib.sha256()
        self.size = 0
        self.content_type = ""

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        head = self._read_head()
        self.content_type = _sniff(head, self._kind)
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


_CONTROL: Final = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}
"""Bytes no text file holds (a tab, line ends and a form feed aside), in any encoding that
keeps ASCII: UTF-8, GB18030, Latin-1."""


def _is_text(head: bytes) -> bool:
    return not _CONTROL.intersection(head)


def _sniff(head: bytes, kind: DocumentKind) -> str:
    """The type the bytes say they are, if it is one a document of *kind* may have."""
    allowed_types = content_types_for(kind)
    guessed = filetype.guess_mime(head)
    if guessed is None and TEXT_STATEMENT in allowed_types and _is_text(head):
        return TEXT_STATEMENT
    if guessed not in allowed_types:
        allowed = ", ".join(sorted(allowed_types))
        found = f"{guessed} content" if guessed else "content of no recognised type"
        raise ValidationError.single("file", f"{found}; {kind} documents must be one of {allowed}")
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


def _visible_owner(uow: UnitOfWork, actor: Actor, kind: OwnerKind, owner_id: str) -> object:
    """The owner; a missing one, or one the actor may not see, is a field error."""
    try:
        return visible_or_not_found(actor, _owner_loaders(uow)[kind](owner_id), kind, owner_id)
    except NotFoundError:
        raise ValidationError.single("owner_id", f"no {kind} {owner_id!r}") from None


def _owner_partner_id(uow: UnitOfWork, actor: Actor, kind: OwnerKind, owner_id: str) -> str | None:
    """The partner the owner belongs to; a partner whose state forbids uploads (a
    blacklisted dealer) is refused."""
    owner = _visible_owner(uow, actor, kind, owner_id)
    partner_id = getattr(owner, "partner_id", None)
    if not isinstance(partner_id, str):
        return None
    load_partner_reference(uow, actor, partner_id, PartnerCapability.UPLOAD_DOCUMENTS)
    return partner_id


@attrs.frozen
class _Upload:
    """A stored upload as the recording command takes it: what was asked, what was found."""

    request: UploadDocument
    document_id: str
    storage_key: str
    content_type: str
    size: int
    sha256: str
    partner_id: str | None


@command(
    "upload_document",
    subject="document",
    creates="document",
    reload=lambda uow, document_id: uow.documents.get(document_id),
    fingerprint=lambda upload: upload.request,
)
def record_document(work: Work, upload: _Upload) -> Document:
    """The record of bytes already in the store (see :func:`upload_document`)."""
    request = upload.request
    document = Document.record(
        owner_kind=request.owner_kind,
        owner_id=request.owner_id,
        kind=request.kind,
        filename=request.filename,
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        actor=work.actor,
        at=work.at,
        partner_id=upload.partner_id,
        document_id=upload.document_id,
        storage_key=upload.storage_key,
    )
    work.uow.documents.add(document)
    work.event(
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
    return document


def upload_document(
    ctx: ServiceContext,
    actor: Actor,
    request: UploadDocument,
    chunks: Iterable[bytes],
    *,
    idempotency_key: str | None = None,
) -> Document:
    """Store *chunks* as a document of *request.owner_id*, or refuse and keep nothing.

    The caller's role and the owner are checked before a byte is read. A retry with the same
    idempotency key returns the first attempt's document without reading *chunks* at all.
    """
    record_document.authorize(actor)
    retry = Retry.of(idempotency_key, record_document.name, request)
    with ctx.uow_factory() as uow:
        partner_id = _owner_partner_id(uow, actor, request.owner_kind, request.owner_id)
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.documents.get(earlier)
    document_id = new_id()
    key = storage_key_for(document_id)
    metered = _MeteredUpload(chunks, ctx.max_upload_bytes, request.kind)
    store = ctx.adapters.document_store
    store.put(key, metered)
    stored = _Upload(
        request, document_id, key, metered.content_type, metered.size, metered.sha256, partner_id
    )
    try:
        document = record_document(ctx, actor, stored, idempotency_key=idempotency_key)
    except BaseException:
        store.delete(key)
        raise
    if document.id != document_id:
        # A concurrent attempt with the same key recorded its own copy first.
        store.delete(key)
    return document


get_document = reader(
    "get_document",
    "document",
    lambda uow: uow.documents,
    """Get a document's record.

    Without reading the store. Another partner's document reads as missing, like a missing
    one.""",
)


def open_document(
    ctx: ServiceContext, actor: Actor, document_id: str
) -> tuple[Document, Iterator[bytes]]:
    """The record and the content of a document the actor may see, streamed from the store."""
    document = get_document(ctx, actor, document_id)
    return document, ctx.adapters.document_store.open(document.storage_key)


@attrs.frozen
class DocumentQuery:
    """Which of an owner's documents to list."""

    owner_kind: OwnerKind
    owner_id: str
    kind: DocumentKind | None = None


def list_documents(
    ctx: ServiceContext,
    actor: Actor,
    owner_kind: OwnerKind,
    owner_id: str,
    *,
    kind: DocumentKind | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    with ctx.uow_factory() as uow:
        _visible_owner(uow, actor, owner_kind, owner_id)
        query = DocumentQuery(owner_kind, owner_id, kind)
        return uow.documents.page(query, after=after, limit=page_size(limit))
