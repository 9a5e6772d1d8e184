"""PDFs for tests of signature providers: small, real documents that a PDF library can open
and sign, unlike a few bytes that merely start with ``%PDF``."""

from __future__ import annotations

import io

import pypdf

__all__ = ["sample_pdf"]


def sample_pdf(title: str = "Finance lease contract C-1") -> bytes:
    """A one-page A4 PDF whose document information gives *title*."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
