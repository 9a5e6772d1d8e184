"""A contract as PDF bytes, laid out with ReportLab's platypus.

Why ReportLab: it installs from a pure-Python wheel, and it carries the Adobe Asian CID fonts
(``STSong-Light`` for simplified Chinese) as metrics only. A CID font is not embedded: every
PDF reader ships the glyphs, so a Chinese contract renders on a machine with no Chinese font
installed and stays small. fpdf2, the other pure-Python choice, needs a TTF file for any
character outside Latin-1, which a fresh server does not have. A deployer who wants a font
embedded (an archive format, or a house font) passes ``cjk_font`` as the path of a TrueType
file instead; OpenType files with CFF outlines are not supported by ReportLab.

A contract whose every text (the template's and the document's) fits Helvetica's WinAnsi
character set uses the standard Helvetica, which needs no font at all; any other, such as a
Chinese template or a Chinese name on an English contract, uses the CJK font throughout (its
Latin glyphs are complete).

The output is deterministic: ReportLab's invariant mode fixes its timestamp and derives the
file identifier from the content, and the creation date printed in the PDF is ``issued_on``.
The same contract therefore renders to the same bytes, so its SHA-256 can be recorded with the
document (:class:`~leasekit.domain.documents.Document`). The bytes are those of one ReportLab
release and one environment: ReportLab seeds the file identifier with ``SOURCE_DATE_EPOCH``
when it is set (the reproducible-builds convention), so machines that compare renders should
agree on it, or leave it unset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from io import BytesIO
from itertools import chain
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

import attrs
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from leasekit.domain.contract_documents import ContractDocument
from leasekit.errors import ConfigurationError
from leasekit.render.formatting import amount_text, date_text, percent_text
from leasekit.render.templates import ContractTemplate, DisclosureBox, fill

__all__ = ["DEFAULT_CJK_FONT", "render_contract_pdf"]

DEFAULT_CJK_FONT: Final = "STSong-Light"
"""Adobe's simplified Chinese CID font: known to every PDF reader, nothing to install."""
_LATIN: Final = ("Helvetica", "Helvetica-Bold")
_MARGIN: Final = 18 * mm
_GRID: Final = colors.Color(0.6, 0.6, 0.6)
_SHADE: Final = colors.Color(0.92, 0.92, 0.92)
_CONSPICUOUS: Final = frozenset({"apr", "finance_charge"})
"""Disclosure items set apart from the others in their box."""
_PLAIN: Final = frozenset({"annual_rate", "term_months"})
"""Terms printed without the currency code."""


@attrs.frozen
class _Styles:
    """The paragraph styles of one document, in its fonts."""

    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    figure: ParagraphStyle
    regular_font: str
    bold_font: str


def render_contract_pdf(
    document: ContractDocument, template: ContractTemplate, *, cjk_font: str = DEFAULT_CJK_FONT
) -> bytes:
    """The contract *document* in the wording of *template*, as PDF bytes.

    *cjk_font* is a built-in CID font name or the path of a TrueType file; it is used when the
    document is not Latin-only (see the module's docstring). A template written for another
    business type or language than the document's is refused, since printing a lease on a
    loan's wording is a mistake no reader would catch.
    """
    _check_matches(document, template)
    fonts = _fonts(document, template, cjk_font)
    styles = _styles(fonts, cjk=fonts != _LATIN)
    buffer = BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=fill(template.title, document),
        subject=document.number,
        author=document.company,
        creator="leasekit",
        initialFontName=styles.regular_font,
        invariant=True,
    )
    decorate = _page_decorator(document, template, styles)
    pdf.build(_story(document, template, styles), onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _check_matches(document: ContractDocument, template: ContractTemplate) -> None:
    if (template.business_type, template.language) != (document.business_type, document.language):
        raise ConfigurationError(
            f"contract template {template.source} is for {template.business_type.value} in "
            f"{template.language!r}; contract {document.number} is {document.business_type.value}"
            f" in {document.language!r}"
        )


def _fonts(
    document: ContractDocument, template: ContractTemplate, cjk_font: str
) -> tuple[str, str]:
    """The regular and bold font names: Helvetica when every text fits it, else the CJK font.

    The choice is made from the texts, not the language, so a Chinese name on an English
    contract prints, and a deployer's template in another Latin-script language keeps
    Helvetica.
    """
    texts = chain(_document_texts(document), _template_texts(template))
    if all(_fits_latin(text) for text in texts):
        return _LATIN
    name = _register(cjk_font)
    return name, name


def _fits_latin(text: str) -> bool:
    """Whether Helvetica's WinAnsi encoding (cp1252) can write *text*."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _document_texts(document: ContractDocument) -> Iterable[str]:
    yield from (document.company, document.dealer, document.number, *document.signers)
    yield from (document.vehicle.make, document.vehicle.model)
    for party in document.parties:
        yield from (party.name, party.id_number or "")
    yield from (fee.name for fee in document.fees)


def _template_texts(template: ContractTemplate) -> Iterable[str]:
    yield from (template.title, *template.clauses)
    for section in (template.labels, template.roles, template.schedule_columns):
        yield from section.values()
    for box in template.disclosures.values():
        yield box.heading
        for item in box.items:
            yield from (item.label, item.description)


def _register(cjk_font: str) -> str:
    """Register *cjk_font* with ReportLab once and return the name to set text in.

    A name ending in ``.ttf``/``.otf``/``.ttc`` or containing a path separator is a file to
    embed; its registered name carries a digest of the path, so two files never collide.
    """
    if _is_font_file(cjk_font):
        name = "leasekit-" + hashlib.sha256(cjk_font.encode()).hexdigest()[:12]
        if name not in _registered():
            try:
                pdfmetrics.registerFont(TTFont(name, cjk_font))
            except (OSError, TTFError) as exc:
                raise ConfigurationError(f"cannot use font file {cjk_font}: {exc}") from None
        return name
    if cjk_font not in _registered():
        try:
            pdfmetrics.registerFont(UnicodeCIDFont(cjk_font))
        except KeyError:
            raise ConfigurationError(
                f"{cjk_font!r} is neither a font file nor a built-in CID font "
                f"(for simplified Chinese use {DEFAULT_CJK_FONT!r})"
            ) from None
    return cjk_font


def _registered() -> list[str]:
    """The fonts ReportLab knows now (its registry is process-wide)."""
    return list(pdfmetrics.getRegisteredFontNames())


def _is_font_file(cjk_font: str) -> bool:
    path = Path(cjk_font)
    return path.suffix.lower() in {".ttf", ".otf", ".ttc"} or len(path.parts) > 1


def _styles(fonts: tuple[str, str], *, cjk: bool) -> _Styles:
    """Styles in *fonts*; Chinese text wraps between any two characters (``wordWrap='CJK'``)."""
    regular, bold = fonts
    wrap = "CJK" if cjk else None
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12.5, wordWrap=wrap)
    return _Styles(
        title=ParagraphStyle(
            "title", fontName=bold, fontSize=16, leading=20, alignment=TA_CENTER, spaceAfter=4
        ),
        heading=ParagraphStyle(
            "heading", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4
        ),
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        cell=ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11),
        figure=ParagraphStyle("figure", parent=body, fontName=bold, fontSize=11, leading=14),
        regular_font=regular,
        bold_font=bold,
    )


def _text(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: ReportLab reads markup, so ``&`` and ``<`` are escaped."""
    return Paragraph(escape(text), style)


def _story(
    document: ContractDocument, template: ContractTemplate, styles: _Styles
) -> list[Flowable]:
    """The contract from top to bottom; the schedule may run over several pages."""
    labels = template.labels
    return [
        _text(fill(template.title, document), styles.title),
        _header(document, template, styles),
        _text(labels["parties"], styles.heading),
        _parties(document, template, styles),
        _text(labels["vehicle"], styles.heading),
        _vehicle(document, template, styles),
        _disclosure_box(
            document, template.disclosures[document.disclosures.apr_convention], styles
        ),
        _text(labels["terms"], styles.heading),
        _terms(document, template, styles),
        *_fees(document, template, styles),
        _text(labels["schedule"], styles.heading),
        _schedule(document, template, styles),
        _text(labels["clauses"], styles.heading),
        *_clauses(document, template, styles),
        *_signatures(document, template, styles),
    ]


def _grid(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    styles: _Styles,
    *,
    header: bool = False,
    right_from: int | None = None,
) -> Table:
    """A ruled table; *header* shades and repeats the first row, *right_from* right-aligns."""
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), styles.regular_font, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        commands += [
            ("FONT", (0, 0), (-1, 0), styles.bold_font, 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
        ]
    if right_from is not None:
        commands.append(("ALIGN", (right_from, 0), (-1, -1), "RIGHT"))
    cells = [list(row) for row in rows]
    return Table(cells, colWidths=widths, style=TableStyle(commands), repeatRows=1 if header else 0)


def _width(*fractions: float) -> list[float]:
    """Column widths as fractions of the text width."""
    return [fraction * (A4[0] - 2 * _MARGIN) for fraction in fractions]


def _header(document: ContractDocument, template: ContractTemplate, styles: _Styles) -> Table:
    labels = template.labels
    rows: list[list[object]] = [
        [labels["number"], document.number, labels["issued_on"], date_text(document.issued_on)],
        [
            labels["company"],
            _text(document.company, styles.cell),
            labels["dealer"],
            _text(document.dealer, styles.cell),
        ],
    ]
    return _grid(rows, _width(0.15, 0.35, 0.15, 0.35), styles)


def _parties(document: ContractDocument, template: ContractTemplate, styles: _Styles) -> Table:
    labels = template.labels
    rows: list[list[object]] = [["", labels["name"], labels["id_number"]]]
    rows += [
        [template.roles[party.role], _text(party.name, styles.cell), party.id_number or "-"]
        for party in document.parties
    ]
    return _grid(rows, _width(0.2, 0.45, 0.35), styles, header=True)


def _vehicle(document: ContractDocument, template: ContractTemplate, styles: _Styles) -> Table:
    labels, vehicle = template.labels, document.vehicle
    rows: list[list[object]] = [
        [labels["make"], labels["model"], labels["year"], labels["vin"]],
        [
            _text(vehicle.make, styles.cell),
            _text(vehicle.model, styles.cell),
            str(vehicle.year),
            vehicle.vin,
        ],
    ]
    return _grid(rows, _width(0.22, 0.3, 0.13, 0.35), styles, header=True)


def _disclosure_figures(document: ContractDocument) -> dict[str, str]:
    """The figure of each disclosure item; the EU borrowing rate is the contract's own rate."""
    disclosures, code = document.disclosures, document.currency
    return {
        "apr": percent_text(disclosures.apr),
        "borrowing_rate": percent_text(document.terms.annual_rate),
        "finance_charge": f"{code} {amount_text(disclosures.finance_charge, code)}",
        "amount_financed": f"{code} {amount_text(disclosures.amount_financed, code)}",
        "total_of_payments": f"{code} {amount_text(disclosures.total_of_payments, code)}",
    }


def _disclosure_box(
    document: ContractDocument, box: DisclosureBox, styles: _Styles
) -> KeepTogether:
    """The box the rules want set apart: one column per figure, label over description over
    figure, in a heavy frame. Regulation Z §1026.17(a)(2) wants the APR and the finance charge
    more conspicuous than the other disclosures, so their columns are shaded (the EU APRC is
    shaded too, the figure the SECCI is built around)."""
    figures = _disclosure_figures(document)
    cells = [
        [
            _text(item.label, styles.heading),
            _text(item.description, styles.small),
            _text(figures[item.key], styles.figure),
        ]
        for item in box.items
    ]
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), styles.regular_font),
        ("BOX", (0, 0), (-1, -1), 1.5, colors.black),
        ("INNERGRID", (0, 0), (-1, -1), 0.75, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    commands += [
        ("BACKGROUND", (column, 0), (column, 0), _SHADE)
        for column, item in enumerate(box.items)
        if item.key in _CONSPICUOUS
    ]
    share = 1 / len(cells)
    table = Table([cells], colWidths=_width(*[share] * len(cells)), style=TableStyle(commands))
    return KeepTogether([_text(box.heading, styles.heading), table])


def _terms(document: ContractDocument, template: ContractTemplate, styles: _Styles) -> Table:
    labels, terms, code = template.labels, document.terms, document.currency
    pairs = [
        ("vehicle_price", amount_text(terms.vehicle_price, code)),
        ("down_payment", amount_text(terms.down_payment, code)),
        ("principal", amount_text(terms.principal, code)),
        ("annual_rate", percent_text(terms.annual_rate)),
        ("term_months", str(terms.term_months)),
        ("residual_value", amount_text(terms.residual_value, code)),
        ("installment", amount_text(terms.installment, code)),
    ]
    rows = [
        [labels[key], f"{code} {value}" if key not in _PLAIN else value] for key, value in pairs
    ]
    return _grid(rows, _width(0.4, 0.6), styles)


def _fees(
    document: ContractDocument, template: ContractTemplate, styles: _Styles
) -> list[Flowable]:
    """The fee table, or nothing when the contract has no fee."""
    if not document.fees:
        return []
    labels, code = template.labels, document.currency
    rows: list[list[object]] = [[labels["fee"], f"{labels['amount']} ({code})", ""]]
    rows += [
        [
            _text(fee.name, styles.cell),
            amount_text(fee.amount, code),
            labels["financed"] if fee.financed else labels["paid_at_signing"],
        ]
        for fee in document.fees
    ]
    table = _grid(rows, _width(0.5, 0.25, 0.25), styles, header=True)
    return [_text(labels["fees"], styles.heading), table]


def _schedule(document: ContractDocument, template: ContractTemplate, styles: _Styles) -> Table:
    """Every installment; the header row repeats on each page the table runs onto."""
    columns, code = template.schedule_columns, document.currency
    rows: list[list[object]] = [[columns[key] for key in columns]]
    rows += [
        [
            str(line.number),
            date_text(line.due_date),
            *(
                amount_text(value, code)
                for value in (line.payment, line.principal, line.interest, line.fee, line.balance)
            ),
        ]
        for line in document.schedule
    ]
    widths = _width(0.07, 0.15, 0.16, 0.16, 0.14, 0.12, 0.2)
    return _grid(rows, widths, styles, header=True, right_from=2)


def _clauses(
    document: ContractDocument, template: ContractTemplate, styles: _Styles
) -> list[Flowable]:
    return [
        _text(f"{number}. {fill(clause, document)}", styles.body)
        for number, clause in enumerate(template.clauses, start=1)
    ]


def _signatures(
    document: ContractDocument, template: ContractTemplate, styles: _Styles
) -> list[Flowable]:
    """A line to sign and a line to date for each signer, kept on one page (nothing for a
    draft that names no signer yet)."""
    if not document.signers:
        return []
    labels = template.labels
    rows = [
        [_text(signer, styles.cell), labels["signature"], "", labels["date"], ""]
        for signer in document.signers
    ]
    table = Table(
        rows,
        colWidths=_width(0.3, 0.12, 0.3, 0.08, 0.2),
        rowHeights=[12 * mm] * len(rows),
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), styles.regular_font, 8.5),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (2, 0), (2, -1), 0.6, colors.black),
                ("LINEBELOW", (4, 0), (4, -1), 0.6, colors.black),
            ]
        ),
    )
    heading = _text(labels["signatures"], styles.heading)
    return [KeepTogether([Spacer(1, 4 * mm), heading, table])]


def _page_decorator(
    document: ContractDocument, template: ContractTemplate, styles: _Styles
) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Draws the footer (number and page) and dates the file ``issued_on``.

    ReportLab's invariant mode stamps 2000-01-01 (or ``SOURCE_DATE_EPOCH``); the date
    formatter replaces that stamp with the contract's own date.
    """
    stamp = f"D:{document.issued_on:%Y%m%d}000000+00'00'"

    def decorate(canvas: Canvas, pdf: SimpleDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_: stamp)
        canvas.saveState()
        canvas.setFont(styles.regular_font, 7.5)
        footer = f"{document.number}    {template.labels['page']} {canvas.getPageNumber()}"
        canvas.drawRightString(A4[0] - _MARGIN, _MARGIN / 2, footer)
        canvas.restoreState()

    return decorate
