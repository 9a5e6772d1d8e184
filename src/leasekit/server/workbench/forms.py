"""Reading posted forms, and where a form sends the person afterwards (post, redirect,
get: a reload never posts twice)."""

from __future__ import annotations

from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from leasekit.errors import ValidationError
from leasekit.server.keys import CONVERTER_KEY
from leasekit.server.payloads import structure
from leasekit.server.workbench.session import safe_next
from leasekit.services.storage import Page

__all__ = [
    "Form",
    "done",
    "form_text",
    "form_texts",
    "form_version",
    "next_page_url",
    "read_filters",
]

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
_T = TypeVar("_T")
_NOT_FILTERS: Final = frozenset({"after", "limit", "notice"})


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
