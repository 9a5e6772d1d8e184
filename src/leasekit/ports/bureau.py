"""Credit bureau: a person's or a company's credit file, as a score and a grade."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.validation import is_whole_number
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.common import count, not_blank, utc

__all__ = ["CreditBureau", "CreditReport", "CreditSubject"]


@attrs.frozen
class CreditSubject:
    """The person or company whose credit file is requested."""

    name: str
    id_number: str = attrs.field(validator=not_blank)
    kind: str = attrs.field(
        default="individual", validator=attrs.validators.in_(("individual", "company"))
    )
    country: str = "CN"
    phone: str | None = None


@attrs.frozen
class CreditReport:
    """A bureau's answer: a score on a 0-1000 scale and a grade, or neither when the bureau
    holds no file on the subject (a thin-file applicant, which is not an error)."""

    bureau_reference: str = attrs.field(validator=not_blank)
    id_number: str
    score: int | None = attrs.field()
    grade: str | None = attrs.field()
    fetched_at: datetime = attrs.field(converter=utc)
    open_accounts: int = attrs.field(default=0, validator=count)
    delinquent_accounts: int = attrs.field(default=0, validator=count)
    outstanding: Money | None = None

    @score.validator
    def _check_score(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (not is_whole_number(value) or not 0 <= value <= 1000):
            raise ValidationError.single("score", f"{value!r} is not a whole number in 0-1000")

    @grade.validator
    def _check_grade(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if (value is None) != (self.score is None):
            raise ValidationError.single("grade", "give both a score and a grade, or neither")

    @property
    def has_file(self) -> bool:
        return self.score is not None


@runtime_checkable
class CreditBureau(Protocol):
    def fetch_report(self, subject: CreditSubject) -> CreditReport:
        """The subject's current report; ``report.id_number`` is ``subject.id_number``."""
        ...
