"""A PDF statement built with pypdf, then changed the way editors change files."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from leasekit.domain.statement_signals import TamperingSignal
from leasekit.errors import ValidationError
from leasekit.services.statement_pdfs import inspect_pdf, pdf_facts

PRODUCED = "D:20240201060000+00'00'"


def bank_pdf() -> bytes:
    """A one-page statement as the bank's reporting system writes it."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata(
        {
            "/Producer": "Bank Core Reporting 5.2",
            "/Creator": "Statement Service",
            "/CreationDate": PRODUCED,
            "/ModDate": PRODUCED,
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def edited(original: bytes, metadata: dict[str, str]) -> bytes:
    """*original* with an incremental update appended, as an editor saves it."""
    writer = PdfWriter(io.BytesIO(original), incremental=True)
    writer.add_metadata(metadata)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def names(signals: tuple[TamperingSignal, ...]) -> list[str]:
    return [signal.name for signal in signals]


def test_the_bank_pdf_is_clean() -> None:
    content = bank_pdf()
    facts = pdf_facts(content)
    assert (facts.eof_markers, facts.xref_sections) == (1, 1)
    assert facts.producer == "Bank Core Reporting 5.2"
    assert facts.created == datetime(2024, 2, 1, 6, 0, tzinfo=UTC)
    assert inspect_pdf(content) == ()


def test_an_edited_pdf_shows_every_trace() -> None:
    content = edited(
        bank_pdf(),
        {"/Producer": "Foxit PhantomPDF 10.1", "/ModDate": "D:20240305101500+08'00'"},
    )
    assert content.startswith(bank_pdf())  # an incremental update appends
    facts = pdf_facts(content)
    assert (facts.eof_markers, facts.xref_sections) == (2, 2)
    assert PdfReader(io.BytesIO(content)).metadata is not None
    assert names(inspect_pdf(content)) == [
        "pdf_incremental_update",
        "pdf_editor",
        "pdf_modified_after_creation",
    ]


def test_an_update_that_hides_its_tool_is_still_an_update() -> None:
    content = edited(bank_pdf(), {"/Title": "Statement"})
    assert names(inspect_pdf(content)) == ["pdf_incremental_update"]


def test_the_editors_are_configurable() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(bank_pdf()))  # saved whole, not appended to
    writer.add_metadata({"/Creator": "Sejda PDF Desktop"})
    out = io.BytesIO()
    writer.write(out)
    assert names(inspect_pdf(out.getvalue())) == ["pdf_editor"]
    assert inspect_pdf(out.getvalue(), editors=["Photoshop"]) == ()


def test_not_a_pdf() -> None:
    with pytest.raises(ValidationError, match="not a PDF"):
        pdf_facts(b"date,amount\n")
    with pytest.raises(ValidationError, match="not a readable PDF"):
        pdf_facts(b"%PDF-1.7\n garbage")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_damaged_pdf_is_inspected_or_refused_with_a_validation_error(
    data: st.DataObject,
) -> None:
    content = bytearray(edited(bank_pdf(), {"/Producer": "Smallpdf"}))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(5, len(content) - 1))
        if data.draw(st.booleans()):
            del content[at : at + data.draw(st.integers(1, 40))]
        else:
            content[at] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ValidationError):
        inspect_pdf(bytes(content))
