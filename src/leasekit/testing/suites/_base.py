"""What every suite shares: the fixtures any adapter's tests need, and a clear failure for
the fixtures only the adapter's author can provide."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, NoReturn

import pytest

from leasekit.domain.clock import Clock, FixedClock

__all__ = ["Suite", "provide"]


def provide(name: str, what: str) -> NoReturn:
    pytest.fail(f"the subclass must provide the {name!r} fixture: {what}", pytrace=False)


class Suite:
    """What every suite checks and the fixtures it shares; a suite names its :attr:`port`."""

    port: ClassVar[type]
    """The Protocol every adapter of the kind implements."""

    def test_implements_the_port(self, adapter: object) -> None:
        assert isinstance(adapter, self.port), f"{adapter!r} lacks a method of {self.port}"

    @pytest.fixture
    def adapter(self) -> Any:
        provide("adapter", "the adapter under test")

    @pytest.fixture
    def clock(self) -> Clock:
        return FixedClock(
            now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15)
        )

    @pytest.fixture
    def currency(self) -> str:
        return "CNY"
