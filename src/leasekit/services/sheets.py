"""Uploaded spreadsheets (CSV and XLSX) read as rows of text cells, refusing what is not one.

The type is found in the bytes, never taken from a name or a header: an XLSX workbook is a
ZIP archive, anything else must be CSV text in UTF-8 (with or without the byte order mark
Excel writes). A file that is neither is refused with what it seems to be (a PDF, an old
``.xls`` workbook, UTF-16 text) and how to save it instead.

Rows are numbered as a spreadsheet program shows them, from 1 (a CSV record that spans lines
inside quotes is one row, as it is on screen); blank rows keep their numbers but are left out.

XLSX cells are read as their stored values and **never evaluated**: a formula is refused by
row and column rather than taken at its cached value, which is missing from files a program
wrote and stale in files edited since Excel last calculated them. A number cell becomes the
shortest decimal that reads back as the stored binary number (what Excel shows at full
precision): ``2500000.1`` stays ``2500000.1``, and nothing is rounded, so the leftover of
binary arithmetic (``0.30000000000000004``) reaches the column's own check and is refused
there rather than silently rounded to cents. A whole number loses its ``.0``.

A hostile workbook cannot make reading it expensive: its archive is refused when its parts
would expand past :attr:`SheetLimits.max_expanded_bytes` (ZIP bombs), its XML is read by
expat, which refuses entity expansion attacks, and at most :data:`MAX_COLUMNS` columns and
``max_rows`` rows are read (a CSV row with values beyond the last of those columns is
refused; an XLSX sheet's cells beyond it are not read).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Final

import attrs
import filetype

from leasekit.errors import ValidationError

__all__ = [
    "CSV_MEDIA_TYPE",
    "MAX_COLUMNS",
    "XLSX_MEDIA_TYPE",
    "Sheet",
    "SheetLimits",
    "SheetRow",
    "read_sheet",
    "read_upload",
]

CSV_MEDIA_TYPE: Final = "text/csv"
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COLUMNS: Final = 64
"""Columns read from a sheet; a file of changes to partners needs far fewer."""
_ZIP: Final = b"PK\x03\x04"
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The container of Excel 97-2003 ``.xls`` workbooks."""
_UTF16: Final = (b"\xff\xfe", b"\xfe\xff")
_SAVE_AS: Final = "save it as CSV UTF-8 (comma delimited) or as an Excel workbook (.xlsx)"


@attrs.frozen
class SheetLimits:
    """How much of an uploaded sheet is read at most."""

    max_bytes: int = 5 * 1024 * 1024
    max_rows: int = 10_000
    """Rows after the header, blank ones included."""

    @property
    def max_expanded_bytes(self) -> int:
        """What an XLSX archive may expand to: XML compresses about tenfold."""
        return 10 * self.max_bytes


@attrs.frozen
class SheetRow:
    """One row that is not blank: its number, its cells as text (empty when empty), and the
    cells that hold something other than a value (a formula), by position, with why."""

    number: int
    cells: tuple[str, ...]
    refused: tuple[tuple[int, str], ...] = ()


@attrs.frozen
class Sheet:
    """The rows of a file that are not blank, the header (row 1) first."""

    rows: tuple[SheetRow, ...]


def _file_error(message: str) -> ValidationError:
    return ValidationError.single("file", message)


def read_upload(chunks: Iterable[bytes], limits: SheetLimits) -> bytes:
    """The uploaded bytes, refused as soon as they pass ``limits.max_bytes``."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > limits.max_bytes:
            raise _file_error(f"is larger than {limits.max_bytes} bytes; split it into several")
    if not data:
        raise _file_error("is empty")
    return bytes(data)


def read_sheet(data: bytes, limits: SheetLimits) -> Sheet:
    """The rows of *data*, a CSV or XLSX file; a ValidationError on ``file`` for a file that
    is neither, or that holds more than ``limits.max_rows`` rows after the header."""
    rows = _xlsx_rows(data, limits) if data.startswith(_ZIP) else _csv_rows(_csv_text(data))
    found = []
    for row in rows:
        if row.number > limits.max_rows + 1:
            raise _file_error(
                f"has more than {limits.max_rows} rows after the header (blank rows count); "
                "split it into several files"
            )
        if any(row.cells) or row.refused:
            found.append(row)
    return Sheet(tuple(found))


def _trimmed(cells: Iterable[str]) -> tuple[str, ...]:
    """*cells* without the empty ones at the end (XLSX rows come padded to the columns
    asked for, CSV rows as wide as their delimiters)."""
    texts = list(cells)
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


# --- CSV -------------------------------------------------------------------------------------


def _csv_text(data: bytes) -> str:
    """*data* decoded as UTF-8, without the byte order mark; what it seems to be otherwise."""
    if data.startswith(_OLE2):
        raise _file_error(f"is an Excel 97-2003 workbook (.xls); {_SAVE_AS}")
    if data.startswith(_UTF16):
        raise _file_error(f"is UTF-16 text; {_SAVE_AS}")
    guessed = filetype.guess_mime(data[:8192])
    if guessed is not None:
        raise _file_error(f"is {guessed} content, not CSV or XLSX; {_SAVE_AS}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        raise _file_error(
            f"is not UTF-8 text: byte 0x{data[exc.start]:02X} on line {row}; {_SAVE_AS}"
        ) from None


def _csv_rows(text: str) -> Iterator[SheetRow]:
    """Each record of *text* as a row, numbered by record: malformed quoting is refused."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    while True:
        number += 1
        try:
            record = next(reader, None)
        except csv.Error as exc:
            raise _file_error(f"row {number} is not well-formed CSV: {exc}") from None
        if record is None:
            return
        if any(record[MAX_COLUMNS:]):
            raise _file_error(f"row {number} has values beyond column {MAX_COLUMNS}")
        yield SheetRow(number, _trimmed(cell.strip() for cell in record[:MAX_COLUMNS]))


# --- XLSX ------------------------------------------------------------------------------------


def _xlsx_rows(data: bytes, limits: SheetLimits) -> list[SheetRow]:
    """The first worksheet's rows, read from the stored values only (see the module)."""
    _check_archive(data, limits)
    import openpyxl  # here: a web server or `leasekit --help` need not load it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # a hostile archive fails in many ways; each is "not a workbook"
        raise _file_error(f"is not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        sheet = workbook.worksheets[0]
        return [
            _xlsx_row(number, cells)
            for number, cells in enumerate(
                sheet.iter_rows(min_row=1, max_row=limits.max_rows + 2, max_col=MAX_COLUMNS),
                start=1,
            )
        ]
    except Exception as exc:
        raise _file_error(f"is not a readable XLSX workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()


def _check_archive(data: bytes, limits: SheetLimits) -> None:
    """Refuse an archive that is broken, or whose parts would expand past the limit (the
    sizes it declares bound what Python's zipfile will inflate)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _file_error("is a damaged ZIP archive, not a readable XLSX workbook") from None
    if expanded > limits.max_expanded_bytes:
        raise _file_error(
            f"expands to {expanded} bytes, more than the {limits.max_expanded_bytes} read"
        )


def _xlsx_row(number: int, cells: Sequence[object]) -> SheetRow:
    texts, refused = [], []
    for index, cell in enumerate(cells):
        kind, value = getattr(cell, "data_type", "n"), getattr(cell, "value", None)
        if kind == "f":
            refused.append((index, "is a formula; leasekit reads values only: paste the "
                            "values in instead (Paste Special, Values)"))  # fmt: skip
        elif kind == "e":
            refused.append((index, f"holds the error value {value}"))
        texts.append("" if kind in ("f", "e") else _xlsx_text(value))
    return SheetRow(number, _trimmed(texts), tuple(refused))


def _xlsx_text(value: object) -> str:
    """A stored cell value as the text a CSV export would hold (see the module)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()
