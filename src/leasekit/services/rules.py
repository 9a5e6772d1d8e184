"""Rule sets in the library and over HTTP: saved as versions, compiled, published by a second
person, and evaluated over a case's facts (for real by pre-approval, or as a dry run).

Conditions are compiled by `rule-engine <https://zeroSteiner.github.io/rule-engine/>`_, chosen
over a CEL implementation and zen-engine decision tables because it parses its own small
language (no Python ``eval``, no attribute access into the host), checks every symbol and
type against the fact catalogue when a rule is saved (a misspelt fact is refused then, not
at the first application), and does its arithmetic in ``Decimal`` (``0.1 + 0.2 == 0.3``), so
a rule on an amount is exact. Decision tables can be written as rules of one condition each.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs
import rule_engine

from leasekit.domain.identity import Actor
from leasekit.domain.rules import (
    FACT_TYPES,
    RULE_SET_LIFECYCLE,
    FactType,
    Rule,
    RuleAction,
    RuleSetAction,
    RuleSetState,
    RuleSetVersion,
)
from leasekit.domain.validation import Checks, text
from leasekit.errors import FieldError, ValidationError
from leasekit.money import DECIMAL_CONTEXT
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, back_office_lists, back_office_only
from leasekit.services.reads import Lister, lister
from leasekit.services.storage import Record, UnitOfWork

__all__ = [
    "CaseFacts",
    "RuleFired",
    "RuleInput",
    "RuleResult",
    "RuleSetQuery",
    "SaveRuleSet",
    "dry_run",
    "evaluate",
    "get_rule_set_version",
    "list_rule_set_versions",
    "published_rule_set",
    "save_rule_set",
    "transition_rule_set_version",
]

Fact = Decimal | str | bool | None
MAX_FACT_TEXT: Final = 100
"""Text facts are codes and grades (``C``, ``finance_lease``), never documents."""

_DATA_TYPES: Final = {
    FactType.DECIMAL: rule_engine.DataType.FLOAT,
    FactType.TEXT: rule_engine.DataType.STRING,
    FactType.BOOLEAN: rule_engine.DataType.BOOLEAN,
}
_PYTHON_TYPES: Final[Mapping[FactType, type]] = {
    FactType.DECIMAL: Decimal,
    FactType.TEXT: str,
    FactType.BOOLEAN: bool,
}
_FACT_NAME: Final = re.compile(r"\b[a-z_][a-z0-9_]*\b")
_CONTEXT: Final = rule_engine.Context(
    type_resolver=rule_engine.type_resolver_from_dict(
        {name: _DATA_TYPES[kind] for name, kind in FACT_TYPES.items()}
    ),
    decimal_context=DECIMAL_CONTEXT,
)

CaseFacts = attrs.make_class(
    "CaseFacts",
    {
        name: attrs.field(default=None, type=_PYTHON_TYPES[kind] | None)  # type: ignore[arg-type]
        for name, kind in FACT_TYPES.items()
    },
    frozen=True,
)
"""The facts of one case, every one optional (null: its source had nothing)."""


# --- compiling ----------------------------------------------------------------------------------


def _compile(rules: Sequence[Rule]) -> list[rule_engine.Rule]:
    """Each rule's condition compiled against the fact catalogue; every one that does not
    compile is named (``rules[2].condition: unknown fact 'credit_scor'``)."""
    compiled, errors = [], []
    for index, rule in enumerate(rules):
        try:
            compiled.append(_compiled(rule.condition))
        except rule_engine.errors.EngineError as exc:
            errors.append(FieldError(f"rules[{index}].condition", _why(exc)))
    if errors:
        raise ValidationError(errors)
    return compiled


@functools.lru_cache(maxsize=4096)
def _compiled(condition: str) -> rule_engine.Rule:
    """*condition* parsed once per process: every application is judged by the same few
    published rules, and a compiled rule holds no state between evaluations."""
    return rule_engine.Rule(condition, context=_CONTEXT)


def _why(exc: rule_engine.errors.EngineError) -> str:
    if isinstance(exc, rule_engine.errors.SymbolResolutionError):
        near = difflib.get_close_matches(exc.symbol_name, FACT_TYPES, n=1)
        hint = f" (did you mean {near[0]}?)" if near else " (GET /openapi.json lists the facts)"
        return f"unknown fact {exc.symbol_name!r}{hint}"
    return f"not a valid condition: {exc.message}"


def _unevaluable(rule: Rule, facts: Mapping[str, Fact], exc: Exception) -> RuleFired:
    """A rule that could not be evaluated refers the case, naming the null facts it reads."""
    null = [name for name in _FACT_NAME.findall(rule.condition) if facts.get(name) is None]
    why = f"null: {', '.join(dict.fromkeys(null))}" if null else str(exc)
    return RuleFired(rule.code, RuleAction.REFER, f"could not be evaluated ({why})", 0)


# --- evaluating ---------------------------------------------------------------------------------


@attrs.frozen
class RuleFired:
    """A rule whose condition held (or could not be evaluated, which refers the case)."""

    code: str
    action: RuleAction = attrs.field(converter=RuleAction)
    reason: str
    points: int


@attrs.frozen
class RuleResult:
    """What a rule set says of one case: the most severe action among the rules that fired
    (``pass`` when none did), their reasons and the points they score."""

    rule_set: str
    number: int
    action: RuleAction = attrs.field(converter=RuleAction)
    score: int
    fired: tuple[RuleFired, ...]


def _facts(facts: Mapping[str, Fact]) -> dict[str, Fact]:
    """Every fact of the catalogue, null where not given; an unknown name, a value of the
    wrong type (a float for an amount) or text no field would take is refused by name."""
    checks = Checks()
    given: dict[str, Fact] = dict.fromkeys(FACT_TYPES)
    for name, value in facts.items():
        kind = FACT_TYPES.get(name)
        if kind is None:
            checks.add(name, "not a fact rules know")
        elif value is not None and not _of_type(value, kind):
            checks.add(name, f"must be {kind.value} or null")
        elif isinstance(value, str):
            given[name] = checks.run(functools.partial(text, value, name, MAX_FACT_TEXT))
        else:
            given[name] = value
    if checks.errors:
        raise checks.error()
    return given


def _of_type(value: object, kind: FactType) -> bool:
    if kind is FactType.DECIMAL:
        return type(value) in (Decimal, int) and (type(value) is int or value.is_finite())  # type: ignore[attr-defined]
    return type(value) is _PYTHON_TYPES[kind]


def evaluate(version: RuleSetVersion, facts: Mapping[str, Fact]) -> RuleResult:
    """Run *version*'s rules over *facts*. A rule that cannot be evaluated on them (it
    compares a fact that is null) fires as a referral saying so: a gap in the facts never
    approves a case."""
    given = _facts(facts)
    fired = []
    for rule, compiled in zip(version.rules, _compile(version.rules), strict=True):
        try:
            holds = compiled.matches(given)
        except rule_engine.errors.EngineError as exc:
            fired.append(_unevaluable(rule, given, exc))
            continue
        if holds:
            fired.append(RuleFired(rule.code, rule.action, rule.reason, rule.points))
    worst = max((f.action for f in fired), key=lambda a: a.severity, default=RuleAction.PASS)
    score = sum(f.points for f in fired)
    return RuleResult(version.name, version.number, worst, score, tuple(fired))


# --- saving and publishing ----------------------------------------------------------------------


@attrs.frozen
class RuleInput:
    code: str
    condition: str = attrs.field(metadata={"max_length": 2000})
    action: RuleAction
    reason: str = attrs.field(metadata={"max_length": 1000})
    points: int = 0


@attrs.frozen
class SaveRuleSet:
    name: str = attrs.field(metadata={"description": "The set's name (``pre_approval``)."})
    rules: tuple[RuleInput, ...]


@command(
    "save_rule_set",
    subject="rule_set_version",
    creates="rule_set_version",
    reload=lambda uow, version_id: uow.rule_sets.get(version_id),
)
def save_rule_set(work: Work, request: SaveRuleSet) -> RuleSetVersion:
    """Save a new version of a rule set, as a draft.

    Every condition is compiled against the facts rules know and refused, by its place, if
    it does not compile. The draft is numbered after the set's latest version and evaluates
    nothing for real until another manager or director publishes it.
    """
    rules = tuple(Rule(**attrs.asdict(rule)) for rule in request.rules)
    version = RuleSetVersion.draft(
        name=request.name,
        number=work.uow.rule_sets.latest_number(request.name) + 1,
        rules=rules,
        actor=work.actor,
        at=work.at,
    )
    _compile(version.rules)
    work.uow.rule_sets.add(version)
    work.event(
        "rule_set_saved",
        "rule_set_version",
        version.id,
        {"name": version.name, "number": version.number, "rules": len(version.rules)},
    )
    return version


def _retire_the_one_in_force(work: Work, published: RuleSetVersion) -> None:
    """Before a publication is stored: the version in force steps down, in the same
    transaction, so that one version of a set is in force at a time."""
    for earlier in work.uow.rule_sets.published(published.name):
        if earlier.id == published.id:
            continue
        event = earlier.apply(
            RuleSetAction.RETIRE,
            work.actor,
            at=work.at,
            business_date=work.business_date,
            reason=f"replaced by version {published.number}",
        )
        work.uow.rule_sets.update(earlier)
        work.record(event)


transition_rule_set_version = transition_command(
    "rule_set_version",
    RULE_SET_LIFECYCLE,
    lambda uow: uow.rule_sets,
    before={RuleSetAction.PUBLISH: _retire_the_one_in_force},
)
"""``publish`` (by a manager or director other than the author; the version in force before
retires) or ``retire`` with a reason."""


# --- reads --------------------------------------------------------------------------------------


def published_rule_set(
    ctx: ServiceContext, name: str, uow: UnitOfWork | None = None
) -> RuleSetVersion | None:
    """The version of *name* in force, for pre-approval: in *uow*, or a new unit of work."""
    if uow is not None:
        found = uow.rule_sets.published(name)
        return found[0] if found else None
    with ctx.uow_factory() as own:
        return published_rule_set(ctx, name, own)


def dry_run(ctx: ServiceContext, actor: Actor, version_id: str, facts: Any, /) -> RuleResult:
    """Evaluate a rule set version over facts, changing nothing.

    Any version, draft or published, so a draft can be tried on the cases it is meant for
    before anyone publishes it. Facts left out are null. Back-office staff only.
    """
    back_office_only(actor, "rule_set_version")
    with ctx.uow_factory() as uow:
        version = uow.rule_sets.get(version_id)
    given = facts if isinstance(facts, Mapping) else attrs.asdict(facts)
    return evaluate(version, {name: value for name, value in given.items() if value is not None})


def get_rule_set_version(ctx: ServiceContext, actor: Actor, version_id: str, /) -> RuleSetVersion:
    """Get a version of a rule set.

    Its rules as saved, its state and who published it. Back-office staff only."""
    back_office_only(actor, "rule_set_version")
    with ctx.uow_factory() as uow:
        return uow.rule_sets.get(version_id)


@attrs.frozen
class RuleSetQuery:
    """Which versions to list; every field left out matches all."""

    name: str | None = None
    state: RuleSetState | None = None


list_rule_set_versions: Lister[RuleSetQuery, Record] = lister(
    "list_rule_set_versions",
    RuleSetQuery,
    lambda uow: uow.rule_sets,
    back_office_lists("rule_set_version"),
    """List rule set versions.

    ``?name=pre_approval&state=published`` is the version in force. Back-office staff
    only.""",
)
