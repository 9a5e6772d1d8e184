"""The chart of accounts: read from settings with every fault named, added to, closed, never
renamed; closed accounts refuse postings."""

from __future__ import annotations

from typing import Any

import pytest

from leasekit.domain.accounting import (
    DEFAULT_ACCOUNTS,
    AccountKind,
    ChartOfAccounts,
    default_chart,
)
from leasekit.errors import DomainError, ValidationError
from leasekit.money import currency


def settings(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "company": "Acme Auto Finance",
        "currency": "CNY",
        "accounts": [
            {"code": "1100", "name": "Bank clearing", "kind": "asset"},
            {"code": "4100", "name": "Interest income", "kind": "income"},
        ],
    }
    return {**data, **overrides}


def fields(error: ValidationError) -> set[str]:
    return {e.field for e in error.errors}


def test_a_chart_reads_from_settings() -> None:
    chart = ChartOfAccounts.from_mapping(settings())
    assert chart.company == "Acme Auto Finance"
    assert chart.currency == currency("CNY")
    assert chart.account("4100").kind is AccountKind.INCOME
    assert chart.account("4100").currency == currency("CNY")
    assert not chart.account("1100").closed


def test_every_fault_in_the_settings_is_named_by_its_place() -> None:
    bad = settings(
        currency="XXX",
        accounts=[
            {"code": "1100", "name": "Bank", "kind": "asset"},
            {"code": "1100", "name": "Bank again", "kind": "asset"},
            {"code": "", "name": " ", "kind": "revenue", "closed": "no", "colour": "red"},
            "4100",
        ],
    )
    with pytest.raises(ValidationError) as caught:
        ChartOfAccounts.from_mapping(bad)
    assert fields(caught.value) == {
        "currency",
        "accounts[1].code",
        "accounts[2].code",
        "accounts[2].name",
        "accounts[2].kind",
        "accounts[2].closed",
        "accounts[2].colour",
        "accounts[3]",
    }


def test_a_chart_needs_accounts_and_a_company() -> None:
    with pytest.raises(ValidationError) as caught:
        ChartOfAccounts.from_mapping({"currency": "EUR", "accounts": []})
    assert fields(caught.value) == {"company", "accounts"}


def test_closed_accounts_are_read_as_closed() -> None:
    data = settings(accounts=[{"code": "9", "name": "Old", "kind": "asset", "closed": True}])
    assert ChartOfAccounts.from_mapping(data).account("9").closed


def test_adding_an_account_leaves_the_chart_it_came_from_alone() -> None:
    chart = ChartOfAccounts.from_mapping(settings())
    grown = chart.add("6100", "Write-off expense", "expense")
    assert grown.account("6100").kind is AccountKind.EXPENSE
    assert "6100" not in chart.accounts


def test_adding_an_account_again_as_it_is_changes_nothing() -> None:
    chart = ChartOfAccounts.from_mapping(settings())
    assert chart.add("4100", "Interest income", AccountKind.INCOME) is chart


@pytest.mark.parametrize(
    ("name", "kind"), [("Finance income", "income"), ("Interest income", "liability")]
)
def test_an_existing_code_is_never_renamed_or_retyped(name: str, kind: str) -> None:
    chart = ChartOfAccounts.from_mapping(settings())
    with pytest.raises(ValidationError, match="never renamed") as caught:
        chart.add("4100", name, kind)
    assert fields(caught.value) == {"code"}


@pytest.mark.parametrize(
    ("code", "name", "kind", "field"),
    [("", "Cash", "asset", "code"), ("1 2", "Cash", "asset", "code"),
     ("1300", "", "asset", "name"), ("1300", "Cash", "cash", "kind")],
)  # fmt: skip
def test_an_added_account_is_checked(code: str, name: str, kind: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChartOfAccounts.from_mapping(settings()).add(code, name, kind)
    assert fields(caught.value) == {field}


def test_a_closed_account_refuses_postings_and_stays_in_the_chart() -> None:
    chart = ChartOfAccounts.from_mapping(settings()).close("1100")
    assert chart.account("1100").closed
    assert chart.account("1100").name == "Bank clearing"
    with pytest.raises(DomainError, match=r"1100 .* is closed"):
        chart.postable("1100")
    assert chart.postable("4100").code == "4100"


def test_an_unknown_account_is_named_with_the_chart() -> None:
    chart = ChartOfAccounts.from_mapping(settings())
    with pytest.raises(ValidationError, match="'7000' is not in the chart of Acme Auto Finance"):
        chart.postable("7000")
    with pytest.raises(ValidationError):
        chart.close("7000")


def test_the_default_chart_has_a_vehicle_financiers_accounts() -> None:
    chart = default_chart("Acme Auto Finance", "EUR")
    names = {account.name for account in chart.accounts.values()}
    for wanted in (
        "Loans receivable",
        "Net investment in finance leases",
        "Unearned finance income",
        "Interest income",
        "Fee income",
        "Penalty income",
        "Operating-lease assets",
        "Accumulated depreciation on operating-lease assets",
        "Rental income",
        "Dealer payable",
        "Customer credit balances",
        "Write-off expense",
    ):
        assert wanted in names
    assert any(name.startswith("Suspense") for name in names)
    assert sum(name.startswith("Bank clearing") for name in names) == 2
    assert len(chart.accounts) == len(DEFAULT_ACCOUNTS)
    assert {a.currency for a in chart.accounts.values()} == {currency("EUR")}
    assert not any(account.closed for account in chart.accounts.values())


def test_a_chart_in_another_currency_keeps_its_codes_and_what_is_closed() -> None:
    chart = default_chart("Acme Leasing", "CNY").close("4200")
    dollars = chart.in_currency("USD")
    assert dollars.currency.code == "USD"
    assert {a.currency.code for a in dollars.accounts.values()} == {"USD"}
    assert [(a.code, a.name, a.kind, a.closed) for a in dollars.accounts.values()] == [
        (a.code, a.name, a.kind, a.closed) for a in chart.accounts.values()
    ]
    assert chart.in_currency("CNY") is chart
