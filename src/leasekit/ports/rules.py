"""Rule sets: rules run over an application's facts before it reaches a person."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol, TypeAlias, runtime_checkable

import attrs

from leasekit.ports.common import Verdict

__all__ = ["Fact", "RuleHit", "RuleOutcome", "RuleSet"]


Fact: TypeAlias = str | int | bool | Decimal | None
"""A rule input: exact scalars only, so that a rule on an amount cannot be fooled by a float."""


@attrs.frozen
class RuleHit:
    """A rule that fired, and what it demands."""

    rule_id: str
    verdict: Verdict = attrs.field(converter=Verdict)
    message: str


def _rule_hits(values: Iterable[RuleHit]) -> tuple[RuleHit, ...]:
    return tuple(values)


@attrs.frozen
class RuleOutcome:
    """The rules that fired; the outcome is the most severe of their verdicts, so a referral or
    a decline always comes with the rule that caused it."""

    rule_set: str
    hits: tuple[RuleHit, ...] = attrs.field(default=(), converter=_rule_hits)

    @property
    def verdict(self) -> Verdict:
        return Verdict.worst(hit.verdict for hit in self.hits)


@runtime_checkable
class RuleSet(Protocol):
    def evaluate(self, facts: Mapping[str, Fact]) -> RuleOutcome:
        """Run the rules over *facts*; a missing fact a rule needs is a ValidationError."""
        ...
