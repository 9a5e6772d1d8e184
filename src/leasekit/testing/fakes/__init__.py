"""Deterministic, scriptable stand-ins for every external party.

Each fake does what its port promises (idempotency included) with no network and no
randomness but the seeded kind a test asks for (the ledger's failure rate), and lets a test
or a demo decide the answer: a fake bureau returns the score you set, a fake bank writes the
return file you ask for, a fake ledger records what was posted.
Every fake can also be told to fail its next calls (:meth:`fail_next`) with an
:class:`~leasekit.errors.AdapterError`, as a party that is down would.

The built-in plugin :mod:`leasekit.builtin.fakes` registers them under the adapter id ``fake``,
so a demo or a QA server selects them by settings (``LEASEKIT_ADAPTERS__BANK=fake``). Their file
formats (statements, debit and return files) are JSON, written by the ``render``/``*_file``
methods and read by the ``parse`` methods.

The fakes live one module per kind (:mod:`~leasekit.testing.fakes.bureau`,
:mod:`~leasekit.testing.fakes.bank` ...), and :class:`Fakes` (in
:mod:`~leasekit.testing.fakes.kit`) holds one of each; import them from here.
"""

from __future__ import annotations

from leasekit.testing.fakes.approval import FakeApprovalPolicy
from leasekit.testing.fakes.bank import RETURN_REASONS, FakeBank
from leasekit.testing.fakes.bureau import FakeCreditBureau, grade_for
from leasekit.testing.fakes.documents import InMemoryDocumentStore
from leasekit.testing.fakes.face import FakeFaceVerifier
from leasekit.testing.fakes.fraud import FakeFraudSource
from leasekit.testing.fakes.kit import Fakes
from leasekit.testing.fakes.ledger import FakeLedger
from leasekit.testing.fakes.notifier import FakeNotifier
from leasekit.testing.fakes.rules import FakeRuleSet
from leasekit.testing.fakes.signatures import FakeSignatureProvider
from leasekit.testing.fakes.statements import FakeStatementParser
from leasekit.testing.fakes.vouchers import FakeVoucherTemplate

__all__ = [
    "RETURN_REASONS",
    "FakeApprovalPolicy",
    "FakeBank",
    "FakeCreditBureau",
    "FakeFaceVerifier",
    "FakeFraudSource",
    "FakeLedger",
    "FakeNotifier",
    "FakeRuleSet",
    "FakeSignatureProvider",
    "FakeStatementParser",
    "FakeVoucherTemplate",
    "Fakes",
    "InMemoryDocumentStore",
    "grade_for",
]
