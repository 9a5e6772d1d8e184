"""A contract to render: an 84-month finance lease with two parties and two fees.

``make_document`` is a fixture returning the factory, so tests can vary the business type,
language, length and disclosure convention; test modules cannot import each other here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from leasekit.domain.business import BusinessType
from leasekit.domain.contract_documents import (
    ContractDocument,
    Disclosures,
    DocumentFee,
    DocumentLine,
    DocumentParty,
    DocumentTerms,
    DocumentVehicle,
)

PRINCIPAL = Decimal("84000.00")
PAYMENT = Decimal("1234.56")
FEE = Decimal("10.00")


def _schedule(months: int) -> tuple[DocumentLine, ...]:
    """Made-up but exact lines: each month repays 1000.00 and the interest shrinks by 1.11."""
    lines = []
    balance = PRINCIPAL
    for number in range(1, months + 1):
        interest = Decimal("234.56") - Decimal("1.11") * (number - 1)
        balance -= Decimal("1000.00")
        due = date(2027 + (number - 1) // 12, (number - 1) % 12 + 1, 15)
        lines.append(DocumentLine(number, due, PAYMENT, Decimal("1000.00"), interest, FEE, balance))
    return tuple(lines)


def _document(
    business_type: BusinessType = BusinessType.FINANCE_LEASE,
    language: str = "en",
    *,
    months: int = 84,
    apr_convention: str = "us_actuarial",
) -> ContractDocument:
    return ContractDocument(
        number="FL-2026-000123",
        business_type=business_type,
        language=language,
        company="Harbor Auto Finance & Leasing Co.",
        dealer="Lakeside Motors",
        issued_on=date(2026, 12, 4),
        currency="USD",
        parties=(
            DocumentParty("lessee", "Alice Example", "***-**-6789"),
            DocumentParty("guarantor", "Bob Sample", None),
        ),
        vehicle=DocumentVehicle("Toyota", "Camry SE", 2026, "4T1BF1FK5CU500001"),
        terms=DocumentTerms(
            vehicle_price=Decimal("96500.00"),
            down_payment=Decimal("12500.00"),
            principal=PRINCIPAL,
            annual_rate=Decimal("6.5"),
            term_months=months,
            residual_value=Decimal("0.00"),
            installment=PAYMENT,
        ),
        fees=(
            DocumentFee("Documentation fee", Decimal("450.00"), financed=False),
            DocumentFee("Service fee", Decimal("840.00"), financed=True),
        ),
        schedule=_schedule(months),
        disclosures=Disclosures(
            apr_convention=apr_convention,
            apr=Decimal("6.87"),
            finance_charge=Decimal("19703.04"),
            amount_financed=Decimal("83550.00"),
            total_of_payments=Decimal("103703.04"),
            total_interest=Decimal("19703.04"),
            due_at_signing=Decimal("12950.00"),
        ),
        signers=("Alice Example", "Bob Sample", "For Harbor Auto Finance & Leasing Co."),
    )


DocumentFactory = Callable[..., ContractDocument]


@pytest.fixture
def make_document() -> DocumentFactory:
    return _document


@pytest.fixture
def document() -> ContractDocument:
    return _document()
