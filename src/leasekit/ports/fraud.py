"""Anti-fraud data source: blacklists, device and phone risk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from leasekit.ports.common import RiskLevel, not_blank, utc

__all__ = ["FraudCheck", "FraudHit", "FraudSource", "FraudSubject"]


@attrs.frozen
class FraudSubject:
    """Who applies and from where; sources match identity, phone and device against lists."""

    name: str
    id_number: str = attrs.field(validator=not_blank)
    phone: str | None = None
    device_id: str | None = None
    ip_address: str | None = None


@attrs.frozen
class FraudHit:
    """One list or pattern the subject matched, in the source's own code."""

    code: str
    description: str


def _fraud_hits(values: Iterable[FraudHit]) -> tuple[FraudHit, ...]:
    return tuple(values)


@attrs.frozen
class FraudCheck:
    reference: str = attrs.field(validator=not_blank)
    risk: RiskLevel = attrs.field(converter=RiskLevel)
    checked_at: datetime = attrs.field(converter=utc)
    hits: tuple[FraudHit, ...] = attrs.field(default=(), converter=_fraud_hits)


@runtime_checkable
class FraudSource(Protocol):
    def check(self, subject: FraudSubject) -> FraudCheck:
        """The subject's risk; a clean subject is ``RiskLevel.LOW`` with no hits."""
        ...
