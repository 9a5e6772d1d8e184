"""The back-office workbench: server-rendered pages under ``/workbench`` where officers
decide, reviewers pay out and post-loan staff work.

It runs in the API's process on the same services; pages sign people in with a session
cookie (:mod:`.session`) instead of a bearer token, render HTML (:mod:`.render`) in the
session's language (:mod:`.i18n`), and each page module under :mod:`.pages` brings its own
routes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from aiohttp import web

from leasekit.discovery import submodules
from leasekit.server.workbench.render import setup_templates

__all__ = ["ROUTES", "setup_workbench"]

ROUTES: Final[tuple[web.RouteTableDef, ...]] = tuple(
    module.routes for module in submodules("leasekit.server.workbench.pages")
)


def setup_workbench(app: web.Application) -> frozenset[object]:
    """Serve the workbench's pages and static files on *app*; the handlers, which
    authenticate with the session instead of a bearer token."""
    setup_templates(app)
    handlers: set[object] = set()
    for table in ROUTES:
        for route in app.router.add_routes(table):
            handlers.add(route.handler)
    static = Path(str(resources.files(__package__).joinpath("static")))
    resource = app.router.add_static("/workbench/static", static, name="workbench-static")
    handlers.update(route.handler for route in resource)
    return frozenset(handlers)
