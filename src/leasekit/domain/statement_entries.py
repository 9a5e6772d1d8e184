"""Money that came in without a debit: lines of the company's bank statements and rows of a
dealer's settlement file, each kept as a :class:`StatementEntry` until it is placed.

Reconciliation (:mod:`leasekit.domain.reconciliation`) places most entries on import: they are
``matched``, with the payments they became. The rest wait on the reconciliation queue
(``queued``, with why and the candidates the rules saw) for a person to match them (split over
contracts if need be) or park them in ``suspense`` until someone knows what they are for.
An entry is imported once: the bank's id for the booking is unique per account.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

import attrs

from leasekit.domain.clock import require_utc
from leasekit.domain.identity import BOOKKEEPERS, new_id
from leasekit.domain.lifecycle import Stateful, StateMachine, row
from leasekit.domain.reconciliation import IncomingLine
from leasekit.money import Money

__all__ = [
    "STATEMENT_ENTRY_LIFECYCLE",
    "EntryAction",
    "EntrySource",
    "EntryState",
    "StatementEntry",
    "StatementImport",
]


class EntrySource(StrEnum):
    STATEMENT = "statement"
    """A credit line of the company's bank statement."""
    SETTLEMENT_FILE = "settlement_file"
    """A row of the file a dealer sends with its settlement transfer."""


class EntryState(StrEnum):
    MATCHED = "matched"
    QUEUED = "queued"
    SUSPENSE = "suspense"


class EntryAction(StrEnum):
    MATCH = "match"
    PARK = "park"


_E = EntryState
_EA = EntryAction

STATEMENT_ENTRY_LIFECYCLE: Final = StateMachine(
    "statement_entry",
    _E.QUEUED,
    (
        # A person places the money: on one contract or split over several.
        row(_EA.MATCH, [_E.QUEUED, _E.SUSPENSE], _E.MATCHED, BOOKKEEPERS,
            "statement_entry_matched", params=("contracts",)),
        row(_EA.PARK, [_E.QUEUED], _E.SUSPENSE, BOOKKEEPERS, "statement_entry_parked", True),
    ),
    final=frozenset({_E.MATCHED}),
    actions_enum=EntryAction,
)  # fmt: skip


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.define
class StatementEntry(Stateful):
    """An incoming amount, where it came from, and what became of it."""

    id: str
    account: str
    """The company's account it was booked on."""
    line_id: str
    """The bank's id for the booking (a settlement file's row id); unique per account."""
    source: EntrySource = attrs.field(converter=EntrySource)
    booked_on: date
    amount: Money
    payer_name: str
    payer_account: str
    reference: str
    state: EntryState = attrs.field(converter=EntryState)
    rule: str | None
    """The rule that matched it (``reference``, ``amount_and_payer`` ..., ``manual``)."""
    why: str | None
    """Why it waits (several candidates, no candidate ...), or why it is in suspense."""
    candidates: tuple[str, ...] = attrs.field(converter=_ids)
    """Contracts a rule found for it but could not choose between."""
    payments: tuple[str, ...] = attrs.field(converter=_ids)
    import_id: str
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[EntryState]] = STATEMENT_ENTRY_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("account", "line_id", "amount")

    @classmethod
    def of(
        cls,
        line: IncomingLine,
        *,
        account: str,
        source: EntrySource,
        import_id: str,
        at: datetime,
    ) -> StatementEntry:
        """A new entry for *line*, waiting until reconciliation says where it goes."""
        return cls(
            id=new_id(), account=account, line_id=line.line_id, source=source,
            booked_on=line.booked_on, amount=line.amount, payer_name=line.payer_name,
            payer_account=line.payer_account, reference=line.reference,
            state=EntryState.QUEUED, rule=None, why=None, candidates=(), payments=(),
            import_id=import_id, created_at=require_utc(at),
        )  # fmt: skip

    @property
    def line(self) -> IncomingLine:
        """The entry as the matcher reads it."""
        return IncomingLine(
            self.line_id, self.amount, self.booked_on, self.reference, self.payer_name,
            self.payer_account,
        )  # fmt: skip


@attrs.define
class StatementImport:
    """One statement (or settlement file) imported: what it held and where it went. Its
    SHA-256 is unique, so the same file again answers this report and changes nothing."""

    id: str
    sha256: str
    filename: str
    account: str
    source: EntrySource = attrs.field(converter=EntrySource)
    imported_at: datetime
    imported_by: str
    credits: int
    """Money-in lines in the file (debits on a statement are the company's own payments)."""
    matched: int
    queued: int
    known: int
    """Lines an earlier import brought already (overlapping statements): skipped."""
    version: int = 0
