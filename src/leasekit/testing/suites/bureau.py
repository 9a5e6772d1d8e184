"""The credit bureau suite."""

from __future__ import annotations

import pytest

from leasekit.ports import CreditBureau, CreditReport, CreditSubject
from leasekit.testing.suites._base import Suite

__all__ = ["CreditBureauSuite"]


class CreditBureauSuite(Suite):
    port = CreditBureau

    @pytest.fixture
    def subject(self) -> CreditSubject:
        """A subject the bureau holds a file on."""
        return CreditSubject("Zhang Wei", "11010519491231002X")

    def test_report_is_about_the_subject(
        self, adapter: CreditBureau, subject: CreditSubject
    ) -> None:
        report = adapter.fetch_report(subject)
        assert isinstance(report, CreditReport)
        assert report.id_number == subject.id_number

    def test_a_subject_with_a_file_has_a_score_and_a_grade(
        self, adapter: CreditBureau, subject: CreditSubject
    ) -> None:
        report = adapter.fetch_report(subject)
        assert report.has_file, "the 'subject' fixture must be someone the bureau knows"
        assert report.grade, "a scored report carries the bureau's grade"
