"""Pre-approval: the automatic first look at a submitted application.

A :class:`PreApproval` records one assessment: the facts gathered (from the application, its
customer and dealer, the blacklist and the external parties), which of those parties could
not answer, the rule set version that judged them, and the outcome with every reason. The
outcome is the rules' action, made at least a referral when a party did not answer or no rule
set is in force: a gap in what the company knows never lets a case through unseen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from leasekit.domain.clock import require_utc
from leasekit.domain.identity import new_id
from leasekit.domain.rules import RuleAction

__all__ = ["RULE_SET", "PreApproval", "outcome_of"]

RULE_SET: Final = "pre_approval"
"""The rule set pre-approval runs: its published version."""


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _shown(facts: Mapping[str, Any]) -> dict[str, str | bool | None]:
    """Facts as stored and shown: exact numbers as text."""
    return {name: str(value) if isinstance(value, Decimal) else value
            for name, value in facts.items()}  # fmt: skip


def outcome_of(
    rules_action: RuleAction | None, unavailable: Iterable[str]
) -> tuple[RuleAction, tuple[str, ...]]:
    """The outcome and the reasons it adds: a referral at least when a party did not answer
    (each named) or no rules judged the case."""
    reasons = tuple(f"{party} did not answer; a person must look" for party in unavailable)
    if rules_action is None:
        reasons += ("no pre_approval rule set is published; a person must look",)
    action = rules_action or RuleAction.REFER
    if reasons and action.severity < RuleAction.REFER.severity:
        action = RuleAction.REFER
    return action, reasons


@attrs.frozen
class PreApproval:
    """One automatic assessment of an application; never changed after."""

    id: str
    application_id: str
    partner_id: str
    outcome: RuleAction = attrs.field(converter=RuleAction)
    score: int
    reasons: tuple[str, ...] = attrs.field(converter=_strings)
    facts: dict[str, Any] = attrs.field(converter=_shown)
    unavailable: tuple[str, ...] = attrs.field(converter=_strings)
    rule_set_version_id: str | None
    assessed_at: datetime

    @classmethod
    def of(
        cls,
        *,
        application_id: str,
        partner_id: str,
        outcome: RuleAction,
        score: int,
        reasons: Iterable[str],
        facts: Mapping[str, Any],
        unavailable: Iterable[str],
        rule_set_version_id: str | None,
        at: datetime,
    ) -> PreApproval:
        return cls(
            new_id(),
            application_id,
            partner_id,
            outcome,
            score,
            tuple(reasons),
            dict(facts),
            tuple(unavailable),
            rule_set_version_id,
            require_utc(at),
        )
