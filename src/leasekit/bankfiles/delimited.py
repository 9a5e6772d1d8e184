"""Delimited bank files: one debit per line out, one result per line in.

Many banks take direct debits as a plain CSV file and answer with another. The debit file's
columns, their headers and order, the delimiter and the decimal separator differ by bank and
are set with :class:`Columns`; the result file has a fixed header::

    item_id,batch_id,status,amount,currency,reason_code,reason

in any column order (unknown columns are ignored); values are stripped of surrounding blanks,
and the case of ``status`` and ``currency`` does not matter. ``status`` is ``collected`` or
``returned``; a returned debit needs a reason code, either a SEPA reason (``AM04``, see
:data:`leasekit.bankfiles.sepa.RETURN_REASONS`) or a NACHA return code (``R01``,
:data:`NACHA_RETURN_REASONS`), which decides its :class:`~leasekit.ports.bank.ReturnAction`;
an unknown code is read with the action ``NOTIFY``. An empty ``reason`` is filled with the
code's title.

Files are UTF-8 (a byte-order mark is accepted) and written with the :mod:`csv` module's
quoting, so a delimiter, quote or line break inside a value survives. Amounts are exact decimal
text with at most the currency's minor unit of decimals; ``1e3``, ``-5``, ``12,3x`` and
``0.001`` dollars are refused, never rounded. A malformed result file is refused whole, with
every problem named by its place (``line 4, column amount``; ``line 4`` for a line as a whole).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final

import attrs

from leasekit.bankfiles.sepa import RETURN_REASONS
from leasekit.errors import AmountError, FieldError, ValidationError
from leasekit.money import Currency, Money, currency
from leasekit.ports.bank import (
    DebitBatch,
    DebitItem,
    DebitOutcome,
    DebitReturn,
    ReturnAction,
    debit_items,
    whole,
)

__all__ = [
    "DEBIT_FIELDS",
    "DEFAULT_COLUMNS",
    "NACHA_RETURN_REASONS",
    "RESULT_COLUMNS",
    "Columns",
    "debit_file",
    "read_results",
    "reason_action",
    "result_file",
]

DEBIT_FIELDS: Final = (
    "item_id",
    "collection_date",
    "debtor_name",
    "debtor_account",
    "debtor_agent",
    "amount",
    "currency",
    "mandate_reference",
    "remittance",
)
"""What a debit file can hold, in the default order."""
_REQUIRED_FIELDS: Final = ("item_id", "debtor_account", "amount")
RESULT_COLUMNS: Final = (
    "item_id",
    "batch_id",
    "status",
    "amount",
    "currency",
    "reason_code",
    "reason",
)

_RETRY, _STOP, _NOTIFY = ReturnAction.RETRY, ReturnAction.STOP_MANDATE, ReturnAction.NOTIFY

NACHA_RETURN_REASONS: Final[Mapping[str, tuple[str, ReturnAction]]] = {
    "R01": ("Insufficient funds", _RETRY),
    "R02": ("Account closed", _STOP),
    "R03": ("No account / unable to locate account", _STOP),
    "R04": ("Invalid account number", _STOP),
    "R05": ("Unauthorized debit to consumer account using corporate SEC code", _STOP),
    "R06": ("Returned per ODFI's request", _NOTIFY),
    "R07": ("Authorization revoked by customer", _STOP),
    "R08": ("Payment stopped", _NOTIFY),
    "R09": ("Uncollected funds", _RETRY),
    "R10": ("Customer advises originator is not known and/or not authorized", _STOP),
    "R11": ("Entry not in accordance with the terms of the authorization", _NOTIFY),
    "R12": ("Account sold to another DFI", _NOTIFY),
    "R14": ("Representative payee deceased", _STOP),
    "R15": ("Beneficiary or account holder deceased", _STOP),
    "R16": ("Account frozen / entry returned per OFAC instruction", _STOP),
    "R20": ("Non-transaction account", _STOP),
    "R29": ("Corporate customer advises not authorized", _STOP),
}  # fmt: skip
"""A small table of NACHA return codes: insufficient or uncollected funds are tried again;
accounts closed, missing, invalid, frozen or not for transactions, deceased holders and
unauthorized or revoked debits end the mandate; the rest go to a person."""

_AMOUNT: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
_MAX_DIGITS: Final = 18
"""Digits before the decimal point an amount may have (as ISO 20022 amounts)."""
_STATUSES: Final = {"collected": DebitOutcome.COLLECTED, "returned": DebitOutcome.RETURNED}


def reason_action(code: str) -> tuple[str | None, ReturnAction]:
    """The title and action of a SEPA or NACHA reason *code*; unknown: no title, ``NOTIFY``."""
    known = RETURN_REASONS.get(code) or NACHA_RETURN_REASONS.get(code)
    return (known[0], known[1]) if known else (None, ReturnAction.NOTIFY)


# --- the debit file ---------------------------------------------------------------------------


def _fields(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _headers(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    return tuple((str(field), str(header)) for field, header in pairs)


@attrs.frozen
class Columns:
    """How a bank wants its debit file: which fields in which order, under which headers, with
    which delimiter and decimal separator.

    >>> Columns(fields=("item_id", "debtor_account", "amount"), headers={"amount": "Betrag"},
    ...         delimiter=";", decimal_separator=",").header("amount")
    'Betrag'
    """

    fields: tuple[str, ...] = attrs.field(default=DEBIT_FIELDS, converter=_fields)
    """Names from :data:`DEBIT_FIELDS`, each at most once; ``item_id``, ``debtor_account``
    and ``amount`` are required."""
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_headers)
    """Header text by field (a mapping or pairs); a field not named here is headed by its name."""
    delimiter: str = ","
    decimal_separator: str = "."

    def __attrs_post_init__(self) -> None:
        errors = []
        for field in self.fields:
            if field not in DEBIT_FIELDS:
                errors.append(FieldError("fields", f"{field!r} is not one of {DEBIT_FIELDS}"))
        repeated = sorted({field for field in self.fields if self.fields.count(field) > 1})
        if repeated:
            errors.append(FieldError("fields", f"{', '.join(repeated)} repeat"))
        for field in _REQUIRED_FIELDS:
            if field not in self.fields:
                errors.append(FieldError("fields", f"{field!r} is required"))
        for field, header in self.headers:
            if field not in DEBIT_FIELDS:
                errors.append(FieldError(f"headers.{field}", "is not a field of a debit file"))
            elif not header.strip():
                errors.append(FieldError(f"headers.{field}", "is empty"))
        names = [self.header(field) for field in self.fields]
        if len(set(names)) != len(names) and not repeated:
            errors.append(FieldError("headers", "two columns have the same header"))
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n' or self.delimiter.isalnum():
            errors.append(FieldError("delimiter", f"{self.delimiter!r} cannot separate fields"))
        if self.decimal_separator not in (".", ","):
            errors.append(FieldError("decimal_separator", "is '.' or ','"))
        elif self.decimal_separator == self.delimiter:
            errors.append(FieldError("decimal_separator", "is the delimiter too"))
        if errors:
            raise ValidationError(errors)

    def header(self, field: str) -> str:
        """The header of *field*'s column."""
        return dict(self.headers).get(field, field)


DEFAULT_COLUMNS: Final = Columns()
"""Every field of :data:`DEBIT_FIELDS`, headed by its name, comma-separated, decimal point."""


def _amount_text(amount: Money, where: str) -> str:
    if not amount.is_quantized:
        raise ValidationError.single(
            where, f"{amount} has more decimal places than {amount.currency.code} allows"
        )
    return str(amount.amount.quantize(amount.currency.quantum))


def _value(batch: DebitBatch, item: DebitItem, index: int, field: str, columns: Columns) -> str:
    if field == "collection_date":
        return batch.collection_date.isoformat()
    if field == "amount":
        text = _amount_text(item.amount, f"items.{index}.amount")
        return text.replace(".", columns.decimal_separator)
    if field == "currency":
        return item.amount.currency.code
    value: str = getattr(item, field)
    return value


def _csv(rows: Iterable[Iterable[str]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


CHUNK_LINES: Final = 10_000
"""Lines per chunk of a debit file handed to the caller."""


def debit_file(batch: DebitBatch, *, columns: Columns = DEFAULT_COLUMNS) -> Iterator[bytes]:
    """*batch* as a delimited file in chunks: a header line, then one line per debit, in UTF-8.

    The items are read once, as the chunks are asked for; an item the file cannot carry is
    refused naming its field (``items.3.amount``) when its turn comes."""
    yield _csv([[columns.header(field) for field in columns.fields]], columns.delimiter)
    rows: list[list[str]] = []
    for index, item in debit_items(batch):
        rows.append([_value(batch, item, index, field, columns) for field in columns.fields])
        if len(rows) == CHUNK_LINES:
            yield _csv(rows, columns.delimiter)
            rows = []
    yield _csv(rows, columns.delimiter)


# --- results ----------------------------------------------------------------------------------


def result_file(batch: DebitBatch, returned: Mapping[str, str]) -> bytes:
    """The results a bank sends for *batch*: the items in *returned* (item id → reason code)
    returned, the others collected."""
    batch = whole(batch)
    ids = {item.item_id for item in batch.items}
    errors = [
        FieldError(f"returned.{item_id}", "is not an item of the batch")
        for item_id in returned
        if item_id not in ids
    ]
    errors += [
        FieldError(f"returned.{item_id}", "needs a reason code")
        for item_id, code in returned.items()
        if not code.strip()
    ]
    rows = [list(RESULT_COLUMNS)]
    for index, item in enumerate(batch.items):
        code = returned.get(item.item_id)
        try:
            amount = _amount_text(item.amount, f"items.{index}.amount")
        except ValidationError as exc:
            errors.extend(exc.errors)
            continue
        status = "collected" if code is None else "returned"
        reason = "" if code is None else reason_action(code)[0] or ""
        ccy = item.amount.currency.code
        rows.append([item.item_id, batch.batch_id, status, amount, ccy, code or "", reason])
    if errors:
        raise ValidationError(errors)
    return _csv(rows)


def _decode(content: bytes) -> str:
    body = content.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise ValidationError.single(
            f"line {line}", f"byte 0x{body[exc.start]:02x} is not UTF-8 text"
        ) from None


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """(line number where the record starts, its fields), blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError.single(f"line {reader.line_num}", f"not CSV: {exc}") from None
        if record and any(value.strip() for value in record):
            yield line, record
        line = reader.line_num + 1


def _parse_amount(text: str, unit: Currency | None) -> Money | str | None:
    """The amount in *text*, or what is wrong with it; None if it looks right but its currency
    is unknown."""
    if text.startswith("-"):
        return f"{text!r} is negative"
    if not _AMOUNT.fullmatch(text):
        return f"{text!r} is not a decimal amount"
    if len(text.partition(".")[0].lstrip("0")) > _MAX_DIGITS:
        return f"{text!r} is too large"
    if unit is None:
        return None
    amount = Money(text, unit)
    if not amount.is_quantized:
        return f"{text} has more decimal places than {unit.code} allows"
    if not amount.amount:
        return "is zero"
    return amount


def _read_row(
    line: int, values: dict[str, str], seen: dict[str, int], errors: list[FieldError]
) -> DebitReturn | None:
    count = len(errors)

    def fail(column: str, message: str) -> None:
        errors.append(FieldError(f"line {line}, column {column}", message))

    item_id = values["item_id"]
    if not item_id:
        fail("item_id", "is empty")
    elif item_id in seen:
        fail("item_id", f"{item_id!r} repeats (first on line {seen[item_id]})")
    else:
        seen[item_id] = line
    batch_id = values["batch_id"]
    if not batch_id:
        fail("batch_id", "is empty")
    outcome = _STATUSES.get(values["status"].lower())
    if outcome is None:
        fail("status", f"{values['status']!r} is not collected or returned")
    unit = None
    try:
        unit = currency(values["currency"])
    except AmountError:
        fail("currency", f"{values['currency']!r} is not a known currency")
    amount = _parse_amount(values["amount"], unit)
    if isinstance(amount, str):
        fail("amount", amount)
    code = values["reason_code"] or None
    if outcome is DebitOutcome.RETURNED and code is None:
        fail("reason_code", "a returned debit needs a reason code")
    if len(errors) > count or outcome is None or not isinstance(amount, Money):
        return None
    if outcome is DebitOutcome.COLLECTED:
        return DebitReturn(batch_id, item_id, outcome, amount, code, values["reason"] or None)
    assert code is not None
    title, action = reason_action(code)
    return DebitReturn(batch_id, item_id, outcome, amount, code, values["reason"] or title, action)


def read_results(content: bytes) -> list[DebitReturn]:
    """The results in a delimited result file (see the module's notes for its columns)."""
    text = _decode(content)
    records = iter(_records(text))
    first = next(records, None)
    if first is None:
        raise ValidationError.single("line 1", "the file is empty")
    header_line, header = first
    names = [name.strip() for name in header]
    errors = []
    for name in sorted({name for name in names if names.count(name) > 1 and name}):
        errors.append(FieldError(f"line {header_line}, column {name}", "repeats in the header"))
    for name in RESULT_COLUMNS:
        if name not in names:
            errors.append(FieldError(f"line {header_line}, column {name}", "is missing"))
    if errors:
        raise ValidationError(errors)
    positions = {name: names.index(name) for name in RESULT_COLUMNS}
    results: list[DebitReturn | None] = []
    seen: dict[str, int] = {}
    for line, record in records:
        if len(record) != len(names):
            errors.append(
                FieldError(f"line {line}", f"has {len(record)} fields; the header has {len(names)}")
            )
            continue
        values = {name: record[index].strip() for name, index in positions.items()}
        results.append(_read_row(line, values, seen, errors))
    if errors:
        raise ValidationError(errors)
    return [result for result in results if result is not None]
