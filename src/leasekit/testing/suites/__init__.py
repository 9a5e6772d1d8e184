"""Adapter test suites: what every adapter of a kind must do, whoever wrote it.

Each ``<Port>Suite`` class holds pytest tests against an ``adapter`` fixture that a subclass
provides, the way fsspec's abstract test suites work. An adapter distribution runs the suite by
subclassing it in a class whose name starts with ``Test``::

    from leasekit.testing.suites import CreditBureauSuite

    class TestAcmeBureau(CreditBureauSuite):
        @pytest.fixture
        def adapter(self, clock):
            return AcmeBureau(sandbox_url, clock)

        @pytest.fixture
        def subject(self):
            return CreditSubject("Test Person", "<an id the sandbox knows>")

Fixtures whose defaults suit any adapter (a debit batch, a voucher) can be overridden; those that
only the adapter's author can supply (a statement file in the bank's format, a way to complete a
signature in the provider's sandbox) fail with a message saying what to provide.

One module per kind, as in :mod:`leasekit.ports`; import the suites from here.
"""

from __future__ import annotations

from leasekit.testing.suites.approval import ApprovalPolicySuite
from leasekit.testing.suites.bank import BankSuite
from leasekit.testing.suites.bureau import CreditBureauSuite
from leasekit.testing.suites.documents import DocumentStoreSuite
from leasekit.testing.suites.face import FaceVerifierSuite
from leasekit.testing.suites.fraud import FraudSourceSuite
from leasekit.testing.suites.ledger import LedgerSuite
from leasekit.testing.suites.notifier import NotifierSuite
from leasekit.testing.suites.rules import RuleSetSuite
from leasekit.testing.suites.signatures import SignatureProviderSuite
from leasekit.testing.suites.statements import StatementParserSuite
from leasekit.testing.suites.vouchers import VoucherTemplateSuite

__all__ = [
    "ApprovalPolicySuite",
    "BankSuite",
    "CreditBureauSuite",
    "DocumentStoreSuite",
    "FaceVerifierSuite",
    "FraudSourceSuite",
    "LedgerSuite",
    "NotifierSuite",
    "RuleSetSuite",
    "SignatureProviderSuite",
    "StatementParserSuite",
    "VoucherTemplateSuite",
]
