"""Wall-clock time and the business date, kept apart.

The business date is the company's accounting day: interest accrues, installments fall due and
vouchers are dated by it. It usually follows the calendar in the company's time zone, but end
of day may run after midnight, and tests and demos need to move it at will, so every piece of
code asks a :class:`Clock` for it instead of calling ``date.today()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from leasekit.errors import ConfigurationError

__all__ = ["Clock", "FixedClock", "SystemClock", "instant", "optional_instant", "require_utc"]


def require_utc(moment: datetime, name: str = "at") -> datetime:
    """*moment* converted to UTC; a naive datetime is refused because its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: {moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)


class Clock(Protocol):
    """Where the current time and the current business date come from."""

    def now(self) -> datetime:
        """The current instant, time-zone aware, in UTC."""
        ...

    def business_date(self) -> date:
        """The company's current accounting day."""
        ...


def instant(value: object) -> datetime:
    """An instant as a value class stored as JSON holds it (ISO 8601 text) back to a
    ``datetime``; a ``datetime`` as it is. For converters of such classes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def optional_instant(value: object) -> datetime | None:
    return None if value is None else instant(value)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"timezone: {name!r} is not a known IANA time zone") from None


@attrs.define
class SystemClock:
    """The real clock. The business date is today in *timezone* unless pinned by settings."""

    timezone: str = "UTC"
    pinned_business_date: date | None = attrs.field(default=None, alias="business_date")
    _zone: ZoneInfo = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._zone = _zone(self.timezone)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def business_date(self) -> date:
        if self.pinned_business_date is not None:
            return self.pinned_business_date
        return datetime.now(self._zone).date()


@attrs.define
class FixedClock:
    """A clock that moves only when told to, for tests and demos."""

    current: datetime = attrs.field(alias="now", converter=require_utc)
    current_business_date: date = attrs.field(alias="business_date")

    def now(self) -> datetime:
        return self.current

    def business_date(self) -> date:
        return self.current_business_date

    def set_business_date(self, value: date) -> None:
        self.current_business_date = value

    def advance(self, days: int = 1) -> None:
        """Move both the time and the business date forward, as a night of batches would."""
        self.current += timedelta(days=days)
        self.current_business_date += timedelta(days=days)
