"""Rule sets saved, compiled, published and evaluated, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leasekit.domain.identity import Actor
from leasekit.domain.rules import RuleAction, RuleSetState
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.services import rules
from leasekit.services.context import ServiceContext

RULES = (
    rules.RuleInput("blacklisted", "blacklist_hits > 0", RuleAction.DECLINE, "on the blacklist"),
    rules.RuleInput("low_score", "credit_score < 600", RuleAction.REFER, "score below 600", -20),
    rules.RuleInput(
        "large", 'amount_financed > 500000.00 and partner_rating in ["C", "D"]',
        RuleAction.REFER, "large deal from a C or D dealer",
    ),
    rules.RuleInput("steady", "statement_monthly_income >= 20000", RuleAction.PASS,
                    "steady income", 15),
)  # fmt: skip


def save(ctx: ServiceContext, actor: Actor, *given: rules.RuleInput) -> rules.RuleSetVersion:
    return rules.save_rule_set(ctx, actor, rules.SaveRuleSet("pre_approval", given or RULES))


def test_a_condition_that_does_not_compile_is_refused_by_its_place(
    ctx: ServiceContext, manager: Actor
) -> None:
    bad = rules.RuleInput("typo", "credit_scor < 600", RuleAction.REFER, "typo")
    wrong = rules.RuleInput("wrong", 'amount_financed > "x"', RuleAction.REFER, "type")
    with pytest.raises(ValidationError) as refused:
        save(ctx, manager, RULES[0], bad, wrong)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("rules[1].condition", "unknown fact 'credit_scor' (did you mean credit_score?)"),
        ("rules[2].condition", "not a valid condition: data type mismatch"),
    ]


def test_versions_are_numbered_and_a_dry_run_reads_the_rules(
    ctx: ServiceContext, manager: Actor
) -> None:
    first, second = save(ctx, manager), save(ctx, manager)
    assert (first.number, second.number) == (1, 2)
    facts = {"amount_financed": Decimal("600000.00"), "partner_rating": "C",
             "blacklist_hits": 0, "credit_score": Decimal(720),
             "statement_monthly_income": Decimal("25000.00")}  # fmt: skip
    result = rules.dry_run(ctx, manager, first.id, facts)
    assert (result.action, result.score) == (RuleAction.REFER, 15)
    assert [fired.code for fired in result.fired] == ["large", "steady"]


def test_a_null_fact_refers_the_case_naming_it(ctx: ServiceContext, manager: Actor) -> None:
    version = save(ctx, manager)
    result = rules.dry_run(ctx, manager, version.id, {"blacklist_hits": 0})
    assert result.action is RuleAction.REFER
    assert result.fired[0].reason == "could not be evaluated (null: credit_score)"


def test_amounts_are_compared_exactly(ctx: ServiceContext, manager: Actor) -> None:
    version = save(ctx, manager, RULES[2])
    at_edge = {"amount_financed": Decimal("500000.00"), "partner_rating": "D"}
    over = {"amount_financed": Decimal("500000.01"), "partner_rating": "D"}
    assert rules.dry_run(ctx, manager, version.id, at_edge).action is RuleAction.PASS
    assert rules.dry_run(ctx, manager, version.id, over).action is RuleAction.REFER


def test_facts_of_the_wrong_type_or_unknown_are_refused(
    ctx: ServiceContext, manager: Actor
) -> None:
    version = save(ctx, manager)
    with pytest.raises(ValidationError) as refused:
        rules.dry_run(ctx, manager, version.id, {"credit_score": 7.5, "shoe_size": Decimal(42)})
    assert {error.field for error in refused.value.errors} == {"credit_score", "shoe_size"}


def test_publishing_retires_the_version_in_force(
    ctx: ServiceContext, manager: Actor, director: Actor
) -> None:
    first = save(ctx, manager)
    rules.transition_rule_set_version(ctx, director, first.id, "publish")
    assert rules.published_rule_set(ctx, "pre_approval").id == first.id
    second = save(ctx, director)
    rules.transition_rule_set_version(ctx, manager, second.id, "publish")
    assert rules.published_rule_set(ctx, "pre_approval").id == second.id
    retired = rules.get_rule_set_version(ctx, manager, first.id)
    assert retired.state is RuleSetState.RETIRED


def test_a_dealer_reads_no_rules(ctx: ServiceContext, manager: Actor, dealer: Actor) -> None:
    version = save(ctx, manager)
    with pytest.raises(PermissionDeniedError, match="may not read"):
        rules.get_rule_set_version(ctx, dealer, version.id)
