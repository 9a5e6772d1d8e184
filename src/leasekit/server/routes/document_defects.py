"""``/document-defects``: what reviewers found wrong with documents, and its resolution;
``/documents/{id}/defects`` lists one document's. Back-office staff only."""

from __future__ import annotations

from leasekit.domain.document_defects import DocumentDefect
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import document_defects
from leasekit.services.document_defects import DefectQuery, RecordDefect

__all__ = ["api"]

api = ApiRoutes("document defects", "Faults reviewers found in documents, until resolved.")

create_route(api, "/document-defects", document_defects.record_document_defect,
             body=RecordDefect, reply=DocumentDefect)  # fmt: skip
list_route(api, "/document-defects", document_defects.list_document_defects, query=DefectQuery,
           item=DocumentDefect)  # fmt: skip
get_route(api, f"/document-defects/{ID}", document_defects.get_document_defect,
          reply=DocumentDefect)  # fmt: skip
transition_route(api, f"/document-defects/{ID}/transitions",
                 document_defects.transition_document_defect, reply=DocumentDefect)  # fmt: skip
list_route(
    api,
    f"/documents/{ID}/defects",
    document_defects.list_defects_of_document,
    item=DocumentDefect,
    path_args=lambda request: (request.match_info["id"],),
)
