"""An anti-fraud data source that rates as risky whom a test said."""

from __future__ import annotations

from leasekit.domain.clock import Clock
from leasekit.ports import AdapterContext, FraudCheck, FraudHit, FraudSubject, RiskLevel
from leasekit.testing.fakes._common import Outages, sequence

__all__ = ["FakeFraudSource"]


class FakeFraudSource(Outages):
    """Low risk for everyone except the id numbers given a risk with :meth:`set_risk`."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.checks: list[FraudSubject] = []
        self._scripted: dict[str, tuple[RiskLevel, tuple[FraudHit, ...]]] = {}
        self._reference = sequence("fake-fraud")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeFraudSource:
        return cls(context.clock)

    def set_risk(self, id_number: str, risk: RiskLevel | str, *hits: FraudHit) -> None:
        self._scripted[id_number] = (RiskLevel(risk), hits)

    def check(self, subject: FraudSubject) -> FraudCheck:
        self._call("check")
        self.checks.append(subject)
        risk, hits = self._scripted.get(subject.id_number, (RiskLevel.LOW, ()))
        return FraudCheck(self._reference(), risk, self.clock.now(), hits)
