"""The example bureau passes leasekit's credit bureau suite, and leasekit finds it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from leasekit_example_bureau import ExampleBureau

from leasekit.domain.clock import Clock, FixedClock
from leasekit.plugins import create_plugin_manager, resolve_adapters
from leasekit.ports import AdapterKind, CreditSubject
from leasekit.testing.suites import CreditBureauSuite


class TestExampleBureau(CreditBureauSuite):
    @pytest.fixture
    def adapter(self, clock: Clock) -> ExampleBureau:
        return ExampleBureau(clock, no_file_prefix="000")


def test_the_same_subject_gets_the_same_score() -> None:
    clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
    bureau = ExampleBureau(clock)
    subject = CreditSubject("Zhang Wei", "11010519491231002X")
    assert bureau.fetch_report(subject) == bureau.fetch_report(subject)


def test_leasekit_finds_it_through_its_entry_point(tmp_path: Path) -> None:
    clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    assert pm.source_of("example-bureau").startswith("leasekit-example-bureau ")
    adapters = resolve_adapters(
        pm,
        {AdapterKind.CREDIT_BUREAU.value: "example"},
        {AdapterKind.CREDIT_BUREAU.value: {"no_file_prefix": "000"}},
        tmp_path,
        clock,
    )
    assert not adapters.credit_bureau.fetch_report(CreditSubject("Nobody", "000123")).has_file
