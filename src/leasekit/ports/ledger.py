"""General ledger: balanced vouchers posted once per idempotency key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.voucher_templates import DIMENSIONS
from leasekit.domain.vouchers import Side, totals_by_currency
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.common import not_blank, positive, utc

__all__ = [
    "DIMENSIONS",
    "EntrySide",
    "Ledger",
    "LedgerBalance",
    "LedgerLine",
    "LedgerReceipt",
    "LedgerVoucher",
    "unbalanced_currencies",
]


EntrySide = Side
"""Debit or credit: the domain's :class:`~leasekit.domain.vouchers.Side` itself, so a journal
line's side needs no translation on its way to a ledger."""


def _read_only(values: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(values))


def _known_dimensions(
    instance: object, attribute: attrs.Attribute[Mapping[str, str]], value: Mapping[str, str]
) -> None:
    for key, label in value.items():
        if key not in DIMENSIONS:
            raise ValidationError.single(
                f"{attribute.name}.{key}",
                f"is not a dimension; the dimensions are {', '.join(DIMENSIONS)}",
            )
        if not isinstance(label, str) or not label.strip():
            raise ValidationError.single(f"{attribute.name}.{key}", "must be non-blank text")


@attrs.frozen
class LedgerLine:
    account: str = attrs.field(validator=not_blank)
    side: Side = attrs.field(converter=Side)
    amount: Money = attrs.field(validator=positive)
    memo: str = ""
    dimensions: Mapping[str, str] = attrs.field(
        factory=dict, converter=_read_only, validator=_known_dimensions, hash=False
    )
    """The analysis dimensions the line carries beside its account, keys from
    :data:`DIMENSIONS`, so that the ledger can hold a balance per contract (or partner, product,
    branch) for leasekit to reconcile; read-only, and left out of the hash, being a mapping."""

    @property
    def contract_id(self) -> str | None:
        return self.dimensions.get("contract")

    @property
    def signed_amount(self) -> Money:
        """The amount as a balance counts it: debits plus, credits minus."""
        return self.amount if self.side is Side.DEBIT else -self.amount


def _ledger_lines(values: Iterable[LedgerLine]) -> tuple[LedgerLine, ...]:
    return tuple(values)


def unbalanced_currencies(lines: Iterable[LedgerLine]) -> list[str]:
    """The currencies whose debits and credits differ; empty for a balanced set of lines."""
    totals = totals_by_currency(lines)
    return [code for code, (debit, credit) in sorted(totals.items()) if debit != credit]


@attrs.frozen
class LedgerVoucher:
    """A balanced journal entry for the general ledger: debits equal credits per currency."""

    voucher_id: str = attrs.field(validator=not_blank)
    business_date: date
    description: str
    lines: tuple[LedgerLine, ...] = attrs.field(converter=_ledger_lines)

    def __attrs_post_init__(self) -> None:
        if len(self.lines) < 2:
            raise ValidationError.single("lines", "a voucher needs at least two lines")
        unbalanced = unbalanced_currencies(self.lines)
        if unbalanced:
            raise ValidationError.single(
                "lines", f"debits and credits differ in {', '.join(unbalanced)}"
            )


@attrs.frozen
class LedgerReceipt:
    idempotency_key: str
    ledger_reference: str
    posted_at: datetime = attrs.field(converter=utc)


@attrs.frozen
class LedgerBalance:
    """What the ledger holds on one account for one contract: debits minus credits over
    everything posted. ``contract_id`` None sums the account's lines that carry no contract."""

    account: str = attrs.field(validator=not_blank)
    contract_id: str | None
    amount: Money


@runtime_checkable
class Ledger(Protocol):
    def post(self, voucher: LedgerVoucher, idempotency_key: str) -> LedgerReceipt:
        """Post *voucher* once. A repeat with the same key returns the first receipt; the same
        key with a different voucher raises :class:`~leasekit.errors.ConflictError`."""
        ...

    def balances(self, currency: str) -> Sequence[LedgerBalance]:
        """Every (account, contract) balance the ledger holds in *currency*, over everything
        posted, each pair once. This is the ledger's side of leasekit's reconciliation: the
        balances leasekit computes from its own journal must equal these."""
        ...
