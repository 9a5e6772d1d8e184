"""Printed documents: a contract rendered as PDF from a template per business type and language.

This is an edge: it reads template files and uses a PDF library, and nothing in the core
imports it. The facts come from :class:`~leasekit.domain.contract_documents.ContractDocument`;
the wording from a :class:`ContractTemplate` (:func:`load_template`); the layout from
:func:`render_contract_pdf`.
"""

from __future__ import annotations

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
    "load_template",
    "render_contract_pdf",
]
