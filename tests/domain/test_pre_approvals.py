"""The outcome of an assessment: the most severe of the rules' action and the votes, and a
referral at least when a party did not answer or no rules judged the case."""

from __future__ import annotations

import pytest

from leasekit.domain.pre_approvals import Vote, outcome_of
from leasekit.domain.rules import RuleAction

PASS, REFER, DECLINE = RuleAction.PASS, RuleAction.REFER, RuleAction.DECLINE


def test_a_vote_against_beats_the_rules_pass_and_says_who_cast_it() -> None:
    votes = [Vote("approval_policy", PASS), Vote("plugin acme", DECLINE, ["dealer under watch"])]
    assert outcome_of(PASS, [], votes) == (DECLINE, ("plugin acme: dealer under watch",))


def test_a_vote_without_a_reason_still_names_its_voter() -> None:
    assert outcome_of(PASS, [], [Vote("plugin acme", REFER)]) == (
        REFER, ("plugin acme: votes refer",)
    )  # fmt: skip


def test_a_pass_vote_never_softens_the_rules() -> None:
    assert outcome_of(DECLINE, [], [Vote("approval_policy", PASS, ["fine"])]) == (DECLINE, ())


@pytest.mark.parametrize(
    ("rules", "unavailable", "reasons"),
    [
        (PASS, ("credit_bureau",), ("credit_bureau did not answer; a person must look",)),
        (None, (), ("no pre_approval rule set is published; a person must look",)),
    ],
)
def test_a_gap_in_what_is_known_refers_at_least(
    rules: RuleAction | None, unavailable: tuple[str, ...], reasons: tuple[str, ...]
) -> None:
    assert outcome_of(rules, iter(unavailable), [Vote("approval_policy", PASS)]) == (
        REFER, reasons
    )  # fmt: skip
    assert outcome_of(rules, iter(unavailable), [Vote("x", DECLINE)])[0] is DECLINE
