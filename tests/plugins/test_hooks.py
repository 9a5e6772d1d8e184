"""Each hook, called through the typed facade the way leasekit calls it.

Every hookspec has a ``test_hook_<name>`` here; ``test_every_hookspec_has_a_test`` keeps it so.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from leasekit import hookimpl, hookspecs
from leasekit.domain.events import DomainEvent
from leasekit.domain.lifecycle_docs import MACHINES
from leasekit.domain.partner_ratings import RatingResult, Scorecard
from leasekit.errors import ConfigurationError, PluginError
from leasekit.money import Money
from leasekit.plugins import Hooks, PluginManager, publish
from leasekit.ports import AdapterKind, ApprovalCase, PolicyVote, Register, RiskLevel, Verdict
from leasekit.services.end_of_day import EndOfDayStep
from leasekit.testing import fakes

PluginFactory = Callable[..., PluginManager]
EventFactory = Callable[..., DomainEvent]


def _hookspec_names() -> set[str]:
    return {name for name in dir(hookspecs) if name.startswith("leasekit_")}


def test_every_hookspec_has_a_test() -> None:
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    tested = {
        node.name.removeprefix("test_hook_")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_")
    }
    assert _hookspec_names() - tested == set(), "hooks without a test_hook_<name> test"
    assert tested - _hookspec_names() == set(), "tests for hooks that do not exist"


def test_every_named_event_hook_is_an_event_the_lifecycles_record() -> None:
    recorded = {transition.event for machine in MACHINES for transition in machine.transitions}
    assert hookspecs.NAMED_EVENT_HOOKS - recorded == set()
    assert len(hookspecs.NAMED_EVENT_HOOKS) >= 10


# --- registration -------------------------------------------------------------------------


def _registered(make_pm: PluginFactory, kind: AdapterKind, hook: str, factory: object) -> object:
    """Register *factory* as "acme" through *hook*; return what the registry holds."""

    class Vendor:
        pass

    def register_acme(register: Register[object]) -> None:
        register("acme", factory)  # type: ignore[arg-type]

    vendor = Vendor()
    setattr(vendor, hook, hookimpl(register_acme))
    registration = make_pm(vendor).hooks.registry(kind).get("acme")
    assert registration.plugin == "Vendor (extra_plugins)"
    return registration.factory


def test_hook_leasekit_register_credit_bureaus(make_pm: PluginFactory) -> None:
    factory = fakes.FakeCreditBureau.from_context
    kind = AdapterKind.CREDIT_BUREAU
    assert _registered(make_pm, kind, "leasekit_register_credit_bureaus", factory) == factory


def test_hook_leasekit_register_fraud_sources(make_pm: PluginFactory) -> None:
    factory = fakes.FakeFraudSource.from_context
    kind = AdapterKind.FRAUD_SOURCE
    assert _registered(make_pm, kind, "leasekit_register_fraud_sources", factory) == factory


def test_hook_leasekit_register_face_verifiers(make_pm: PluginFactory) -> None:
    factory = fakes.FakeFaceVerifier.from_context
    kind = AdapterKind.FACE_VERIFIER
    assert _registered(make_pm, kind, "leasekit_register_face_verifiers", factory) == factory


def test_hook_leasekit_register_statement_parsers(make_pm: PluginFactory) -> None:
    factory = fakes.FakeStatementParser.from_context
    kind = AdapterKind.STATEMENT_PARSER
    assert _registered(make_pm, kind, "leasekit_register_statement_parsers", factory) == factory


def test_hook_leasekit_register_banks(make_pm: PluginFactory) -> None:
    factory = fakes.FakeBank.from_context
    assert _registered(make_pm, AdapterKind.BANK, "leasekit_register_banks", factory) == factory


def test_hook_leasekit_register_signature_providers(make_pm: PluginFactory) -> None:
    factory = fakes.FakeSignatureProvider.from_context
    kind = AdapterKind.SIGNATURE_PROVIDER
    assert _registered(make_pm, kind, "leasekit_register_signature_providers", factory) == factory


def test_hook_leasekit_register_ledgers(make_pm: PluginFactory) -> None:
    factory = fakes.FakeLedger.from_context
    assert _registered(make_pm, AdapterKind.LEDGER, "leasekit_register_ledgers", factory) == factory


def test_hook_leasekit_register_document_stores(make_pm: PluginFactory) -> None:
    factory = fakes.InMemoryDocumentStore.from_context
    kind = AdapterKind.DOCUMENT_STORE
    assert _registered(make_pm, kind, "leasekit_register_document_stores", factory) == factory


def test_hook_leasekit_register_approval_policies(make_pm: PluginFactory) -> None:
    factory = fakes.FakeApprovalPolicy.from_context
    kind = AdapterKind.APPROVAL_POLICY
    assert _registered(make_pm, kind, "leasekit_register_approval_policies", factory) == factory


def test_hook_leasekit_register_rule_sets(make_pm: PluginFactory) -> None:
    factory = fakes.FakeRuleSet.from_context
    kind = AdapterKind.RULE_SET
    assert _registered(make_pm, kind, "leasekit_register_rule_sets", factory) == factory


def test_hook_leasekit_register_voucher_templates(make_pm: PluginFactory) -> None:
    template = fakes.FakeVoucherTemplate("contract_disbursed", "1221", "1002")

    def factory(context: object) -> fakes.FakeVoucherTemplate:
        return template

    kind = AdapterKind.VOUCHER_TEMPLATE
    assert _registered(make_pm, kind, "leasekit_register_voucher_templates", factory) is factory


def test_hook_leasekit_register_notifiers(make_pm: PluginFactory) -> None:
    factory = fakes.FakeNotifier.from_context
    kind = AdapterKind.NOTIFIER
    assert _registered(make_pm, kind, "leasekit_register_notifiers", factory) == factory


def test_a_registration_hook_returning_a_value_is_refused(make_pm: PluginFactory) -> None:
    class ListStyle:
        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> list[str]:
            return ["acme"]

    with pytest.raises(PluginError, match=r"ListStyle .* returned \['acme'\]"):
        make_pm(ListStyle()).hooks.registry(AdapterKind.BANK)


def test_an_async_implementation_is_refused(make_pm: PluginFactory) -> None:
    class Async:
        @hookimpl
        async def leasekit_register_banks(self, register: Register[object]) -> None:
            register("acme", object)

    with pytest.raises(PluginError, match=r"Async .* is async"):
        make_pm(Async()).hooks.registry(AdapterKind.BANK)


def test_a_crashing_registration_hook_names_its_plugin(make_pm: PluginFactory) -> None:
    class Broken:
        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> None:
            raise ImportError("No module named 'acme_sdk'")

    with pytest.raises(
        PluginError, match=r"Broken \(extra_plugins\) failed in leasekit_register_banks"
    ) as caught:
        make_pm(Broken()).hooks.registry(AdapterKind.BANK)
    assert "ImportError: No module named 'acme_sdk'" in str(caught.value)
    assert isinstance(caught.value.__cause__, ImportError)


def test_a_leasekit_error_from_a_hook_keeps_its_type_and_gains_the_plugin(
    make_pm: PluginFactory,
) -> None:
    class Misconfigured:
        @hookimpl
        def leasekit_register_banks(self, register: Register[object]) -> None:
            raise ConfigurationError("acme needs LEASEKIT_ACME_REGION")

    with pytest.raises(ConfigurationError) as caught:
        make_pm(Misconfigured()).hooks.registry(AdapterKind.BANK)
    assert caught.value.__notes__ == [
        "raised by Misconfigured (extra_plugins) in leasekit_register_banks"
    ]


# --- decision -----------------------------------------------------------------------------


def _case(**changes: object) -> ApprovalCase:
    values: dict[str, object] = {
        "application_id": "app-1",
        "partner_id": "partner-1",
        "business_type": "new_car_loan",
        "amount_financed": Money("120000.00", "CNY"),
        "term_months": 36,
        "down_payment_ratio": Decimal("0.20"),
        "credit_score": 720,
        "fraud_risk": RiskLevel.LOW,
    }
    values.update(changes)
    return ApprovalCase(**values)  # type: ignore[arg-type]


class _Blacklist:
    """Declines one partner's cases and abstains on everyone else's."""

    @hookimpl
    def leasekit_evaluate_application(self, case: ApprovalCase) -> PolicyVote | None:
        if case.partner_id == "partner-bad":
            return PolicyVote("blacklist", Verdict.DECLINE, ("partner on the blacklist",))
        return None


class _Cautious:
    @hookimpl
    def leasekit_evaluate_application(self, case: ApprovalCase) -> PolicyVote:
        return PolicyVote("cautious", Verdict.REFER, ("always look twice",))


def test_hook_leasekit_evaluate_application(make_pm: PluginFactory) -> None:
    hooks = make_pm(_Blacklist(), _Cautious()).hooks
    assert [vote.voter for vote in hooks.evaluate_application(_case())] == ["cautious"]
    votes = hooks.evaluate_application(_case(partner_id="partner-bad"))
    assert sorted(vote.voter for vote in votes) == ["blacklist", "cautious"]
    assert Verdict.worst(vote.verdict for vote in votes) is Verdict.DECLINE


def test_no_votes_without_voting_plugins(make_pm: PluginFactory) -> None:
    assert make_pm().hooks.evaluate_application(_case()) == []


def test_a_vote_that_is_not_a_policy_vote_is_refused(make_pm: PluginFactory) -> None:
    class Sloppy:
        @hookimpl
        def leasekit_evaluate_application(self, case: ApprovalCase) -> str:
            return "approve"

    with pytest.raises(PluginError, match=r"Sloppy .* returned 'approve'"):
        make_pm(Sloppy()).hooks.evaluate_application(_case())


def test_a_crashing_voter_names_its_plugin(make_pm: PluginFactory) -> None:
    class Crashing:
        @hookimpl
        def leasekit_evaluate_application(self, case: ApprovalCase) -> PolicyVote:
            raise KeyError("score_card")

    with pytest.raises(PluginError, match=r"Crashing .* leasekit_evaluate_application: KeyError"):
        make_pm(_Cautious(), Crashing()).hooks.evaluate_application(_case())


class _Strict:
    """A rating model of its own: everyone is a D."""

    version = "strict-1"

    @hookimpl
    def leasekit_partner_rating_model(self, scorecard: Scorecard) -> _Strict:
        return self

    def rate(self, figures: object) -> RatingResult:
        return RatingResult("D", Decimal(0), self.version, ())


def test_hook_leasekit_partner_rating_model(make_pm: PluginFactory) -> None:
    scorecard = Scorecard()
    assert make_pm().hooks.partner_rating_model(scorecard) is scorecard
    strict = _Strict()
    assert make_pm(strict).hooks.partner_rating_model(scorecard) is strict


def test_two_rating_models_are_an_error_naming_both(make_pm: PluginFactory) -> None:
    class Other(_Strict):
        version = "other-1"

    with pytest.raises(PluginError, match=r"_Strict.* and .*Other.* both replace"):
        make_pm(_Strict(), Other()).hooks.partner_rating_model(Scorecard())


def test_a_rating_model_without_rate_is_refused(make_pm: PluginFactory) -> None:
    class Sloppy:
        @hookimpl
        def leasekit_partner_rating_model(self, scorecard: Scorecard) -> str:
            return "A"

    with pytest.raises(PluginError, match=r"Sloppy .* returned 'A'.* RatingModel"):
        make_pm(Sloppy()).hooks.partner_rating_model(Scorecard())


class _Archive:
    @hookimpl
    def leasekit_end_of_day_steps(self) -> list[EndOfDayStep]:
        return [EndOfDayStep("archive", lambda uow, ctx, on, low, high: {"archived": 0})]


def test_hook_leasekit_end_of_day_steps(make_pm: PluginFactory) -> None:
    assert make_pm().hooks.end_of_day_steps() == []
    assert [step.name for step in make_pm(_Archive()).hooks.end_of_day_steps()] == ["archive"]


def test_end_of_day_steps_that_are_not_steps_are_refused(make_pm: PluginFactory) -> None:
    class Sloppy:
        @hookimpl
        def leasekit_end_of_day_steps(self) -> list[str]:
            return ["archive"]

    with pytest.raises(PluginError, match=r"Sloppy .* returned \['archive'\].* EndOfDayStep"):
        make_pm(Sloppy()).hooks.end_of_day_steps()


# --- notification -------------------------------------------------------------------------


class _Recorder:
    """Records every event hook call as (hook name, event name)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        for name in _hookspec_names():
            if name == "leasekit_event_published" or name.removeprefix("leasekit_") in (
                hookspecs.NAMED_EVENT_HOOKS
            ):
                setattr(self, name, hookimpl(self._recording(name)))

    def _recording(self, hook: str) -> Callable[[DomainEvent], None]:
        def record(event: DomainEvent) -> None:
            self.calls.append((hook, event.name))

        return record


def _published(make_pm: PluginFactory, event: DomainEvent) -> list[tuple[str, str]]:
    recorder = _Recorder()
    publish(make_pm(recorder), event)
    return recorder.calls


def _assert_named_hook_called(make_pm: PluginFactory, make_event: EventFactory, name: str) -> None:
    assert _published(make_pm, make_event(name)) == [
        ("leasekit_event_published", name),
        (f"leasekit_{name}", name),
    ]


def test_hook_leasekit_event_published(make_pm: PluginFactory, make_event: EventFactory) -> None:
    event = make_event("approval_task_claimed")
    assert _published(make_pm, event) == [("leasekit_event_published", "approval_task_claimed")]


def test_publish_accepts_the_facade(make_pm: PluginFactory, make_event: EventFactory) -> None:
    recorder = _Recorder()
    publish(Hooks(make_pm(recorder)), make_event("contract_signed"))
    assert len(recorder.calls) == 2


def test_an_event_name_that_is_not_a_hook_name_is_only_published(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    for name in ("register_banks", "evaluate_application", "event_published", "no such hook"):
        assert _published(make_pm, make_event(name)) == [("leasekit_event_published", name)]


def test_a_failing_receiver_propagates_so_the_outbox_retries(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    class Down:
        @hookimpl
        def leasekit_contract_signed(self, event: DomainEvent) -> None:
            raise ConnectionError("chat service down")

    with pytest.raises(ConnectionError):
        publish(make_pm(Down()), make_event("contract_signed"))


def test_an_async_receiver_is_refused_by_name(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    class Async:
        @hookimpl
        async def leasekit_contract_signed(self, event: DomainEvent) -> None:
            raise AssertionError("never awaited")

    with pytest.raises(PluginError, match=r"Async.leasekit_contract_signed \(.*\) is async"):
        publish(make_pm(Async()), make_event("contract_signed"))


def test_hooks_are_called_only_through_the_facade() -> None:
    """Outside ``leasekit.plugins`` no code reaches pluggy's untyped ``pm.hook``."""
    package = Path(hookspecs.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{node.lineno}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "plugins.py" or path.parent != package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in {"hook", "subset_hook_caller"}
    ]
    assert offenders == []


def test_hook_leasekit_application_submitted(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "application_submitted")


def test_hook_leasekit_application_declined(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "application_declined")


def test_hook_leasekit_application_approved(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "application_approved")


def test_hook_leasekit_application_rejected(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "application_rejected")


def test_hook_leasekit_contract_signed(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "contract_signed")


def test_hook_leasekit_contract_disbursed(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "contract_disbursed")


def test_hook_leasekit_contract_settled(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "contract_settled")


def test_hook_leasekit_contract_terminated(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "contract_terminated")


def test_hook_leasekit_partner_approved(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "partner_approved")


def test_hook_leasekit_partner_blacklisted(
    make_pm: PluginFactory, make_event: EventFactory
) -> None:
    _assert_named_hook_called(make_pm, make_event, "partner_blacklisted")


def test_hook_leasekit_payment_reversed(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "payment_reversed")


def test_hook_leasekit_payment_refunded(make_pm: PluginFactory, make_event: EventFactory) -> None:
    _assert_named_hook_called(make_pm, make_event, "payment_refunded")
