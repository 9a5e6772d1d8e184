"""Reading posted forms, and where a form sends the person afterwards (post, redirect,
get: a reload never posts twice)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from leasekit.errors import ValidationError
from leasekit.server.keys import CONVERTER_KEY, SETTINGS_KEY
from leasekit.server.payloads import structure
from leasekit.server.workbench.session import check_csrf, safe_next
from leasekit.services.storage import Page

__all__ = [
    "Form",
    "done",
    "file_chunks",
    "form_file",
    "form_text",
    "form_texts",
    "form_version",
    "next_page_url",
    "read_filters",
    "upload_form",
]

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
_T = TypeVar("_T")
_NOT_FILTERS: Final = frozenset({"after", "limit", "notice"})
_CHUNK: Final = 64 * 1024
_FORM_SLACK: Final = 64 * 1024
"""Room in an upload form for its other fields, besides the file's own size limit."""


def form_text(form: Form, name: str, limit: int = 2000) -> str:
    """The field's text, stripped, at most *limit* characters; empty when it is missing or
    a file. Services validate the rest, as they do for the API."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_texts(form: Form, name: str, limit: int = 2000) -> list[str]:
    """Every value of a repeated field (checkboxes), as :func:`form_text` reads one."""
    return [value.strip()[:limit] for value in form.getall(name, []) if isinstance(value, str)]


def done(form: Form, notice: str) -> web.HTTPSeeOther:
    """Back to the page the form was on (its ``back`` field), saying what happened; an
    earlier form's notice on that page is replaced, not repeated."""
    target = urlsplit(safe_next(form_text(form, "back")))
    query = [(k, v) for k, v in parse_qsl(target.query) if k != "notice"] + [("notice", notice)]
    return web.HTTPSeeOther(f"{target.path}?{urlencode(query)}")


def form_version(form: Form) -> int:
    """The version of the object the page showed: a form always says which it acts on, and
    one without it is refused, as the API refuses a change without ``If-Match``."""
    given = form_text(form, "version", 20)
    if not given.isascii() or not given.isdigit() or len(given) > 12:
        raise ValidationError.single("version", "the version the page showed; reload the page")
    return int(given)


def read_filters(request: web.Request, cls: type[_T]) -> tuple[_T, dict[str, str]]:
    """A list page's filters from its query string as a *cls* (errors name the field at
    fault, as the API's do), and the filters given, to fill the form again. Empty fields
    of a submitted filter form mean "any"."""
    given = {
        name: value
        for name, value in request.query.items()
        if value.strip() and name not in _NOT_FILTERS
    }
    return structure(request.app[CONVERTER_KEY], given, cls), given


def next_page_url(request: web.Request, page: Page[Any]) -> str | None:
    """The link to the page after *page*, with the same filters."""
    if page.next_after is None:
        return None
    query = {k: v for k, v in request.query.items() if k not in {"after", "notice"}}
    return f"{request.path}?{urlencode({**query, 'after': page.next_after})}"


@contextlib.asynccontextmanager
async def upload_form(request: web.Request) -> AsyncIterator[Form]:
    """A multipart form carrying a file, held to the API's upload size limit rather than
    the app's 1 MiB body limit (which :func:`~.handlers.form_handler` reads forms within),
    its CSRF field checked; its files are closed afterwards. For a :func:`~.handlers.
    page_handler`."""
    limit = request.app[SETTINGS_KEY].server.max_upload_bytes
    roomy = request.clone(client_max_size=limit + _FORM_SLACK)
    await check_csrf(roomy)
    form = await roomy.post()
    try:
        yield form
    finally:
        for value in form.values():
            if isinstance(value, web.FileField):
                value.file.close()


def form_file(form: Form, name: str = "file") -> web.FileField:
    """The file the form carries in *name*; a form without one is refused."""
    file = form.get(name)
    if not isinstance(file, web.FileField):
        raise ValidationError.single(name, "choose a file to upload")
    return file


def file_chunks(file: web.FileField) -> Iterator[bytes]:
    """The uploaded file's bytes, from the start, a piece at a time."""
    file.file.seek(0)
    while chunk := file.file.read(_CHUNK):
        yield chunk
