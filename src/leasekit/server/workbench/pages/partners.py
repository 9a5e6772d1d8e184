"""*Partners*: the dealers and brokers, with where the company's credit exposure sits by
grade; and one partner's page: its rating and why, its credit limit, its state and the
moves people may make, its history and its settlement bank accounts.

Every figure comes from the services the JSON API calls (``/partners``,
``/partners/{id}/rating``, ``/partners/{id}/credit-limit``, ``/partners/{id}/history``);
every form posts to a service command, at the version the page showed, so a change made
meanwhile is refused (412) rather than overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
from aiohttp import web

from leasekit.domain.credit_limits import LimitPosition
from leasekit.domain.identity import Role
from leasekit.domain.partner_profiles import BankAccount, BankScheme
from leasekit.domain.partners import PARTNER_LIFECYCLE, Partner, PartnerKind, PartnerState
from leasekit.domain.partners import PartnerRating as Grade
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.server.keys import CONVERTER_KEY
from leasekit.server.payloads import structure
from leasekit.server.routes.helpers import actor, run_sync, services
from leasekit.server.workbench.charts import BarChart, bar_chart
from leasekit.server.workbench.forms import (
    Form,
    done,
    form_text,
    form_version,
    next_page_url,
    read_filters,
)
from leasekit.server.workbench.handlers import form_handler, page_handler
from leasekit.server.workbench.i18n import translations
from leasekit.server.workbench.render import NOTICES, format_money, page_language, render
from leasekit.services import credit_limits, partner_ratings, partners
from leasekit.services.partners import PartnerQuery, ProfileRevision
from leasekit.services.storage import GradeExposure

__all__ = ["routes"]

routes = web.RouteTableDef()

NOTICES.update({
    "partner_moved": "The partner's state has changed.",
    "settlement_set": "The settlement account is set.",
    "partner_rated": "The partner has been rated.",
})  # fmt: skip

_GAUGE_WIDTH: Final = 1000
"""The gauge's drawing width: its parts are shares of it (the SVG scales to the page)."""
_ACCOUNT_FIELDS: Final = (
    "scheme", "holder", "bank_name", "iban", "bic", "card_number", "routing_number",
    "account_number",
)  # fmt: skip


# --- the list --------------------------------------------------------------------------------


@routes.get("/workbench/partners")
@page_handler
async def partner_list(request: web.Request) -> web.StreamResponse:
    who, ctx = actor(request), services(request)
    exposure = await run_sync(request, credit_limits.exposure_by_grade, ctx, who)
    query, given = read_filters(request, PartnerQuery)
    after, limit = request.query.get("after"), _limit(request)
    page = await run_sync(
        request, partners.list_partners, ctx, who, query, after=after, limit=limit
    )
    language = page_language(request)
    context = {
        "partners": page.items,
        "next_url": next_page_url(request, page),
        "filters": given,
        "states": [state.value for state in PartnerState],
        "grades": [grade.value for grade in Grade],
        "kinds": [kind.value for kind in PartnerKind],
        "exposure": exposure,
        "total": _total(exposure),
        "chart": _exposure_chart(exposure, language),
        "limits_chart": _limits_chart(exposure, language),
    }
    return render(request, "partners.html", context)


def _limit(request: web.Request) -> int | None:
    """The page size the link asks for (the services bound it), or the default."""
    given = request.query.get("limit", "").strip()
    if not given:
        return None
    if not given.isascii() or not given.isdecimal() or len(given) > 4:
        raise ValidationError.single("limit", "a whole number of records")
    return int(given)


def _exposure_chart(exposure: Sequence[GradeExposure], language: str) -> BarChart:
    """Credit in use (used and frozen) by grade: where the company stands to lose."""
    return _grade_chart("exposure-by-grade", exposure, language, lambda row: row.used + row.frozen)


def _limits_chart(exposure: Sequence[GradeExposure], language: str) -> BarChart:
    """The credit limits granted by grade: what the company has promised."""
    return _grade_chart("limits-by-grade", exposure, language, lambda row: row.limit)


def _grade_chart(
    chart_id: str,
    exposure: Sequence[GradeExposure],
    language: str,
    figure: Callable[[GradeExposure], Money],
) -> BarChart:
    ungraded = str(translations(language).gettext("Ungraded"))
    bars = []
    for row in exposure:
        label = row.grade.value if row.grade is not None else ungraded
        bars.append((label, figure(row).amount, _amount_text(figure(row), language)))
    return bar_chart(chart_id, bars)


@attrs.frozen
class _Total:
    partners: int
    limit: Money
    used: Money
    frozen: Money


def _total(exposure: Sequence[GradeExposure]) -> _Total | None:
    """The grades added up, when they share one currency (a book has one)."""
    if not exposure or len({row.limit.currency for row in exposure}) != 1:
        return None
    zero = Money(0, exposure[0].limit.currency)
    total = _Total(0, zero, zero, zero)
    for row in exposure:
        total = _Total(
            total.partners + row.partners,
            total.limit + row.limit,
            total.used + row.used,
            total.frozen + row.frozen,
        )
    return total


def _amount_text(value: Money, language: str) -> str:
    """An amount as the ``money`` filter writes it, for text drawn in a chart."""
    return format_money(value.amount, value.currency.code, language)


# --- one partner ----------------------------------------------------------------------------


@routes.get("/workbench/partners/{id}")
@page_handler
async def partner_page(request: web.Request) -> web.StreamResponse:
    who, ctx, partner_id = actor(request), services(request), request.match_info["id"]
    partner = await run_sync(request, partners.get_partner, ctx, who, partner_id)
    rating = await run_sync(request, partner_ratings.get_partner_rating, ctx, who, partner_id)
    position = await run_sync(request, credit_limits.get_credit_limit, ctx, who, partner_id)
    history = await run_sync(
        request, partners.partner_history, ctx, who, partner_id, after=request.query.get("after")
    )
    context = {
        "partner": partner,
        "rating": rating,
        "may_rate": who.role in partner_ratings.RATERS,
        "position": position,
        "gauge": _gauge(position),
        "moves": _moves(partner, who.role),
        "history": [_revision(record) for record in history.items],
        "next_url": next_page_url(request, history),
        "schemes": [scheme.value for scheme in BankScheme],
    }
    return render(request, "partner.html", context)


@attrs.frozen
class _Gauge:
    """The credit limit as three adjoining bars, each's width a share of the drawing."""

    used: int
    frozen: int
    available: int
    width: int = _GAUGE_WIDTH


def _gauge(position: LimitPosition) -> _Gauge:
    """Used, frozen and available as shares of the limit, or of what is in use when the
    limit has fallen below it (nothing is then available)."""
    used, frozen = position.used.amount, position.frozen.amount
    available = max(position.available.amount, Decimal(0))
    whole = max(used + frozen + available, Decimal(0))
    if whole <= 0:
        return _Gauge(0, 0, 0)
    used_width = int(used * _GAUGE_WIDTH / whole)
    frozen_width = int(frozen * _GAUGE_WIDTH / whole)
    return _Gauge(used_width, frozen_width, _GAUGE_WIDTH - used_width - frozen_width)


@attrs.frozen
class _Move:
    action: str
    reason_required: bool


def _moves(partner: Partner, role: Role) -> list[_Move]:
    """The moves the lifecycle lets the person's role make from the partner's state (the
    service still checks the rest: documents before approval, a clear exit review)."""
    moves = []
    for action in PARTNER_LIFECYCLE.actions_from(partner.state, role):
        row = PARTNER_LIFECYCLE.transition(partner.state, action)
        moves.append(_Move(action, row is not None and row.reason_required))
    return moves


def _revision(record: dict[str, Any]) -> dict[str, Any]:
    """A history record with each change's before and after as text."""
    changes = [
        {"field": change["field"], "before": _shown(change.get("before")),
         "after": _shown(change.get("after"))}
        for change in record.get("changes", [])
    ]  # fmt: skip
    return {**record, "changes": changes}


def _shown(value: object) -> str:
    """A profile field's value as the history shows it (numbers already masked)."""
    if value is None or value == []:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- forms -----------------------------------------------------------------------------------


@routes.post("/workbench/partners/{id}/transitions")
@form_handler
async def move_partner(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    who, ctx, partner_id = actor(request), services(request), request.match_info["id"]
    await run_sync(
        request,
        partners.transition_partner,
        ctx,
        who,
        partner_id,
        form_text(form, "action", 64),
        form_text(form, "reason") or None,
        expected_version=form_version(form),
    )
    raise done(form, "partner_moved")


@routes.post("/workbench/partners/{id}/settlement-account")
@form_handler
async def set_settlement_account(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    who, ctx, partner_id = actor(request), services(request), request.match_info["id"]
    account = _account(request, form)
    version = form_version(form)
    partner = await run_sync(request, partners.get_partner, ctx, who, partner_id)
    change = partners.settlement_change(partner, account, form_text(form, "reason"))
    revision = ProfileRevision(partner_id, change, version)
    await run_sync(request, partners.revise_partner, ctx, who, revision)
    raise done(form, "settlement_set")


@routes.post("/workbench/partners/{id}/rating")
@form_handler
async def rate_partner(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    who, ctx, partner_id = actor(request), services(request), request.match_info["id"]
    rate = partner_ratings.RatePartner(partner_id)
    await run_sync(request, partner_ratings.rate_partner, ctx, who, rate)
    raise done(form, "partner_rated")


def _account(request: web.Request, form: Form) -> BankAccount:
    """The account the form describes, read as the API reads one (its text checked, each
    fault named by its field); its numbers are checked when the profile is revised."""
    given = {name: form_text(form, name) for name in _ACCOUNT_FIELDS}
    data = {name: value for name, value in given.items() if value}
    return structure(request.app[CONVERTER_KEY], data, BankAccount)
