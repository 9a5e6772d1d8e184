"""A rule set made of the rules a test adds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from leasekit.errors import ValidationError
from leasekit.ports import AdapterContext, Fact, RuleHit, RuleOutcome, Verdict
from leasekit.testing.fakes._common import Outages

__all__ = ["FakeRuleSet"]


@attrs.frozen
class _Rule:
    rule_id: str
    verdict: Verdict
    message: str
    when: Callable[[Mapping[str, Fact]], bool]


class FakeRuleSet(Outages):
    """Rules added by a test (:meth:`add_rule`); with none, every case passes."""

    def __init__(self, name: str = "fake") -> None:
        super().__init__()
        self.name = name
        self.evaluated: list[Mapping[str, Fact]] = []
        self._rules: list[_Rule] = []

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeRuleSet:
        return cls()

    def add_rule(
        self,
        rule_id: str,
        verdict: Verdict | str,
        message: str,
        when: Callable[[Mapping[str, Fact]], bool],
    ) -> None:
        """Fire *rule_id* with *verdict* whenever ``when(facts)`` is true."""
        self._rules.append(_Rule(rule_id, Verdict(verdict), message, when))

    def evaluate(self, facts: Mapping[str, Fact]) -> RuleOutcome:
        """The rules whose condition holds; a condition reading a fact that is not there is a
        ValidationError naming the fact, as the port promises."""
        self._call("evaluate")
        self.evaluated.append(dict(facts))
        hits = [
            RuleHit(rule.rule_id, rule.verdict, rule.message)
            for rule in self._rules
            if _holds(rule, facts)
        ]
        return RuleOutcome(self.name, hits)


def _holds(rule: _Rule, facts: Mapping[str, Fact]) -> bool:
    try:
        return rule.when(facts)
    except KeyError as exc:
        raise ValidationError.single(
            f"facts.{exc.args[0]}", f"rule {rule.rule_id!r} needs this fact"
        ) from None
