"""How a workbench request finds its person: the session cookie and the CSRF token of its
forms (the decorators of :mod:`.handlers` use them on every page and form).

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it), scoped to ``/workbench`` and, with ``LEASEKIT_WORKBENCH__SECURE_COOKIE``, HTTPS-only.
Every form carries a CSRF token derived from the session's secret (an HMAC, so it reveals
nothing of the secret and needs no storage); a form posted without it, or with another
session's, is refused before the handler runs.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Final
from urllib.parse import urlencode

from aiohttp import web

from leasekit.errors import AuthenticationError
from leasekit.server.keys import ACTOR_KEY, SETTINGS_KEY
from leasekit.server.routes.helpers import run_sync, services
from leasekit.services.sign_ins import SignedIn, session_actor

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "SECRET_KEY",
    "SIGNED_IN_KEY",
    "check_csrf",
    "csrf_token",
    "find_session",
    "forget_session",
    "remember_session",
    "safe_next",
    "same_site_path",
    "sign_in_redirect",
]

COOKIE: Final = "leasekit_session"
PATH: Final = "/workbench"
SIGNED_IN_KEY: Final = web.RequestKey("signed_in", SignedIn)
SECRET_KEY: Final = web.RequestKey("session_secret", str)
CSRF_FIELD: Final = "csrf"


def csrf_token(secret: str) -> str:
    """The token a session's forms carry: an HMAC of the session's secret."""
    return hmac.new(secret.encode(), b"workbench-csrf", hashlib.sha256).hexdigest()


def remember_session(request: web.Request, response: web.StreamResponse, secret: str) -> None:
    settings = request.app[SETTINGS_KEY].workbench
    response.set_cookie(
        COOKIE,
        secret,
        path=PATH,
        httponly=True,
        samesite="Strict",
        secure=settings.secure_cookie,
    )


def forget_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PATH)


def safe_next(target: str | None) -> str:
    """*target* if it is a workbench page of this server, else the queue: a sign-in link can
    send nobody to another site."""
    if target and target.startswith(PATH + "/") and "//" not in target and "\\" not in target:
        return target
    return f"{PATH}/queue"


def sign_in_redirect(request: web.Request) -> web.HTTPSeeOther:
    """Off to the sign-in page, coming back here afterwards (pages only: a form's target
    is not a page to come back to)."""
    back = request.path_qs if request.method == "GET" else request.headers.get("Referer", "")
    query = {"next": safe_next(same_site_path(request, back))}
    if COOKIE in request.cookies:
        query["expired"] = "1"
    response = web.HTTPSeeOther(f"{PATH}/sign-in?{urlencode(query)}")
    forget_session(response)
    return response


def same_site_path(request: web.Request, url: str) -> str:
    """The path and query of *url* when it points at this server, else nothing."""
    origin = f"{request.scheme}://{request.host}"
    if url.startswith(origin + "/"):
        return url.removeprefix(origin)
    return url if url.startswith("/") else ""


async def find_session(request: web.Request) -> SignedIn:
    """The session the cookie names, set on the request for the page; AuthenticationError
    if there is none or it has ended or expired."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 128 or not secret.isascii():
        raise AuthenticationError("not signed in")
    idle = timedelta(minutes=request.app[SETTINGS_KEY].workbench.idle_minutes)
    found = await run_sync(request, session_actor, services(request), secret, idle)
    request[SIGNED_IN_KEY], request[SECRET_KEY] = found, secret
    request[ACTOR_KEY] = found.actor
    return found


async def check_csrf(request: web.Request) -> None:
    """Refuse a form whose CSRF token is not this session's."""
    form = await request.post()
    given = form.get(CSRF_FIELD)
    expected = csrf_token(request[SECRET_KEY])
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise web.HTTPForbidden(text="This form is not from your session; reload the page.")
