"""The built-in ``standard`` approval policy: the tier a case needs by its risk, and its
vote; the default adapter of the kind, configured by adapter options."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from leasekit.builtin.approval_policy import StandardApprovalPolicy
from leasekit.domain.clock import FixedClock
from leasekit.errors import ConfigurationError
from leasekit.money import Money
from leasekit.ports import AdapterContext, ApprovalCase, RiskLevel, Tier, Verdict
from leasekit.ports.common import AdapterKind
from leasekit.ports.kinds import KINDS

CLEAN_TIME = datetime(2026, 3, 2, 9, tzinfo=UTC)
CLEAN = ApprovalCase(
    application_id="a1",
    partner_id="p1",
    business_type="finance_lease",
    amount_financed=Money("190400.00", "CNY"),
    term_months=36,
    down_payment_ratio=Decimal("0.20"),
    partner_rating="B",
    credit_score=720,
    fraud_risk=RiskLevel.LOW,
)


@pytest.mark.parametrize(
    ("changes", "tier"),
    [
        ({}, Tier.OFFICER),
        ({"partner_rating": "C"}, Tier.MANAGER),
        ({"partner_rating": None}, Tier.MANAGER),
        ({"credit_score": 599}, Tier.MANAGER),
        ({"credit_score": None}, Tier.MANAGER),
        ({"fraud_risk": RiskLevel.MEDIUM}, Tier.MANAGER),
        ({"fraud_risk": RiskLevel.HIGH}, Tier.DIRECTOR),
        ({"business_type": "sale_leaseback"}, Tier.MANAGER),
        ({"down_payment_ratio": Decimal("0.0999")}, Tier.MANAGER),
    ],
)
def test_the_tier_follows_the_risk(changes: dict[str, object], tier: Tier) -> None:
    assert StandardApprovalPolicy().required_tier(attrs.evolve(CLEAN, **changes)) is tier


def test_the_vote() -> None:
    policy = StandardApprovalPolicy()
    assert policy.vote(CLEAN).verdict is Verdict.APPROVE
    assert policy.vote(attrs.evolve(CLEAN, credit_score=None)).verdict is Verdict.REFER
    high = policy.vote(attrs.evolve(CLEAN, fraud_risk=RiskLevel.HIGH))
    assert (high.verdict, high.reasons) == (
        Verdict.DECLINE, ("the anti-fraud source rates it high risk",),
    )  # fmt: skip


def _context(tmp_path: Path, **options: str) -> AdapterContext:
    clock = FixedClock(now=CLEAN_TIME, business_date=CLEAN_TIME.date())
    return AdapterContext(options, tmp_path, clock, AdapterKind.APPROVAL_POLICY)


def test_options_configure_it(tmp_path: Path) -> None:
    context = _context(tmp_path, manager_grades="D", manager_below_score="650",
                       manager_business_types="", manager_below_down_payment="0")  # fmt: skip
    policy = StandardApprovalPolicy.from_context(context)
    assert policy.required_tier(attrs.evolve(CLEAN, partner_rating="C")) is Tier.OFFICER
    assert policy.required_tier(attrs.evolve(CLEAN, credit_score=649)) is Tier.MANAGER
    assert policy.required_tier(attrs.evolve(CLEAN, business_type="sale_leaseback")) is Tier.OFFICER
    with pytest.raises(ConfigurationError, match="manager_below_score"):
        StandardApprovalPolicy.from_context(_context(tmp_path, manager_below_score="many"))


def test_it_is_the_default() -> None:
    assert KINDS[AdapterKind.APPROVAL_POLICY].default_id == "standard"
