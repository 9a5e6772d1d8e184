"""The company's bank: direct debits out, return files and statements in, payments out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import attrs

from leasekit.domain.mandates import AccountType, DebitScheme
from leasekit.errors import ValidationError
from leasekit.money import Money
from leasekit.ports.common import not_blank, positive, utc
from leasekit.ports.statements import BankStatement

__all__ = [
    "AccountType",
    "Bank",
    "DebitBatch",
    "DebitItem",
    "DebitOutcome",
    "DebitReturn",
    "DebitScheme",
    "PaymentInstruction",
    "PaymentReceipt",
    "PaymentStatus",
    "ReturnAction",
    "debit_items",
    "send_once",
    "whole",
]


class ReturnAction(StrEnum):
    """What the company does about a returned debit, as the bank's reason code says."""

    RETRY = "retry"
    """Collect again in a later run (insufficient funds, uncollected funds)."""
    STOP_MANDATE = "stop_mandate"
    """The mandate can no longer be used (account closed, no authorization, revoked)."""
    NOTIFY = "notify"
    """Tell someone and do nothing automatic (a dispute, a code the company did not expect)."""


@attrs.frozen
class DebitItem:
    """One direct debit of one customer's account under a signed mandate."""

    item_id: str = attrs.field(validator=not_blank)
    debtor_name: str
    debtor_account: str
    amount: Money = attrs.field(validator=positive)
    mandate_reference: str
    remittance: str = ""
    debtor_agent: str = ""
    """The debtor's bank: its BIC (SEPA) or nine-digit routing number (NACHA)."""
    mandate_signed_on: date | None = None
    account_type: AccountType = attrs.field(default=AccountType.CHECKING, converter=AccountType)
    first_collection: bool = False
    """The first debit under its mandate (SEPA sequence type FRST rather than RCUR)."""


def debit_items(batch: DebitBatch) -> Iterator[tuple[int, DebitItem]]:
    """The batch's items with their positions, read once and checked as they come: a
    repeated id, a second currency or an empty batch is refused naming the item (``items.3``).

    Every renderer reads a batch through this, so a batch streamed from the database is
    checked as strictly as one built whole; the ids seen are the only state it keeps."""
    seen: set[str] = set()
    currency = None
    index = -1
    for index, item in enumerate(batch.items):
        currency = currency or item.amount.currency
        if item.item_id in seen:
            raise ValidationError.single(f"items.{index}.item_id", f"{item.item_id!r} repeats")
        if item.amount.currency != currency:
            raise ValidationError.single(f"items.{index}.amount", f"not in {currency.code}")
        seen.add(item.item_id)
        yield index, item
    if index < 0:
        raise ValidationError.single("items", "a debit batch needs at least one item")


def whole(batch: DebitBatch) -> DebitBatch:
    """*batch* with its items read and checked into a tuple, for a format written whole or a
    file read against its batch more than once."""
    return attrs.evolve(batch, items=tuple(item for _, item in debit_items(batch)))


@attrs.frozen
class DebitBatch:
    """Debits to collect on one date into the company's account: one bank file.

    ``items`` may be a one-pass iterator: a run's debits are streamed from the database into
    the file, never held whole. Read them once, in order, through :func:`debit_items`."""

    batch_id: str = attrs.field(validator=not_blank)
    creditor_name: str
    creditor_account: str
    collection_date: date
    items: Iterable[DebitItem]
    scheme: DebitScheme | None = attrs.field(
        default=None, converter=attrs.converters.optional(DebitScheme)
    )
    """The file format; None: the bank's own."""
    creditor_id: str = ""
    """Who collects: the SEPA creditor identifier, or the NACHA company identification."""
    creditor_agent: str = ""
    """The company's bank: its BIC (SEPA) or the originating bank's routing number (NACHA)."""


class DebitOutcome(StrEnum):
    COLLECTED = "collected"
    RETURNED = "returned"
    """Not collected (insufficient funds, closed account, revoked mandate ...)."""


@attrs.frozen
class DebitReturn:
    """The bank's result for one debit item, read from its return file."""

    batch_id: str
    item_id: str
    outcome: DebitOutcome = attrs.field(converter=DebitOutcome)
    amount: Money
    reason_code: str | None = None
    reason: str | None = None
    action: ReturnAction | None = attrs.field(
        default=None, converter=attrs.converters.optional(ReturnAction)
    )
    """What the bank's reason code calls for; None for a collected debit."""

    def __attrs_post_init__(self) -> None:
        if self.outcome is DebitOutcome.RETURNED and not self.reason_code:
            raise ValidationError.single("reason_code", "a returned debit needs a reason code")


@attrs.frozen
class PaymentInstruction:
    """A payment out of the company's account (a disbursement to a dealer, a refund)."""

    instruction_id: str = attrs.field(validator=not_blank)
    """The company's id for the payment; the bank answers a repeat with the first receipt, so a
    retried disbursement is never paid twice."""
    payee_name: str
    payee_account: str
    amount: Money = attrs.field(validator=positive)
    requested_date: date
    remittance: str = ""
    payee_bank: str | None = None


class PaymentStatus(StrEnum):
    ACCEPTED = "accepted"
    SETTLED = "settled"
    REJECTED = "rejected"


@attrs.frozen
class PaymentReceipt:
    instruction_id: str
    bank_reference: str
    status: PaymentStatus = attrs.field(converter=PaymentStatus)
    received_at: datetime = attrs.field(converter=utc)
    """When the payment reached *status*."""
    reason: str | None = None
    """Why the bank rejected the payment; None otherwise."""


@runtime_checkable
class Bank(Protocol):
    """The company's bank: direct-debit files out, return files and statements in, payments."""

    def render_debit_file(self, batch: DebitBatch) -> Iterable[bytes]:
        """The file to upload to the bank for *batch*, in the bank's format, in chunks.

        A run of a million debits streams: read ``batch.items`` once, with
        :func:`debit_items`, and give the file's bytes as they are written; the caller stores
        them as they come. A batch the format cannot carry raises
        :class:`~leasekit.errors.ValidationError` naming the field, at the latest when the
        chunk holding it is asked for."""
        ...

    def parse_return_file(self, content: bytes) -> list[DebitReturn]:
        """The results in a return file the bank sent back; unreadable content raises
        :class:`~leasekit.errors.ValidationError`."""
        ...

    def parse_statement(self, content: bytes) -> BankStatement:
        """An account statement in the bank's format; unreadable content raises
        :class:`~leasekit.errors.ValidationError`."""
        ...

    def send_payment(self, instruction: PaymentInstruction) -> PaymentReceipt:
        """Instruct a payment; idempotent on ``instruction.instruction_id``: a repeat returns
        the first receipt and pays nothing more.

        A call that fails without an answer (a timeout, a lost connection) may or may not have
        reached the bank; ask :meth:`payment_status` before sending again."""
        ...

    def payment_status(self, instruction_id: str) -> PaymentReceipt | None:
        """The bank's current receipt for the instruction it received as *instruction_id*, or
        None when it never received one: the only safe answer to a failed
        :meth:`send_payment`, which is sent again only on None.

        A payment is ``accepted`` and later ``settled``, or ``rejected`` (at once, or returned
        by the payee's bank after acceptance); a settled payment stays settled. ``received_at``
        is when the payment reached its current status and ``reason`` says why it was
        rejected."""
        ...


def send_once(bank: Bank, instruction: PaymentInstruction) -> PaymentReceipt:
    """The bank's receipt for *instruction*, paid at most once however often this is called:
    what the bank knows of its instruction id first (an earlier call may have failed after
    the bank acted on it), and only if it knows nothing, the instruction sent."""
    known = bank.payment_status(instruction.instruction_id)
    if known is not None:
        return known
    return bank.send_payment(instruction)
