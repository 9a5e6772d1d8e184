"""Signing in and out, and the language the pages speak."""

from __future__ import annotations

from aiohttp import web

from leasekit.errors import AuthenticationError, PartnerBarredError
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.forms import form_text
from leasekit.server.workbench.handlers import form_handler, page_handler, shown_as_page
from leasekit.server.workbench.i18n import LANGUAGES, negotiate
from leasekit.server.workbench.render import NAVIGATION, render
from leasekit.server.workbench.session import (
    SIGNED_IN_KEY,
    forget_session,
    remember_session,
    safe_next,
    same_site_path,
)
from leasekit.services import sign_ins

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.get("/workbench")
@page_handler
async def home(request: web.Request) -> web.StreamResponse:
    """The first page of the person's menu."""
    role = actor(request).role
    first = next(path for _, path, roles in NAVIGATION if role in roles)
    raise web.HTTPSeeOther(first)


@routes.get("/workbench/sign-in")
@shown_as_page
async def sign_in_page(request: web.Request) -> web.StreamResponse:
    context = {
        "next": safe_next(request.query.get("next")),
        "username": "",
        "refused": "",
        "expired": "expired" in request.query,
    }
    return render(request, "sign_in.html", context)


@routes.post("/workbench/sign-in")
@shown_as_page
async def sign_in(request: web.Request) -> web.StreamResponse:
    """A session for the person, if the token is theirs; a form from another site is
    refused, so nobody can be signed in as someone else behind their back."""
    origin = request.headers.get("Origin")
    if origin is not None and same_site_path(request, origin + "/") != "/":
        raise web.HTTPForbidden(text="Sign in from this server's own page.")
    form = await request.post()
    username, token = form_text(form, "username", 100), form_text(form, "token", 200)
    language = form_text(form, "language", 16)
    if language not in LANGUAGES:
        language = negotiate(request.headers.get("Accept-Language"))
    target = safe_next(form_text(form, "next", 2000))
    try:
        started = await run_sync(
            request, sign_ins.sign_in, services(request),
            sign_ins.SignIn(username, token, language),
        )  # fmt: skip
    except (AuthenticationError, PartnerBarredError) as refused:
        context = {"next": target, "username": username, "refused": str(refused),
                   "expired": False}  # fmt: skip
        return render(request, "sign_in.html", context, status=401)
    response = web.HTTPSeeOther(target)
    remember_session(request, response, started.secret)
    raise response


@routes.post("/workbench/sign-out")
@form_handler
async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session on the server, not only in this browser."""
    session_id = request[SIGNED_IN_KEY].session.id
    await run_sync(request, sign_ins.sign_out, services(request), actor(request), session_id)
    response = web.HTTPSeeOther("/workbench/sign-in")
    forget_session(response)
    raise response


@routes.post("/workbench/language")
@form_handler
async def choose_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    language = form_text(form, "language", 16)
    if language not in LANGUAGES:
        raise web.HTTPUnprocessableEntity(text=f"choose one of {', '.join(LANGUAGES)}")
    session_id = request[SIGNED_IN_KEY].session.id
    await run_sync(request, sign_ins.choose_language, services(request), session_id, language)
    raise web.HTTPSeeOther(safe_next(form_text(form, "back", 2000)))
