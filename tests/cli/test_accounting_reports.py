"""``leasekit accounting``: the trial balance, an account's ledger and a contract's sub-ledger of
the demo company, as tables or CSV, for the owner of a finance token."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from leasekit.money import Money
from leasekit.runtime import build_runtime
from leasekit.services import funds
from leasekit.services.funds import RecordPayment
from leasekit.services.users import authenticate
from leasekit.settings import load_settings

from ..services.test_accounting import deliver_all
from .test_partner_imports import _as, company  # noqa: F401 - the fixture
from .test_platform import run  # noqa: F401 - the fixture

PERIOD = ("--from", "2000-01-01", "--to", "2100-12-31")


@pytest.fixture
def finance(company: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return _as(company, "finance")


def a_contract(tmp_path: Path) -> str:
    """A contract of the demo book in yuan, the company's currency."""
    with contextlib.closing(sqlite3.connect(tmp_path / "demo" / "leasekit.db")) as db:
        (contract_id,) = db.execute(
            "SELECT contract_id FROM receivables WHERE currency = 'CNY' ORDER BY id LIMIT 1"
        ).fetchone()
    return str(contract_id)


def paid(company: dict[str, str], contract_id: str) -> None:  # noqa: F811
    """A payment on *contract_id* recorded and booked, as the server's worker would."""
    runtime = build_runtime(load_settings(database_url=company["LEASEKIT_DATABASE_URL"],
                                          data_dir=company["LEASEKIT_DATA_DIR"]))  # fmt: skip
    try:
        ctx = runtime.services
        finance = authenticate(ctx, company["token:finance"])
        request = RecordPayment(contract_id, Money("300.00", "CNY"), "T-1", source_ref="T-1")
        funds.record_payment(ctx, finance, request)
        deliver_all(ctx)
    finally:
        runtime.close()


def test_the_reports_print_as_tables_and_as_csv(
    run,  # noqa: F811
    company: dict[str, str],  # noqa: F811
    finance: dict[str, str],
    tmp_path: Path,
) -> None:
    contract_id = a_contract(tmp_path)
    paid(company, contract_id)
    table = run("accounting", "trial-balance", *PERIOD, **finance)
    assert table.exit_code == 0, table.output
    assert "Trial balance 2000-01-01 to 2100-12-31, CNY" in table.output
    assert "Bank clearing: operating account" in table.output
    assert "balanced" in table.output
    assert "NOT BALANCED" not in table.output
    made = run("accounting", "trial-balance", *PERIOD, "--csv", **finance)
    assert made.exit_code == 0, made.output
    rows = list(csv.DictReader(io.StringIO(made.output)))
    assert rows[-1]["account"] == "total"
    # The taken-over book's openings in yuan (9,600.00), then the payment received and
    # allocated (300.00 each).
    assert rows[-1]["debits"] == rows[-1]["credits"] == "10200.00"
    assert sum(Decimal(row["closing"]) for row in rows[:-1]) == 0
    (bank,) = [row for row in rows if row["account"] == "1100"]
    assert bank["closing"] == "300.00"

    ledger = run("accounting", "ledger", "1100", *PERIOD, "--csv", **finance)
    assert ledger.exit_code == 0, ledger.output
    lines = list(csv.DictReader(io.StringIO(ledger.output)))
    assert [line["description"].split(" (")[0] for line in lines] == [
        "opening", "Payment received", "closing",
    ]  # fmt: skip
    assert [line["balance"] for line in lines] == ["0", "300.00", "300.00"]
    assert lines[1]["contract_id"] == contract_id
    shown = run("accounting", "ledger", "1100", *PERIOD, **finance)
    assert shown.exit_code == 0, shown.output
    assert "Ledger of 1100" in shown.output
    assert "payment_received" in shown.output

    sub = run("accounting", "sub-ledger", contract_id, **finance)
    assert sub.exit_code == 0, sub.output
    assert "Receivable account 1200 (principal, fee)" in sub.output
    as_csv = run("accounting", "sub-ledger", contract_id, "--csv", **finance)
    assert as_csv.exit_code == 0, as_csv.output
    accounts = {row["account"] for row in csv.DictReader(io.StringIO(as_csv.output))}
    assert {"1100", "2900", "1200"} <= accounts


def test_a_refusal_is_the_commands_message(
    run,  # noqa: F811
    company: dict[str, str],  # noqa: F811
    finance: dict[str, str],
) -> None:
    dealer = run("accounting", "trial-balance", *PERIOD, **_as(company, "sunrise"))
    assert dealer.exit_code == 1
    assert "may not read a trial balance" in dealer.output
    backwards = run("accounting", "trial-balance", "--from", "2026-02-01", "--to", "2026-01-01",
                    **finance)  # fmt: skip
    assert backwards.exit_code == 1
    assert "from: 2026-02-01 is after to" in backwards.output
    unknown = run("accounting", "ledger", "9999", *PERIOD, **finance)
    assert unknown.exit_code == 1
    assert "account: '9999' is not in the chart" in unknown.output
    missing = run("accounting", "sub-ledger", "0" * 26, **finance)
    assert missing.exit_code == 1
    assert f"contract '{'0' * 26}' not found" in missing.output
