"""The approval policy suite."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from leasekit.domain.approvals import Tier
from leasekit.domain.identity import Role
from leasekit.money import Money
from leasekit.ports import (
    ApprovalCase,
    ApprovalPolicy,
    ExceptionCase,
    PolicyVote,
    RiskLevel,
    Verdict,
)
from leasekit.testing.suites._base import Suite

__all__ = ["ApprovalPolicySuite"]

_TIER_RANK = {tier: rank for rank, tier in enumerate(Tier)}


class ApprovalPolicySuite(Suite):
    port = ApprovalPolicy

    @pytest.fixture
    def case(self, currency: str) -> ApprovalCase:
        return ApprovalCase(
            application_id="app-1",
            partner_id="partner-1",
            business_type="new_car_loan",
            amount_financed=Money("120000.00", currency),
            term_months=36,
            down_payment_ratio=Decimal("0.20"),
            partner_rating="A",
            credit_score=720,
            fraud_risk=RiskLevel.LOW,
        )

    @pytest.fixture
    def exception_case(self, currency: str) -> ExceptionCase:
        return ExceptionCase(
            request_id="er-1",
            kind="reversal",
            reason_code="wrong_contract",
            amount=Money("5000.00", currency),
            business_type="loan",
        )

    def test_an_exception_chain_names_approvers_once_each(
        self, adapter: ApprovalPolicy, exception_case: ExceptionCase
    ) -> None:
        approvers = {Role.POST_LOAN_SUPERVISOR, Role.FINANCE_DIRECTOR, Role.DIRECTOR}
        for kind in ("reversal", "refund", "waiver"):
            chain = adapter.exception_chain(attrs.evolve(exception_case, kind=kind))
            assert chain, f"a {kind} needs at least one approval"
            assert all(isinstance(role, Role) and role in approvers for role in chain), chain
            assert len(set(chain)) == len(chain), f"a role twice in {chain}"

    def test_a_larger_exception_never_needs_fewer_levels(
        self, adapter: ApprovalPolicy, exception_case: ExceptionCase
    ) -> None:
        lengths = [
            len(adapter.exception_chain(
                attrs.evolve(exception_case, amount=exception_case.amount * factor)))
            for factor in (1, 100, 10_000)
        ]  # fmt: skip
        assert lengths == sorted(lengths), f"levels by growing amount: {lengths}"

    def test_a_case_gets_a_tier_and_a_vote(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        assert isinstance(adapter.required_tier(case), Tier)
        vote = adapter.vote(case)
        assert isinstance(vote, PolicyVote)
        assert vote.voter

    def test_the_same_case_gets_the_same_answers(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        assert adapter.required_tier(case) == adapter.required_tier(case)
        assert adapter.vote(case) == adapter.vote(case)

    def test_a_larger_amount_never_needs_a_lower_tier(
        self, adapter: ApprovalPolicy, case: ApprovalCase
    ) -> None:
        tiers = [
            adapter.required_tier(attrs.evolve(case, amount_financed=case.amount_financed * factor))
            for factor in (1, 10, 100)
        ]
        ranks = [_TIER_RANK[tier] for tier in tiers]
        assert ranks == sorted(ranks), f"tiers by growing amount: {tiers}"

    def test_a_refusal_gives_reasons(self, adapter: ApprovalPolicy, case: ApprovalCase) -> None:
        risky = attrs.evolve(case, fraud_risk=RiskLevel.HIGH, credit_score=None)
        vote = adapter.vote(risky)
        if vote.verdict is not Verdict.APPROVE:
            assert vote.reasons, "a referral or a decline must say why"
