"""A document's bytes for the workbench's pages (the previews of ID cards and face photos):
the API's download under the session instead of a token, so a document the person may not
see is a 404 here as it is there."""

from __future__ import annotations

from aiohttp import web

from leasekit.server.routes.documents import download_document
from leasekit.server.workbench.handlers import page_handler

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/workbench/documents/{id}/file")
@page_handler
async def document_file(request: web.Request) -> web.StreamResponse:
    """The file as found at upload (typed by its bytes, ``nosniff``), for an ``<img>``."""
    return await download_document(request)
