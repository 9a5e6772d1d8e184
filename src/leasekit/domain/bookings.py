"""Vouchers generated from business events, and the events no template could book.

The company books with one :class:`Accounting`: its chart of accounts and the voucher
templates in force, each currency in a ledger of its own with the same account codes. An
event that a template books becomes a voucher whose lines carry their dimensions (contract,
partner, product, branch); an event that none meets, or that the template chosen cannot book
(a closed account, a missing amount), becomes an :class:`UnmappedEvent` in the accountant's
queue, with the reason and everything needed to book it again once the cause is fixed.
Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

import attrs

from leasekit.domain.accounting import ChartOfAccounts, default_chart
from leasekit.domain.clock import require_utc
from leasekit.domain.events import DomainEvent, PayloadValue
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.voucher_templates import TemplateSet, default_templates
from leasekit.errors import AmountError, DomainError
from leasekit.money import HALF_UP, Rounding, currency

__all__ = [
    "Accounting",
    "UnmappedEvent",
    "UnmappedState",
    "default_accounting",
]

DEFAULT_COMPANY: Final = "Leasekit Demo Leasing Co."


@attrs.frozen
class Accounting:
    """How the company books events: the templates in force (which hold the chart they
    book to) and the rounding of each line."""

    templates: TemplateSet
    rounding: Rounding = HALF_UP
    _by_currency: dict[str, TemplateSet] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def chart(self) -> ChartOfAccounts:
        return self.templates.chart

    def templates_in(self, currency_code: str | None) -> TemplateSet:
        """The templates booking to the chart in *currency_code* (the company's own when it
        is None or no currency): the same codes, a ledger per currency."""
        try:
            cur = currency(currency_code or self.chart.currency)
        except AmountError:
            return self.templates  # booking it names the currency at fault
        if cur.code not in self._by_currency:
            chart = self.chart.in_currency(cur)
            self._by_currency[cur.code] = attrs.evolve(self.templates, chart=chart)
        return self._by_currency[cur.code]

    @classmethod
    def of(cls, chart: ChartOfAccounts, closed: Iterable[str] = ()) -> Accounting:
        """The default templates on *chart*, with the accounts *closed* closed afterwards:
        the templates stay as they were saved, and an event one of them would book to a
        closed account waits in the unmapped queue until the account opens again or a new
        template version books it elsewhere."""
        templates = default_templates(chart)
        for code in closed:
            chart = chart.close(code)
        return cls(attrs.evolve(templates, chart=chart))


def default_accounting(company: str = DEFAULT_COMPANY, currency: str = "CNY") -> Accounting:
    """The default chart and templates for *company* in *currency*."""
    return Accounting.of(default_chart(company, currency))


class UnmappedState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


def _payload(values: Mapping[str, PayloadValue]) -> dict[str, Any]:
    return dict(values)


@attrs.define
class UnmappedEvent:
    """An event waiting for the accountant: what it was, why it was not booked, and its
    payload, from which it is booked again (:meth:`resolve` once it books)."""

    id: str
    event_key: str
    event_type: str
    subject: str
    subject_id: str
    business_date: date
    reason: str
    payload: dict[str, Any] = attrs.field(converter=_payload)
    """The event's payload as it was delivered (exact JSON values: text, numbers, flags)."""
    state: UnmappedState = attrs.field(converter=UnmappedState)
    created_at: datetime = attrs.field(converter=require_utc)
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    voucher_id: str | None = None
    """The voucher the replay booked; None when every line came to zero."""
    version: int = 0

    @classmethod
    def of(cls, event: DomainEvent, reason: str, at: datetime) -> UnmappedEvent:
        """*event* queued at *at*, because of *reason*, with all it takes to book it later."""
        return cls(
            id=new_id(),
            event_key=event.idempotency_key,
            event_type=event.name,
            subject=event.subject,
            subject_id=event.subject_id,
            business_date=event.business_date,
            reason=reason,
            payload=dict(event.payload),
            state=UnmappedState.OPEN,
            created_at=at,
        )

    def resolve(self, actor: Actor, at: datetime, voucher_id: str | None) -> None:
        """Booked at last: resolved by *actor*, naming the voucher it became."""
        if self.state is not UnmappedState.OPEN:
            raise DomainError(f"unmapped event {self.id} is {self.state} already")
        self.state = UnmappedState.RESOLVED
        self.resolved_by = actor.user_id
        self.resolved_at = require_utc(at)
        self.voucher_id = voucher_id
