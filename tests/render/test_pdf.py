"""The rendered contract: its text, its pages, its fonts and its repeatable bytes."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import attrs
import pypdf
import pytest

from leasekit.domain.business import BusinessType
from leasekit.domain.contract_documents import ContractDocument, DocumentParty
from leasekit.errors import ConfigurationError
from leasekit.render import load_template, render_contract_pdf
from leasekit.render.formatting import amount_text

DocumentFactory = Callable[..., ContractDocument]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CHINESE_TITLES = {
    BusinessType.LOAN: "汽车贷款合同",
    BusinessType.FINANCE_LEASE: "汽车融资租赁合同",
    BusinessType.SALE_LEASEBACK: "汽车售后回租合同",
    BusinessType.OPERATING_LEASE: "汽车经营租赁合同",
}


def _render(document: ContractDocument, **options: str) -> bytes:
    template = load_template(document.business_type, document.language)
    return render_contract_pdf(document, template, **options)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _fonts(pdf: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("business_type", list(BusinessType))
def test_every_packaged_template_renders_the_contract(
    make_document: DocumentFactory, business_type: BusinessType, language: str
) -> None:
    document = make_document(business_type, language, months=12)
    text = "".join(_pages(_render(document)))

    assert document.number in text
    assert "{" not in text, "a placeholder was left unfilled"
    for party in document.parties:
        assert party.name in text
    assert "6.87%" in text
    assert "19,703.04" in text
    if language == "zh":
        assert CHINESE_TITLES[business_type] in text


def test_every_schedule_row_is_printed_with_its_amounts(document: ContractDocument) -> None:
    text = "\n".join(_pages(_render(document)))

    for line in document.schedule:
        amounts = (line.payment, line.principal, line.interest, line.fee, line.balance)
        cells = [str(line.number), line.due_date.isoformat()]
        cells += [amount_text(value, "USD") for value in amounts]
        assert "\n".join(cells) in text


def test_an_84_month_schedule_spans_pages_and_repeats_its_header(
    document: ContractDocument,
) -> None:
    pages = _pages(_render(document))
    with_rows = [page for page in pages if re.search(r"\n\d+\n20\d\d-\d\d-15\n", page)]

    assert len(with_rows) >= 2
    header = "\n".join(["No.", "Due date", "Payment", "Principal", "Interest", "Fee", "Balance"])
    assert all(header in page for page in with_rows)


def test_the_reg_z_box_has_its_four_figures_and_descriptions(document: ContractDocument) -> None:
    text = " ".join(_pages(_render(document))).replace("\n", " ")

    for label, figure in [
        ("ANNUAL PERCENTAGE RATE", "6.87%"),
        ("FINANCE CHARGE", "USD 19,703.04"),
        ("Amount Financed", "USD 83,550.00"),
        ("Total of Payments", "USD 103,703.04"),
    ]:
        assert label in text
        assert figure in text
    assert "The cost of your credit as a yearly rate." in text
    assert "Standard European" not in text


def test_the_eu_box_has_the_secci_figures(make_document: DocumentFactory) -> None:
    text = " ".join(_pages(_render(make_document(apr_convention="eu")))).replace("\n", " ")

    for label in ("Total amount of credit", "Borrowing rate", "(APRC)", "Total amount payable"):
        assert label in text
    assert "6.50%" in text
    assert "FINANCE CHARGE" not in text


def test_rendering_twice_gives_the_same_bytes(document: ContractDocument) -> None:
    first, second = _render(document), _render(document)

    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def test_the_pdf_is_dated_the_day_the_contract_was_issued(document: ContractDocument) -> None:
    metadata = pypdf.PdfReader(io.BytesIO(_render(document))).metadata

    assert metadata is not None
    assert metadata["/CreationDate"].startswith("D:20261204")


def test_a_different_contract_renders_different_bytes(document: ContractDocument) -> None:
    other = attrs.evolve(document, number="FL-2026-000124")
    assert _render(document) != _render(other)


def test_chinese_uses_the_builtin_cid_font_without_embedding_it(
    make_document: DocumentFactory,
) -> None:
    pdf = _render(make_document(language="zh", months=6))
    assert _fonts(pdf) == {"/STSong-Light"}


def test_latin_text_uses_helvetica(document: ContractDocument) -> None:
    assert _fonts(_render(document)) == {"/Helvetica", "/Helvetica-Bold"}


def test_an_english_contract_with_a_chinese_name_falls_back_to_the_cjk_font(
    document: ContractDocument,
) -> None:
    document = attrs.evolve(document, parties=(DocumentParty("lessee", "王小明", None),))
    pdf = _render(document)

    assert "王小明" in "".join(_pages(pdf))
    assert _fonts(pdf) == {"/STSong-Light"}


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu Sans is not installed")
def test_a_truetype_file_is_embedded(make_document: DocumentFactory) -> None:
    pdf = _render(make_document(language="zh", months=6), cjk_font=str(DEJAVU))

    assert any(font.endswith("DejaVuSans") for font in _fonts(pdf))
    assert "FL-2026-000123" in "".join(_pages(pdf))
    assert pdf == _render(make_document(language="zh", months=6), cjk_font=str(DEJAVU))


def test_an_unknown_cid_font_is_a_configuration_error(make_document: DocumentFactory) -> None:
    with pytest.raises(ConfigurationError, match="STSong-Light"):
        _render(make_document(language="zh", months=6), cjk_font="NoSuchFont-Light")


def test_a_missing_font_file_is_a_configuration_error(
    make_document: DocumentFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.ttf"
    with pytest.raises(ConfigurationError, match=r"missing\.ttf"):
        _render(make_document(language="zh", months=6), cjk_font=str(missing))


def test_a_template_for_another_business_type_is_refused(document: ContractDocument) -> None:
    loan_wording = load_template(BusinessType.LOAN, "en")
    with pytest.raises(ConfigurationError, match="FL-2026-000123 is finance_lease"):
        render_contract_pdf(document, loan_wording)


def test_markup_characters_in_names_are_printed_as_written(document: ContractDocument) -> None:
    document = attrs.evolve(document, dealer="Smith & Sons <Motors>")
    assert "Smith & Sons <Motors>" in "".join(_pages(_render(document)))


def test_a_draft_without_signers_renders_without_signature_lines(
    document: ContractDocument,
) -> None:
    text = "".join(_pages(_render(attrs.evolve(document, signers=()))))
    assert "Signatures" not in text
