"""Documents: uploading the files behind a decision, listing them, downloading them.

Uploads go to ``POST /{owners}/{id}/documents?kind=id_card_front&filename=id.png`` with the
file as the raw request body, not as a multipart form: the body streams straight through
:func:`~leasekit.server.routes.helpers.receive_upload` into the document store, and ``curl
--data-binary @id.png`` is all a client needs. The ``Content-Type`` header and the file name
are not trusted for the type: the service reads the first bytes, keeps only PDFs and images,
and records the type it found. A refused upload (unknown or executable content, too large,
empty) is a 422 on ``file`` and leaves nothing behind.

The wire form of a document is :class:`Document` here, not the domain record: the record's
``storage_key`` says where the adapter keeps the bytes, which is the server's business, not
the client's; clients fetch the bytes at ``/documents/{id}/content``.

Owners are named in the path (``/customers/{id}/documents``), so an owner that does not exist
or belongs to another partner is a 404, as it is at ``/customers/{id}``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import attrs
from aiohttp import web

from leasekit.domain import documents as domain
from leasekit.domain.documents import (
    ALLOWED_CONTENT_TYPES,
    TEXT_STATEMENT,
    DocumentKind,
    OwnerKind,
)
from leasekit.domain.identity import Actor
from leasekit.errors import NotFoundError, ValidationError
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.resources import ID, get_route, list_route
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_query,
    receive_upload,
    run_sync,
    send_download,
    services,
)
from leasekit.services import documents
from leasekit.services.context import ServiceContext
from leasekit.services.documents import UploadDocument
from leasekit.services.storage import Page, Record

__all__ = ["OWNER_PATHS", "Document", "DocumentUpload", "api"]

api = ApiRoutes("documents", "Files behind a decision: ID cards, licences, invoices, contracts.")

OWNER_PATHS: Final[Mapping[OwnerKind, str]] = {
    OwnerKind.CUSTOMER: "customers",
    OwnerKind.VEHICLE: "vehicles",
    OwnerKind.PARTNER: "partners",
    OwnerKind.APPLICATION: "applications",
    OwnerKind.CONTRACT: "contracts",
}
"""The owners that have a resource of their own, and its path; documents of exception
requests get routes when those requests do."""

OCTET_STREAM: Final = "application/octet-stream"

_Handler = Callable[[web.Request], Awaitable[web.Response]]


@attrs.frozen
class Document:
    """An uploaded file: whose it is, what it is, and the SHA-256 that proves it unchanged.
    The bytes are at ``/documents/{id}/content``."""

    id: str
    owner_kind: OwnerKind = attrs.field(converter=OwnerKind)
    owner_id: str
    kind: DocumentKind = attrs.field(converter=DocumentKind)
    filename: str = attrs.field(
        metadata={"description": "As the uploader named it; it says nothing about the type."}
    )
    content_type: str = attrs.field(
        metadata={"description": "Found in the bytes, not taken from the name or the request."}
    )
    size: int = attrs.field(metadata={"description": "In bytes."})
    sha256: str = attrs.field(metadata={"description": "SHA-256 of the bytes, hexadecimal."})
    partner_id: str | None
    uploaded_by: str = attrs.field(metadata={"description": "The id of the uploading user."})
    uploaded_at: datetime

    @classmethod
    def from_record(cls, record: domain.Document | Record) -> Document:
        """The wire form of a stored document or of a listed record: the same fields but
        where the store keeps the bytes."""
        fields: Mapping[str, Any] = (
            record if isinstance(record, dict) else attrs.asdict(record, recurse=False)
        )
        return cls(**{name: fields[name] for name in _WIRE_FIELDS})


_WIRE_FIELDS: Final = tuple(field.name for field in attrs.fields(Document))


@attrs.frozen
class DocumentUpload:
    """What an upload is, given in the query string because the body is the file."""

    kind: DocumentKind
    filename: str = attrs.field(metadata={"max_length": domain.MAX_FILENAME})


@contextmanager
def _owner_in_path(owner_kind: OwnerKind, owner_id: str) -> Iterator[None]:
    """The services report an owner they cannot find as a field error on ``owner_id`` (it is
    a field of their command); here the owner is the path, so it is a 404."""
    try:
        yield
    except ValidationError as exc:
        if [error.field for error in exc.errors] == ["owner_id"]:
            raise NotFoundError(owner_kind.value, owner_id) from None
        raise


def _uploader(owner_kind: OwnerKind) -> _Handler:
    async def upload(request: web.Request) -> web.Response:
        who = actor(request)
        documents.record_document.authorize(who)
        query = read_query(request, DocumentUpload)
        owner_id = request.match_info["id"]
        command = UploadDocument(owner_kind, owner_id, query.kind, query.filename)
        store = functools.partial(
            documents.upload_document,
            services(request),
            who,
            command,
            idempotency_key=idempotency_key(request),
        )
        with _owner_in_path(owner_kind, owner_id):
            record = await receive_upload(request, store)
        return json_response(
            request, Document.from_record(record), status=201, location=f"/documents/{record.id}"
        )

    upload.__name__ = upload.__qualname__ = f"upload_{owner_kind}_document"
    upload.__doc__ = (
        f"Send the file as the raw body (``curl --data-binary @scan.pdf``), with its kind and "
        f"name in the query. Accepted, recognised by their bytes: "
        f"{', '.join(sorted(ALLOWED_CONTENT_TYPES))}, and for a bank statement also the "
        f"bank's text export (CSV, camt.053, MT940) as {TEXT_STATEMENT}. Anything else, or a "
        f"file over the size "
        f"limit, is a 422 on ``file`` and nothing is kept. An unknown {owner_kind} is a 404."
    )
    return upload


@attrs.frozen
class DocumentFilter:
    """Which of the owner's documents to list."""

    kind: DocumentKind | None = None


def _list_of(owner_kind: OwnerKind) -> Callable[..., Page[Record]]:
    def list_of_owner(
        ctx: ServiceContext,
        who: Actor,
        owner_id: str,
        query: DocumentFilter,
        *,
        after: str | None,
        limit: int | None,
    ) -> Page[Record]:
        with _owner_in_path(owner_kind, owner_id):
            return documents.list_documents(
                ctx, who, owner_kind, owner_id, kind=query.kind, after=after, limit=limit
            )

    list_of_owner.__name__ = list_of_owner.__qualname__ = f"list_{owner_kind}_documents"
    list_of_owner.__doc__ = f"List the documents of the {owner_kind}.\n\nOldest first."
    return list_of_owner


for _owner, _path in OWNER_PATHS.items():
    api.post(
        f"/{_path}/{ID}/documents",
        summary=f"Upload a document of the {_owner}",
        retryable=True,
        query=DocumentUpload,
        body=bytes,
        body_media_type=OCTET_STREAM,
        responses={201: Reply("The document's record.", Document)},
    )(_uploader(_owner))
    list_route(
        api,
        f"/{_path}/{ID}/documents",
        _list_of(_owner),
        query=DocumentFilter,
        item=Document,
        transform=Document.from_record,
        path_args=lambda request: (request.match_info["id"],),
    )


get_route(
    api, f"/documents/{ID}", documents.get_document, reply=Document, to_reply=Document.from_record
)


@api.get(
    f"/documents/{ID}/content",
    summary="Download a document",
    responses={200: Reply("The file, typed as found at upload (a PDF or an image).", bytes, "*/*")},
)
async def download_document(request: web.Request) -> web.StreamResponse:
    """Streamed from the document store as an attachment, with the Content-Type found in the
    bytes at upload and ``X-Content-Type-Options: nosniff``, so that a browser never runs an
    upload as a page."""
    record, chunks = await run_sync(
        request,
        documents.open_document,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return await send_download(
        request,
        chunks,
        content_type=record.content_type,
        filename=record.filename,
        size=record.size,
    )
