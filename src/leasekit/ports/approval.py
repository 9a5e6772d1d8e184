"""Approval policy: which tier must approve a case, the policy's own vote, and which roles
must approve an exception request, level by level."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.approvals import Tier
from leasekit.domain.identity import Role
from leasekit.money import Money, to_decimal
from leasekit.ports.common import RiskLevel, Verdict, count, positive

__all__ = ["ApprovalCase", "ApprovalPolicy", "ExceptionCase", "PolicyVote", "Tier"]


def _ratio(value: object) -> Decimal:
    return to_decimal(value, "down_payment_ratio")


def _tag_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class ApprovalCase:
    """What a policy decides on: the application's terms and the checks already run."""

    application_id: str
    partner_id: str
    business_type: str
    amount_financed: Money = attrs.field(validator=positive)
    term_months: int = attrs.field(validator=count)
    down_payment_ratio: Decimal = attrs.field(converter=_ratio)
    partner_rating: str | None = None
    credit_score: int | None = attrs.field(default=None, validator=count)
    fraud_risk: RiskLevel | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=_tag_set)


def _reasons(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class PolicyVote:
    """One voter's verdict with its reasons; the approval service combines the votes."""

    voter: str
    verdict: Verdict = attrs.field(converter=Verdict)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_reasons)


@attrs.frozen
class ExceptionCase:
    """What a policy decides an exception request's approval chain on."""

    request_id: str
    kind: str
    """``reversal``, ``refund`` or ``waiver``."""
    reason_code: str
    amount: Money = attrs.field(validator=positive)
    business_type: str


@runtime_checkable
class ApprovalPolicy(Protocol):
    def required_tier(self, case: ApprovalCase) -> Tier:
        """The lowest tier allowed to approve *case* (amount limits, partner rating ...)."""
        ...

    def vote(self, case: ApprovalCase) -> PolicyVote:
        """The policy's own verdict, counted with the votes of ``leasekit_evaluate_application``."""
        ...

    def exception_chain(self, case: ExceptionCase) -> tuple[Role, ...]:
        """The roles that approve the exception request *case*, level by level, from the
        first; at least one, each of ``post_loan_supervisor``, ``finance_director`` and
        ``director``, none twice."""
        ...
