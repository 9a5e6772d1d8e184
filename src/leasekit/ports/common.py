"""What every port shares: the kinds of party, how adapters are built, verdicts, validators.

Each adapter is built by a factory that receives an :class:`AdapterContext`; plugins hand those
factories to leasekit through the ``register`` callable (:class:`Register`) of the
``leasekit_register_<kinds>`` hooks in :mod:`leasekit.hookspecs`. The validators here are
shared by the values of several ports, so that "positive", "not blank" and "UTC" mean the same
at every port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeAlias, TypeVar

import attrs

from leasekit.domain.clock import Clock, require_utc
from leasekit.domain.validation import is_whole_number
from leasekit.errors import ConfigurationError, ValidationError
from leasekit.money import Money

__all__ = [
    "AdapterContext",
    "AdapterFactory",
    "AdapterKind",
    "Register",
    "RiskLevel",
    "Verdict",
    "count",
    "not_blank",
    "positive",
    "protocol_members",
    "utc",
]

_A = TypeVar("_A")
_A_contra = TypeVar("_A_contra", contravariant=True)


class AdapterKind(StrEnum):
    """The kinds of external party; the values are the settings keys that choose an adapter."""

    CREDIT_BUREAU = "credit_bureau"
    FRAUD_SOURCE = "fraud_source"
    FACE_VERIFIER = "face_verifier"
    STATEMENT_PARSER = "statement_parser"
    BANK = "bank"
    SIGNATURE_PROVIDER = "signature_provider"
    LEDGER = "ledger"
    DOCUMENT_STORE = "document_store"
    APPROVAL_POLICY = "approval_policy"
    RULE_SET = "rule_set"
    VOUCHER_TEMPLATE = "voucher_template"
    """Not chosen by id: every registered template is used, each for its own event."""
    NOTIFIER = "notifier"

    @property
    def setting(self) -> str:
        """The environment variable that chooses this kind's adapter."""
        return f"LEASEKIT_ADAPTERS__{self.value.upper()}"


# --- building adapters --------------------------------------------------------------------


def _read_only(options: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(options))


@attrs.frozen
class AdapterContext:
    """What an adapter factory is given: its options from settings, a data folder, the clock.

    Options are strings because they come from the environment
    (``LEASEKIT_ADAPTER_OPTIONS__BANK__ENDPOINT``); the adapter parses what it needs and raises
    :class:`~leasekit.errors.ConfigurationError` at start-up, not at the first call.
    """

    options: Mapping[str, str] = attrs.field(converter=_read_only)
    data_dir: Path
    clock: Clock
    kind: AdapterKind | None = None
    """The kind being built, so that error messages can name the setting at fault."""

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)

    def require(self, name: str) -> str:
        """Option *name*, or a ConfigurationError naming the environment variable to set."""
        try:
            return self.options[name]
        except KeyError:
            kind = self.kind.value.upper() if self.kind else "<KIND>"
            variable = f"LEASEKIT_ADAPTER_OPTIONS__{kind}__{name.upper()}"
            raise ConfigurationError(
                f"adapter option {name!r} is required; set {variable}"
            ) from None


AdapterFactory: TypeAlias = Callable[[AdapterContext], _A]
"""Builds one adapter; a class whose ``__init__`` takes the context is a factory too."""


class Register(Protocol[_A_contra]):
    """The ``register`` callable each registration hook receives."""

    def __call__(self, adapter_id: str, factory: Callable[[AdapterContext], _A_contra], /) -> None:
        """Offer *factory* under *adapter_id*; settings choose among the ids of one kind."""


# --- shared verdicts ----------------------------------------------------------------------


class Verdict(StrEnum):
    """A decision on a case, ordered from mildest to most severe."""

    APPROVE = "approve"
    REFER = "refer"
    """A human must look: the case goes to the approval queue."""
    DECLINE = "decline"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The most severe of *verdicts*; no verdict at all approves."""
        return max(verdicts, key=_SEVERITY.__getitem__, default=cls.APPROVE)


_SEVERITY: Final = {Verdict.APPROVE: 0, Verdict.REFER: 1, Verdict.DECLINE: 2}


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# --- shared validators --------------------------------------------------------------------


def positive(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if value.amount <= 0:
        raise ValidationError.single(attribute.name, f"must be positive, not {value}")


def not_blank(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValidationError.single(attribute.name, "must not be blank")


def utc(moment: datetime) -> datetime:
    return require_utc(moment)


def count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A whole number, not negative; a float or a bool is no count."""
    if value is not None and (not is_whole_number(value) or value < 0):
        raise ValidationError.single(attribute.name, f"must be a whole number, not {value!r}")


def protocol_members(protocol: type) -> tuple[str, ...]:
    """The public methods and properties a protocol asks for, to name what an adapter lacks."""
    return tuple(sorted(name for name in vars(protocol) if not name.startswith("_")))
