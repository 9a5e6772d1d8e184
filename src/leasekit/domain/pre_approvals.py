"""Pre-approval: the automatic first look at a submitted application.

A :class:`PreApproval` records one assessment: the facts gathered (from the application, its
customer and dealer, the blacklist, its bank statements and the external parties), the
findings behind some of them (each tampering signal of a statement) for the people who review
the case, the credit bureau's report (the id number masked), which of those parties could not
answer, the rule set version that judged them, and the outcome with every reason. The outcome
is the most severe of the rules' action and the votes (the approval policy's, the plugins'),
made at least a referral when a party did not answer or no rule set is in force: a gap in what
the company knows never lets a case through unseen.
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

__all__ = [
    "RULE_SET",
    "PreApproval",
    "Vote",
    "outcome_of",
    "shown_facts",
]

RULE_SET: Final = "pre_approval"
"""The rule set pre-approval runs: its published version."""


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def shown_facts(facts: Mapping[str, Any]) -> dict[str, str | bool | None]:
    """Facts as stored and shown: exact numbers as text."""
    return {name: str(value) if isinstance(value, Decimal) else value
            for name, value in facts.items()}  # fmt: skip


@attrs.frozen
class Vote:
    """One voter's verdict on the case, as a rule action, with its reasons."""

    voter: str
    action: RuleAction
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_strings)

    def stated(self) -> tuple[str, ...]:
        """Its reasons as the assessment keeps them, each under the voter's name; a vote
        against the case without a reason still says who cast it."""
        if not self.reasons and self.action is not RuleAction.PASS:
            return (f"{self.voter}: votes {self.action}",)
        return tuple(f"{self.voter}: {reason}" for reason in self.reasons)


def outcome_of(
    rules_action: RuleAction | None, unavailable: Iterable[str], votes: Iterable[Vote] = ()
) -> tuple[RuleAction, tuple[str, ...]]:
    """The outcome and the reasons it adds: the most severe of the rules' action and the
    votes (each vote against the case with its reasons), and a referral at least when a party
    did not answer (each named) or no rules judged the case."""
    unavailable = tuple(unavailable)
    counted = [vote for vote in votes if vote.action is not RuleAction.PASS]
    reasons = tuple(reason for vote in counted for reason in vote.stated())
    reasons += tuple(f"{party} did not answer; a person must look" for party in unavailable)
    if rules_action is None:
        reasons += ("no pre_approval rule set is published; a person must look",)
    action = max(
        [rules_action or RuleAction.REFER, *(vote.action for vote in counted)],
        key=lambda each: each.severity,
    )
    if (rules_action is None or unavailable) and action.severity < RuleAction.REFER.severity:
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
    facts: dict[str, Any] = attrs.field(converter=shown_facts)
    findings: tuple[str, ...] = attrs.field(converter=_strings)
    """What lies behind some facts, for the reviewer: each tampering signal of a statement."""
    bureau_report: dict[str, Any] | None
    """The credit bureau's report as kept and shown, the id number masked; None when the
    bureau did not answer."""
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
        findings: Iterable[str],
        bureau_report: Mapping[str, Any] | None,
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
            tuple(findings),
            None if bureau_report is None else dict(bureau_report),
            tuple(unavailable),
            rule_set_version_id,
            require_utc(at),
        )
