"""Ports: what leasekit asks of each external party, as typed protocols and small values.

Services call external parties only through these protocols, so that a credit bureau, a bank or
a ledger can be swapped by settings (``LEASEKIT_ADAPTERS__BANK=acme``) without touching the use
cases, and so that tests can run against the deterministic fakes in :mod:`leasekit.testing`.

The calls are synchronous: the server runs services in a thread pool, and an adapter is a plain
object that sets its own timeouts. Values crossing a port are frozen attrs classes holding
``Money`` and ``Decimal``, never ``float``. An adapter reports a failure of its party as
:class:`~leasekit.errors.AdapterError` raised ``from`` the vendor's exception.

Each adapter is built by a factory that receives an :class:`AdapterContext`; plugins hand those
factories to leasekit through the ``leasekit_register_<kinds>(register)`` hooks in
:mod:`leasekit.hookspecs`.

One module per kind of party (:mod:`~leasekit.ports.bureau`, :mod:`~leasekit.ports.bank` ...)
holds its protocol and values, :mod:`~leasekit.ports.common` what they share, and
:mod:`~leasekit.ports.kinds` the table of kinds the plugin host, settings and fakes are
derived from. Import from here: every name is re-exported.
"""

from __future__ import annotations

from leasekit.ports.approval import (
    ApprovalCase,
    ApprovalPolicy,
    ExceptionCase,
    PolicyVote,
    Tier,
)
from leasekit.ports.bank import (
    AccountType,
    Bank,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    DebitScheme,
    PaymentInstruction,
    PaymentReceipt,
    PaymentStatus,
    ReturnAction,
    debit_items,
    send_once,
    whole,
)
from leasekit.ports.bureau import CreditBureau, CreditReport, CreditSubject
from leasekit.ports.common import (
    AdapterContext,
    AdapterFactory,
    AdapterKind,
    Register,
    RiskLevel,
    Verdict,
    protocol_members,
)
from leasekit.ports.documents import DOCUMENT_KEY_PATTERN, DocumentStore, check_document_key
from leasekit.ports.face import FaceMatch, FaceVerifier
from leasekit.ports.fraud import FraudCheck, FraudHit, FraudSource, FraudSubject
from leasekit.ports.ledger import (
    DIMENSIONS,
    EntrySide,
    Ledger,
    LedgerBalance,
    LedgerLine,
    LedgerReceipt,
    LedgerVoucher,
    unbalanced_currencies,
)
from leasekit.ports.notifier import Message, Notifier
from leasekit.ports.rules import Fact, RuleHit, RuleOutcome, RuleSet
from leasekit.ports.signatures import SignatureProvider, SignatureRequest, SignatureStatus, Signer
from leasekit.ports.statements import (
    BankStatement,
    StatementLine,
    StatementParser,
    StatementTotals,
)
from leasekit.ports.vouchers import VoucherTemplate

__all__ = [
    "DIMENSIONS",
    "DOCUMENT_KEY_PATTERN",
    "AccountType",
    "AdapterContext",
    "AdapterFactory",
    "AdapterKind",
    "ApprovalCase",
    "ApprovalPolicy",
    "Bank",
    "BankStatement",
    "CreditBureau",
    "CreditReport",
    "CreditSubject",
    "DebitBatch",
    "DebitItem",
    "DebitOutcome",
    "DebitReturn",
    "DebitScheme",
    "DocumentStore",
    "EntrySide",
    "ExceptionCase",
    "FaceMatch",
    "FaceVerifier",
    "Fact",
    "FraudCheck",
    "FraudHit",
    "FraudSource",
    "FraudSubject",
    "Ledger",
    "LedgerBalance",
    "LedgerLine",
    "LedgerReceipt",
    "LedgerVoucher",
    "Message",
    "Notifier",
    "PaymentInstruction",
    "PaymentReceipt",
    "PaymentStatus",
    "PolicyVote",
    "Register",
    "ReturnAction",
    "RiskLevel",
    "RuleHit",
    "RuleOutcome",
    "RuleSet",
    "SignatureProvider",
    "SignatureRequest",
    "SignatureStatus",
    "Signer",
    "StatementLine",
    "StatementParser",
    "StatementTotals",
    "Tier",
    "Verdict",
    "VoucherTemplate",
    "check_document_key",
    "debit_items",
    "protocol_members",
    "send_once",
    "unbalanced_currencies",
    "whole",
]
