from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from leasekit.domain.clock import Clock, FixedClock, SystemClock, require_utc
from leasekit.errors import ConfigurationError


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(now=datetime(2024, 3, 1, 9, tzinfo=UTC), business_date=date(2024, 2, 29))
    assert clock.now() == clock.now() == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert clock.business_date() == date(2024, 2, 29)
    clock.advance()
    assert clock.business_date() == date(2024, 3, 1)
    assert clock.now() == datetime(2024, 3, 2, 9, tzinfo=UTC)
    clock.advance(days=30)
    assert clock.business_date() == date(2024, 3, 31)
    clock.set_business_date(date(2025, 1, 1))
    assert clock.business_date() == date(2025, 1, 1)
    assert clock.now() == datetime(2024, 4, 1, 9, tzinfo=UTC)


def test_fixed_clock_keeps_time_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    clock = FixedClock(now=datetime(2024, 3, 1, 8, tzinfo=shanghai), business_date=date(2024, 3, 1))
    assert clock.now() == datetime(2024, 3, 1, 0, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_system_clock_is_aware_utc() -> None:
    clock: Clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_system_clock_business_date_follows_its_time_zone() -> None:
    """UTC+14 and UTC-11 are 25 hours apart, so their calendars never show the same day."""
    ahead = SystemClock("Pacific/Kiritimati").business_date()
    behind = SystemClock("Pacific/Pago_Pago").business_date()
    assert ahead > behind


def test_system_clock_business_date_can_be_pinned() -> None:
    clock = SystemClock("Asia/Shanghai", business_date=date(2020, 1, 31))
    assert clock.business_date() == date(2020, 1, 31)


def test_system_clock_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        SystemClock("Mars/Olympus")


def test_require_utc() -> None:
    with pytest.raises(ValueError, match=r"when: .* has no time zone"):
        require_utc(datetime(2024, 1, 1), "when")
    local = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert require_utc(local) == datetime(2023, 12, 31, 23, tzinfo=UTC)
