"""NACHA (US ACH) files: PPD debit files out, return files in.

The layouts are those of the NACHA Operating Rules (Appendix Three): every record is 94
characters, records are grouped in blocks of ten and the last block is filled with records of
nines. Positions are 1-based and inclusive, as the rules number them, so that a refusal names
the columns a bank's operations desk looks at: ``record 7 (entry detail), amount (positions
30-39)``.

Choices the rules leave to the originator:

- Names (the debtor's, the company's, the file header's) are descriptive: they are written in
  upper case, without accents (``Müller`` becomes ``MULLER``, ``ß`` becomes ``SS``) and cut to
  their field. A name with letters that have no ASCII form (``李``) is refused, not guessed at.
- Identifiers (account number, mandate reference, trace number, routing numbers, company
  identification) are never altered: one that does not fit its field is refused.
- Entries are written in ascending trace number order, as the rules require within a batch.
- An item's remittance text is not written: PPD addenda are optional and banks drop them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import groupby
from types import MappingProxyType
from typing import Final

import attrs
from stdnum.us import rtn

from leasekit.errors import FieldError, ValidationError
from leasekit.money import Money
from leasekit.ports.bank import (
    AccountType,
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    DebitScheme,
    ReturnAction,
    debit_items,
)

__all__ = [
    "RETURN_CODES",
    "ReturnCode",
    "debit_file",
    "read_returns",
    "return_code",
    "return_file",
]

RECORD_LENGTH: Final = 94
BLOCKING_FACTOR: Final = 10
PADDING: Final = "9" * RECORD_LENGTH
"""A record that only fills the last block of a file."""
MAX_AMOUNT_CENTS: Final = 9_999_999_999
"""An entry's amount field holds ten digits of cents: $99,999,999.99."""
MAX_ENTRIES: Final = 999_999 // 2
"""A batch control counts entries and addenda in six digits; a return entry has one addenda,
and the returns of a batch must fit a file as well as its debits."""
MAX_TOTAL_CENTS: Final = 10**12 - 1
"""Control records hold a batch's and a file's total in twelve digits of cents."""
DEFAULT_ENTRY_DESCRIPTION: Final = "LEASE PMT"

DEBITS_ONLY: Final = "225"
SERVICE_CLASSES_WITH_DEBITS: Final = frozenset({"200", DEBITS_ONLY})
DEBIT_CODES: Final = MappingProxyType({AccountType.CHECKING: 27, AccountType.SAVINGS: 37})
RETURN_OF_DEBIT_CODES: Final = MappingProxyType({AccountType.CHECKING: 26, AccountType.SAVINGS: 36})
"""A returned debit comes back with the transaction code one below its own."""


# -- Layouts ---------------------------------------------------------------------------------


class Kind(StrEnum):
    NUMERIC = "numeric"
    """Digits, right-justified and zero-filled."""
    ALPHANUMERIC = "alphanumeric"
    """Printable ASCII, left-justified and space-filled."""


@attrs.frozen
class Field:
    """A field of a record: its NACHA name and positions (1-based, inclusive)."""

    name: str
    start: int
    end: int
    kind: Kind
    fixed: str | None = None
    """The only content the field may hold (``094`` for the record size), if any."""

    @property
    def width(self) -> int:
        return self.end - self.start + 1

    @property
    def positions(self) -> str:
        if self.start == self.end:
            return f"position {self.start}"
        return f"positions {self.start}-{self.end}"

    def read(self, record: str) -> str:
        return record[self.start - 1 : self.end]

    def render(self, value: str | int) -> str:
        """*value* justified and filled as the field's kind says; callers check the fit."""
        if self.kind is Kind.NUMERIC:
            text = str(value).rjust(self.width, "0")
        else:
            text = str(value).ljust(self.width)
        if len(text) != self.width:
            raise ValueError(f"{self.name}: {value!r} does not fit {self.width} characters")
        return text


N, A = Kind.NUMERIC, Kind.ALPHANUMERIC


@attrs.frozen
class Layout:
    """A record type: its name in the rules, its type code and its fields from 1 to 94."""

    record: str
    type_code: str
    fields: tuple[Field, ...]

    def __attrs_post_init__(self) -> None:
        ends = [0, *(f.end for f in self.fields)]
        starts = [f.start for f in self.fields] + [RECORD_LENGTH + 1]
        if any(start != end + 1 for start, end in zip(starts, ends, strict=True)):
            raise ValueError(f"the {self.record} layout does not cover positions 1-94 in order")

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def render(self, values: Mapping[str, str | int]) -> str:
        """One record; every field without a fixed content must be in *values*."""
        unknown = set(values) - {f.name for f in self.fields}
        if unknown:
            raise ValueError(f"{self.record}: no fields {sorted(unknown)}")
        return "".join(
            f.render(f.fixed if f.fixed is not None else values[f.name]) for f in self.fields
        )


def _type_code(code: str) -> Field:
    return Field("record type code", 1, 1, N, code)


FILE_HEADER: Final = Layout("file header", "1", (
    _type_code("1"),
    Field("priority code", 2, 3, N, "01"),
    Field("immediate destination", 4, 13, A),
    Field("immediate origin", 14, 23, A),
    Field("file creation date", 24, 29, N),
    Field("file creation time", 30, 33, N),
    Field("file ID modifier", 34, 34, A),
    Field("record size", 35, 37, N, "094"),
    Field("blocking factor", 38, 39, N, "10"),
    Field("format code", 40, 40, N, "1"),
    Field("immediate destination name", 41, 63, A),
    Field("immediate origin name", 64, 86, A),
    Field("reference code", 87, 94, A),
))  # fmt: skip

BATCH_HEADER: Final = Layout("batch header", "5", (
    _type_code("5"),
    Field("service class code", 2, 4, N),
    Field("company name", 5, 20, A),
    Field("company discretionary data", 21, 40, A),
    Field("company identification", 41, 50, A),
    Field("standard entry class code", 51, 53, A),
    Field("company entry description", 54, 63, A),
    Field("company descriptive date", 64, 69, A),
    Field("effective entry date", 70, 75, N),
    Field("settlement date", 76, 78, A),
    Field("originator status code", 79, 79, A),
    Field("originating DFI identification", 80, 87, N),
    Field("batch number", 88, 94, N),
))  # fmt: skip

ENTRY_DETAIL: Final = Layout("entry detail", "6", (
    _type_code("6"),
    Field("transaction code", 2, 3, N),
    Field("receiving DFI identification", 4, 11, N),
    Field("check digit", 12, 12, N),
    Field("DFI account number", 13, 29, A),
    Field("amount", 30, 39, N),
    Field("individual identification number", 40, 54, A),
    Field("individual name", 55, 76, A),
    Field("discretionary data", 77, 78, A),
    Field("addenda record indicator", 79, 79, N),
    Field("trace number", 80, 94, N),
))  # fmt: skip

RETURN_ADDENDA: Final = Layout("addenda", "7", (
    _type_code("7"),
    Field("addenda type code", 2, 3, N, "99"),
    Field("return reason code", 4, 6, A),
    Field("original entry trace number", 7, 21, N),
    Field("date of death", 22, 27, A),
    Field("original receiving DFI identification", 28, 35, N),
    Field("addenda information", 36, 79, A),
    Field("trace number", 80, 94, N),
))  # fmt: skip

BATCH_CONTROL: Final = Layout("batch control", "8", (
    _type_code("8"),
    Field("service class code", 2, 4, N),
    Field("entry/addenda count", 5, 10, N),
    Field("entry hash", 11, 20, N),
    Field("total debit entry dollar amount", 21, 32, N),
    Field("total credit entry dollar amount", 33, 44, N),
    Field("company identification", 45, 54, A),
    Field("message authentication code", 55, 73, A),
    Field("reserved", 74, 79, A),
    Field("originating DFI identification", 80, 87, N),
    Field("batch number", 88, 94, N),
))  # fmt: skip

FILE_CONTROL: Final = Layout("file control", "9", (
    _type_code("9"),
    Field("batch count", 2, 7, N),
    Field("block count", 8, 13, N),
    Field("entry/addenda count", 14, 21, N),
    Field("entry hash", 22, 31, N),
    Field("total debit entry dollar amount", 32, 43, N),
    Field("total credit entry dollar amount", 44, 55, N),
    Field("reserved", 56, 94, A),
))  # fmt: skip

LAYOUTS: Final = MappingProxyType(
    {
        layout.type_code: layout
        for layout in (
            FILE_HEADER,
            BATCH_HEADER,
            ENTRY_DETAIL,
            RETURN_ADDENDA,
            BATCH_CONTROL,
            FILE_CONTROL,
        )
    }
)


# -- Return reason codes ---------------------------------------------------------------------


@attrs.frozen
class ReturnCode:
    """A NACHA return reason code, its title in the rules and what the company does about it."""

    code: str
    title: str
    action: ReturnAction


_RETRY, _STOP, _NOTIFY = ReturnAction.RETRY, ReturnAction.STOP_MANDATE, ReturnAction.NOTIFY

# RETRY: the money may be there next time. STOP: the account or the authorization is gone, and
# debiting again would break the rules. NOTIFY: someone has to look (a dispute, an error in the
# file or at a bank).
RETURN_CODES: Final[Mapping[str, ReturnCode]] = MappingProxyType({c.code: c for c in (
    ReturnCode("R01", "Insufficient Funds", _RETRY),
    ReturnCode("R02", "Account Closed", _STOP),
    ReturnCode("R03", "No Account/Unable to Locate Account", _STOP),
    ReturnCode("R04", "Invalid Account Number Structure", _STOP),
    ReturnCode("R05", "Unauthorized Debit to Consumer Account Using Corporate SEC Code", _STOP),
    ReturnCode("R06", "Returned per ODFI's Request", _NOTIFY),
    ReturnCode("R07", "Authorization Revoked by Customer", _STOP),
    ReturnCode("R08", "Payment Stopped", _STOP),
    ReturnCode("R09", "Uncollected Funds", _RETRY),
    ReturnCode("R10", "Customer Advises Originator is Not Known to Receiver and/or Originator "
               "is Not Authorized by Receiver to Debit Receiver's Account", _STOP),
    ReturnCode("R11", "Customer Advises Entry Not in Accordance with the Terms of the "
               "Authorization", _NOTIFY),
    ReturnCode("R12", "Account Sold to Another DFI", _STOP),
    ReturnCode("R13", "Invalid ACH Routing Number", _NOTIFY),
    ReturnCode("R14", "Representative Payee Deceased or Unable to Continue in That Capacity",
               _STOP),
    ReturnCode("R15", "Beneficiary or Account Holder (Other Than a Representative Payee) "
               "Deceased", _STOP),
    ReturnCode("R16", "Account Frozen/Entry Returned per OFAC Instruction", _STOP),
    ReturnCode("R17", "File Record Edit Criteria", _NOTIFY),
    ReturnCode("R18", "Improper Effective Entry Date", _NOTIFY),
    ReturnCode("R19", "Amount Field Error", _NOTIFY),
    ReturnCode("R20", "Non-Transaction Account", _STOP),
    ReturnCode("R21", "Invalid Company Identification", _NOTIFY),
    ReturnCode("R22", "Invalid Individual ID Number", _NOTIFY),
    ReturnCode("R23", "Credit Entry Refused by Receiver", _NOTIFY),
    ReturnCode("R24", "Duplicate Entry", _NOTIFY),
    ReturnCode("R25", "Addenda Error", _NOTIFY),
    ReturnCode("R26", "Mandatory Field Error", _NOTIFY),
    ReturnCode("R27", "Trace Number Error", _NOTIFY),
    ReturnCode("R28", "Routing Number Check Digit Error", _NOTIFY),
    ReturnCode("R29", "Corporate Customer Advises Not Authorized", _STOP),
    ReturnCode("R31", "Permissible Return Entry", _NOTIFY),
    ReturnCode("R33", "Return of XCK Entry", _NOTIFY),
)})  # fmt: skip
"""The return reason codes leasekit knows; :func:`return_code` answers for any other."""

_RETURN_CODE_FORMAT: Final = re.compile(r"R[0-9]{2}")


def return_code(code: str) -> ReturnCode:
    """The entry for *code*; a code missing from :data:`RETURN_CODES` asks a person to look
    (NOTIFY) rather than guess at retrying or cancelling a mandate."""
    known = RETURN_CODES.get(code)
    if known is not None:
        return known
    return ReturnCode(code, f"Return reason {code} (not in leasekit's table)", ReturnAction.NOTIFY)


# -- Checking what goes into a file ----------------------------------------------------------


_SPELLED_OUT: Final = {
    "ß": "SS", "Æ": "AE", "æ": "AE", "Œ": "OE", "œ": "OE", "Ø": "O", "ø": "O", "Ł": "L",
    "ł": "L", "Đ": "D", "đ": "D", "Þ": "TH", "þ": "TH", "ı": "I", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
}  # fmt: skip
"""Letters and typographic marks (O\u2019Brien) that Unicode decomposition leaves outside
ASCII."""

_ACCOUNT_NUMBER: Final = re.compile(r"[A-Za-z0-9-]{1,17}")
_FILE_ID_MODIFIER: Final = re.compile(r"[A-Z0-9]")


def _printable(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _ascii_name(text: str) -> str | None:
    """*text* in upper-case ASCII without accents, or None if a letter has no ASCII form."""
    spelled = "".join(_SPELLED_OUT.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", spelled)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = " ".join(bare.split()).upper()
    return name if _printable(name) else None


def _digits(text: str, count: int) -> bool:
    return len(text) == count and text.isascii() and text.isdigit()


def _routing_problem(value: str) -> str | None:
    if not _digits(value, 9):
        return f"{value!r} is not a nine-digit routing number"
    if not rtn.is_valid(value):
        return f"{value!r} fails the ABA check digit"
    return None


def _name_problem(value: str) -> str | None:
    name = _ascii_name(value)
    if name is None:
        return f"{value!r} has characters with no ASCII form"
    if not name:
        return "a name is required"
    return None


def _cents(amount: Money) -> int:
    return int(amount.amount.scaleb(2))


def _amount_problem(amount: Money) -> str | None:
    if amount.currency.code != "USD":
        return f"ACH debits are in USD, not {amount.currency.code}"
    if not amount.is_quantized:
        return f"{amount.amount} is not a whole number of cents"
    if _cents(amount) > MAX_AMOUNT_CENTS:
        return f"{amount.amount} does not fit the ten-digit amount field (at most 99999999.99)"
    return None


def _item_problems(item: DebitItem, odfi: str) -> Iterator[tuple[str, str]]:
    """(field, message) for every property of *item* that a NACHA entry cannot carry."""
    if problem := _routing_problem(item.debtor_agent):
        yield "debtor_agent", problem
    if not _ACCOUNT_NUMBER.fullmatch(item.debtor_account):
        yield "debtor_account", "1 to 17 ASCII letters, digits or hyphens"
    if problem := _amount_problem(item.amount):
        yield "amount", problem
    if len(item.mandate_reference) > 15 or not _printable(item.mandate_reference):
        yield "mandate_reference", "at most 15 printable ASCII characters"
    if problem := _name_problem(item.debtor_name):
        yield "debtor_name", problem
    if not _digits(item.item_id, 15):
        yield "item_id", "a NACHA trace number is 15 digits"
    elif odfi and not item.item_id.startswith(odfi):
        yield "item_id", f"a trace number starts with the originating bank's routing {odfi}"


def _batch_problems(batch: DebitBatch) -> Iterator[tuple[str, str]]:
    """(field, message) for what the file's header and batch headers cannot carry."""
    if batch.scheme not in (None, DebitScheme.NACHA):
        yield "scheme", f"a {batch.scheme} batch is not written as a NACHA file"
    if problem := _routing_problem(batch.creditor_agent):
        yield "creditor_agent", problem
    company_id = batch.creditor_id
    if not company_id.strip() or len(company_id) > 10 or not _printable(company_id):
        yield "creditor_id", "the company identification is 1 to 10 printable ASCII characters"
    if problem := _name_problem(batch.creditor_name):
        yield "creditor_name", problem


def _odfi(batch: DebitBatch) -> str:
    """The originating bank's 8-digit identification, which starts every trace number."""
    return batch.creditor_agent[:8] if _digits(batch.creditor_agent, 9) else ""


def _checked(batch: DebitBatch) -> Iterator[DebitItem]:
    """The batch's items as they are read, each refused with all its problems, named by its
    position (``items.3.amount``), before anything of it is written."""
    odfi = _odfi(batch)
    for index, item in debit_items(batch):
        problems = _item_problems(item, odfi)
        _refuse((f"items.{index}.{field}", message) for field, message in problems)
        yield item


def _option_problems(
    file_id_modifier: str, destination_name: str, origin_name: str, entry_description: str
) -> Iterator[tuple[str, str]]:
    if not _FILE_ID_MODIFIER.fullmatch(file_id_modifier):
        yield "file_id_modifier", "one upper-case letter or digit"
    for field, value in (("destination_name", destination_name), ("origin_name", origin_name)):
        if _ascii_name(value) is None:
            yield field, f"{value!r} has characters with no ASCII form"
    description = _ascii_name(entry_description)
    if not description or len(description) > 10:
        yield "entry_description", "1 to 10 ASCII characters (shown on the debtor's statement)"


def _refuse(problems: Iterable[tuple[str, str]]) -> None:
    errors = [FieldError(field, message) for field, message in problems]
    if errors:
        raise ValidationError(errors)


# -- Writing ---------------------------------------------------------------------------------


@attrs.frozen
class _Entry:
    """An entry detail record and its addenda, with what the control records add up."""

    records: tuple[str, ...]
    routing: int
    """The 8-digit receiving DFI identification, which the entry hash sums."""
    cents: int


@attrs.frozen
class _BatchHead:
    """What a batch header says and its batch control repeats."""

    company_name: str
    company_id: str
    entry_description: str
    effective_date: date
    odfi: str
    number: int


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def _file_header(
    destination: str, origin: str, created_at: datetime, modifier: str, names: tuple[str, str]
) -> str:
    return FILE_HEADER.render(
        {
            "immediate destination": destination,
            "immediate origin": origin,
            "file creation date": _yymmdd(created_at),
            "file creation time": created_at.strftime("%H%M"),
            "file ID modifier": modifier,
            "immediate destination name": names[0][:23],
            "immediate origin name": names[1][:23],
            "reference code": "",
        }
    )


def _batch_header(head: _BatchHead) -> str:
    return BATCH_HEADER.render(
        {
            **_batch_shared(head),
            "company name": head.company_name[:16],
            "company discretionary data": "",
            "standard entry class code": "PPD",
            "company entry description": head.entry_description,
            "company descriptive date": "",
            "effective entry date": _yymmdd(head.effective_date),
            "settlement date": "",
            "originator status code": "1",
        }
    )


def _batch_shared(head: _BatchHead) -> dict[str, str | int]:
    """The fields a batch control repeats from its header."""
    return {
        "service class code": DEBITS_ONLY,
        "company identification": head.company_id,
        "originating DFI identification": head.odfi,
        "batch number": head.number,
    }


@attrs.define
class _Tally:
    """What a batch control or the file control counts: records after the header's, the
    entry hash (the sum of 8-digit routing numbers) and the debits' total in cents."""

    records: int = 0
    routing_sum: int = 0
    cents: int = 0

    def add(self, records: int, routing_sum: int, cents: int) -> None:
        self.records += records
        self.routing_sum += routing_sum
        self.cents += cents

    @property
    def entry_hash(self) -> int:
        """The sum's last ten digits, as the rules keep them."""
        return self.routing_sum % 10**10


class _Writer:
    """A file written record by record, keeping only the tallies its control records need,
    so that a file of a million entries is never held whole.

    :meth:`take` hands over what was written since it was last called; :meth:`close` ends the
    file with its control record and the nines that fill the last block."""

    def __init__(self, header: str) -> None:
        self._pending = [header]
        self._written = 0
        self._file = _Tally()
        self._batch: tuple[_BatchHead, _Tally] | None = None
        self.batches = 0

    @property
    def in_batch(self) -> bool:
        return self._batch is not None

    @property
    def batch_entries(self) -> int:
        return 0 if self._batch is None else self._batch[1].records

    @property
    def pending(self) -> int:
        return len(self._pending)

    def open_batch(self, head: _BatchHead) -> None:
        self._pending.append(_batch_header(head))
        self._batch = (head, _Tally())
        self.batches += 1

    def add(self, entry: _Entry) -> None:
        assert self._batch is not None, "an entry is written inside a batch"
        if self._file.cents + self._batch[1].cents + entry.cents > MAX_TOTAL_CENTS:
            raise ValidationError.single(
                "items", "the total exceeds the twelve-digit control total (9999999999.99)"
            )
        self._pending += entry.records
        self._batch[1].add(len(entry.records), entry.routing, entry.cents)

    def close_batch(self) -> None:
        assert self._batch is not None
        head, tally = self._batch
        self._pending.append(
            BATCH_CONTROL.render(
                {
                    **_batch_shared(head),
                    "entry/addenda count": tally.records,
                    "entry hash": tally.entry_hash,
                    "total debit entry dollar amount": tally.cents,
                    "total credit entry dollar amount": 0,
                    "message authentication code": "",
                    "reserved": "",
                }
            )
        )
        self._file.add(tally.records, tally.routing_sum, tally.cents)
        self._batch = None

    def take(self) -> bytes:
        content = "".join(f"{record}\n" for record in self._pending).encode("ascii")
        self._written += len(self._pending)
        self._pending = []
        return content

    def close(self) -> bytes:
        if self._batch is not None:
            self.close_batch()
        records = self._written + len(self._pending) + 1
        blocks = -(-records // BLOCKING_FACTOR)
        self._pending.append(
            FILE_CONTROL.render(
                {
                    "batch count": self.batches,
                    "block count": blocks,
                    "entry/addenda count": self._file.records,
                    "entry hash": self._file.entry_hash,
                    "total debit entry dollar amount": self._file.cents,
                    "total credit entry dollar amount": 0,
                    "reserved": "",
                }
            )
        )
        self._pending += [PADDING] * (blocks * BLOCKING_FACTOR - records)
        return self.take()


def _entry_fields(item: DebitItem) -> dict[str, str | int]:
    """The entry detail fields that a debit and its return share."""
    return {
        "DFI account number": item.debtor_account,
        "amount": _cents(item.amount),
        "individual identification number": item.mandate_reference,
        "individual name": (_ascii_name(item.debtor_name) or "")[:22],
        "discretionary data": "",
    }


def _debit_entry(item: DebitItem) -> _Entry:
    record = ENTRY_DETAIL.render(
        {
            **_entry_fields(item),
            "transaction code": DEBIT_CODES[item.account_type],
            "receiving DFI identification": item.debtor_agent[:8],
            "check digit": item.debtor_agent[8],
            "addenda record indicator": 0,
            "trace number": item.item_id,
        }
    )
    return _Entry((record,), int(item.debtor_agent[:8]), _cents(item.amount))


def _head(
    batch: DebitBatch, entry_description: str, effective: date, odfi: str, number: int = 1
) -> _BatchHead:
    return _BatchHead(
        company_name=_ascii_name(batch.creditor_name) or "",
        company_id=batch.creditor_id,
        entry_description=_ascii_name(entry_description) or "",
        effective_date=effective,
        odfi=odfi,
        number=number,
    )


CHUNK_RECORDS: Final = 10_000
"""Records per chunk of a debit file handed to the caller (under a megabyte)."""


def debit_file(
    batch: DebitBatch,
    *,
    created_at: datetime,
    file_id_modifier: str = "A",
    destination_name: str = "",
    origin_name: str = "",
    entry_description: str = DEFAULT_ENTRY_DESCRIPTION,
) -> Iterator[bytes]:
    """The NACHA file that asks the company's bank to collect *batch*, in chunks: PPD batches
    of debits (service class 225) due on ``batch.collection_date``.

    The file is addressed to the originating bank (``batch.creditor_agent``, its routing
    number) from the company (``batch.creditor_id``, also the company identification).
    *created_at* is written as its own wall-clock date and time; *origin_name* defaults to
    the creditor's name. The items are read once, as the chunks are asked for: a new batch
    starts when a trace number is not above the one before (the rules want them ascending
    within a batch; a run's traces are, until their sequence wraps) or when a batch holds
    :data:`MAX_ENTRIES`. What the file cannot carry raises
    :class:`~leasekit.errors.ValidationError` naming the field (``items.3.amount``): the
    batch's own fields and the options at once, an item when its turn comes.
    """
    _refuse(
        [
            *_batch_problems(batch),
            *_option_problems(file_id_modifier, destination_name, origin_name, entry_description),
        ]
    )
    names = (_ascii_name(destination_name), _ascii_name(origin_name or batch.creditor_name))
    header = _file_header(
        f" {batch.creditor_agent}",
        batch.creditor_id,
        created_at,
        file_id_modifier,
        (names[0] or "", names[1] or ""),
    )
    return _debit_chunks(_Writer(header), batch, entry_description)


def _debit_chunks(writer: _Writer, batch: DebitBatch, entry_description: str) -> Iterator[bytes]:
    last = ""
    for item in _checked(batch):
        if writer.in_batch and (item.item_id <= last or writer.batch_entries >= MAX_ENTRIES):
            writer.close_batch()
        if not writer.in_batch:
            writer.open_batch(
                _head(batch, entry_description, batch.collection_date, _odfi(batch),
                      writer.batches + 1)
            )  # fmt: skip
        writer.add(_debit_entry(item))
        last = item.item_id
        if writer.pending >= CHUNK_RECORDS:
            yield writer.take()
    yield writer.close()


def _return_entry(item: DebitItem, code: str, odfi_routing: str, trace: str) -> _Entry:
    """A returned debit as the debtor's bank sends it back: addressed to the originating bank,
    with an addenda that names the reason and the original entry."""
    entry = ENTRY_DETAIL.render(
        {
            **_entry_fields(item),
            "transaction code": RETURN_OF_DEBIT_CODES[item.account_type],
            "receiving DFI identification": odfi_routing[:8],
            "check digit": odfi_routing[8],
            "addenda record indicator": 1,
            "trace number": trace,
        }
    )
    addenda = RETURN_ADDENDA.render(
        {
            "return reason code": code,
            "original entry trace number": item.item_id,
            "date of death": "",
            "original receiving DFI identification": item.debtor_agent[:8],
            "addenda information": "",
            "trace number": trace,
        }
    )
    return _Entry((entry, addenda), int(odfi_routing[:8]), _cents(item.amount))


def _returned_problems(
    items: Iterable[DebitItem], returned: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    ids = {item.item_id for item in items}
    for item_id, code in returned.items():
        if item_id not in ids:
            yield f"returned.{item_id}", "no item of the batch has this trace number"
        elif not _RETURN_CODE_FORMAT.fullmatch(code):
            yield f"returned.{item_id}", f"{code!r} is not a return reason code (R and 2 digits)"


def return_file(batch: DebitBatch, returned: Mapping[str, str], *, created_at: datetime) -> bytes:
    """The return file the originating bank hands the company for the items of *batch* named in
    *returned* (trace number to return reason code, ``R01``).

    Each debtor's bank originates its own returns, so there is one PPD batch per returning
    bank (ordered by its routing number): return entries (transaction code 26 or 36) addressed
    to the originating bank, each followed by an addenda record (type 99) with the reason
    code, the original trace number and the original receiving bank. Return trace numbers are
    the returning bank's routing and a sequence; the date of death is left blank.
    """
    _refuse(_batch_problems(batch))
    items = list(_checked(batch))
    _refuse(_returned_problems(items, returned))
    odfi_routing = batch.creditor_agent
    header = _file_header(batch.creditor_id, f" {odfi_routing}", created_at, "A", ("", ""))
    returning = sorted(
        (item for item in items if item.item_id in returned),
        key=lambda i: (i.debtor_agent[:8], i.item_id),
    )
    writer = _Writer(header)
    for number, (rdfi, group) in enumerate(groupby(returning, key=lambda i: i.debtor_agent[:8]), 1):
        writer.open_batch(_head(batch, DEFAULT_ENTRY_DESCRIPTION, created_at.date(), rdfi, number))
        for seq, item in enumerate(group, 1):
            trace = f"{rdfi}{seq:07d}"
            writer.add(_return_entry(item, returned[item.item_id], odfi_routing, trace))
        writer.close_batch()
    return writer.take() + writer.close()


# -- Reading ---------------------------------------------------------------------------------


@attrs.frozen
class _Record:
    """One line of a file that is 94 printable ASCII characters with a known type."""

    number: int
    layout: Layout
    text: str

    def __getitem__(self, name: str) -> str:
        return self.layout.field(name).read(self.text)

    def number_in(self, name: str) -> int:
        return int(self[name])

    def where(self, name: str | None = None) -> str:
        """The record and field in the words of the rules: ``record 7 (entry detail), amount
        (positions 30-39)``."""
        place = f"record {self.number} ({self.layout.record})"
        if name is None:
            return place
        return f"{place}, {name} ({self.layout.field(name).positions})"

    def error(self, message: str, name: str | None = None) -> FieldError:
        return FieldError(self.where(name), message)


def _lines(content: bytes) -> list[bytes]:
    """The file's lines without their ends; both ``\\n`` and ``\\r\\n`` end a record."""
    lines = content.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _record_or_errors(number: int, line: bytes) -> _Record | list[FieldError]:
    """A line as a record, or what keeps it from being one: bytes that are not printable
    ASCII, a length that is not 94, a type code the rules do not define."""
    layout = LAYOUTS.get(chr(line[0])) if line else None
    place = f"record {number}" + (f" ({layout.record})" if layout else "")
    errors = [
        FieldError(f"{place}, position {index}", f"byte 0x{byte:02X} is not printable ASCII")
        for index, byte in enumerate(line, 1)
        if not 0x20 <= byte <= 0x7E
    ]
    if len(line) != RECORD_LENGTH:
        errors.append(FieldError(place, f"is {len(line)} characters long, not {RECORD_LENGTH}"))
    if layout is None and line and 0x20 <= line[0] <= 0x7E:
        errors.append(
            FieldError(
                f"{place}, record type code (position 1)",
                f"{chr(line[0])!r} is not a NACHA record type (1, 5, 6, 7, 8 or 9)",
            )
        )
    if errors or layout is None:
        return errors
    return _Record(number, layout, line.decode("ascii"))


def _field_errors(record: _Record) -> Iterator[FieldError]:
    """Numeric fields that hold other characters, fixed fields that hold something else."""
    for field in record.layout.fields:
        text = field.read(record.text)
        if field.fixed is not None and text != field.fixed:
            yield record.error(f"is {text!r}; the rules require {field.fixed!r}", field.name)
        elif field.kind is Kind.NUMERIC and not text.isdigit():
            yield record.error(f"{text!r} is not numeric", field.name)


def _batch_header_errors(record: _Record) -> Iterator[FieldError]:
    code = record["service class code"]
    if code.isdigit() and code not in SERVICE_CLASSES_WITH_DEBITS:
        yield record.error(
            f"{code} is not a batch that holds debits (200 or 225)", "service class code"
        )


def _entry_errors(record: _Record) -> Iterator[FieldError]:
    code = record["transaction code"]
    if code.isdigit() and int(code) not in RETURN_OF_DEBIT_CODES.values():
        yield record.error(
            f"{code} is not a returned debit (26 checking, 36 savings)", "transaction code"
        )
    prefix, check = record["receiving DFI identification"], record["check digit"]
    if (prefix + check).isdigit() and not rtn.is_valid(prefix + check):
        expected = rtn.calc_check_digit(prefix)
        yield record.error(f"is {check}; the check digit of {prefix} is {expected}", "check digit")
    indicator = record["addenda record indicator"]
    if indicator.isdigit() and indicator != "1":
        yield record.error(
            f"is {indicator}; a return entry carries its return addenda (1)",
            "addenda record indicator",
        )


def _addenda_errors(record: _Record) -> Iterator[FieldError]:
    code = record["return reason code"]
    if not _RETURN_CODE_FORMAT.fullmatch(code):
        yield record.error(f"{code!r} is not a return reason code", "return reason code")


_RECORD_CHECKS: Final = {"5": _batch_header_errors, "6": _entry_errors, "7": _addenda_errors}


def _record_errors(record: _Record) -> list[FieldError]:
    """What is wrong inside one record, whatever comes before or after it."""
    check = _RECORD_CHECKS.get(record.layout.type_code)
    return [*_field_errors(record), *(check(record) if check else ())]


_NEXT: Final = MappingProxyType(
    {
        None: frozenset("1"),
        "1": frozenset("59"),
        "5": frozenset("6"),
        "6": frozenset("7"),
        "7": frozenset("68"),
        "8": frozenset("59"),
        "9": frozenset(),
    }
)
"""The record types that may follow each one (None: the start of the file)."""


def _order_errors(records: Sequence[_Record]) -> Iterator[FieldError]:
    """Records out of the order file header, (batch header, (entry, addenda)+, batch
    control)+, file control, padding."""
    previous: _Record | None = None
    for record in records:
        expected = _NEXT[previous.layout.type_code if previous else None]
        if record.layout.type_code not in expected:
            if previous is not None and previous.layout.type_code == "6":
                yield previous.error("is not followed by its return addenda record (type 7)")
            else:
                after = f"after {previous.where()}" if previous else "at the start of the file"
                wanted = " or ".join(_a(LAYOUTS[code].record) for code in sorted(expected))
                yield record.error(f"cannot come {after}; expected {wanted}")
        previous = record


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _padding_errors(lines: Sequence[bytes], end: int) -> Iterator[FieldError]:
    """After the file control (record *end*), nothing but records of nines."""
    for number, line in enumerate(lines[end:], end + 1):
        if line != PADDING.encode("ascii"):
            yield FieldError(
                f"record {number} (padding)", "after the file control, a record is 94 nines"
            )


@attrs.frozen
class _Return:
    entry: _Record
    addenda: _Record


@attrs.frozen
class _Batch:
    header: _Record
    returns: tuple[_Return, ...]
    control: _Record


def _batches(records: Sequence[_Record]) -> Iterator[_Batch]:
    """The batches of records already known to be in order."""
    header: _Record | None = None
    returns: list[_Return] = []
    for record, following in zip(records, [*records[1:], None], strict=True):
        match record.layout.type_code:
            case "5":
                header, returns = record, []
            case "6" if following is not None:
                returns.append(_Return(record, following))
            case "8" if header is not None:
                yield _Batch(header, tuple(returns), record)


def _total_errors(control: _Record, counts: Mapping[str, int]) -> Iterator[FieldError]:
    """Control fields that do not say what the records they control add up to."""
    for name, actual in counts.items():
        stated = control.number_in(name)
        if stated != actual:
            yield control.error(f"says {stated}; the records add up to {actual}", name)


def _sums(returns: Sequence[_Return]) -> dict[str, int]:
    return {
        "entry/addenda count": 2 * len(returns),
        "entry hash": sum(r.entry.number_in("receiving DFI identification") for r in returns)
        % 10**10,
        "total debit entry dollar amount": sum(r.entry.number_in("amount") for r in returns),
        "total credit entry dollar amount": 0,
    }


def _batch_errors(batch: _Batch) -> Iterator[FieldError]:
    yield from _total_errors(batch.control, _sums(batch.returns))
    for name in ("service class code", "batch number"):
        if batch.header[name] != batch.control[name]:
            yield batch.control.error(
                f"{batch.control[name]} differs from the batch header's {batch.header[name]}",
                name,
            )
    for ret in batch.returns:
        if ret.addenda["trace number"] != ret.entry["trace number"]:
            yield ret.addenda.error(
                f"is not its entry's trace number {ret.entry['trace number']}", "trace number"
            )


def _file_errors(
    control: _Record, record_count: int, batches: Sequence[_Batch]
) -> Iterator[FieldError]:
    """The file control's counts and totals, and the blocks the padding fills."""
    blocks = -(-control.number // BLOCKING_FACTOR)
    returns = [ret for batch in batches for ret in batch.returns]
    counts = {"batch count": len(batches), "block count": blocks, **_sums(returns)}
    yield from _total_errors(control, counts)
    if record_count != blocks * BLOCKING_FACTOR:
        yield FieldError(
            "file",
            f"has {record_count} records; padding records of nines fill the last block of ten "
            f"({blocks * BLOCKING_FACTOR})",
        )


def _duplicate_errors(returns: Iterable[_Return]) -> Iterator[FieldError]:
    first: dict[str, _Record] = {}
    for ret in returns:
        trace = ret.addenda["original entry trace number"]
        if trace in first:
            yield ret.addenda.error(
                f"{trace} was already returned in record {first[trace].number}",
                "original entry trace number",
            )
        first.setdefault(trace, ret.addenda)


def _debit_return(ret: _Return) -> DebitReturn:
    reason = return_code(ret.addenda["return reason code"])
    return DebitReturn(
        batch_id="",
        item_id=ret.addenda["original entry trace number"],
        outcome=DebitOutcome.RETURNED,
        amount=Money(Decimal(ret.entry.number_in("amount")).scaleb(-2), "USD"),
        reason_code=reason.code,
        reason=reason.title,
        action=reason.action,
    )


def read_returns(content: bytes) -> list[DebitReturn]:
    """The returned debits in a NACHA return file, in file order.

    The file is refused whole, with every problem found and its position, when anything is
    off: a record's length, characters or type, the order of records, an entry without its
    return addenda, a control record whose counts, hash or totals do not match, the padding,
    a debit returned twice. Problems in the records are reported before their totals are
    checked, since a broken record would make every total after it wrong as well.
    """
    if not content.strip():
        raise ValidationError.single("file", "is empty")
    lines = _lines(content)
    end = next((n for n, line in enumerate(lines, 1) if line.startswith(b"9")), None)
    records: list[_Record] = []
    errors: list[FieldError] = []
    for number, line in enumerate(lines[:end], 1):
        parsed = _record_or_errors(number, line)
        if isinstance(parsed, list):
            errors += parsed
        else:
            records.append(parsed)
            errors += _record_errors(parsed)
    if not errors:
        # A line that is no record would put every record after it out of order.
        errors += _order_errors(records)
    if end is None:
        errors.append(FieldError("file", "ends without a file control record (type 9)"))
    else:
        errors += _padding_errors(lines, end)
    if errors:
        raise ValidationError(errors)
    batches = list(_batches(records))
    returns = [ret for batch in batches for ret in batch.returns]
    errors += [error for batch in batches for error in _batch_errors(batch)]
    errors += _file_errors(records[-1], len(lines), batches)
    errors += _duplicate_errors(returns)
    if errors:
        raise ValidationError(errors)
    return [_debit_return(ret) for ret in returns]
