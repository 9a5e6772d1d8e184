"""``leasekit partners import``: a file of changes to partners imported on the configured
database, as the owner of a token, with a dry run first and every fault shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leasekit.demo import credit_code

from .test_platform import run  # noqa: F401 - the fixture

HARBOUR = credit_code("91310000MA1K3C4D5")
CHANGES = (
    "registration_number,status,reason,contact_role,contact_name,contact_phone\r\n"
    f"{HARBOUR},watch,overdue above 3%,finance,Gao Yan,+86 21 5555 0188\r\n"
)


@pytest.fixture
def company(run, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """The demo company seeded in *tmp_path*: the settings to reach it, and its tokens."""
    result = run("demo", "--no-serve", "--dir", "demo", "--tokens-file", "tokens.json")
    assert result.exit_code == 0, result.output
    tokens = json.loads((tmp_path / "tokens.json").read_text())
    return {"LEASEKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo' / 'leasekit.db'}",
            "LEASEKIT_DATA_DIR": str(tmp_path / "demo")} | {
        f"token:{user}": token for user, token in tokens.items()}  # fmt: skip


def _as(company: dict[str, str], user: str) -> dict[str, str]:
    settings = {k: v for k, v in company.items() if not k.startswith("token:")}
    return settings | {"LEASEKIT_TOKEN": company[f"token:{user}"]}


def test_a_file_is_checked_then_applied_once(run, company, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "changes.csv").write_text(CHANGES, encoding="utf-8")
    manager = _as(company, "manager")

    checked = run("partners", "import", "changes.csv", "--dry-run", **manager)
    assert checked.exit_code == 0, checked.output
    assert "Dry run, nothing was changed: 1 row, 1 with changes if applied." in checked.output
    assert "status: active → watch (watch)" in checked.output

    applied = run("partners", "import", "changes.csv", "--reason", "quarterly review", **manager)
    assert applied.exit_code == 0, applied.output
    assert "Applied as import " in applied.output
    assert "profile: contacts revised" in applied.output

    again = run("partners", "import", "changes.csv", **manager)
    assert again.exit_code == 0, again.output
    assert "This file was imported before" in again.output
    assert "Nothing was changed now." in again.output


def test_a_refused_file_shows_every_fault(run, company, tmp_path: Path) -> None:  # noqa: F811
    bad = CHANGES + f"{HARBOUR},exited,,,,\r\nnobody,,,,,\r\n"
    (tmp_path / "bad.csv").write_text(bad, encoding="utf-8")
    result = run("partners", "import", "bad.csv", **_as(company, "manager"))
    assert result.exit_code == 1
    assert "The file was refused" in result.output
    assert "is on row 2 already" in result.output
    assert "registration_number" in result.output
    assert "Error: 2 faults in the file; nothing was changed" in result.output


def test_the_import_acts_as_the_tokens_owner(run, company, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "changes.csv").write_text(CHANGES, encoding="utf-8")
    by_officer = run("partners", "import", "changes.csv", **_as(company, "officer"))
    assert by_officer.exit_code == 1
    assert "role 'officer' may not watch a partner" in by_officer.output
    by_finance = run("partners", "import", "changes.csv", **_as(company, "finance"))
    assert by_finance.exit_code == 1
    assert "role 'finance' may not import_partners" in by_finance.output
    settings = _as(company, "manager") | {"LEASEKIT_TOKEN": "lk_not_a_token"}
    unknown = run("partners", "import", "changes.csv", **settings)
    assert (unknown.exit_code, unknown.output.strip()) == (1, "Error: invalid or revoked token")
