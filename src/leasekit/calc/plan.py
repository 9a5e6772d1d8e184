"""Financing plans: from a vehicle price to the figures a customer disclosure needs.

The builder turns what a dealer types (price, down payment as an amount or a percentage,
fees financed or paid up front, a security deposit, a residual value) into a loan principal,
builds its schedule, and derives the disclosure totals in the vocabulary of US Regulation Z
(12 CFR 1026.18): *amount financed*, *finance charge*, *total of payments* and the APR.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

import attrs

from leasekit.calc.apr import apr as annual_percentage_rate
from leasekit.calc.schedule import (
    BrokenPeriod,
    Grace,
    Method,
    Schedule,
    schedule,
)
from leasekit.errors import CalculationError
from leasekit.money import (
    HALF_UP,
    Currency,
    DecimalLike,
    amount_in,
    currency,
    exact,
    to_decimal,
)

__all__ = [
    "Fee",
    "FinancingPlan",
    "financing_plan",
    "prepaid_finance_charges",
    "share_or_amount",
]

_ZERO: Final = Decimal(0)


def _amount(value: DecimalLike) -> Decimal:
    return to_decimal(value, "fee amount")


@attrs.frozen
class Fee:
    """A charge added to the deal: financed (added to the principal) or paid up front.

    *finance_charge* says whether the fee is part of the cost of credit (a service or
    arrangement fee is, 12 CFR 1026.4(b)); then it is excluded from the amount financed and
    raises the APR. A GPS unit or optional insurance the customer buys is usually not.
    """

    name: str
    amount: Decimal = attrs.field(converter=_amount)
    financed: bool = False
    finance_charge: bool = True

    def __attrs_post_init__(self) -> None:
        if self.amount < 0:
            raise CalculationError(f"fees[{self.name}]: amount must not be negative")


def prepaid_finance_charges(fees: Sequence[Fee], cur: Currency) -> Decimal:
    """Fees that are a cost of credit, financed or paid in cash (Reg Z 1026.2(a)(23))."""
    return sum((f.amount for f in fees if f.finance_charge), cur.zero)


@exact
def share_or_amount(value: DecimalLike, base: Decimal, name: str, cur: Currency) -> Decimal:
    """An exact amount, or a percentage of *base* written ``"20%"`` rounded half-up."""
    if isinstance(value, str) and value.strip().endswith("%"):
        share = to_decimal(value.strip()[:-1], name) / 100
        return HALF_UP.apply(base * share, cur)
    return amount_in(value, cur, name)


@attrs.frozen(kw_only=True)
class FinancingPlan:
    """A priced deal: what is paid when, and what the credit costs."""

    vehicle_price: Decimal
    down_payment: Decimal
    fees: tuple[Fee, ...]
    security_deposit: Decimal
    schedule: Schedule
    apr: Decimal
    """Annual percentage rate in percent, unrounded; disclosures round it (Reg Z: to 1/100
    or 1/8 of a point, EU: to one decimal)."""

    @property
    def currency(self) -> Currency:
        return self.schedule.currency

    @property
    @exact
    def principal(self) -> Decimal:
        """What the lender advances: price less down payment, plus the financed fees."""
        return self.schedule.terms.principal

    @property
    @exact
    def residual_value(self) -> Decimal:
        return self.schedule.balloon

    @property
    @exact
    def upfront_fees(self) -> Decimal:
        return sum((f.amount for f in self.fees if not f.financed), self.currency.zero)

    @property
    @exact
    def prepaid_finance_charges(self) -> Decimal:
        return prepaid_finance_charges(self.fees, self.currency)

    @property
    @exact
    def amount_financed(self) -> Decimal:
        """Credit the customer really receives (Reg Z 1026.18(b))."""
        return self.principal - self.prepaid_finance_charges

    @property
    @exact
    def total_of_payments(self) -> Decimal:
        """Every scheduled installment plus the residual (Reg Z 1026.18(h))."""
        return self.schedule.total_payable

    @property
    @exact
    def finance_charge(self) -> Decimal:
        """The dollar cost of credit (Reg Z 1026.18(d))."""
        return self.total_of_payments - self.amount_financed

    @property
    @exact
    def due_at_signing(self) -> Decimal:
        """Down payment, up-front fees, the deposit and, in advance, the first installment."""
        first = self.schedule.rows[0].payment if self.schedule.terms.in_advance else _ZERO
        return self.down_payment + self.upfront_fees + self.security_deposit + first

    @property
    @exact
    def final_payment(self) -> Decimal:
        """The last installment plus the residual, less the deposit offset against them.

        Negative when the deposit exceeds what is left: the lender refunds the difference.
        """
        return self.schedule.rows[-1].payment + self.residual_value - self.security_deposit

    @property
    @exact
    def total_cost(self) -> Decimal:
        """Everything the customer pays for the vehicle and its credit, net of the deposit."""
        return self.down_payment + self.upfront_fees + self.total_of_payments


@exact
def financing_plan(
    *,
    vehicle_price: DecimalLike,
    annual_rate: DecimalLike,
    periods: int,
    start_date: date,
    down_payment: DecimalLike = _ZERO,
    fees: Sequence[Fee] = (),
    security_deposit: DecimalLike = _ZERO,
    residual: DecimalLike = _ZERO,
    method: Method = "annuity",
    in_advance: bool = False,
    frequency: str = "monthly",
    day_count: str = "30/360",
    first_due_date: date | None = None,
    due_day: int | None = None,
    grace_periods: int = 0,
    grace: Grace = "interest_only",
    broken_period: BrokenPeriod = "amortize",
    currency_code: str | Currency = "USD",
    rounding: str = "standard",
    apr_convention: str = "us_actuarial",
) -> FinancingPlan:
    """Price a vehicle deal.

    *down_payment*, *security_deposit* and *residual* take an amount or a percentage of the
    vehicle price (``"20%"``). The APR is computed by *apr_convention* (``"us_actuarial"``
    or ``"eu"``) on the amount financed against every installment and the residual; the
    security deposit is disregarded, as 12 CFR 1026.18(r) allows for a required deposit.
    """
    cur = currency(currency_code)
    price = amount_in(vehicle_price, cur, "vehicle_price")
    if price <= 0:
        raise CalculationError(f"vehicle_price: must be positive, got {price}")
    down = share_or_amount(down_payment, price, "down_payment", cur)
    deposit = share_or_amount(security_deposit, price, "security_deposit", cur)
    balloon = share_or_amount(residual, price, "residual", cur)
    if not _ZERO <= down < price:
        raise CalculationError(f"down_payment: must be at least 0 and below the price {price}")
    if deposit < 0:
        raise CalculationError(f"security_deposit: must not be negative, got {deposit}")
    fee_list = tuple(
        attrs.evolve(f, amount=amount_in(f.amount, cur, f"fees[{f.name}]")) for f in fees
    )
    financed_fees = sum((f.amount for f in fee_list if f.financed), _ZERO)
    plan_schedule = schedule(
        principal=price - down + financed_fees,
        annual_rate=annual_rate,
        periods=periods,
        start_date=start_date,
        method=method,
        balloon=balloon,
        in_advance=in_advance,
        frequency=frequency,
        day_count=day_count,
        first_due_date=first_due_date,
        due_day=due_day,
        grace_periods=grace_periods,
        grace=grace,
        broken_period=broken_period,
        currency=cur,
        rounding=rounding,
    )
    amount_financed = plan_schedule.terms.principal - prepaid_finance_charges(fee_list, cur)
    if amount_financed <= 0:
        raise CalculationError("fees: finance charges leave no amount financed")
    rate = annual_percentage_rate(
        advances=[(start_date, amount_financed)],
        payments=plan_schedule.cash_flows(),
        convention=apr_convention,
        unit_period=frequency,
    )
    return FinancingPlan(
        vehicle_price=price,
        down_payment=down,
        fees=fee_list,
        security_deposit=deposit,
        schedule=plan_schedule,
        apr=rate,
    )
