"""The anti-fraud data source suite."""

from __future__ import annotations

import pytest

from leasekit.ports import FraudCheck, FraudSource, FraudSubject, RiskLevel
from leasekit.testing.suites._base import Suite, provide

__all__ = ["FraudSourceSuite"]


class FraudSourceSuite(Suite):
    port = FraudSource

    @pytest.fixture
    def subject(self) -> FraudSubject:
        """A subject on no list."""
        return FraudSubject("Li Na", "110105194912310021", phone="13800000000")

    @pytest.fixture
    def risky_subject(self) -> FraudSubject:
        provide("risky_subject", "a subject the source rates medium or high risk")

    def test_a_clean_subject_is_low_risk_without_hits(
        self, adapter: FraudSource, subject: FraudSubject
    ) -> None:
        check = adapter.check(subject)
        assert isinstance(check, FraudCheck)
        assert (check.risk, check.hits) == (RiskLevel.LOW, ())

    def test_a_risky_subject_comes_with_the_hits_that_explain_it(
        self, adapter: FraudSource, risky_subject: FraudSubject
    ) -> None:
        check = adapter.check(risky_subject)
        assert check.risk is not RiskLevel.LOW
        assert check.hits, "reviewers must see why a subject is risky"
