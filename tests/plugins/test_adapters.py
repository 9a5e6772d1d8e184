"""Registries and resolved adapters: ids chosen in settings become started adapters."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from leasekit import hookimpl
from leasekit.builtin.filesystem import FilesystemDocumentStore
from leasekit.builtin.signatures import LocalSignatureProvider
from leasekit.domain.clock import FixedClock
from leasekit.errors import (
    ConfigurationError,
    DuplicateAdapterError,
    PluginError,
    UnknownAdapterError,
)
from leasekit.plugins import CHOSEN_KINDS, Adapters, PluginManager, resolve_adapters
from leasekit.ports import AdapterContext, AdapterKind, CreditSubject
from leasekit.testing import fakes

PluginFactory = Callable[..., PluginManager]

ALL_FAKE = {kind.value: "fake" for kind in CHOSEN_KINDS}


class _Registering:
    """A plugin whose *hook* registers *factory* under *adapter_id*."""

    def __init__(self, hook: str, adapter_id: str, factory: object) -> None:
        def register_adapter(register: Callable[[str, object], None]) -> None:
            register(adapter_id, factory)

        setattr(self, hook, hookimpl(register_adapter))


_registering = _Registering


def _resolve(
    pm: PluginManager,
    tmp_path: Path,
    clock: FixedClock,
    chosen: dict[str, str | None],
    options: dict[str, dict[str, str]] | None = None,
) -> Adapters:
    return resolve_adapters(pm, chosen, options or {}, tmp_path, clock)


def test_every_fake_is_selectable_by_id(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(make_pm(), tmp_path, clock, ALL_FAKE)
    assert isinstance(adapters.credit_bureau, fakes.FakeCreditBureau)
    assert isinstance(adapters.fraud_source, fakes.FakeFraudSource)
    assert isinstance(adapters.face_verifier, fakes.FakeFaceVerifier)
    assert isinstance(adapters.statement_parser, fakes.FakeStatementParser)
    assert isinstance(adapters.bank, fakes.FakeBank)
    assert isinstance(adapters.signature_provider, fakes.FakeSignatureProvider)
    assert isinstance(adapters.ledger, fakes.FakeLedger)
    assert isinstance(adapters.document_store, fakes.InMemoryDocumentStore)
    assert isinstance(adapters.approval_policy, fakes.FakeApprovalPolicy)
    assert isinstance(adapters.rule_set, fakes.FakeRuleSet)
    assert isinstance(adapters.notifier, fakes.FakeNotifier)
    assert adapters.active[AdapterKind.BANK].plugin == "leasekit.builtin.fakes (builtin)"


def test_an_unset_kind_fails_on_use_naming_the_setting(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(make_pm(), tmp_path, clock, {"bank": None, "ledger": ""})
    with pytest.raises(ConfigurationError, match="LEASEKIT_ADAPTERS__BANK") as caught:
        adapters.bank  # noqa: B018
    assert "available: fake" in str(caught.value)
    with pytest.raises(ConfigurationError, match="LEASEKIT_ADAPTERS__LEDGER"):
        adapters.ledger  # noqa: B018


def test_an_unknown_id_fails_at_start_up_listing_the_ids(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    with pytest.raises(UnknownAdapterError) as caught:
        _resolve(make_pm(), tmp_path, clock, {"document_store": "s3"})
    assert caught.value.available == ("fake", "filesystem")
    assert "'s3'" in str(caught.value)


def test_an_unknown_kind_is_a_configuration_error(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    with pytest.raises(ConfigurationError, match="credit_bureaus"):
        _resolve(make_pm(), tmp_path, clock, {"credit_bureaus": "fake"})
    with pytest.raises(ConfigurationError, match="banks"):
        _resolve(make_pm(), tmp_path, clock, {}, {"banks": {"url": "x"}})


def test_options_reach_the_factory(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(
        make_pm(),
        tmp_path,
        clock,
        {"credit_bureau": "fake"},
        {"credit_bureau": {"default_score": "none"}},
    )
    report = adapters.credit_bureau.fetch_report(CreditSubject("Li Na", "110105194912310021"))
    assert not report.has_file


def test_the_factory_gets_the_kind_data_dir_and_clock(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    seen: list[AdapterContext] = []

    def factory(context: AdapterContext) -> fakes.FakeNotifier:
        seen.append(context)
        return fakes.FakeNotifier()

    pm = make_pm(_registering("leasekit_register_notifiers", "spy", factory))
    _resolve(pm, tmp_path, clock, {"notifier": "spy"}, {"notifier": {"channel": "sms"}})
    assert [(c.kind, c.data_dir, c.clock, dict(c.options)) for c in seen] == [
        (AdapterKind.NOTIFIER, tmp_path, clock, {"channel": "sms"})
    ]


def test_a_missing_required_option_names_its_variable(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    def factory(context: AdapterContext) -> object:
        return context.require("api_key")

    pm = make_pm(_registering("leasekit_register_credit_bureaus", "acme", factory))
    with pytest.raises(
        ConfigurationError, match="LEASEKIT_ADAPTER_OPTIONS__CREDIT_BUREAU__API_KEY"
    ):
        _resolve(pm, tmp_path, clock, {"credit_bureau": "acme"})


def test_a_failing_factory_names_the_plugin(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    def factory(context: AdapterContext) -> object:
        raise KeyError("endpoint")

    pm = make_pm(_registering("leasekit_register_banks", "acme", factory))
    with pytest.raises(PluginError, match=r"bank adapter 'acme' from .*extra_plugins.*KeyError"):
        _resolve(pm, tmp_path, clock, {"bank": "acme"})


def test_an_adapter_lacking_port_members_is_refused_at_start_up(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    class HalfBank:
        def render_debit_file(self, batch: object) -> bytes:
            return b""

    pm = make_pm(_registering("leasekit_register_banks", "half", lambda context: HalfBank()))
    lacking = "parse_return_file, parse_statement, payment_status, send_payment"
    with pytest.raises(PluginError, match=f"lacks {lacking}"):
        _resolve(pm, tmp_path, clock, {"bank": "half"})


def test_an_async_adapter_is_refused_at_start_up(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    class AsyncNotifier:
        async def notify(self, event: object) -> None:
            raise AssertionError("never awaited")

        def send(self, message: object) -> None:
            raise AssertionError("never called")

    pm = make_pm(_registering("leasekit_register_notifiers", "async", lambda c: AsyncNotifier()))
    with pytest.raises(PluginError, match=r"adapter 'async' from .* has async notify"):
        _resolve(pm, tmp_path, clock, {"notifier": "async"})


def test_a_duplicate_id_names_both_plugins(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    first = _registering("leasekit_register_banks", "acme", fakes.FakeBank.from_context)
    second = _registering("leasekit_register_banks", "acme", fakes.FakeBank.from_context)
    pm = make_pm(first, second)
    names = [name for name, plugin in pm.list_name_plugin() if plugin in (first, second)]
    with pytest.raises(DuplicateAdapterError) as caught:
        _resolve(pm, tmp_path, clock, {})
    assert all(name in str(caught.value) for name in names)
    assert "'acme'" in str(caught.value)


def test_a_vendor_cannot_take_a_builtin_id(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    pm = make_pm(_registering("leasekit_register_document_stores", "filesystem", object))
    with pytest.raises(DuplicateAdapterError, match=r"leasekit\.builtin\.filesystem"):
        _resolve(pm, tmp_path, clock, {})


@pytest.mark.parametrize("adapter_id", ["", "Acme", "acme bank", "../acme", "a" * 65, 7])
def test_a_malformed_id_is_a_plugin_error(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock, adapter_id: object
) -> None:
    pm = make_pm(_registering("leasekit_register_banks", adapter_id, object))  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="adapter id"):
        _resolve(pm, tmp_path, clock, {})


def test_a_factory_must_be_callable(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    pm = make_pm(_registering("leasekit_register_banks", "acme", "not a factory"))
    with pytest.raises(PluginError, match="not callable"):
        _resolve(pm, tmp_path, clock, {})


def test_the_filesystem_store_defaults_under_the_data_dir(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(make_pm(), tmp_path, clock, {"document_store": "filesystem"})
    adapters.document_store.put("a/b.txt", [b"hello"])
    assert (tmp_path / "documents" / "a" / "b.txt").read_bytes() == b"hello"


def test_the_filesystem_store_root_is_an_option(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    root = tmp_path / "elsewhere"
    adapters = _resolve(
        make_pm(),
        tmp_path,
        clock,
        {"document_store": "filesystem"},
        {"document_store": {"root": str(root)}},
    )
    store = adapters.document_store
    assert isinstance(store, FilesystemDocumentStore)
    assert store.root == root


def test_the_local_signature_provider_keeps_envelopes_under_the_data_dir(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(
        make_pm(),
        tmp_path,
        clock,
        {"signature_provider": "local"},
        {"signature_provider": {"expire_days": "7"}},
    )
    provider = adapters.signature_provider
    assert isinstance(provider, LocalSignatureProvider)
    assert (provider.folder, provider.expire_after) == (tmp_path / "signatures", timedelta(7))
    assert adapters.active[AdapterKind.SIGNATURE_PROVIDER].plugin == (
        "leasekit.builtin.signatures (builtin)"
    )


def test_voucher_templates_are_all_used_keyed_by_event(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    disbursed = fakes.FakeVoucherTemplate("contract_disbursed", "1221", "1002")
    settled = fakes.FakeVoucherTemplate("contract_settled", "1002", "1221")
    pm = make_pm(
        _registering("leasekit_register_voucher_templates", "disbursement", lambda c: disbursed),
        _registering("leasekit_register_voucher_templates", "settlement", lambda c: settled),
    )
    adapters = _resolve(pm, tmp_path, clock, {"voucher_template": None})
    assert dict(adapters.voucher_templates) == {
        "contract_disbursed": disbursed,
        "contract_settled": settled,
    }
    assert adapters.voucher_template("contract_signed") is None


def test_two_templates_for_one_event_are_refused(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    template = fakes.FakeVoucherTemplate("contract_disbursed", "1221", "1002")
    pm = make_pm(
        _registering("leasekit_register_voucher_templates", "one", lambda c: template),
        _registering("leasekit_register_voucher_templates", "two", lambda c: template),
    )
    with pytest.raises(DuplicateAdapterError, match=r"'contract_disbursed'.*'one'.*'two'"):
        _resolve(pm, tmp_path, clock, {})


def test_voucher_templates_are_not_chosen_by_id(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    with pytest.raises(ConfigurationError, match="LEASEKIT_ADAPTERS__VOUCHER_TEMPLATE"):
        _resolve(make_pm(), tmp_path, clock, {"voucher_template": "fake"})


def test_adapters_from_instances_are_checked_against_their_ports() -> None:
    with pytest.raises(PluginError, match="notifier custom lacks notify"):
        Adapters.from_instances({AdapterKind.NOTIFIER: object()})


def test_resolved_adapters_are_plain_data(
    make_pm: PluginFactory, tmp_path: Path, clock: FixedClock
) -> None:
    adapters = _resolve(make_pm(), tmp_path, clock, {"bank": "fake"})
    assert adapters.active_id(AdapterKind.BANK) == "fake"
    assert adapters.active_id(AdapterKind.LEDGER) is None
    assert adapters.available[AdapterKind.LEDGER] == ("fake",)
    json.dumps({kind.value: ids for kind, ids in adapters.available.items()})
