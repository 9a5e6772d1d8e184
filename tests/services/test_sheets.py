"""Reading uploaded CSV and XLSX files as rows of text: numbered as a spreadsheet shows them,
values never evaluated, and anything else refused with what it seems to be."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from leasekit.errors import ValidationError
from leasekit.services.sheets import SheetLimits, read_sheet, read_upload

LIMITS = SheetLimits()


def rows(data: bytes, limits: SheetLimits = LIMITS) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.number, row.cells) for row in read_sheet(data, limits).rows]


def xlsx(*cells: tuple[str, object]) -> bytes:
    workbook = openpyxl.Workbook()
    for where, value in cells:
        workbook.active[where] = value
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def refused(data: bytes, limits: SheetLimits = LIMITS) -> str:
    with pytest.raises(ValidationError) as error:
        read_sheet(data, limits)
    (fault,) = error.value.errors
    assert fault.field == "file"
    return fault.message


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    data = '\ufeffpartner_id, status\r\n\r\n,,\r\n"a\nb", active \r\nc,"say ""hi"""\r\n'
    assert rows(data.encode()) == [
        (1, ("partner_id", "status")),
        (4, ("a\nb", "active")),
        (5, ("c", 'say "hi"')),
    ]


def test_what_is_not_utf8_csv_or_xlsx_is_refused_with_what_it_seems_to_be() -> None:
    assert refused("a,b\n".encode("utf-16")).startswith("is UTF-16 text; save it as CSV UTF-8")
    assert refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)).startswith(
        "is an Excel 97-2003 workbook (.xls)"
    )
    assert refused(b"%PDF-1.7\n").startswith("is application/pdf content, not CSV or XLSX")
    assert refused(b"\x89PNG\r\n\x1a\n" + bytes(30)).startswith("is image/png content")
    assert refused(b"a,b\n1,2\n\xe9t\xe9,3\n").startswith("is not UTF-8 text: byte 0xE9 on line 3")
    assert refused(b'a,b\n"x"y,1\n').startswith("row 2 is not well-formed CSV")


def test_rows_past_the_limit_are_refused_blank_ones_counted() -> None:
    two = SheetLimits(max_rows=2)
    assert len(rows(b"a\n1\n2\n", two)) == 3
    assert refused(b"a\n1\n\n2\n", two).startswith("has more than 2 rows after the header")


def test_an_upload_is_cut_off_at_the_size_limit() -> None:
    small = SheetLimits(max_bytes=10)
    assert read_upload([b"12345", b"67890"], small) == b"1234567890"
    with pytest.raises(ValidationError, match="larger than 10 bytes"):
        read_upload(iter([b"12345", b"67890", b"1"]), small)
    with pytest.raises(ValidationError, match="is empty"):
        read_upload([], small)


def test_xlsx_cells_are_their_stored_values_as_text() -> None:
    data = xlsx(
        ("A1", "credit_limit"),
        ("B1", "flag"),
        ("A2", 2500000.1),
        ("B2", True),
        ("A3", 5000000.0),
        ("B3", dt.datetime(2026, 12, 3)),
        ("A4", 13800138000),
        ("B4", "  spaced  "),
    )
    assert rows(data) == [
        (1, ("credit_limit", "flag")),
        (2, ("2500000.1", "true")),
        (3, ("5000000", "2026-12-03")),
        (4, ("13800138000", "spaced")),
    ]


def with_stored(data: bytes, value: str, stored: str) -> bytes:
    """*data* with the number cell *value* stored as *stored*, as Excel writes a sum."""
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(patched, "w") as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(f"<v>{value}</v>".encode(), f"<v>{stored}</v>".encode())
            target.writestr(member, content)
    return patched.getvalue()


def test_a_binary_fraction_is_not_rounded_to_cents() -> None:
    """Excel stores =0.1+0.2 as 0.30000000000000004: read as that, it fails the amount's own
    check instead of becoming 0.30 unseen."""
    data = with_stored(xlsx(("A1", "x"), ("A2", 0.5)), "0.5", "0.30000000000000004")
    assert rows(data)[1] == (2, ("0.30000000000000004",))


def test_formulas_and_error_values_are_refused_by_cell() -> None:
    data = xlsx(("A1", "a"), ("B1", "b"), ("A3", "=1+1"), ("B3", "#N/A"))
    _, row = read_sheet(data, LIMITS).rows
    assert (row.number, row.cells) == (3, ())
    assert [index for index, _ in row.refused] == [0, 1]
    assert row.refused[0][1].startswith("is a formula; leasekit reads values only")
    assert row.refused[1][1] == "holds the error value #N/A"


def test_a_sheet_that_starts_lower_keeps_its_row_numbers() -> None:
    assert rows(xlsx(("A3", "partner_id"), ("A5", "x"))) == [(3, ("partner_id",)), (5, ("x",))]


def test_archives_that_are_no_workbook_or_expand_too_far_are_refused() -> None:
    assert refused(b"PK\x03\x04 not really a zip") == (
        "is a damaged ZIP archive, not a readable XLSX workbook"
    )
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refused(other.getvalue()).startswith("is not a readable XLSX workbook (")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", bytes(200_000))
    assert len(bomb.getvalue()) < 1000
    assert refused(bomb.getvalue(), SheetLimits(max_bytes=10_000)) == (
        "expands to 200000 bytes, more than the 100000 read"
    )


def test_a_csv_row_wider_than_the_columns_read_is_refused() -> None:
    assert rows(b"a" + b"," * 100 + b"\r\n") == [(1, ("a",))]
    assert refused(b"a" + b"," * 64 + b"b\r\n") == "row 1 has values beyond column 64"
