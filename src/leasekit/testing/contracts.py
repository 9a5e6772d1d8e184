"""Deprecated: the adapter test suites are :mod:`leasekit.testing.suites`.

Their classes were called ``<Port>Contract``, a name that read as a lease contract; they are
now ``<Port>Suite``. The old names still work here, with a :class:`DeprecationWarning` when one
is imported, so that an adapter distribution's tests keep running while it moves over.
"""

from __future__ import annotations

import warnings
from typing import Final

from leasekit.testing import suites

_OLD_NAMES: Final = (
    "ApprovalPolicyContract",
    "BankContract",
    "CreditBureauContract",
    "DocumentStoreContract",
    "FaceVerifierContract",
    "FraudSourceContract",
    "LedgerContract",
    "NotifierContract",
    "RuleSetContract",
    "SignatureProviderContract",
    "StatementParserContract",
    "VoucherTemplateContract",
)
_RENAMED: Final = {old: old.removesuffix("Contract") + "Suite" for old in _OLD_NAMES}


def __getattr__(name: str) -> type:
    """The suite an old name stands for, with a warning naming the new one."""
    try:
        new = _RENAMED[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    warnings.warn(
        f"{__name__}.{name} is deprecated; use leasekit.testing.suites.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    suite: type = getattr(suites, new)
    return suite
