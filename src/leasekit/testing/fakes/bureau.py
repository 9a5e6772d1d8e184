"""A credit bureau that returns the score a test set."""

from __future__ import annotations

import attrs

from leasekit.domain.clock import Clock
from leasekit.ports import AdapterContext, CreditReport, CreditSubject
from leasekit.testing.fakes._common import Outages, int_option, sequence

__all__ = ["FakeCreditBureau", "grade_for"]


def grade_for(score: int) -> str:
    """The fake bureau's grade bands: A from 750, B from 700, C from 650, D from 600, else E."""
    for floor, grade in ((750, "A"), (700, "B"), (650, "C"), (600, "D")):
        if score >= floor:
            return grade
    return "E"


@attrs.frozen
class _ScriptedReport:
    score: int | None
    grade: str | None
    delinquent_accounts: int


class FakeCreditBureau(Outages):
    """Returns the score set for a subject's id number; everyone else gets *default_score*
    (None: the bureau holds no file on them)."""

    def __init__(self, clock: Clock, *, default_score: int | None = 700) -> None:
        super().__init__()
        self.clock = clock
        self.default_score = default_score
        self.requests: list[CreditSubject] = []
        self._scripted: dict[str, _ScriptedReport] = {}
        self._reference = sequence("fake-bureau")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeCreditBureau:
        """Option ``default_score``: a number, or ``none`` for "no file"."""
        return cls(context.clock, default_score=int_option(context, "default_score", 700))

    def set_score(
        self,
        id_number: str,
        score: int | None,
        *,
        grade: str | None = None,
        delinquent_accounts: int = 0,
    ) -> None:
        """Script the report for *id_number*; the grade follows :func:`grade_for` unless given."""
        if grade is None and score is not None:
            grade = grade_for(score)
        self._scripted[id_number] = _ScriptedReport(score, grade, delinquent_accounts)

    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        self._call("fetch_report")
        self.requests.append(subject)
        scripted = self._scripted.get(subject.id_number)
        if scripted is None:
            score = self.default_score
            grade = None if score is None else grade_for(score)
            scripted = _ScriptedReport(score, grade, 0)
        return CreditReport(
            bureau_reference=self._reference(),
            id_number=subject.id_number,
            score=scripted.score,
            grade=scripted.grade,
            fetched_at=self.clock.now(),
            delinquent_accounts=scripted.delinquent_accounts,
        )
