"""The rule set suite."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from leasekit.errors import ValidationError
from leasekit.ports import Fact, RuleOutcome, RuleSet
from leasekit.testing.suites._base import Suite

__all__ = ["RuleSetSuite"]


class RuleSetSuite(Suite):
    port = RuleSet

    @pytest.fixture
    def facts(self) -> Mapping[str, Fact]:
        return {
            "amount_financed": Decimal("120000.00"),
            "term_months": 36,
            "down_payment_ratio": Decimal("0.20"),
            "credit_score": 720,
            "applicant_age": 35,
            "used_vehicle": False,
            "partner_rating": "A",
        }

    def test_evaluation_names_the_rules_behind_its_verdict(
        self, adapter: RuleSet, facts: Mapping[str, Fact]
    ) -> None:
        outcome = adapter.evaluate(facts)
        assert isinstance(outcome, RuleOutcome)
        assert outcome.rule_set
        assert all(hit.rule_id and hit.message for hit in outcome.hits)

    def test_the_same_facts_give_the_same_outcome(
        self, adapter: RuleSet, facts: Mapping[str, Fact]
    ) -> None:
        assert adapter.evaluate(facts) == adapter.evaluate(dict(facts))

    def test_a_missing_fact_is_a_validation_error(self, adapter: RuleSet) -> None:
        """With no facts at all, a rule set either needs none or says which it lacks."""
        try:
            outcome = adapter.evaluate({})
        except ValidationError:
            return
        assert isinstance(outcome, RuleOutcome)
