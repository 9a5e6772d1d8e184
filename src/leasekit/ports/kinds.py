"""The table of adapter kinds: one row per kind of external party, the rest derived from it.

The plugin host (:data:`leasekit.plugins.KIND_HOOKS`, :data:`~leasekit.plugins.KIND_PROTOCOLS`,
:data:`~leasekit.plugins.CHOSEN_KINDS`), the settings (:class:`leasekit.settings.AdapterIds`),
the built-in plugin that registers the fakes and :class:`leasekit.testing.fakes.Fakes` all read
this table, so that a new kind is a row here rather than an edit in each of them.
``docs/plugins.md`` ("Adding an adapter kind") lists the places a kind lives besides this row.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from leasekit.ports.approval import ApprovalPolicy
from leasekit.ports.bank import Bank
from leasekit.ports.bureau import CreditBureau
from leasekit.ports.common import AdapterContext, AdapterKind
from leasekit.ports.documents import DocumentStore
from leasekit.ports.face import FaceVerifier
from leasekit.ports.fraud import FraudSource
from leasekit.ports.ledger import Ledger
from leasekit.ports.notifier import Notifier
from leasekit.ports.rules import RuleSet
from leasekit.ports.signatures import SignatureProvider
from leasekit.ports.statements import StatementParser
from leasekit.ports.vouchers import VoucherTemplate

__all__ = ["FAKES_MODULE", "KINDS", "KindSpec"]

FAKES_MODULE: Final = "leasekit.testing.fakes"
"""Where the fakes named in the table live; imported only when a fake is built, so that
importing the ports (and starting a production server) never imports the test support."""


@attrs.frozen
class KindSpec:
    """What leasekit knows about one kind of external party."""

    kind: AdapterKind
    port: type
    """The protocol every adapter of the kind implements; a started adapter lacking one of
    its members is refused."""
    hook_name: str
    """The registration hook, in :mod:`leasekit.hookspecs`, that fills the kind's registry."""
    setting_help: str | None
    """The description of ``LEASEKIT_ADAPTERS__<KIND>``; None for a kind that settings do not
    choose because every registered adapter of it is used."""
    default_id: str | None = None
    """The adapter used while ``LEASEKIT_ADAPTERS__<KIND>`` is unset."""
    fake: str | None = None
    """The name of the kind's fake in :data:`FAKES_MODULE`, registered under id ``fake``. None
    for a kind that is not chosen: every registered adapter of it is used, so a registered fake
    would act in production too."""

    @property
    def chosen(self) -> bool:
        """Whether settings choose one adapter of this kind by id."""
        return self.setting_help is not None

    def start_fake(self, context: AdapterContext) -> object:
        """The kind's fake, built by its ``from_context`` factory."""
        if self.fake is None:
            raise LookupError(f"{self.kind} adapters have no fake")
        fake_class = getattr(importlib.import_module(FAKES_MODULE), self.fake)
        fake: object = fake_class.from_context(context)
        return fake


_ROWS: Final = (
    KindSpec(
        AdapterKind.CREDIT_BUREAU,
        CreditBureau,
        hook_name="leasekit_register_credit_bureaus",
        setting_help="Credit bureau adapter id.",
        fake="FakeCreditBureau",
    ),
    KindSpec(
        AdapterKind.FRAUD_SOURCE,
        FraudSource,
        hook_name="leasekit_register_fraud_sources",
        setting_help="Anti-fraud data source adapter id.",
        fake="FakeFraudSource",
    ),
    KindSpec(
        AdapterKind.FACE_VERIFIER,
        FaceVerifier,
        hook_name="leasekit_register_face_verifiers",
        setting_help="Face verification adapter id.",
        fake="FakeFaceVerifier",
    ),
    KindSpec(
        AdapterKind.STATEMENT_PARSER,
        StatementParser,
        hook_name="leasekit_register_statement_parsers",
        setting_help="Bank-statement parser adapter id.",
        fake="FakeStatementParser",
    ),
    KindSpec(
        AdapterKind.BANK,
        Bank,
        hook_name="leasekit_register_banks",
        setting_help="Bank adapter id (debits, returns, payments).",
        fake="FakeBank",
    ),
    KindSpec(
        AdapterKind.SIGNATURE_PROVIDER,
        SignatureProvider,
        hook_name="leasekit_register_signature_providers",
        setting_help="E-signature provider adapter id.",
        fake="FakeSignatureProvider",
    ),
    KindSpec(
        AdapterKind.LEDGER,
        Ledger,
        hook_name="leasekit_register_ledgers",
        setting_help="General ledger adapter id.",
        fake="FakeLedger",
    ),
    KindSpec(
        AdapterKind.DOCUMENT_STORE,
        DocumentStore,
        hook_name="leasekit_register_document_stores",
        setting_help="Document store adapter id; `filesystem` keeps files under the data dir.",
        default_id="filesystem",
        fake="InMemoryDocumentStore",
    ),
    KindSpec(
        AdapterKind.APPROVAL_POLICY,
        ApprovalPolicy,
        hook_name="leasekit_register_approval_policies",
        setting_help="Approval policy adapter id; `standard` asks for a manager or a director "
        "by the dealer's grade, fraud risk, credit score, business type and down payment.",
        default_id="standard",
        fake="FakeApprovalPolicy",
    ),
    KindSpec(
        AdapterKind.RULE_SET,
        RuleSet,
        hook_name="leasekit_register_rule_sets",
        setting_help="Rule set adapter id.",
        fake="FakeRuleSet",
    ),
    KindSpec(
        AdapterKind.VOUCHER_TEMPLATE,
        VoucherTemplate,
        hook_name="leasekit_register_voucher_templates",
        setting_help=None,
    ),
    KindSpec(
        AdapterKind.NOTIFIER,
        Notifier,
        hook_name="leasekit_register_notifiers",
        setting_help="Notifier adapter id.",
        fake="FakeNotifier",
    ),
)

KINDS: Final[Mapping[AdapterKind, KindSpec]] = MappingProxyType({row.kind: row for row in _ROWS})
"""Every kind's row, in the order of :class:`AdapterKind`."""
