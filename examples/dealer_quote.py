"""Price a vehicle deal the way a dealer system embedding leasekit would.

Run it with ``python examples/dealer_quote.py``: it prints a financing plan, what ending it
early would cost after a year, and how a prepayment changes the installment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from leasekit import calc
from leasekit.calc import Fee, SettlementFee


def main() -> None:
    plan = calc.financing_plan(
        vehicle_price=Decimal("38500.00"),
        down_payment="15%",
        residual="30%",
        annual_rate=Decimal("0.0599"),
        periods=48,
        start_date=date(2025, 3, 14),
        fees=[
            Fee("arrangement", Decimal("395.00"), financed=True),
            Fee("gps tracker", Decimal("240.00"), financed=True, finance_charge=False),
        ],
        security_deposit=Decimal("500.00"),
    )
    s = plan.schedule
    print(f"installment {s.payment} x {len(s.rows)}, residual {plan.residual_value}")
    print(f"amount financed {plan.amount_financed}, finance charge {plan.finance_charge}")
    print(f"APR {calc.round_aprc(plan.apr, places=2)} %, due at signing {plan.due_at_signing}")

    quote = calc.settlement_quote(
        s,
        date(2026, 3, 20),
        fee=SettlementFee(rate=Decimal("0.01"), minimum=Decimal("150.00")),
        deposit=plan.security_deposit,
    )
    print(
        f"settle on {quote.on}: principal {quote.outstanding_principal} + interest "
        f"{quote.accrued_interest} + fee {quote.fee} - deposit {quote.deposit} = {quote.total}"
    )

    prepaid = calc.prepay(s, on=date(2026, 3, 14), amount=Decimal("5000.00"))
    print(f"after prepaying 5000.00: installment {prepaid.schedule.payment}")


if __name__ == "__main__":
    main()
