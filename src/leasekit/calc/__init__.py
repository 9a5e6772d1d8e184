"""The financing calculator: pure, exact functions over ``Decimal``.

Nothing here touches a database, the network or the clock; every function is deterministic
in its arguments, so a finance team can check any result by hand. See ``docs/calculator.md``.
"""

from leasekit.calc.lease import LeasePayment, lease_payment, money_factor, rate_from_money_factor
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
    "CONVENTIONS",
    "METHODS",
    "LeasePayment",
    "PenaltyQuote",
    "Prepayment",
    "RoundingConvention",
    "Schedule",
    "ScheduleRow",
    "SettlementFee",
    "SettlementQuote",
    "Terms",
    "lease_payment",
    "money_factor",
    "penalty_interest",
    "prepay",
    "rate_from_money_factor",
    "schedule",
    "settlement_quote",
]
