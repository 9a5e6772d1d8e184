"""Debit runs: what is collected from whom on a business date, one run per creditor account,
and what becomes of each debit when the bank's results come back.

A run collects, for every active contract with a usable mandate in the account's scheme and
currency, what its receivables have due by the collection date (and, while the retry policy
allows, what is overdue), less the customer's credit and less what earlier runs still have in
flight, so nothing is debited twice. Each debit is a :class:`DebitOrderItem` with a trace id
(the NACHA trace number, the SEPA end-to-end id) by which the bank's result finds it; it is
``in_flight`` until the bank collects it (a payment is recorded and allocated) or returns it.
A debit returned after it was collected undoes its payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Final

import attrs

from leasekit.domain.business import BusinessType
from leasekit.domain.clock import require_utc
from leasekit.domain.contracts import StoredFile
from leasekit.domain.funds import DEFAULT_WATERFALL, Waterfall
from leasekit.domain.identity import BOOKKEEPERS, new_id
from leasekit.domain.lifecycle import Stateful, StateMachine, row
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.reconciliation import DEFAULT_RULES, MatchingRules
from leasekit.domain.settlement_quotes import QuoteTerms
from leasekit.errors import ValidationError
from leasekit.money import Money, currency

__all__ = [
    "DEBIT_ITEM_LIFECYCLE",
    "CollectionRules",
    "CreditorAccount",
    "DebitItemAction",
    "DebitItemState",
    "DebitOrderItem",
    "DebitRun",
    "Exclusion",
    "ResultImport",
    "ResultLine",
    "ResultOutcome",
    "RetryPolicy",
    "creditor_accounts",
    "trace_number",
]

_TRACE_SEQUENCE: Final = 10_000_000
"""Trace numbers end in seven digits, as the NACHA trace number does."""


@attrs.frozen
class CreditorAccount:
    """An account of the company's that debits are collected into, and how its bank wants
    the files: one scheme, one currency."""

    id: str
    name: str
    """The company's name as the debtor's statement shows it."""
    scheme: DebitScheme = attrs.field(converter=DebitScheme)
    currency: str
    account: str
    """IBAN (SEPA), account number (NACHA, card files)."""
    agent: str
    """The company's bank: BIC (SEPA) or the originating bank's routing number (NACHA)."""
    creditor_id: str = ""
    """The SEPA creditor identifier, or the NACHA company identification."""

    def __attrs_post_init__(self) -> None:
        try:
            currency(self.currency)
        except ValueError:
            raise ValidationError.single("currency", f"{self.currency!r} is no currency") from None

    @property
    def trace_prefix(self) -> str:
        """The eight digits every trace number of the account starts with: the originating
        bank's routing number without its check digit (NACHA), zeros otherwise."""
        digits = "".join(ch for ch in self.agent if ch.isdigit())
        if self.scheme is DebitScheme.NACHA and len(digits) == 9:
            return digits[:8]
        return "0" * 8


def trace_number(account: CreditorAccount, sequence: int) -> str:
    """The fifteen-digit trace id of the account's *sequence*-th debit. The last seven digits
    wrap, as NACHA's do; traces only need to be unique among debits in flight."""
    return f"{account.trace_prefix}{sequence % _TRACE_SEQUENCE:07d}"


@attrs.frozen
class RetryPolicy:
    """Whether a run collects again what is overdue, and how many returned debits of a
    contract's arrears it tries before leaving it to collections."""

    retry_overdue: bool = True
    max_attempts: int = 3
    grace_days: int = 3
    """Days after its due date a line still owed becomes overdue."""
    lead_days: int = 0
    """Days from the run's business date to its collection date."""


@attrs.frozen
class CollectionRules:
    """How the company collects: its creditor accounts, when it debits again, the order
    payments pay in (by business type, else the default), the fee a returned debit costs
    the customer (by currency; none if not listed), and how money coming in is matched."""

    accounts: Mapping[str, CreditorAccount] = attrs.field(factory=dict)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    waterfall: Waterfall = DEFAULT_WATERFALL
    waterfalls: Mapping[BusinessType, Waterfall] = attrs.field(factory=dict)
    return_fees: Mapping[str, Decimal] = attrs.field(factory=dict)
    matching: MatchingRules = DEFAULT_RULES
    """How incoming money is matched to contracts (:mod:`leasekit.domain.reconciliation`)."""
    quotes: QuoteTerms = attrs.field(factory=QuoteTerms)
    """How long settlement quotes hold and what fee they charge."""

    def __attrs_post_init__(self) -> None:
        seen: dict[tuple[DebitScheme, str], str] = {}
        for account in self.accounts.values():
            other = seen.setdefault((account.scheme, account.currency), account.id)
            if other != account.id:
                raise ValidationError.single(
                    account.id,
                    f"{other} collects {account.scheme} in {account.currency} already; "
                    "one account per scheme and currency",
                )

    def waterfall_for(self, business_type: BusinessType) -> Waterfall:
        return self.waterfalls.get(business_type, self.waterfall)

    def account(self, account_id: str) -> CreditorAccount:
        try:
            return self.accounts[account_id]
        except KeyError:
            known = ", ".join(sorted(self.accounts)) or "none is configured"
            raise ValidationError.single(
                "account_id", f"no creditor account {account_id!r} ({known})"
            ) from None


class DebitItemState(StrEnum):
    IN_FLIGHT = "in_flight"
    COLLECTED = "collected"
    RETURNED = "returned"


class DebitItemAction(StrEnum):
    COLLECT = "collect"
    RETURN = "return"


_I = DebitItemState
_IA = DebitItemAction

DEBIT_ITEM_LIFECYCLE: Final = StateMachine(
    "debit_item",
    _I.IN_FLIGHT,
    (
        row(_IA.COLLECT, [_I.IN_FLIGHT], _I.COLLECTED, BOOKKEEPERS, "debit_item_collected"),
        # Returned before it settled, or after (a NACHA return comes days later).
        row(_IA.RETURN, [_I.IN_FLIGHT, _I.COLLECTED], _I.RETURNED, BOOKKEEPERS,
            "debit_item_returned", True, params=("reason_code", "return_action")),
    ),
    final=frozenset({_I.RETURNED}),
    actions_enum=DebitItemAction,
)  # fmt: skip


@attrs.frozen
class Exclusion:
    """A contract a run left out, and why (no mandate, a stopped one, arrears past the
    retry policy ...)."""

    contract_id: str
    contract_number: str
    reason: str


def _exclusions(value: Any) -> tuple[Exclusion, ...]:
    return tuple(item if isinstance(item, Exclusion) else Exclusion(**item) for item in value)


@attrs.define
class DebitRun:
    """One business date's debits into one creditor account: one bank file."""

    id: str
    account_id: str
    scheme: DebitScheme = attrs.field(converter=DebitScheme)
    business_date: date
    collection_date: date
    item_count: int
    total: Money
    excluded: tuple[Exclusion, ...] = attrs.field(converter=_exclusions)
    file: StoredFile | None
    created_at: datetime
    created_by: str
    version: int = 0

    @property
    def batch_id(self) -> str:
        """The run's id in its bank file: the date and the random end of its id, short
        enough for every scheme (SEPA's payment information ids take 35 characters)."""
        return f"{self.business_date:%Y%m%d}{self.id[-20:]}"

    @classmethod
    def start(
        cls,
        account: CreditorAccount,
        *,
        business_date: date,
        collection_date: date,
        created_by: str,
        at: datetime,
    ) -> DebitRun:
        return cls(
            id=new_id(),
            account_id=account.id,
            scheme=account.scheme,
            business_date=business_date,
            collection_date=collection_date,
            item_count=0,
            total=Money(0, account.currency),
            excluded=(),
            file=None,
            created_at=require_utc(at),
            created_by=created_by,
        )


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.define
class DebitOrderItem(Stateful):
    """One debit of one contract's mandate in one run."""

    id: str
    run_id: str
    account_id: str
    trace: str
    """The id the bank's result quotes: NACHA trace number, SEPA end-to-end id."""
    contract_id: str
    mandate_id: str
    amount: Money
    receivable_ids: tuple[str, ...] = attrs.field(converter=_ids)
    collection_date: date
    state: DebitItemState = attrs.field(converter=DebitItemState)
    payment_id: str | None
    return_code: str | None
    return_reason: str | None
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[DebitItemState]] = DEBIT_ITEM_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("contract_id", "run_id", "trace", "amount")

    @classmethod
    def new(
        cls,
        run: DebitRun,
        *,
        trace: str,
        contract_id: str,
        mandate_id: str,
        amount: Money,
        receivable_ids: tuple[str, ...],
    ) -> DebitOrderItem:
        return cls(
            id=new_id(),
            run_id=run.id,
            account_id=run.account_id,
            trace=trace,
            contract_id=contract_id,
            mandate_id=mandate_id,
            amount=amount,
            receivable_ids=receivable_ids,
            collection_date=run.collection_date,
            state=DebitItemState.IN_FLIGHT,
            payment_id=None,
            return_code=None,
            return_reason=None,
            created_at=run.created_at,
        )


def creditor_accounts(values: Mapping[str, Mapping[str, str]]) -> dict[str, CreditorAccount]:
    """Accounts as settings hold them (id → fields), each checked; errors name the id."""
    accounts = {}
    for account_id, fields in values.items():
        try:
            accounts[account_id] = CreditorAccount(id=account_id, **fields)
        except ValidationError as exc:
            raise exc.prefixed(account_id) from None
        except (TypeError, ValueError) as exc:
            raise ValidationError.single(account_id, str(exc)) from None
    return accounts


class ResultOutcome(StrEnum):
    """What importing one line of the bank's results did."""

    COLLECTED = "collected"
    """The debit was collected: its payment is recorded and allocated."""
    RETURNED = "returned"
    """The debit came back (after collection: its payment is undone)."""
    UNKNOWN = "unknown"
    """No debit has this trace id: reported, nothing changed."""
    DUPLICATE = "duplicate"
    """The debit already has this result (a line repeated, or an earlier file said so)."""
    MISMATCH = "mismatch"
    """The line's amount or currency is not the debit's: reported, nothing changed."""


@attrs.frozen
class ResultLine:
    trace: str
    outcome: ResultOutcome = attrs.field(converter=ResultOutcome)
    amount: str
    """Exact decimal text, as the file said it."""
    reason_code: str | None = None
    action: str | None = None
    item_id: str | None = None
    contract_id: str | None = None
    note: str = ""


def _lines(value: Any) -> tuple[ResultLine, ...]:
    return tuple(item if isinstance(item, ResultLine) else ResultLine(**item) for item in value)


@attrs.define
class ResultImport:
    """One file of the bank's debit results, imported once: its SHA-256 is unique, so the
    same file again answers with this report and changes nothing."""

    id: str
    sha256: str
    filename: str
    imported_at: datetime
    imported_by: str
    lines: tuple[ResultLine, ...] = attrs.field(converter=_lines)
    version: int = 0

    def count(self, outcome: ResultOutcome) -> int:
        return sum(1 for line in self.lines if line.outcome is outcome)
