"""The kinds of business the company writes, shared by applications, contracts and products."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BusinessType"]


class BusinessType(StrEnum):
    """How the vehicle is financed; decides the contract, the accounting and the schedule."""

    LOAN = "loan"
    """The customer buys and owns the vehicle; the lender holds a charge on it."""
    FINANCE_LEASE = "finance_lease"
    """The lessor buys the vehicle from the dealer and leases it; ownership passes at the end."""
    SALE_LEASEBACK = "sale_leaseback"
    """The customer sells a vehicle it owns to the lessor and leases it back (回租)."""
    OPERATING_LEASE = "operating_lease"
    """The lessor keeps the vehicle and its residual value risk; the customer returns it."""
