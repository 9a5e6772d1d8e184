"""The fakes from :mod:`leasekit.testing.fakes`, registered under adapter id ``fake``.

Registered always, so that a demo or a QA server selects them by settings
(``LEASEKIT_ADAPTERS__CREDIT_BUREAU=fake``) exactly as it would select a vendor's adapter;
production settings simply never choose ``fake``, and ``LEASEKIT_DISABLED_PLUGINS=
leasekit.builtin.fakes`` removes them altogether. Voucher templates are the exception: every
registered template is used, so no fake one is registered here.
"""

from __future__ import annotations

from typing import Final

from leasekit.hookspecs import hookimpl
from leasekit.ports import (
    ApprovalPolicy,
    Bank,
    CreditBureau,
    DocumentStore,
    FaceVerifier,
    FraudSource,
    Ledger,
    Notifier,
    Register,
    RuleSet,
    SignatureProvider,
    StatementParser,
)
from leasekit.testing import fakes

FAKE: Final = "fake"


@hookimpl(trylast=True)
def leasekit_register_credit_bureaus(register: Register[CreditBureau]) -> None:
    register(FAKE, fakes.FakeCreditBureau.from_context)


@hookimpl(trylast=True)
def leasekit_register_fraud_sources(register: Register[FraudSource]) -> None:
    register(FAKE, fakes.FakeFraudSource.from_context)


@hookimpl(trylast=True)
def leasekit_register_face_verifiers(register: Register[FaceVerifier]) -> None:
    register(FAKE, fakes.FakeFaceVerifier.from_context)


@hookimpl(trylast=True)
def leasekit_register_statement_parsers(register: Register[StatementParser]) -> None:
    register(FAKE, fakes.FakeStatementParser.from_context)


@hookimpl(trylast=True)
def leasekit_register_banks(register: Register[Bank]) -> None:
    register(FAKE, fakes.FakeBank.from_context)


@hookimpl(trylast=True)
def leasekit_register_signature_providers(register: Register[SignatureProvider]) -> None:
    register(FAKE, fakes.FakeSignatureProvider.from_context)


@hookimpl(trylast=True)
def leasekit_register_ledgers(register: Register[Ledger]) -> None:
    register(FAKE, fakes.FakeLedger.from_context)


@hookimpl(trylast=True)
def leasekit_register_document_stores(register: Register[DocumentStore]) -> None:
    register(FAKE, fakes.InMemoryDocumentStore.from_context)


@hookimpl(trylast=True)
def leasekit_register_approval_policies(register: Register[ApprovalPolicy]) -> None:
    register(FAKE, fakes.FakeApprovalPolicy.from_context)


@hookimpl(trylast=True)
def leasekit_register_rule_sets(register: Register[RuleSet]) -> None:
    register(FAKE, fakes.FakeRuleSet.from_context)


@hookimpl(trylast=True)
def leasekit_register_notifiers(register: Register[Notifier]) -> None:
    register(FAKE, fakes.FakeNotifier.from_context)
