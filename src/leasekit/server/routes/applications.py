"""``/applications``: a partner's financing applications, from draft to decision and beyond.

A draft is written with :class:`~leasekit.services.applications.DraftApplication` (flat
amounts as decimal strings in one currency) and read back as the domain's ``Application``,
whose ``requested`` terms carry each amount as Money. The two differ on purpose: what a
client types is the least it must say, what it reads states every currency.

An application priced with a product (``product_code``) carries its plan's totals as
``plan``; ``GET /applications/{id}/plan`` gives them with every installment.

Lifecycle moves are ``POST /applications/{id}/transitions`` with ``{"action", "reason"}``;
``PUT`` replaces what a draft (or a returned application) asks for. Both need the version the
caller read, as ``If-Match``.
"""

from __future__ import annotations

from leasekit.domain.applications import Application
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import (
    ID,
    create_route,
    get_route,
    list_route,
    revise_route,
    transition_route,
)
from leasekit.services import applications, face_photos
from leasekit.services.applications import ApplicationQuery, DraftApplication, Revision

__all__ = ["api"]

api = ApiRoutes("applications", "Financing applications and their lifecycle.")

create_route(
    api,
    "/applications",
    applications.create_draft,
    body=DraftApplication,
    reply=Application,
    name="draft_application",
)
list_route(
    api, "/applications", applications.list_applications, query=ApplicationQuery, item=Application
)
get_route(api, f"/applications/{ID}", applications.get_application, reply=Application)
get_route(
    api,
    f"/applications/{ID}/plan",
    applications.get_application_plan,
    reply=applications.ApplicationPlan,
)
get_route(
    api, f"/applications/{ID}/face-check", face_photos.face_check, reply=face_photos.FaceCheckReport
)
revise_route(
    api,
    f"/applications/{ID}",
    applications.revise_application,
    body=DraftApplication,
    reply=Application,
    revision=Revision,
    summary="Revise a draft",
    answer="The application with its new terms.",
    description="""Replaces everything the application asks for, in states draft and
    returned only (409 otherwise), at the version ``If-Match`` names (412 if it changed
    since). The partner cannot change: ``partner_id`` must be the application's own.""",
)


transition_route(
    api, f"/applications/{ID}/transitions", applications.transition_application, reply=Application
)
