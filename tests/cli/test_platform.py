"""The platform commands: demo, db upgrade, audit verify, users create-admin, settings errors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from leasekit.cli import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Invoke the CLI in *tmp_path* with a clean LEASEKIT_ environment."""
    for name in list(os.environ):
        if name.startswith("LEASEKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_demo_seeds_a_company_and_prints_a_token_per_role(run, tmp_path: Path) -> None:
    result = run("demo", "--no-serve", "--dir", "demo")
    assert result.exit_code == 0, result.output
    for role in ("admin", "officer", "manager", "director", "finance", "post_loan_supervisor"):
        assert role in result.output
    assert result.output.count("lk_") >= 9
    again = run("demo", "--no-serve", "--dir", "demo")
    assert again.exit_code == 0, again.output
    url = f"sqlite:///{tmp_path / 'demo' / 'leasekit.db'}"
    assert "audit chain intact" in run("audit", "verify", LEASEKIT_DATABASE_URL=url).output


def test_demo_refuses_a_folder_it_did_not_create(run, tmp_path: Path) -> None:
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("keep me")
    result = run("demo", "--no-serve", "--dir", "precious")
    assert result.exit_code == 1
    assert "not a leasekit demo folder" in result.output
    assert (tmp_path / "precious" / "thesis.txt").read_text() == "keep me"


def test_db_upgrade_creates_the_default_sqlite_file(run, tmp_path: Path) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    assert (tmp_path / "leasekit.db").is_file()


def test_audit_verify_names_the_first_changed_entry(run, tmp_path: Path) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    database = tmp_path / "demo" / "leasekit.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE audit_log SET actor_id = 'someone else' WHERE seq = 7")
    result = run("audit", "verify", LEASEKIT_DATABASE_URL=f"sqlite:///{database}")
    assert result.exit_code == 1
    assert "audit chain broken at entry 7" in result.output


def test_create_admin_works_once(run) -> None:
    first = run("users", "create-admin", "root")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("lk_")
    second = run("users", "create-admin", "other")
    assert second.exit_code == 1
    assert "users exist already" in second.output


def test_invalid_settings_are_reported_by_variable(run) -> None:
    result = run("serve", LEASEKIT_SERVER__PORT="70000", LEASEKIT_CURRENCY="XXY")
    assert result.exit_code == 1
    assert "LEASEKIT_SERVER__PORT" in result.output
    assert "LEASEKIT_CURRENCY" in result.output
