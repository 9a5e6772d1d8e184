"""The default approval policy (adapter id ``standard``): which tier a case needs by its risk.

Amounts are the approval workflow's business (each tier's authority,
``LEASEKIT_APPROVALS__AUTHORITY__*``), so this policy looks at what makes a case riskier than
its amount says, and asks for a manager or a director accordingly:

- the dealer's grade: one of ``manager_grades`` (default ``C,D``) or unrated needs a manager;
- the anti-fraud source's risk: ``high`` needs a director, ``medium`` a manager;
- the credit score: none, or below ``manager_below_score`` (default 600), needs a manager;
- the business type: one of ``manager_business_types`` (default ``sale_leaseback``: the
  customer leaves with cash, not a car) needs a manager;
- a down payment below ``manager_below_down_payment`` (default 0.10 of the price) needs a
  manager.

Its vote: decline a high fraud risk, refer a case without a credit score, approve the rest.

An exception request (a reversal, a refund, a waiver) is approved by the post-loan supervisor
(who knows the customer and the collections) and then the finance director (who answers for
the books); above ``exception_director_above`` (default 100000, in the request's currency) the
risk director approves third, because the company's most senior decider should see the
largest amounts leave or stop being owed.
Options come from ``LEASEKIT_ADAPTER_OPTIONS__APPROVAL_POLICY__<NAME>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

import attrs

from leasekit.domain.identity import Role
from leasekit.errors import AmountError, ConfigurationError
from leasekit.hookspecs import hookimpl
from leasekit.money import to_decimal
from leasekit.ports import (
    AdapterContext,
    ApprovalCase,
    ApprovalPolicy,
    ExceptionCase,
    PolicyVote,
    Register,
    RiskLevel,
    Tier,
    Verdict,
)

__all__ = ["StandardApprovalPolicy"]

VOTER: Final = "standard approval policy"


def _names(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.strip() for value in values if value.strip())


def _option_names(context: AdapterContext, name: str, default: str) -> frozenset[str]:
    """A comma-separated list; given empty, none."""
    raw = context.option(name)
    return _names((default if raw is None else raw).split(","))


def _option_decimal(context: AdapterContext, name: str, default: str) -> Decimal:
    raw = context.option(name) or default
    try:
        return to_decimal(raw, name)
    except AmountError:
        raise ConfigurationError(f"adapter option {name}: {raw!r} is not a number") from None


@attrs.frozen
class StandardApprovalPolicy:
    """Tiers by risk (see the module); every option has a default."""

    manager_grades: frozenset[str] = attrs.field(default=frozenset({"C", "D"}), converter=_names)
    manager_below_score: Decimal = Decimal(600)
    manager_business_types: frozenset[str] = attrs.field(
        default=frozenset({"sale_leaseback"}), converter=_names
    )
    manager_below_down_payment: Decimal = Decimal("0.10")
    exception_director_above: Decimal = Decimal(100000)

    @classmethod
    def from_context(cls, context: AdapterContext) -> StandardApprovalPolicy:
        return cls(
            _option_names(context, "manager_grades", "C,D"),
            _option_decimal(context, "manager_below_score", "600"),
            _option_names(context, "manager_business_types", "sale_leaseback"),
            _option_decimal(context, "manager_below_down_payment", "0.10"),
            _option_decimal(context, "exception_director_above", "100000"),
        )

    def needs_manager(self, case: ApprovalCase) -> bool:
        """Whether anything about *case* but its amount needs a manager at least."""
        return (
            case.partner_rating is None
            or case.partner_rating in self.manager_grades
            or case.fraud_risk is RiskLevel.MEDIUM
            or case.credit_score is None
            or case.credit_score < self.manager_below_score
            or case.business_type in self.manager_business_types
            or case.down_payment_ratio < self.manager_below_down_payment
        )

    def required_tier(self, case: ApprovalCase) -> Tier:
        if case.fraud_risk is RiskLevel.HIGH:
            return Tier.DIRECTOR
        return Tier.MANAGER if self.needs_manager(case) else Tier.OFFICER

    def vote(self, case: ApprovalCase) -> PolicyVote:
        if case.fraud_risk is RiskLevel.HIGH:
            return PolicyVote(VOTER, Verdict.DECLINE, ["the anti-fraud source rates it high risk"])
        if case.credit_score is None:
            return PolicyVote(VOTER, Verdict.REFER, ["no credit score: a person must look"])
        return PolicyVote(VOTER, Verdict.APPROVE)

    def exception_chain(self, case: ExceptionCase) -> tuple[Role, ...]:
        chain = (Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR)
        if case.amount.amount > self.exception_director_above:
            return (*chain, Role.DIRECTOR)
        return chain


@hookimpl(trylast=True)
def leasekit_register_approval_policies(register: Register[ApprovalPolicy]) -> None:
    register("standard", StandardApprovalPolicy.from_context)
