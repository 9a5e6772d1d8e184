"""The decorators every workbench handler wears: who is asking, whether a form is theirs,
and errors shown as pages rather than as the API's problem documents."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from leasekit.errors import AuthenticationError
from leasekit.server.workbench.render import error_page
from leasekit.server.workbench.session import check_csrf, find_session, sign_in_redirect

__all__ = ["WorkbenchHandler", "form_handler", "page_handler", "shown_as_page"]

WorkbenchHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def shown_as_page(handler: WorkbenchHandler) -> WorkbenchHandler:
    """Errors as an HTML page with the problem's status (an unexpected one logged with the
    id the page shows, as the API logs it); redirects pass through."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPRedirection:
            raise
        except Exception as exc:  # every error is shown as a page
            return error_page(request, exc)

    return wrapped


def page_handler(handler: WorkbenchHandler) -> WorkbenchHandler:
    """A page for a signed-in person; anyone else is sent to sign in."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            await find_session(request)
        except AuthenticationError:
            raise sign_in_redirect(request) from None
        return await handler(request)

    return shown_as_page(wrapped)


def form_handler(handler: WorkbenchHandler) -> WorkbenchHandler:
    """A form's target: a signed-in person posting a form of their own session."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        await check_csrf(request)
        return await handler(request)

    return page_handler(wrapped)
