"""Test support for leasekit and for adapter authors.

- :mod:`leasekit.testing.fakes`: deterministic, scriptable fakes for every adapter kind;
- :mod:`leasekit.testing.suites`: the test suites every adapter of a kind must pass
  (needs pytest); :mod:`leasekit.testing.contracts` keeps their former names, deprecated;
- :mod:`leasekit.testing.pytest_plugin`: opt-in fixtures, enabled with
  ``pytest_plugins = ["leasekit.testing.pytest_plugin"]`` in a root ``conftest.py``.

Importing this package does not import pytest, so the built-in plugin that registers the fakes
works in a server installed without test dependencies.
"""

from __future__ import annotations

from leasekit.testing.fakes import (
    FakeApprovalPolicy,
    FakeBank,
    FakeCreditBureau,
    FakeFaceVerifier,
    FakeFraudSource,
    FakeLedger,
    FakeNotifier,
    FakeRuleSet,
    Fakes,
    FakeSignatureProvider,
    FakeStatementParser,
    FakeVoucherTemplate,
    InMemoryDocumentStore,
)

__all__ = [
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
]
