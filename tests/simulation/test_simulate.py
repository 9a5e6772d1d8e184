"""``leasekit simulate`` on small books: what it writes, that its figures are the database's,
that a seed repeats a run, and that the payers' shares show in the delinquency."""

from __future__ import annotations

import csv
import importlib.util
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from leasekit.cli import cli
from leasekit.simulation.behaviour import Behaviour, Payer, parse_behaviour
from leasekit.simulation.charts import CHARTS
from leasekit.simulation.figures import Bucket
from leasekit.simulation.run import Simulation, SimulationResult, simulate, simulation_runtime

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulation.md"
START = date(2026, 1, 1)
PNG = b"\x89PNG\r\n\x1a\n"


def doc_command(out: Path, contracts: int = 40, months: int = 3) -> list[str]:
    """The ``leasekit simulate`` line of docs/simulation.md, on a smaller book into *out*."""
    (line,) = [line.removeprefix("$ ") for line in DOC.read_text().splitlines()
               if line.startswith("$ leasekit simulate")]  # fmt: skip
    line = re.sub(r"--contracts \d+", f"--contracts {contracts}", line)
    line = re.sub(r"--months \d+", f"--months {months}", line)
    line = re.sub(r"--out \S+", f"--out {shlex.quote(str(out))}", line)
    return shlex.split(line)[1:]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def doc_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation's command on 40 contracts over 3 months; its output folder."""
    out = tmp_path_factory.mktemp("simulated") / "sim"
    result = invoke(*doc_command(out))
    assert result.exit_code == 0, result.output
    return out


def test_a_run_writes_every_chart_and_its_table(doc_run: Path) -> None:
    for name in CHARTS:
        assert (doc_run / f"{name}.png").read_bytes().startswith(PNG)
        assert read_csv(doc_run / f"{name}.csv")
    months = [row["month"] for row in read_csv(doc_run / "delinquency.csv")]
    assert months == ["2026-01", "2026-02", "2026-03"]
    for row in read_csv(doc_run / "delinquency.csv"):
        assert sum(int(row[str(bucket)]) for bucket in Bucket) == 40


def _database(folder: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{folder / 'simulation.db'}")


def test_collections_are_the_payments_stored(doc_run: Path) -> None:
    stored: dict[str, Decimal] = defaultdict(Decimal)
    with _database(doc_run).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT received_on, amount FROM payments WHERE state != 'reversed'")
        )
        for received_on, amount in rows:
            stored[str(received_on)[:7]] += Decimal(str(amount))
    table = {row["month"]: Decimal(row["total"]) for row in read_csv(doc_run / "collections.csv")}
    assert table == stored
    assert all(amount > 0 for amount in table.values())


def test_exposure_by_grade_sums_to_the_principal_outstanding(doc_run: Path) -> None:
    owed: dict[str, Decimal] = defaultdict(Decimal)
    query = sa.text(
        "SELECT p.rating, r.principal, r.paid_principal FROM receivables r "
        "JOIN contracts c ON c.id = r.contract_id JOIN partners p ON p.id = c.partner_id "
        "WHERE c.state IN ('active', 'terminated') AND r.written_off_on IS NULL"
    )
    with _database(doc_run).connect() as connection:
        for rating, principal, paid in connection.execute(query):
            owed[rating] += Decimal(str(principal)) - Decimal(str(paid))
    last = read_csv(doc_run / "exposure.csv")[-1]
    assert {grade: Decimal(last[grade]) for grade in "ABCD"} == {
        grade: owed[grade] for grade in "ABCD"
    }
    assert Decimal(last["total"]) == sum(owed.values()) > 0


def test_the_same_seed_writes_the_same_tables(doc_run: Path, tmp_path: Path) -> None:
    assert invoke(*doc_command(tmp_path / "again")).exit_code == 0
    for name in CHARTS:
        assert (tmp_path / "again" / f"{name}.csv").read_bytes() == (
            doc_run / f"{name}.csv"
        ).read_bytes(), name


def test_a_folder_with_a_simulation_is_refused_unless_forced(doc_run: Path) -> None:
    refused = invoke(*doc_command(doc_run))
    assert refused.exit_code == 1
    assert "holds a simulation already" in refused.output


def _count(folder: Path, table: str) -> int:
    with _database(folder).connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_events_wait_in_the_outbox_unless_delivered_as_it_goes(
    doc_run: Path, tmp_path: Path
) -> None:
    assert _count(doc_run, "outbox_pending") > 0
    assert _count(doc_run, "vouchers") == 0
    out = tmp_path / "delivered"
    out.mkdir()
    (out / "simulation.db").write_bytes(b"an earlier run, replaced by --force")
    delivered = invoke("simulate", "--contracts", "5", "--months", "1", "--start", "2026-01-01",
                       "--out", str(out), "--deliver-events", "--force")  # fmt: skip
    assert delivered.exit_code == 0, delivered.output
    assert read_csv(out / "delinquency.csv")[0]["current"] == "5"
    assert _count(out, "outbox_pending") == 0
    assert _count(out, "vouchers") > 0
    undelivered = sa.text("SELECT count(*) FROM event_deliveries WHERE status != 'delivered'")
    with _database(out).connect() as connection:
        assert connection.execute(undelivered).scalar_one() == 0


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        ("on_time=0.9,late=0.2", "sum to 1.1"),
        ("on_time=1.2,default=-0.2", "between 0 and 1"),
        ("on_time=0.9,never=0.1", "expected KIND=SHARE"),
    ],
)
def test_bad_shares_are_refused_before_anything_runs(
    tmp_path: Path, behaviour: str, says: str
) -> None:
    result = invoke("simulate", "--out", str(tmp_path / "x"), "--behaviour", behaviour)
    assert result.exit_code == 2
    assert "--behaviour" in result.output
    assert says in result.output
    assert not (tmp_path / "x").exists()


def test_a_start_after_the_28th_is_refused(tmp_path: Path) -> None:
    result = invoke("simulate", "--out", str(tmp_path / "x"), "--start", "2026-01-30")
    assert result.exit_code == 2
    assert "28th" in result.output


def test_without_matplotlib_it_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    find_spec = importlib.util.find_spec

    def without_matplotlib(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_matplotlib)
    result = CliRunner().invoke(cli, ["simulate", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "leasekit[simulate]" in result.output


# --- behaviour shows in the figures -----------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path) -> Callable[[int, int, Behaviour], SimulationResult]:
    def simulated(contracts: int, months: int, behaviour: Behaviour) -> SimulationResult:
        runtime = simulation_runtime(tmp_path / "files", f"sqlite:///{tmp_path / 'sim.db'}", START)
        try:
            return simulate(runtime.services, Simulation(contracts, months, START, 3, behaviour))
        finally:
            runtime.close()

    return simulated


def test_when_everyone_pays_on_time_nobody_is_behind(
    run: Callable[[int, int, Behaviour], SimulationResult],
) -> None:
    result = run(10, 2, parse_behaviour("on_time=1"))
    for end in result.month_ends:
        assert set(end.buckets.values()) == {Bucket.CURRENT}
    assert (result.tally.returned, result.tally.transfers) == (0, 0)
    assert result.tally.debits == 20  # two installments each
    assert set().union(*(months.keys() for months in result.collections.values())) == {
        "direct_debit"
    }


def test_when_everyone_defaults_arrears_roll_into_90_plus_after_three_months(
    run: Callable[[int, int, Behaviour], SimulationResult],
) -> None:
    result = run(12, 4, parse_behaviour("default=1"))
    from_the_start = {cid for cid, one in result.conduct.items() if one.day == START}
    assert from_the_start
    buckets = [Counter(end.buckets.values()) for end in result.month_ends]
    assert [counts[Bucket.DAYS_90_PLUS] for counts in buckets[:3]] == [0, 0, 0]
    assert buckets[-1][Bucket.CURRENT] == 0
    last = result.month_ends[-1].buckets
    assert {last[cid] for cid in from_the_start} == {Bucket.DAYS_90_PLUS}
    # Nobody pays: every debit came back, and no money came in but the first collections.
    assert result.tally.transfers == 0
    assert all(one.payer is Payer.DEFAULT for one in result.conduct.values())


@pytest.mark.postgres
def test_it_runs_on_an_empty_postgresql_database_and_refuses_a_used_one(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    args = ["simulate", "--contracts", "6", "--months", "1", "--start", "2026-01-01",
            "--database", postgres_schema_url]  # fmt: skip
    first = invoke(*args, "--out", str(tmp_path / "pg"))
    assert first.exit_code == 0, first.output
    assert read_csv(tmp_path / "pg" / "delinquency.csv")
    assert not (tmp_path / "pg" / "simulation.db").exists()
    again = invoke(*args, "--out", str(tmp_path / "again"))
    assert again.exit_code == 1
    assert "not empty" in again.output
