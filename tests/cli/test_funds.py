"""``leasekit funds``: a debit run written to a file, the bank's answer to it, its import, and a
statement reconciled, on the demo company, as the owner of a token."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from leasekit.demo import DEMO_US_ACCOUNT, company_statement

from .test_partner_imports import company  # noqa: F401 - the fixture
from .test_platform import run  # noqa: F401 - the fixture


@pytest.fixture
def finance(company: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """The finance user's token."""
    return {"LEASEKIT_TOKEN": company["token:finance"]}


def test_a_run_its_returns_and_a_statement_from_the_command_line(
    run,  # noqa: F811
    finance: dict[str, str],
    tmp_path: Path,
) -> None:
    made = run("funds", "debit-run", "us", "--out", "us.ach", "--demo-dir", "demo", **finance)
    assert made.exit_code == 0, made.output
    assert "The bank file is us.ach" in made.output
    lines = (tmp_path / "us.ach").read_text().splitlines()
    assert len(lines) % 10 == 0
    assert all(len(line) == 94 for line in lines)
    (run_id,) = re.findall(r"│ ([0-9a-f]{32}) │", made.output)

    answered = run("funds", "bank-results", run_id, "--return", "TB-0002=R01",
                   "--out", "returns.ach", "--demo-dir", "demo", **finance)  # fmt: skip
    assert answered.exit_code == 0, answered.output
    imported = run("funds", "import-results", "returns.ach", "--demo-dir", "demo", **finance)
    assert imported.exit_code == 0, imported.output
    assert "Imported as " in imported.output
    assert "R01" in imported.output
    assert "retry" in imported.output
    again = run("funds", "import-results", "returns.ach", "--demo-dir", "demo", **finance)
    assert "imported before" in again.output

    (tmp_path / "statement.xml").write_bytes(company_statement(DEMO_US_ACCOUNT, date.today()))
    reconciled = run("funds", "import-statement", "statement.xml", "--demo-dir", "demo",
                     **finance)  # fmt: skip
    assert reconciled.exit_code == 0, reconciled.output
    assert f"Statement of {DEMO_US_ACCOUNT}" in reconciled.output


def test_a_malformed_result_file_is_refused_with_its_position(
    run,  # noqa: F811
    finance: dict[str, str],
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.ach").write_text("1" + "0" * 93 + "\n" + "5" * 50 + "\n")
    refused = run("funds", "import-results", "bad.ach", "--demo-dir", "demo", **finance)
    assert refused.exit_code == 1
    assert "record 2" in refused.output
