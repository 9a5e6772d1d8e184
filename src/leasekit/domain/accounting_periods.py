"""Accounting periods: calendar months, closed in order, after which the books for them are final.

The company's books are *closed through* a month: that month and every one before it refuse
postings, because the figures reported for them must not change under the reader. Closing is
a watermark, not a flag per month, so a month can never be open between two closed ones.

An event that belongs to a closed month is still booked, never dropped: its voucher lands on
the first day of the open period and names the month it corrects (:meth:`Books.placed`). A
correction of a voucher from a closed month, a reversal, does the same.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

import attrs

from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor
from leasekit.domain.vouchers import Voucher
from leasekit.errors import DomainError, ValidationError

__all__ = ["Books", "first_day_after", "period_of", "valid_period"]

_PERIOD: Final = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def period_of(day: date) -> str:
    """The period *day* belongs to, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def valid_period(value: object, field: str = "period") -> str:
    """*value* if it names a month as ``YYYY-MM``; otherwise an error naming *field*."""
    if not isinstance(value, str) or not _PERIOD.fullmatch(value):
        raise ValidationError.single(field, "a month as YYYY-MM, e.g. 2026-11")
    return value


def first_day_after(period: str) -> date:
    """The first day of the month after *period*."""
    year, month = (int(part) for part in period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


@attrs.frozen
class Books:
    """How far the books are closed, and by whom."""

    closed_through: str | None = None
    """The last closed month; None while no month has been closed."""
    closed_by: str | None = None
    closed_at: datetime | None = None
    version: int = 0

    def is_closed(self, day: date) -> bool:
        return self.closed_through is not None and period_of(day) <= self.closed_through

    @property
    def open_from(self) -> date | None:
        """The first day that still takes postings; None while every day does."""
        return None if self.closed_through is None else first_day_after(self.closed_through)

    def ensure_open(self, day: date) -> None:
        """Refuse a posting dated *day* in a closed month (a 409)."""
        if self.is_closed(day):
            raise DomainError(
                f"the period {period_of(day)} is closed (the books are closed through "
                f"{self.closed_through}); post in the open period from {self.open_from}"
            )

    def placed(self, voucher: Voucher) -> Voucher:
        """*voucher*, moved to the first open day if its date is in a closed month, naming
        the month it corrects; as it is otherwise."""
        if not self.is_closed(voucher.business_date):
            return voucher
        assert self.open_from is not None
        return attrs.evolve(
            voucher,
            business_date=self.open_from,
            corrects_period=period_of(voucher.business_date),
        )

    def close(self, period: str, *, actor: Actor, at: datetime, business_date: date) -> Books:
        """The books closed through *period*, which must lie after what is closed already
        and before the month of *business_date* (whose days are still being booked)."""
        valid_period(period)
        if self.closed_through is not None and period <= self.closed_through:
            raise DomainError(f"the books are closed through {self.closed_through} already")
        if period >= period_of(business_date):
            raise DomainError(
                f"{period} cannot be closed on {business_date}: only a month that has ended"
            )
        return attrs.evolve(
            self, closed_through=period, closed_by=actor.user_id, closed_at=require_utc(at)
        )
