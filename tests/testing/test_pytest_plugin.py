"""The opt-in pytest plugin's fixtures, used the way an integrator's test suite would (this
suite opts in with ``pytest_plugins`` in its root ``conftest.py``)."""

from __future__ import annotations

from datetime import date

from leasekit.domain.clock import FixedClock
from leasekit.plugins import Adapters, PluginManager
from leasekit.ports import AdapterKind, CreditSubject
from leasekit.testing.fakes import Fakes


def test_fixed_clock_starts_on_a_known_business_date(fixed_clock: FixedClock) -> None:
    assert fixed_clock.business_date() == date(2024, 1, 15)
    fixed_clock.advance(days=2)
    assert fixed_clock.business_date() == date(2024, 1, 17)


def test_plugin_manager_has_only_the_builtin_plugins(
    leasekit_plugin_manager: PluginManager,
) -> None:
    sources = {
        leasekit_plugin_manager.source_of(name)
        for name, _ in leasekit_plugin_manager.list_name_plugin()
    }
    assert sources == {"builtin"}


def test_fake_adapters_are_the_scripted_fakes(fakes: Fakes, fake_adapters: Adapters) -> None:
    fakes.credit_bureau.set_score("110105194912310021", 580)
    report = fake_adapters.credit_bureau.fetch_report(CreditSubject("Li Na", "110105194912310021"))
    assert (report.score, report.grade) == (580, "E")
    assert {fake_adapters.active_id(kind) for kind in AdapterKind} == {"fake", None}
    assert fake_adapters.active_id(AdapterKind.VOUCHER_TEMPLATE) is None
