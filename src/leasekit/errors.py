"""The one error tree: every error leasekit raises on purpose is a ``LeasekitError``."""

from __future__ import annotations

__all__ = ["CalculationError", "LeasekitError", "NoRateError"]


class LeasekitError(Exception):
    """Base of all leasekit errors."""


class CalculationError(LeasekitError, ValueError):
    """Inputs that describe no valid financial calculation."""


class NoRateError(CalculationError):
    """No interest rate makes the cash flows balance (for example, payments below the advance)."""
