"""The contract document holds exact data: Decimal amounts, a known currency, a schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.contract_documents import (
    ContractDocument,
    Disclosures,
    DocumentFee,
    DocumentParty,
)
from leasekit.domain.plans import PlanSummary
from leasekit.errors import ValidationError


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(TypeError):
        DocumentFee("Documentation fee", 450.0, financed=False)  # type: ignore[arg-type]


def test_an_unknown_currency_is_a_validation_error_on_currency(
    document: ContractDocument,
) -> None:
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(document, currency="XXX")
    assert caught.value.errors[0].field == "currency"


def test_a_contract_without_installments_is_refused(document: ContractDocument) -> None:
    with pytest.raises(ValidationError, match="schedule"):
        attrs.evolve(document, schedule=())


def test_a_party_role_must_be_one_the_templates_translate() -> None:
    with pytest.raises(ValueError, match="role"):
        DocumentParty("witness", "Carol Example")


def test_disclosures_copy_a_plan_summary() -> None:
    summary = PlanSummary(
        currency="EUR",
        schedule_method="annuity",
        priced_on=date(2026, 12, 4),
        first_due_date=date(2027, 1, 4),
        maturity_date=date(2029, 12, 4),
        installments=36,
        installment=Decimal("304.22"),
        principal=Decimal("10000.00"),
        amount_financed=Decimal("9800.00"),
        finance_charge=Decimal("1151.92"),
        total_of_payments=Decimal("10951.92"),
        total_interest=Decimal("951.92"),
        residual_value=Decimal("0.00"),
        upfront_fees=Decimal("200.00"),
        due_at_signing=Decimal("2200.00"),
        apr=Decimal("7.4"),
        apr_convention="eu",
    )

    disclosures = Disclosures.from_summary(summary)

    assert disclosures.apr_convention == "eu"
    assert disclosures.apr == Decimal("7.4")
    assert disclosures.total_of_payments == Decimal("10951.92")
    assert disclosures.due_at_signing == Decimal("2200.00")
