"""Printed documents: a contract rendered as PDF from a template per business type and language.

This is an edge: it reads template files and uses a PDF library, and nothing in the core
imports it. The facts come from :class:`~leasekit.domain.contract_documents.ContractDocument`;
the wording from a :class:`ContractTemplate` (:func:`load_template`); the layout from
:func:`render_contract_pdf`.
"""

from __future__ import annotations

import functools
from pathlib import Path

from leasekit.domain.contract_documents import ContractDocument, ContractRenderer
from leasekit.render.pdf import DEFAULT_CJK_FONT, render_contract_pdf
from leasekit.render.templates import (
    PLACEHOLDERS,
    ContractTemplate,
    DisclosureBox,
    DisclosureItem,
    load_template,
)

__all__ = [
    "DEFAULT_CJK_FONT",
    "PLACEHOLDERS",
    "ContractTemplate",
    "DisclosureBox",
    "DisclosureItem",
    "contract_renderer",
    "load_template",
    "render_contract_pdf",
]


def contract_renderer(
    template_dir: Path | None = None, cjk_font: str = DEFAULT_CJK_FONT
) -> ContractRenderer:
    """What renders contract documents for a deployment: each with the template of its
    business type and language (the deployer's from *template_dir* first), Chinese text in
    *cjk_font*. A template is read once; a faulty one fails the first render, naming it."""
    template = functools.lru_cache(maxsize=None)(
        lambda business_type, language: load_template(business_type, language, template_dir)
    )

    def render(document: ContractDocument) -> bytes:
        return render_contract_pdf(
            document, template(document.business_type, document.language), cjk_font=cjk_font
        )

    return render
