"""Pages as HTML: the Jinja environment (autoescaped, translated through the session's
language), the filters that format money and moments, and the error page.

Templates only lay out what the services return: which actions a person may take comes
from the lifecycles, never from a template's own conditions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from leasekit.domain.identity import Role
from leasekit.money import Money
from leasekit.server.keys import SETTINGS_KEY
from leasekit.server.problems import problem_for
from leasekit.server.workbench.i18n import LANGUAGES, locale_of, negotiate, translations
from leasekit.server.workbench.session import (
    SECRET_KEY,
    SIGNED_IN_KEY,
    csrf_token,
    safe_next,
    same_site_path,
)

__all__ = [
    "NAVIGATION",
    "NOTICES",
    "error_page",
    "format_money",
    "page_language",
    "render",
    "setup_templates",
]

NAVIGATION: Final = (
    ("queue", "/workbench/queue",
     frozenset({Role.OFFICER, Role.MANAGER, Role.DIRECTOR, Role.ADMIN})),
    ("payouts", "/workbench/payouts",
     frozenset({Role.FINANCE, Role.FINANCE_DIRECTOR, Role.DEALER_USER, Role.ADMIN})),
    ("contracts", "/workbench/contracts", frozenset(Role) - {Role.SYSTEM}),
    ("partners", "/workbench/partners",
     frozenset(Role) - {Role.SYSTEM, Role.DEALER_USER}),
    ("reconciliation", "/workbench/reconciliation",
     frozenset({Role.FINANCE, Role.FINANCE_DIRECTOR, Role.POST_LOAN_SUPERVISOR, Role.ADMIN})),
)  # fmt: skip
"""The menu: each page and the roles it is for (the services decide what each may see)."""

NOTICES: Final[dict[str, str]] = {}
"""What a page says after a form succeeded, by the key the form's redirect names
(``?notice=claimed``): a key, not text, so a link cannot put words on the page. Each page
module adds its own; the texts are translated when shown."""


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return str(translations(context["language"]).gettext(message))


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    return str(translations(context["language"]).ngettext(singular, plural, n))


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """An amount with its currency, grouped for the language; exact (never through float)."""
    text = format_decimal(amount, "#,##0.00", locale=locale_of(language))
    return f"{text} {currency}".strip()


@jinja2.pass_context
def _money(context: jinja2.runtime.Context, value: Money | Decimal | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, Money):
        return format_money(value.amount, value.currency.code, context["language"])
    return format_money(Decimal(value), "", context["language"])


@jinja2.pass_context
def _moment(context: jinja2.runtime.Context, value: datetime | date | None) -> str:
    if value is None:
        return "—"
    locale = locale_of(context["language"])
    if isinstance(value, datetime):
        return format_datetime(value, "medium", tzinfo=context["zone"], locale=locale)
    return format_date(value, "medium", locale=locale)


def _masked(value: str | None, keep: int = 4) -> str:
    """An identity or account number with all but its last *keep* characters hidden."""
    if not value:
        return "—"
    return "•" * max(len(value) - keep, 0) + value[-keep:]


def setup_templates(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("leasekit.server.workbench", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(money=_money, moment=_moment, masked=_masked)


def page_language(request: web.Request) -> str:
    """The session's language; before sign-in, the browser's."""
    signed_in = request.get(SIGNED_IN_KEY)
    if signed_in is not None and signed_in.session.language in LANGUAGES:
        return str(signed_in.session.language)
    return negotiate(request.headers.get("Accept-Language"))


def _common(request: web.Request) -> dict[str, Any]:
    signed_in = request.get(SIGNED_IN_KEY)
    settings = request.app[SETTINGS_KEY]
    menu = []
    if signed_in is not None:
        role = signed_in.actor.role
        menu = [(name, path) for name, path, roles in NAVIGATION if role in roles]
    return {
        "language": page_language(request),
        "languages": LANGUAGES,
        "zone": ZoneInfo(settings.timezone),
        "signed_in": signed_in,
        "csrf": csrf_token(request[SECRET_KEY]) if signed_in is not None else "",
        "menu": menu,
        "path": request.path,
        "path_qs": request.path_qs,
        "notice": _notice(request, page_language(request)),
    }


def _notice(request: web.Request, language: str) -> str:
    text = NOTICES.get(request.query.get("notice", ""))
    return "" if text is None else str(translations(language).gettext(text))


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(
        template, request, {**_common(request), **context}, status=status
    )
    _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    """Headers that keep a page's own content from being turned against it: no inline or
    foreign script or style, no framing by other sites, no guessing of content types."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-src 'self'; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def error_page(request: web.Request, exc: Exception) -> web.Response:
    """What went wrong, in the page's language, with the fields at fault and a way back."""
    body = problem_for(exc, request).body()
    back = safe_next(same_site_path(request, request.headers.get("Referer", "")))
    return render(request, "error.html", {"problem": body, "back": back}, status=body["status"])
