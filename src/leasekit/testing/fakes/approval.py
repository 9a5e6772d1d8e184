"""An approval policy with amount bands and house rules, either of which a test can force."""

from __future__ import annotations

from decimal import Decimal

from leasekit.domain.approvals import Tier
from leasekit.domain.identity import Role
from leasekit.money import DecimalLike, to_decimal
from leasekit.ports import (
    AdapterContext,
    ApprovalCase,
    ExceptionCase,
    PolicyVote,
    RiskLevel,
    Verdict,
)
from leasekit.testing.fakes._common import Outages, decimal_option

__all__ = ["FakeApprovalPolicy"]


class FakeApprovalPolicy(Outages):
    """Tiers by amount financed (manager from *manager_from*, director from *director_from*),
    votes by simple house rules; either can be scripted with :meth:`set_tier`/:meth:`set_vote`.
    Exception requests: the post-loan supervisor then the finance director, and the director
    third from *director_from*; scripted with :meth:`set_exception_chain`.

    The default vote declines a high fraud risk, refers a missing credit score and approves
    the rest, so that a demo shows all three paths.
    """

    def __init__(
        self,
        *,
        manager_from: DecimalLike = Decimal("200000"),
        director_from: DecimalLike = Decimal("500000"),
    ) -> None:
        super().__init__()
        self.manager_from = to_decimal(manager_from, "manager_from")
        self.director_from = to_decimal(director_from, "director_from")
        self.cases: list[ApprovalCase] = []
        self._tier: Tier | None = None
        self._vote: tuple[Verdict, tuple[str, ...]] | None = None
        self._chain: tuple[Role, ...] | None = None
        self.exception_cases: list[ExceptionCase] = []

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeApprovalPolicy:
        """Options ``manager_from`` and ``director_from``: amounts in the case's currency."""
        return cls(
            manager_from=decimal_option(context, "manager_from", Decimal("200000")),
            director_from=decimal_option(context, "director_from", Decimal("500000")),
        )

    def set_tier(self, tier: Tier | str | None) -> None:
        """Force every case to *tier*; None goes back to the amount bands."""
        self._tier = None if tier is None else Tier(tier)

    def set_vote(self, verdict: Verdict | str | None, *reasons: str) -> None:
        """Force every vote; None goes back to the house rules."""
        self._vote = None if verdict is None else (Verdict(verdict), reasons)

    def set_exception_chain(self, *roles: Role | str) -> None:
        """Force every exception request's chain; none given goes back to the amounts."""
        self._chain = tuple(Role(role) for role in roles) or None

    def required_tier(self, case: ApprovalCase) -> Tier:
        self._call("required_tier")
        self.cases.append(case)
        if self._tier is not None:
            return self._tier
        amount = case.amount_financed.amount
        if amount >= self.director_from:
            return Tier.DIRECTOR
        return Tier.MANAGER if amount >= self.manager_from else Tier.OFFICER

    def vote(self, case: ApprovalCase) -> PolicyVote:
        self._call("vote")
        self.cases.append(case)
        if self._vote is not None:
            return PolicyVote("fake", *self._vote)
        if case.fraud_risk is RiskLevel.HIGH:
            return PolicyVote("fake", Verdict.DECLINE, ("high fraud risk",))
        if case.credit_score is None:
            return PolicyVote("fake", Verdict.REFER, ("no credit file",))
        return PolicyVote("fake", Verdict.APPROVE)

    def exception_chain(self, case: ExceptionCase) -> tuple[Role, ...]:
        self._call("exception_chain")
        self.exception_cases.append(case)
        if self._chain is not None:
            return self._chain
        chain = (Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR)
        return (*chain, Role.DIRECTOR) if case.amount.amount >= self.director_from else chain
