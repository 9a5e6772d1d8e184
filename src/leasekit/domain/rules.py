"""Rule sets: the company's credit and fraud rules, kept as versioned data.

A :class:`RuleSetVersion` holds the rules of one named set (``pre_approval``) as they stood
when it was saved. Each :class:`Rule` is a condition over the **facts** of a case (names and
types in :data:`FACT_TYPES`), written in a safe expression language that the services compile
and evaluate (never Python's ``eval``), and what it means when it holds: ``pass`` (points and a
reason, nothing more), ``refer`` (a person must look) or ``decline``. The outcome of a set is
the most severe action among the rules that fired, with every reason and the sum of points.

Versions are data, not code: a new draft is saved whole, checked (every condition compiles
against the fact types) before it is stored, and nothing evaluates it for real until a
manager or director other than its author publishes it; publishing retires the version that
was published before, so one version of each set is in force at a time (the database enforces
it). A published version is never edited: rules change by a new version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import SENIOR_REVIEWERS, Actor, Role, new_id
from leasekit.domain.lifecycle import (
    Effect,
    Guard,
    Stateful,
    StateMachine,
    not_by,
    records_actor,
    row,
)
from leasekit.domain.validation import Checks, choice, is_whole_number, text
from leasekit.errors import FieldError, ValidationError

__all__ = [
    "FACT_TYPES",
    "MAX_RULES",
    "RULE_SET_LIFECYCLE",
    "FactType",
    "Rule",
    "RuleAction",
    "RuleSetAction",
    "RuleSetState",
    "RuleSetVersion",
    "checked_rules",
]

MAX_RULES: Final = 200
MAX_CONDITION: Final = 2000
_CODE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


class FactType(StrEnum):
    DECIMAL = "decimal"
    """An exact number: amounts, ratios, scores, counts."""
    TEXT = "text"
    BOOLEAN = "boolean"


FACT_TYPES: Final[Mapping[str, FactType]] = {
    "amount_financed": FactType.DECIMAL,
    "vehicle_price": FactType.DECIMAL,
    "down_payment_ratio": FactType.DECIMAL,
    "term_months": FactType.DECIMAL,
    "annual_rate": FactType.DECIMAL,
    "business_type": FactType.TEXT,
    "customer_kind": FactType.TEXT,
    "partner_rating": FactType.TEXT,
    "partner_state": FactType.TEXT,
    "partner_available_limit": FactType.DECIMAL,
    "credit_score": FactType.DECIMAL,
    "bureau_overdue_accounts": FactType.DECIMAL,
    "blacklist_hits": FactType.DECIMAL,
    "same_id_other_applications": FactType.DECIMAL,
    "same_id_other_dealers": FactType.DECIMAL,
    "same_vin_other_applications": FactType.DECIMAL,
    "same_phone_other_applications": FactType.DECIMAL,
    "fraud_risk": FactType.TEXT,
    "face_photo_present": FactType.BOOLEAN,
    "face_photo_readable": FactType.BOOLEAN,
    "face_detected_count": FactType.DECIMAL,
    "face_capture_time_plausible": FactType.BOOLEAN,
    "face_capture_distance_km": FactType.DECIMAL,
    "face_capture_place_plausible": FactType.BOOLEAN,
    "face_photo_reused_count": FactType.DECIMAL,
    "face_match_similarity": FactType.DECIMAL,
    "face_matched": FactType.BOOLEAN,
    "statement_count": FactType.DECIMAL,
    "statement_unreadable": FactType.DECIMAL,
    "statement_months_covered": FactType.DECIMAL,
    "statement_monthly_income": FactType.DECIMAL,
    "statement_income_regularity": FactType.DECIMAL,
    "statement_balance_trend": FactType.DECIMAL,
    "statement_tampering_signals": FactType.DECIMAL,
    "statement_tampering_high": FactType.DECIMAL,
    "installment": FactType.DECIMAL,
    "income_to_installment": FactType.DECIMAL,
}
"""The facts a rule may read, by name, and their types. A fact may be null when its source
had nothing (no bureau record): a rule that compares it must say what null means
(``credit_score != null and credit_score < 600``)."""


class RuleAction(StrEnum):
    """What a rule that holds does to the case, mildest first."""

    PASS = "pass"
    REFER = "refer"
    DECLINE = "decline"

    @property
    def severity(self) -> int:
        return list(RuleAction).index(self)


@attrs.frozen
class Rule:
    """One rule: when *condition* holds over the facts, *action*, for *reason*, scoring
    *points* (negative points count against the case)."""

    code: str
    condition: str
    action: RuleAction = attrs.field(converter=RuleAction)
    reason: str
    points: int = 0


def _rule_errors(rule: Rule, at: str) -> list[FieldError]:
    checks = Checks()
    if not isinstance(rule.code, str) or not _CODE.fullmatch(rule.code):
        checks.add(f"{at}.code", "lower-case letters, digits and _, starting with a letter")
    checks.run(lambda: text(rule.condition, f"{at}.condition", MAX_CONDITION))
    checks.run(lambda: choice(RuleAction, rule.action, f"{at}.action"))
    checks.run(lambda: text(rule.reason, f"{at}.reason"))
    if not is_whole_number(rule.points) or not -1000 <= rule.points <= 1000:
        checks.add(f"{at}.points", "a whole number from -1000 to 1000")
    return checks.errors


def checked_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """*rules* with every field checked and codes unique, each fault named by its place
    (``rules[2].condition``); whether each condition compiles is the services' check."""
    found = tuple(rules)
    errors = [error for i, rule in enumerate(found) for error in _rule_errors(rule, f"rules[{i}]")]
    if not found:
        errors.append(FieldError("rules", "a rule set needs at least one rule"))
    if len(found) > MAX_RULES:
        errors.append(FieldError("rules", f"at most {MAX_RULES} rules"))
    seen: set[str] = set()
    for index, rule in enumerate(found):
        if rule.code in seen:
            errors.append(FieldError(f"rules[{index}].code", f"{rule.code!r} is used twice"))
        seen.add(rule.code)
    if errors:
        raise ValidationError(errors)
    return found


class RuleSetState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class RuleSetAction(StrEnum):
    PUBLISH = "publish"
    RETIRE = "retire"


_S = RuleSetState
_A = RuleSetAction

RULE_SET_LIFECYCLE: Final = StateMachine(
    "rule_set_version",
    _S.DRAFT,
    (
        row(_A.PUBLISH, [_S.DRAFT], _S.PUBLISHED, SENIOR_REVIEWERS, "rule_set_published"),
        # Whoever publishes a newer version retires the one in force with it.
        row(_A.RETIRE, [_S.PUBLISHED], _S.RETIRED, [*SENIOR_REVIEWERS, Role.SYSTEM],
            "rule_set_retired", True),
    ),
    final=frozenset({_S.RETIRED}),
    actions_enum=RuleSetAction,
)  # fmt: skip


@attrs.define
class RuleSetVersion(Stateful):
    """Version *number* of the rule set *name*; its rules never change once saved."""

    id: str
    name: str
    number: int
    rules: tuple[Rule, ...]
    state: RuleSetState = attrs.field(converter=RuleSetState)
    created_by: str
    created_at: datetime
    published_by: str | None = None
    version: int = 0

    lifecycle: ClassVar[StateMachine[RuleSetState]] = RULE_SET_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("name", "number")
    guards: ClassVar[Mapping[str, Guard]] = {
        _A.PUBLISH: not_by("created_by", "the author may not publish their own rules; another "
                           "manager or director must"),
    }  # fmt: skip
    effects: ClassVar[Mapping[str, Effect]] = {_A.PUBLISH: records_actor("published_by")}

    @classmethod
    def draft(
        cls, *, name: str, number: int, rules: Iterable[Rule], actor: Actor, at: datetime
    ) -> RuleSetVersion:
        """Version *number* of *name*, a draft, its rules checked."""
        ensure_may_create(actor, "rule_set_version")
        checks = Checks()
        if not isinstance(name, str) or not _CODE.fullmatch(name):
            checks.add("name", "lower-case letters, digits and _, starting with a letter")
        valid = checks.run(lambda: checked_rules(rules))
        if valid is None or checks.errors:
            raise checks.error()
        return cls(new_id(), name, number, valid, RuleSetState.DRAFT, actor.user_id,
                   require_utc(at))  # fmt: skip
