"""What every fake shares: scripted outages, deterministic references, option parsing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from leasekit.errors import AdapterError, AmountError, ConfigurationError
from leasekit.money import to_decimal
from leasekit.ports import AdapterContext


class Outages:
    """Scripted failures: the next calls raise AdapterError, as a party that is down would."""

    def __init__(self) -> None:
        self._outages: list[str] = []

    def fail_next(self, times: int = 1, message: str = "scripted outage") -> None:
        self._outages.extend([message] * times)

    def _call(self, operation: str) -> None:
        if self._outages:
            raise self._outage(operation, self._outages.pop(0))

    def _outage(self, operation: str, message: str) -> AdapterError:
        """The error a party that is down, or that never answered, makes the call raise."""
        return AdapterError(f"{type(self).__name__}.{operation}: {message}")


def sequence(prefix: str) -> Callable[[], str]:
    """Deterministic references: ``prefix-000001``, ``prefix-000002`` ..."""
    count = 0

    def following() -> str:
        nonlocal count
        count += 1
        return f"{prefix}-{count:06d}"

    return following


def int_option(context: AdapterContext, name: str, default: int | None) -> int | None:
    raw = context.option(name)
    if raw is None:
        return default
    if raw.strip().lower() == "none":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"adapter option {name}: {raw!r} is not a whole number") from None


def decimal_option(context: AdapterContext, name: str, default: Decimal) -> Decimal:
    raw = context.option(name)
    try:
        return default if raw is None else to_decimal(raw, name)
    except AmountError:
        raise ConfigurationError(f"adapter option {name}: {raw!r} is not a number") from None


def seconds_option(context: AdapterContext, name: str) -> timedelta | None:
    """A duration in whole seconds; absent or ``none`` is None."""
    seconds = int_option(context, name, None)
    if seconds is not None and seconds < 0:
        raise ConfigurationError(f"adapter option {name}: {seconds} is negative")
    return None if seconds is None else timedelta(seconds=seconds)
