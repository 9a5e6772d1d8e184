from __future__ import annotations

import json
from decimal import Decimal as D

from click.testing import CliRunner

from leasekit.cli import cli

ARGS = ["quote", "--price", "30000", "--down", "20%", "--rate", "6.5%", "--term", "36",
        "--residual", "25%", "--start", "2024-01-15"]  # fmt: skip


def run(*extra: str):
    return CliRunner().invoke(cli, [*ARGS, *extra])


def test_quote_prints_the_plan_and_schedule():
    result = run()
    assert result.exit_code == 0, result.output
    assert "546.33" in result.output
    assert "2027-01-15" in result.output
    assert "6.50 %" in result.output


def test_quote_json_is_exact_strings():
    result = run("--json", "--fee", "gps=300:financed:no-charge", "--fee", "doc=150")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["principal"] == "24300.00"
    assert doc["amount_financed"] == "24150.00"
    assert doc["fees"][0] == {
        "name": "gps", "amount": "300.00", "financed": True, "finance_charge": False,
    }  # fmt: skip
    assert len(doc["rows"]) == 36
    assert doc["rows"][-1]["balance"] == "7500.00"
    total = sum(D(r["principal"]) for r in doc["rows"])
    assert total == D(doc["principal"]) - D(doc["residual_value"])


def test_quote_reads_a_plain_fraction_and_a_percentage_as_the_same_rate():
    as_fraction = json.loads(run("--rate", "0.065", "--json").output)
    as_percent = json.loads(run("--rate", "6.5%", "--json").output)
    assert as_fraction == as_percent
    assert as_fraction["payment"] == "546.33"


def test_bad_input_is_a_usage_error_naming_the_option():
    result = CliRunner().invoke(cli, ["quote", "--price", "30000", "--rate", "0.065f",
                                      "--term", "36"])  # fmt: skip
    assert result.exit_code == 2
    assert "--rate" in result.output
    assert "'0.065f' is not a decimal number" in result.output


def test_bad_fee_spec():
    result = run("--fee", "gps:300")
    assert result.exit_code == 2
    assert "expected NAME=AMOUNT[:financed][:no-charge]" in result.output


def test_impossible_plan_is_reported_without_a_traceback():
    result = run("--down", "100%")
    assert result.exit_code == 2
    assert "down_payment: must be at least 0 and below the price" in result.output
    assert "Traceback" not in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("leasekit, version ")
