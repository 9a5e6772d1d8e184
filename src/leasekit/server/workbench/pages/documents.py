"""A document's bytes for the workbench's pages (the previews of ID cards and face photos):
the session's person reads them through the same service as the API's download, so a
document they may not see is a 404 here as it is there."""

from __future__ import annotations

from aiohttp import web

from leasekit.server.routes.helpers import actor, run_sync, send_download, services
from leasekit.server.workbench.handlers import page_handler
from leasekit.services import documents

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/workbench/documents/{id}/file")
@page_handler
async def document_file(request: web.Request) -> web.StreamResponse:
    """The file as found at upload (typed by its bytes, ``nosniff``), for an ``<img>`` or a
    link; the API's download, under the session instead of a token."""
    record, chunks = await run_sync(
        request,
        documents.open_document,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return await send_download(
        request, chunks, content_type=record.content_type, filename=record.filename,
        size=record.size,
    )  # fmt: skip
