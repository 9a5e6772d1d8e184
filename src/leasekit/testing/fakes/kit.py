"""One fake per kind, as a set a test scripts and then runs services on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import attrs

from leasekit.domain.clock import Clock
from leasekit.plugins import Adapters
from leasekit.ports import AdapterContext, AdapterKind
from leasekit.ports.kinds import KINDS
from leasekit.testing.fakes.approval import FakeApprovalPolicy
from leasekit.testing.fakes.bank import FakeBank
from leasekit.testing.fakes.bureau import FakeCreditBureau
from leasekit.testing.fakes.documents import InMemoryDocumentStore
from leasekit.testing.fakes.face import FakeFaceVerifier
from leasekit.testing.fakes.fraud import FakeFraudSource
from leasekit.testing.fakes.ledger import FakeLedger
from leasekit.testing.fakes.notifier import FakeNotifier
from leasekit.testing.fakes.rules import FakeRuleSet
from leasekit.testing.fakes.signatures import FakeSignatureProvider
from leasekit.testing.fakes.statements import FakeStatementParser
from leasekit.testing.fakes.vouchers import FakeVoucherTemplate

__all__ = ["Fakes"]

_IN_MEMORY: Final = Path(os.devnull)
"""The data folder the fakes are given: they keep everything in memory, and a folder where
nothing can be written makes sure no fake quietly starts using one."""


@attrs.define
class Fakes:
    """One fake per kind, typed, for tests that script them and then run services on
    :meth:`adapters`."""

    clock: Clock
    credit_bureau: FakeCreditBureau
    fraud_source: FakeFraudSource
    face_verifier: FakeFaceVerifier
    statement_parser: FakeStatementParser
    bank: FakeBank
    signature_provider: FakeSignatureProvider
    ledger: FakeLedger
    document_store: InMemoryDocumentStore
    approval_policy: FakeApprovalPolicy
    rule_set: FakeRuleSet
    notifier: FakeNotifier
    voucher_templates: list[FakeVoucherTemplate] = attrs.field(factory=list)

    @classmethod
    def create(cls, clock: Clock) -> Fakes:
        """A fake of every kind that has one, built the way settings build the ``fake``
        adapters: by its ``from_context``, with no options."""
        fakes: dict[str, Any] = {
            kind.value: spec.start_fake(AdapterContext({}, _IN_MEMORY, clock, kind))
            for kind, spec in KINDS.items()
            if spec.fake
        }
        return cls(clock=clock, **fakes)

    def adapters(self) -> Adapters:
        """These fakes as the application's adapters, each under id ``fake``; voucher
        templates are those in :attr:`voucher_templates` when this is called."""
        instances: dict[AdapterKind, object] = {
            kind: getattr(self, kind.value) for kind, spec in KINDS.items() if spec.fake
        }
        return Adapters.from_instances(
            instances, adapter_id="fake", voucher_templates=self.voucher_templates
        )
