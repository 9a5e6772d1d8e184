"""The one error tree: every error leasekit raises on purpose is a ``LeasekitError``."""

from __future__ import annotations

__all__ = [
    "AmountError",
    "CalculationError",
    "CurrencyMismatchError",
    "LeasekitError",
    "NoRateError",
]


class LeasekitError(Exception):
    """Base of all leasekit errors."""


class AmountError(LeasekitError, ValueError):
    """A number that cannot be an exact amount: not a number, not finite, finer than the
    currency's minor unit, too large, or in an unknown currency."""


class CurrencyMismatchError(AmountError):
    """Amounts in different currencies met in one operation; leasekit never converts."""


class CalculationError(LeasekitError, ValueError):
    """Inputs that describe no valid financial calculation."""


class NoRateError(CalculationError):
    """No interest rate makes the cash flows balance (for example, payments below the advance)."""
