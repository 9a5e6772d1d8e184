"""Closed-end vehicle lease payments from capitalized cost, residual and money factor.

This is the payment arithmetic US lessors disclose under the Consumer Leasing Act (Regulation
M, 12 CFR 1013.4(f): "depreciation and any amortized amounts", "rent charge", "base periodic
payment"). The rent charge uses the money factor convention of the trade: each month the
lessee pays ``(net capitalized cost + residual value) × money factor``, which is interest on
the average amount outstanding; a money factor is quoted as ``annual rate / 24``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import attrs

from leasekit.errors import CalculationError
from leasekit.money import (
    HALF_UP,
    Currency,
    DecimalLike,
    Rounding,
    amount_in,
    currency,
    exact,
    to_decimal,
)

__all__ = ["LeasePayment", "lease_payment", "money_factor", "rate_from_money_factor"]

_MONEY_FACTOR_DIVISOR: Final = Decimal(24)
_ONE: Final = Decimal(1)


@exact
def money_factor(annual_rate: DecimalLike) -> Decimal:
    """The money factor equivalent to *annual_rate* (a fraction): ``0.06`` → ``0.0025``."""
    return to_decimal(annual_rate, "annual_rate") / _MONEY_FACTOR_DIVISOR


@exact
def rate_from_money_factor(factor: DecimalLike) -> Decimal:
    """The annual rate (a fraction) a money factor stands for: ``0.0025`` → ``0.06``."""
    return to_decimal(factor, "money_factor") * _MONEY_FACTOR_DIVISOR


@attrs.frozen(kw_only=True)
class LeasePayment:
    """The parts of a monthly lease payment, as a Regulation M disclosure lists them."""

    currency: Currency
    term: int
    net_cap_cost: Decimal
    residual: Decimal
    money_factor: Decimal
    depreciation: Decimal
    rent_charge: Decimal
    base_payment: Decimal
    tax: Decimal

    @property
    @exact
    def payment(self) -> Decimal:
        return self.base_payment + self.tax

    @property
    @exact
    def total_of_base_payments(self) -> Decimal:
        return self.base_payment * self.term

    @property
    @exact
    def total_depreciation(self) -> Decimal:
        """Depreciation and amortized amounts over the term: net cap cost less residual."""
        return self.net_cap_cost - self.residual

    @property
    @exact
    def total_rent_charge(self) -> Decimal:
        """The rent charge as Regulation M discloses it (12 CFR 1013.4(f)): the total of
        base payments less depreciation, so the three totals always reconcile and the
        monthly roundings land here rather than disappear."""
        return self.total_of_base_payments - self.total_depreciation


@exact
def lease_payment(
    *,
    cap_cost: DecimalLike,
    residual: DecimalLike,
    term: int,
    money_factor: DecimalLike | None = None,
    annual_rate: DecimalLike | None = None,
    cap_cost_reduction: DecimalLike = 0,
    tax_rate: DecimalLike = 0,
    currency_code: str | Currency = "USD",
    rounding: Rounding = HALF_UP,
) -> LeasePayment:
    """The monthly payment of a closed-end lease.

    Give the price of credit either as a *money_factor* or as an *annual_rate* (converted
    with ``annual_rate / 24``). *tax_rate* is a monthly use tax charged on the base payment.
    Depreciation, rent charge and tax are each rounded once with *rounding*.
    """
    if (money_factor is None) == (annual_rate is None):
        raise CalculationError("money_factor: give exactly one of money_factor or annual_rate")
    # Rent is computed from the rate as given, divided last (see schedule.PeriodRate).
    rate, divisor = (
        (to_decimal(money_factor, "money_factor"), _ONE)
        if money_factor is not None
        else (to_decimal(annual_rate, "annual_rate"), _MONEY_FACTOR_DIVISOR)
    )
    factor = rate / divisor
    cur = currency(currency_code)
    reduction = amount_in(cap_cost_reduction, cur, "cap_cost_reduction")
    net_cap = amount_in(cap_cost, cur, "cap_cost") - reduction
    rv = amount_in(residual, cur, "residual")
    tax = to_decimal(tax_rate, "tax_rate")
    if term < 1:
        raise CalculationError(f"term: must be at least 1 month, got {term}")
    if factor < 0 or tax < 0:
        raise CalculationError("money_factor and tax_rate: must not be negative")
    if not 0 <= rv <= net_cap:
        raise CalculationError(
            f"residual: must be between 0 and the net capitalized cost {net_cap}, got {rv}"
        )
    depreciation = rounding.apply((net_cap - rv) / term, cur)
    rent = rounding.apply((net_cap + rv) * rate / divisor, cur)
    base = depreciation + rent
    return LeasePayment(
        currency=cur,
        term=term,
        net_cap_cost=net_cap,
        residual=rv,
        money_factor=factor,
        depreciation=depreciation,
        rent_charge=rent,
        base_payment=base,
        tax=rounding.apply(base * tax, cur),
    )
