"""Signs that an uploaded PDF statement was edited after it was produced.

:func:`inspect_pdf` reads the facts (revisions counted in the raw bytes with the standard
library; Producer, Creator and dates from the document information with pypdf, imported only
here) and :func:`leasekit.domain.statement_signals.pdf_signals` judges them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime

from leasekit.domain.statement_signals import (
    DEFAULT_PDF_EDITORS,
    PdfFacts,
    TamperingSignal,
    count_pdf_revisions,
    pdf_signals,
)
from leasekit.errors import ValidationError

__all__ = ["inspect_pdf", "pdf_facts"]


def pdf_facts(content: bytes) -> PdfFacts:
    """What the tampering checks read from a PDF file; a file pypdf cannot open is a
    ValidationError."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not content.startswith(b"%PDF-"):
        raise ValidationError.single("content", "is not a PDF file (no %PDF- header)")
    eof_markers, xref_sections, linearized = count_pdf_revisions(content)
    try:
        info = PdfReader(io.BytesIO(content)).metadata
        producer = str(info.producer or "") if info else ""
        creator = str(info.creator or "") if info else ""
        created = _date(info, "creation_date")
        modified = _date(info, "modification_date")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValidationError.single("content", f"is not a readable PDF: {exc}") from None
    return PdfFacts(eof_markers, xref_sections, linearized, producer, creator, created, modified)


def _date(info: object, name: str) -> datetime | None:
    """A date of the document information; one written in no format pypdf knows is absent."""
    if info is None:
        return None
    try:
        value = getattr(info, name)
    except ValueError:
        return None
    return value if isinstance(value, datetime) else None


def inspect_pdf(
    content: bytes, editors: Iterable[str] = DEFAULT_PDF_EDITORS
) -> tuple[TamperingSignal, ...]:
    """The tampering signals of a PDF statement (see
    :func:`~leasekit.domain.statement_signals.pdf_signals`)."""
    return pdf_signals(pdf_facts(content), editors)
