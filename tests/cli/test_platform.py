"""The platform commands: demo, db upgrade, audit verify, users create-admin, settings errors."""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import leasekit.runtime
import leasekit.server.app
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
    assert "Not serving (--no-serve); the demo company is in demo." in result.output
    assert "curl" not in result.output, "no server answers the command it would suggest"
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


def test_demo_with_bad_settings_leaves_the_previous_demo_alone(run, tmp_path: Path) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    result = run("demo", "--no-serve", "--dir", "demo", LEASEKIT_SERVER__PORT="70000")
    assert result.exit_code == 1
    assert "LEASEKIT_SERVER__PORT" in result.output
    assert (tmp_path / "demo" / "leasekit.db").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_demo_makes_an_existing_tokens_file_private(run, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text("{}")
    tokens.chmod(0o644)
    assert run("demo", "--no-serve", "--dir", "demo", "--tokens-file", "tokens.json").exit_code == 0
    assert tokens.stat().st_mode & 0o077 == 0
    assert "sunrise" in tokens.read_text()


def test_serve_reports_a_start_up_error_by_its_message(run) -> None:
    result = run("serve", LEASEKIT_ADAPTERS__BANK="nosuchbank")
    assert result.exit_code == 1
    assert "no bank adapter 'nosuchbank' (available: fake)" in result.output
    assert "serving on" not in result.output


def test_serve_builds_the_runtime_once_and_says_when_the_port_is_taken(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app builds the runtime at startup, before it listens; the command builds none of
    its own first. A port in use is a message, not a traceback."""
    built: list[Any] = []
    real = leasekit.runtime.build_runtime

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(leasekit.runtime, "build_runtime", counting)
    monkeypatch.setattr(leasekit.server.app, "build_runtime", counting)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), LEASEKIT_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.exit_code == 1
    assert f"('127.0.0.1', {port})" in result.output
    assert "serving on" not in result.output
    assert len(built) == 1


def test_db_upgrade_creates_the_default_sqlite_file(run, tmp_path: Path) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    assert (tmp_path / "leasekit.db").is_file()


def test_audit_verify_names_the_first_changed_entry(run, tmp_path: Path) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    database = tmp_path / "demo" / "leasekit.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE audit_log SET actor_id = 'someone else' "
            "WHERE id = (SELECT entry_id FROM audit_chain WHERE seq = 7)"
        )
    result = run("audit", "verify", LEASEKIT_DATABASE_URL=f"sqlite:///{database}")
    assert result.exit_code == 1
    assert "audit chain broken at entry 7" in result.output


def test_audit_verify_refuses_to_check_no_database(run, tmp_path: Path) -> None:
    """Without settings it would look at ./leasekit.db: it neither creates it nor passes."""
    result = run("audit", "verify")
    assert result.exit_code == 2
    assert "no database at leasekit.db" in result.output
    assert not (tmp_path / "leasekit.db").exists()
    with sqlite3.connect(tmp_path / "other.db") as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    result = run("audit", "verify", LEASEKIT_DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}")
    assert result.exit_code == 2
    assert "not a leasekit database" in result.output
    assert "Traceback" not in result.output


def test_a_checkpoint_catches_the_newest_entries_being_cut_off(run, tmp_path: Path) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    database = tmp_path / "demo" / "leasekit.db"
    env = {
        "LEASEKIT_DATABASE_URL": f"sqlite:///{database}",
        "LEASEKIT_DATA_DIR": str(tmp_path / "demo"),
    }
    made = run("audit", "checkpoint", "--out", "mark.txt", **env)
    assert made.exit_code == 0, made.output
    assert made.output.startswith("leasekit-audit:")
    held = run("audit", "verify", "--checkpoint", "mark.txt", **env)
    assert held.exit_code == 0, held.output
    assert "holds checkpoint" in held.output
    with sqlite3.connect(database) as connection:
        seq, digest = connection.execute(
            "SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1 OFFSET 2"
        ).fetchone()
        cut = [row[0] for row in connection.execute(
            "SELECT entry_id FROM audit_chain WHERE seq > ?", (seq,)
        )]  # fmt: skip
        connection.execute("DELETE FROM audit_chain WHERE seq > ?", (seq,))
        connection.executemany("DELETE FROM audit_log WHERE id = ?", [(i,) for i in cut])
        connection.execute("UPDATE audit_chain_head SET seq = ?, hash = ?", (seq, digest))
    assert run("audit", "verify", **env).exit_code == 0, "consistent in itself"
    result = run("audit", "verify", "--checkpoint", "mark.txt", **env)
    assert result.exit_code == 1
    assert "removed since the checkpoint" in result.output


def test_create_admin_works_once(run) -> None:
    first = run("users", "create-admin", "root")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("lk_")
    second = run("users", "create-admin", "other")
    assert second.exit_code == 1
    assert "users exist already" in second.output


def test_system_accounts_and_enrolment_secrets_are_made_on_the_server(run) -> None:
    made = run("users", "create-system", "bank-callback")
    assert made.exit_code == 0, made.output
    assert made.output.startswith("lk_")
    assert run("users", "create-admin", "root").exit_code == 1, "not an empty installation"
    secret = run("users", "enrol", "bank-callback")
    assert secret.exit_code == 0, secret.output
    assert secret.output.startswith("lke_")
    missing = run("users", "enrol", "nobody")
    assert missing.exit_code == 1
    assert "user 'nobody' not found" in missing.output


def test_events_lists_parked_deliveries(run) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    url = "sqlite:///demo/leasekit.db"
    result = run("events", LEASEKIT_DATABASE_URL=url, LEASEKIT_DATA_DIR="demo")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("deliveries:")
    assert "pending" not in result.output, "closing the demo's runtime delivered everything"
    missing = run("events", "retry", "999999", LEASEKIT_DATABASE_URL=url, LEASEKIT_DATA_DIR="demo")
    assert missing.exit_code == 1
    assert "delivery '999999' not found" in missing.output


def test_partners_refresh_rates_each_trading_partner_once_a_day(run) -> None:
    assert run("demo", "--no-serve", "--dir", "demo").exit_code == 0
    env = {"LEASEKIT_DATABASE_URL": "sqlite:///demo/leasekit.db", "LEASEKIT_DATA_DIR": "demo"}
    first = run("partners", "refresh", **env)
    assert first.exit_code == 0, first.output
    # The two trading dealers and the taken-over book's.
    assert "partners rated: 3; rated earlier on this business date: 0; not rated: 0" in (
        first.output
    )
    again = run("partners", "refresh", **env)
    assert "partners rated: 0; rated earlier on this business date: 3" in again.output


def test_invalid_settings_are_reported_by_variable(run) -> None:
    result = run("serve", LEASEKIT_SERVER__PORT="70000", LEASEKIT_CURRENCY="XXY")
    assert result.exit_code == 1
    assert "LEASEKIT_SERVER__PORT" in result.output
    assert "LEASEKIT_CURRENCY" in result.output


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:9000"), ("::1", "http://[::1]:9000")],
)
def test_the_printed_address_is_a_url_for_any_host(host: str, url: str) -> None:
    from leasekit.cli import _base_url
    from leasekit.settings import load_settings

    assert _base_url(load_settings(server={"host": host, "port": 9000})) == url
