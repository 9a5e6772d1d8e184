"""The voucher templates in force, and the plugins' templates beside them.

**In force** are the default templates of the code, on the configured chart
(``ctx.accounting``), with every version saved through the API
(:mod:`leasekit.services.voucher_templates`) added in the order it was saved. The booking
handler asks for them once per event, so the built :class:`Accounting` is kept per process
and rebuilt only when a cheap query over the saved versions (their count and newest id)
changes: a version saved by another process is in force from the next booking on.

**Plugins' templates** (``leasekit_register_voucher_templates``) book what the data
templates do not: an event that no data template meets, but that a plugin's template names,
is booked from the lines the plugin gives. The lines are checked as a saved template is
(accounts known and open in the chart, in its currency, debits equal to credits); an event
whose lines fail a check, or whose plugin raises, waits in the unmapped queue with the
reason, as any event that cannot be booked. The voucher names its template
``plugin:<event name>``, version 0: a plugin's template has no versions of its own, the
plugin's release is its version. Its lines carry the dimensions the event gives (contract,
partner, product, branch), as the default templates' do.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Final

import attrs

from leasekit.domain.accounting import ChartOfAccounts
from leasekit.domain.bookings import Accounting
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.domain.voucher_templates import Booking, EventFacts, Unmapped
from leasekit.domain.vouchers import JournalLine, Voucher, check_balanced
from leasekit.errors import DomainError, ValidationError
from leasekit.plugins import Adapters
from leasekit.ports import LedgerLine, VoucherTemplate
from leasekit.services.context import ServiceContext
from leasekit.services.storage import TemplatesFingerprint, UnitOfWork

__all__ = ["PLUGIN_TEMPLATE_VERSION", "book_with_plugins", "in_force", "plugin_event_names"]

PLUGIN_TEMPLATE_VERSION: Final = 0
"""The version a voucher booked by a plugin's template names."""
_KEPT: Final = 16
"""Accountings kept built: one per configured accounting (a process has one; tests more)."""
_DIMENSION_FIELDS: Final = MappingProxyType(
    {"contract": "contract_id", "partner": "partner_id", "product": "product", "branch": "branch"}
)


@attrs.frozen
class _Built:
    base: Accounting
    fingerprint: TemplatesFingerprint
    accounting: Accounting


_BUILT: dict[int, _Built] = {}
"""The accountings built, by the identity of the configured one they were built on (kept
alive here, so the identity is not reused while its entry lives)."""
_BUILDING: Final = threading.Lock()
"""Held while the cache changes: the server's worker threads book side by side."""


def in_force(base: Accounting, uow: UnitOfWork) -> Accounting:
    """*base* (the defaults on the configured chart) with every saved version added; built
    once per change of the saved versions (see the module)."""
    fingerprint = uow.voucher_templates.fingerprint()
    if not fingerprint.saved:
        return base
    built = _BUILT.get(id(base))
    if built is not None and built.base is base and built.fingerprint == fingerprint:
        return built.accounting
    saved = base.templates.restored(uow.voucher_templates.in_order())
    accounting = Accounting(saved, base.rounding)
    with _BUILDING:
        if len(_BUILT) >= _KEPT:
            del _BUILT[next(iter(_BUILT))]
        _BUILT[id(base)] = _Built(base, fingerprint, accounting)
    return accounting


def plugin_event_names(ctx: ServiceContext) -> Collection[str]:
    """The events the plugins' templates name: the booking handler wants them too."""
    return ctx.adapters.voucher_templates.keys()


def book_with_plugins(
    accounting: Accounting,
    plugins: Adapters,
    event: DomainEvent,
    facts: EventFacts,
    *,
    actor: Actor,
    at: datetime,
) -> Booking | Unmapped | None:
    """*facts* booked by the data templates in force (in the ledger of the event's
    currency); one none of them meets, by the plugin's template that names the event, if
    any (see the module). None when every line comes to zero or the plugin gives none."""
    templates = accounting.templates_in(facts.field_text("currency"))
    booked = templates.book(facts, actor=actor, at=at, rounding=accounting.rounding)
    plugin = plugins.voucher_template(facts.event_type)
    if not isinstance(booked, Unmapped) or plugin is None:
        return booked
    return _plugin_booking(plugin, event, facts, templates.chart, actor=actor, at=at)


def _plugin_booking(
    plugin: VoucherTemplate,
    event: DomainEvent,
    facts: EventFacts,
    chart: ChartOfAccounts,
    *,
    actor: Actor,
    at: datetime,
) -> Booking | Unmapped | None:
    name = f"plugin:{facts.event_type}"
    try:
        given = plugin.lines(event)
    except Exception as exc:  # a broken plugin queues the event; it never loses it
        return Unmapped(facts.event_type, facts.key, f"{name} failed: {type(exc).__name__}: {exc}")
    if not given:
        return None
    fault = _fault(given, chart)
    if fault is not None:
        return Unmapped(facts.event_type, facts.key, f"{name}, {fault}")
    lines = [JournalLine(line.account, line.side, line.amount, line.memo) for line in given]
    voucher = Voucher.post(
        business_date=facts.business_date,
        description=f"{facts.event_type} ({facts.key})",
        lines=lines,
        actor=actor,
        at=at,
        source_key=facts.key,
    )
    dimensions = _dimensions(facts)
    return Booking(name, PLUGIN_TEMPLATE_VERSION, voucher, tuple(dimensions for _ in lines))


def _fault(lines: Sequence[LedgerLine], chart: ChartOfAccounts) -> str | None:
    """What keeps *lines* from being booked to *chart*, naming the line; None when nothing."""
    for index, line in enumerate(lines):
        try:
            chart.postable(line.account)
        except (ValidationError, DomainError) as exc:
            return f"lines[{index}].account: {exc}"
        if line.amount.currency != chart.currency:
            return f"lines[{index}].amount: {line.amount.currency} line, {chart.currency} chart"
    try:
        check_balanced(JournalLine(line.account, line.side, line.amount) for line in lines)
    except ValidationError as exc:
        return str(exc)
    return None


def _dimensions(facts: EventFacts) -> Mapping[str, str]:
    found = {dim: facts.field_text(field) for dim, field in _DIMENSION_FIELDS.items()}
    return MappingProxyType({dim: value for dim, value in found.items() if value is not None})
