"""Rule set versions: rules checked field by field, and published only by someone other than
their author."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from leasekit.domain.access import ObjectPermissionError
from leasekit.domain.identity import Actor, Role
from leasekit.domain.rules import Rule, RuleSetState, RuleSetVersion, checked_rules
from leasekit.errors import PermissionDeniedError, ValidationError

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
AUTHOR = Actor("manager-1", Role.MANAGER)


def rule(**changes: Any) -> Rule:
    fields = {"code": "blacklisted", "condition": "blacklist_hits > 0", "action": "decline",
              "reason": "on the blacklist", "points": 0}  # fmt: skip
    return Rule(**(fields | changes))


def draft(*rules: Rule, actor: Actor = AUTHOR) -> RuleSetVersion:
    return RuleSetVersion.draft(
        name="pre_approval", number=1, rules=rules or (rule(),), actor=actor, at=AT
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "Bad Code"}, "rules[0].code"),
        ({"condition": " "}, "rules[0].condition"),
        ({"condition": "x" * 2001}, "rules[0].condition"),
        ({"reason": ""}, "rules[0].reason"),
        ({"points": 1001}, "rules[0].points"),
    ],
)
def test_a_bad_rule_is_named_by_its_place(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        checked_rules([rule(**changes)])
    assert [error.field for error in refused.value.errors] == [field]


def test_codes_are_unique_and_a_set_is_not_empty() -> None:
    with pytest.raises(ValidationError, match=r"rules\[1\].code"):
        checked_rules([rule(), rule()])
    with pytest.raises(ValidationError, match="at least one rule"):
        checked_rules([])


def test_only_managers_and_directors_write_rules() -> None:
    with pytest.raises(PermissionDeniedError):
        draft(actor=Actor("officer-1", Role.OFFICER))


def test_the_author_does_not_publish_their_own_rules() -> None:
    version = draft()
    with pytest.raises(ObjectPermissionError, match="author may not publish"):
        version.apply("publish", AUTHOR, at=AT, business_date=date(2026, 12, 4))
    director = Actor("director-1", Role.DIRECTOR)
    version.apply("publish", director, at=AT, business_date=date(2026, 12, 4))
    assert (version.state, version.published_by) == (RuleSetState.PUBLISHED, "director-1")
