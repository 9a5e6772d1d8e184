"""The suites' former names, ``leasekit.testing.contracts.<Port>Contract``, still import, with
a warning that names the suite to use instead."""

from __future__ import annotations

import importlib

import pytest

from leasekit.testing import suites


def test_an_old_name_imports_the_suite_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"use leasekit\.testing\.suites\.BankSuite"):
        from leasekit.testing.contracts import BankContract
    assert BankContract is suites.BankSuite


@pytest.mark.parametrize("suite", suites.__all__)
def test_every_old_name_is_its_suite(suite: str) -> None:
    contracts = importlib.import_module("leasekit.testing.contracts")
    old = suite.removesuffix("Suite") + "Contract"
    with pytest.warns(DeprecationWarning, match=rf"contracts\.{old} is deprecated; use .*{suite}"):
        assert getattr(contracts, old) is getattr(suites, suite)


def test_other_names_are_missing_as_usual() -> None:
    contracts = importlib.import_module("leasekit.testing.contracts")
    with pytest.raises(AttributeError, match="CreditBureauSuite"):
        contracts.CreditBureauSuite  # noqa: B018
