"""The financing calculator: pure, exact functions over ``Decimal``.

Nothing here touches a database, the network or the clock; every function is deterministic
in its arguments, so a finance team can check any result by hand. See ``docs/calculator.md``
and ``docs/apr.md``.
"""

from leasekit.calc.apr import APR_CONVENTIONS, apr, round_aprc
from leasekit.calc.lease import LeasePayment, lease_payment, money_factor, rate_from_money_factor
from leasekit.calc.plan import Fee, FinancingPlan, financing_plan
from leasekit.calc.rates import (
    effective_to_flat,
    effective_to_nominal,
    flat_to_effective,
    irr,
    nominal_to_effective,
    xirr,
)
from leasekit.calc.rounding import CONVENTIONS, RoundingConvention
from leasekit.calc.schedule import METHODS, Schedule, ScheduleRow, Terms, schedule
from leasekit.calc.settlement import (
    PenaltyQuote,
    Prepayment,
    SettlementFee,
    SettlementQuote,
    penalty_interest,
    prepay,
    settlement_quote,
)

__all__ = [
    "APR_CONVENTIONS",
    "CONVENTIONS",
    "METHODS",
    "Fee",
    "FinancingPlan",
    "LeasePayment",
    "PenaltyQuote",
    "Prepayment",
    "RoundingConvention",
    "Schedule",
    "ScheduleRow",
    "SettlementFee",
    "SettlementQuote",
    "Terms",
    "apr",
    "effective_to_flat",
    "effective_to_nominal",
    "financing_plan",
    "flat_to_effective",
    "irr",
    "lease_payment",
    "money_factor",
    "nominal_to_effective",
    "penalty_interest",
    "prepay",
    "rate_from_money_factor",
    "round_aprc",
    "schedule",
    "settlement_quote",
    "xirr",
]
