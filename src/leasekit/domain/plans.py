"""An application's financing plan and the other people on it.

A plan is what the calculator (:func:`leasekit.calc.plan.financing_plan`) makes of a product
version's terms and the terms an application asks for: the schedule and the disclosure
totals. The application keeps the totals (:class:`PlanSummary`); the rows
(:class:`PlanRow`) are stored beside it and read on their own.

Conventions, decided once for every plan:

* **First due date.** The plan is priced on the business date of the change that priced it;
  the first installment falls due one month later on the same day of the month (the
  calculator's default for payments in arrears; month ends survive February).
* **Fees.** A product fee is charged on the amount financed before fees
  (:meth:`~leasekit.domain.products.ProductFee.charge`); a financed fee is added to the
  principal, any other is paid up front; ``in_apr`` fees are prepaid finance charges.
* **APR.** Computed by the company's convention (:class:`PlanConvention`): Regulation Z's
  actuarial APR disclosed to two decimals, or the EU APRC disclosed to one
  (:func:`~leasekit.calc.apr.round_aprc`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final, cast

import attrs

from leasekit.calc.apr import APR_CONVENTIONS, round_aprc
from leasekit.calc.plan import Fee, FinancingPlan, financing_plan
from leasekit.calc.rounding import CONVENTIONS
from leasekit.calc.schedule import Method
from leasekit.domain.clock import instant
from leasekit.domain.products import PricedTerms, ProductTerms
from leasekit.errors import CalculationError, ValidationError

__all__ = [
    "MAX_PARTIES",
    "Conditions",
    "Party",
    "PartyRole",
    "Plan",
    "PlanConvention",
    "PlanRow",
    "PlanSummary",
    "party_errors",
    "plan_for",
]

MAX_PARTIES: Final = 4
"""Co-applicants and guarantors an application may list besides its main customer."""
_CENT_OF_A_POINT: Final = Decimal("0.01")


class PartyRole(StrEnum):
    """What a person besides the main customer is to an application."""

    CO_APPLICANT = "co_applicant"
    """Borrows jointly with the main customer and is liable for every payment."""
    GUARANTOR = "guarantor"
    """Pays only if the customers do not."""


@attrs.frozen
class Party:
    """A customer on an application besides its main customer, and in which role."""

    customer_id: str = attrs.field(metadata={"max_length": 64})
    role: PartyRole = attrs.field(converter=PartyRole)


def _decimal(value: object) -> Decimal:
    """Decimals as the JSON column holds them (their exact text) back to ``Decimal``."""
    return value if isinstance(value, Decimal) else Decimal(cast(str, value))


def _optional_decimal(value: object) -> Decimal | None:
    return None if value is None else _decimal(value)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(cast(str, value))


@attrs.frozen
class PlanConvention:
    """How the company prices: its APR convention and the schedule's rounding convention."""

    apr_convention: str = attrs.field(
        default="us_actuarial", validator=attrs.validators.in_(APR_CONVENTIONS)
    )
    rounding: str = attrs.field(default="standard", validator=attrs.validators.in_(CONVENTIONS))

    def disclosed(self, apr: Decimal) -> Decimal:
        """The APR as disclosed: to 1/100 of a point (Reg Z) or one decimal (EU APRC)."""
        if self.apr_convention == "eu":
            return round_aprc(apr)
        return apr.quantize(_CENT_OF_A_POINT, rounding=ROUND_HALF_UP)


@attrs.frozen
class PlanRow:
    """One installment of a plan: when, how much, and how it splits."""

    number: int
    due_date: date = attrs.field(converter=_day)
    payment: Decimal = attrs.field(converter=_decimal)
    principal: Decimal = attrs.field(converter=_decimal)
    interest: Decimal = attrs.field(converter=_decimal)
    balance: Decimal = attrs.field(converter=_decimal)


@attrs.frozen
class PlanSummary:
    """A plan's totals, in the application's currency (Reg Z 1026.18 vocabulary)."""

    currency: str
    schedule_method: str
    priced_on: date = attrs.field(
        converter=_day, metadata={"description": "The business date the plan was priced on."}
    )
    first_due_date: date = attrs.field(converter=_day)
    maturity_date: date = attrs.field(converter=_day)
    installments: int
    installment: Decimal = attrs.field(
        converter=_decimal, metadata={"description": "The installment the method solves for."}
    )
    principal: Decimal = attrs.field(
        converter=_decimal,
        metadata={"description": "Price less down payment, plus the financed fees."},
    )
    amount_financed: Decimal = attrs.field(
        converter=_decimal,
        metadata={"description": "The principal less prepaid finance charges."},
    )
    finance_charge: Decimal = attrs.field(converter=_decimal)
    total_of_payments: Decimal = attrs.field(
        converter=_decimal, metadata={"description": "Every installment plus the residual."}
    )
    total_interest: Decimal = attrs.field(converter=_decimal)
    residual_value: Decimal = attrs.field(converter=_decimal)
    upfront_fees: Decimal = attrs.field(converter=_decimal)
    due_at_signing: Decimal = attrs.field(converter=_decimal)
    apr: Decimal = attrs.field(
        converter=_decimal, metadata={"description": "In percent, rounded as disclosed."}
    )
    apr_convention: str


@attrs.frozen
class Plan:
    """A priced plan: its totals and its rows."""

    summary: PlanSummary
    rows: tuple[PlanRow, ...]


@attrs.frozen
class Conditions:
    """Terms an approver imposed instead of those requested, and why.

    Every term is stated, the unchanged ones copied from the request, so the terms the plan
    is computed from are these alone; a ``residual_value`` of None is none.
    """

    down_payment: Decimal = attrs.field(converter=_decimal)
    term_months: int
    annual_rate: Decimal = attrs.field(converter=_decimal)
    residual_value: Decimal | None = attrs.field(converter=_optional_decimal)
    reason: str
    imposed_by: str
    imposed_at: datetime = attrs.field(converter=instant)


def _fees(terms: ProductTerms, requested: PricedTerms) -> list[Fee]:
    base = requested.vehicle_price - requested.down_payment
    return [
        Fee(fee.name, fee.charge(base).amount, financed=fee.financed, finance_charge=fee.in_apr)
        for fee in terms.fees
    ]


def _summary(
    plan: FinancingPlan, method: str, priced_on: date, convention: PlanConvention
) -> PlanSummary:
    rows = plan.schedule.rows
    return PlanSummary(
        currency=plan.currency.code,
        schedule_method=method,
        priced_on=priced_on,
        first_due_date=rows[0].due_date,
        maturity_date=plan.schedule.maturity_date,
        installments=len(rows),
        installment=plan.schedule.payment,
        principal=plan.principal,
        amount_financed=plan.amount_financed,
        finance_charge=plan.finance_charge,
        total_of_payments=plan.total_of_payments,
        total_interest=plan.schedule.total_interest,
        residual_value=plan.residual_value,
        upfront_fees=plan.upfront_fees,
        due_at_signing=plan.due_at_signing,
        apr=convention.disclosed(plan.apr),
        apr_convention=convention.apr_convention,
    )


def plan_for(
    terms: ProductTerms,
    requested: PricedTerms,
    method: str,
    priced_on: date,
    convention: PlanConvention,
) -> Plan:
    """The plan of *requested* under a product's *terms*, priced on *priced_on*.

    The caller has checked the request against the terms; what the calculator still refuses
    (fees that leave nothing financed) is a ``ValidationError`` on ``plan``.
    """
    residual = requested.residual_value
    try:
        priced = financing_plan(
            vehicle_price=requested.vehicle_price.amount,
            down_payment=requested.down_payment.amount,
            annual_rate=requested.annual_rate,
            periods=requested.term_months,
            start_date=priced_on,
            fees=_fees(terms, requested),
            residual=residual.amount if residual is not None else Decimal(0),
            method=cast(Method, method),
            currency_code=requested.vehicle_price.currency,
            rounding=convention.rounding,
            apr_convention=convention.apr_convention,
        )
    except CalculationError as exc:
        raise ValidationError.single("plan", str(exc)) from None
    return Plan(_summary(priced, method, priced_on, convention), _rows(priced))


def _rows(plan: FinancingPlan) -> tuple[PlanRow, ...]:
    return tuple(
        PlanRow(row.number, row.due_date, row.payment, row.principal, row.interest, row.balance)
        for row in plan.schedule.rows
    )


def party_errors(customer_id: str, parties: Sequence[Party]) -> list[str]:
    """What is wrong with the list of *parties* of an application whose main customer is
    *customer_id*, as messages on ``parties``."""
    faults = []
    if len(parties) > MAX_PARTIES:
        faults.append(f"at most {MAX_PARTIES} co-applicants and guarantors")
    ids = [party.customer_id for party in parties]
    if customer_id in ids:
        faults.append("the main customer cannot be a co-applicant or guarantor too")
    if len(set(ids)) != len(ids):
        faults.append("a customer is listed twice")
    return faults
