"""The Beancount ledger: it passes leasekit's ledger suite, writes a file ``bean-check``
accepts, keeps each key once across processes, and refuses a file a crash left torn."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from leasekit_ledger_beancount import BeancountLedger, LedgerFileError, beancount_name

from leasekit.domain.clock import Clock, FixedClock
from leasekit.errors import ConfigurationError, ConflictError, ValidationError
from leasekit.money import Money
from leasekit.plugins import create_plugin_manager, resolve_adapters
from leasekit.ports import AdapterKind, EntrySide, LedgerBalance, LedgerLine, LedgerVoucher
from leasekit.testing.suites import LedgerSuite

CLOCK = FixedClock(now=datetime(2024, 1, 15, 9, 30, tzinfo=UTC), business_date=date(2024, 1, 15))
CONTRACTS = ("C-1", "C-2", "C-3")


class TestBeancountLedger(LedgerSuite):
    @pytest.fixture
    def adapter(self, tmp_path: Path, clock: Clock) -> BeancountLedger:
        return BeancountLedger(tmp_path / "books" / "ledger.beancount", clock)


def _voucher(number: int, currency: str = "CNY", contract: str | None = "C-1") -> LedgerVoucher:
    """A repayment: bank debited, the contract's receivable and interest credited."""
    principal = Money(Decimal(number) + Decimal("0.37"), currency)
    interest = Money(Decimal(number % 7) + Decimal("1.05"), currency)
    dimensions = {} if contract is None else {"contract": contract, "branch": "SH-01"}
    return LedgerVoucher(
        f"v-{number}",
        date(2024, 1 + number % 12, 1 + number % 28),
        f'repayment {number} of "{contract}"\nsecond line',
        [
            LedgerLine("1002 bank", EntrySide.DEBIT, principal + interest, "from the bank"),
            LedgerLine("1221 receivables", EntrySide.CREDIT, principal, dimensions=dimensions),
            LedgerLine("6011 interest", EntrySide.CREDIT, interest, dimensions=dimensions),
        ],
    )


def _bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    program = Path(sys.executable).with_name("bean-check")
    found = str(program) if program.exists() else shutil.which("bean-check")
    assert found, "bean-check (from beancount) is not installed"
    return subprocess.run(
        [found, str(path)], capture_output=True, text=True, check=False, timeout=120
    )


def test_many_vouchers_in_two_currencies_make_a_file_bean_check_accepts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    ledger = BeancountLedger(path, CLOCK, operating_currency="CNY")
    expected: dict[tuple[str, str, str | None], Money] = {}
    for number in range(1, 121):
        currency = "USD" if number % 3 == 0 else "CNY"
        contract = None if number % 5 == 0 else CONTRACTS[number % 3]
        voucher = _voucher(number, currency, contract)
        ledger.post(voucher, f"repayment:{number}")
        ledger.post(voucher, f"repayment:{number}")  # a repeat changes nothing
        for line in voucher.lines:
            pair = (currency, line.account, line.contract_id)
            expected[pair] = expected.get(pair, Money.zero(currency)) + line.signed_amount
    checked = _bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for currency in ("CNY", "USD"):
        assert ledger.balances(currency) == sorted(
            (
                LedgerBalance(account, contract, amount)
                for (code, account, contract), amount in expected.items()
                if code == currency
            ),
            key=lambda balance: (balance.account, balance.contract_id or ""),
        )
    assert path.read_text().count('idempotency-key: "repayment:') == 120


def test_the_file_reads_as_the_module_describes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    receipt = BeancountLedger(path, CLOCK).post(_voucher(1, "USD"), "repayment:1")
    text = path.read_text()
    assert text.startswith("; leasekit's general ledger")
    assert 'option "operating_currency" "USD"\n' in text
    assert "1970-01-01 open Assets:1002-bank\n" in text
    assert '1970-01-01 open Expenses:6011-interest\n  leasekit-account: "6011 interest"\n' in text
    assert '2024-02-02 * "repayment 1 of \\"C-1\\"\\nsecond line"\n' in text
    assert "  Assets:1221-receivables  -1.37 USD\n" in text
    assert '    contract: "C-1"\n    branch: "SH-01"\n' in text
    assert '    memo: "from the bank"\n' in text
    line = text.splitlines().index('2024-02-02 * "repayment 1 of \\"C-1\\"\\nsecond line"') + 1
    assert receipt.ledger_reference == f"ledger.beancount:{line}"
    assert receipt.posted_at == CLOCK.now()


def test_a_second_process_reopening_the_file_knows_every_key(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    first = BeancountLedger(path, CLOCK).post(_voucher(1), "repayment:1")
    later = BeancountLedger(
        path, FixedClock(now=datetime(2025, 1, 1, tzinfo=UTC), business_date=date(2025, 1, 1))
    )
    assert later.post(_voucher(1), "repayment:1") == first
    with pytest.raises(ConflictError, match=first.ledger_reference):
        later.post(_voucher(2), "repayment:1")


def test_an_equal_voucher_written_otherwise_is_a_repeat(tmp_path: Path) -> None:
    ledger = BeancountLedger(tmp_path / "ledger.beancount", CLOCK)
    voucher = _voucher(1)
    receipt = ledger.post(voucher, "k")
    lines = [
        LedgerLine(
            line.account,
            line.side,
            Money(line.amount.amount * 1, "CNY"),
            line.memo,
            dict(reversed(line.dimensions.items())),
        )
        for line in voucher.lines
    ]
    rewritten = LedgerVoucher(voucher.voucher_id, voucher.business_date, voucher.description, lines)
    assert ledger.post(rewritten, "k") == receipt


def _post_many(path: str, worker: int, count: int) -> None:
    ledger = BeancountLedger(Path(path), CLOCK)
    for number in range(count):
        # Both workers post the shared keys; each also posts its own.
        ledger.post(_voucher(number), f"shared:{number}")
        ledger.post(_voucher(1000 * worker + number), f"own:{worker}:{number}")


_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from test_ledger_beancount import _post_many; "
    "_post_many(sys.argv[2], int(sys.argv[3]), 25)"
)
"""A worker process: this module imported by its file's folder, whatever the test runner
named it, so that the child does not depend on how pytest imported the tests."""


def test_two_processes_post_without_interleaving_or_posting_a_key_twice(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    here = str(Path(__file__).resolve().parent)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, here, str(path), str(worker)], stderr=subprocess.PIPE
        )
        for worker in (1, 2)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors.decode()
    text = path.read_text()
    assert text.count('idempotency-key: "shared:') == 25
    assert text.count('idempotency-key: "own:') == 50
    assert text.count("open Assets:1002-bank\n") == 1
    checked = _bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_threads_sharing_one_ledger_post_each_key_once(tmp_path: Path) -> None:
    ledger = BeancountLedger(tmp_path / "ledger.beancount", CLOCK)
    with ThreadPoolExecutor(4) as pool:
        receipts = list(pool.map(lambda n: ledger.post(_voucher(n % 10), f"k:{n % 10}"), range(40)))
    assert len({receipt.ledger_reference for receipt in receipts}) == 10
    assert sum(b.amount.amount for b in ledger.balances("CNY")) == 0


def test_a_torn_last_entry_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    BeancountLedger(path, CLOCK).post(_voucher(1), "repayment:1")
    complete = path.read_text()
    whole = complete.count("\n") + 1
    with path.open("a") as file:
        file.write('2024-03-03 * "cut short"\n  idempotency-key: "repayment:2"\n  Assets:1002-ba')
    ledger = BeancountLedger(path, CLOCK)
    with pytest.raises(LedgerFileError, match=f"line {whole}: the last entry is incomplete"):
        ledger.post(_voucher(2), "repayment:2")
    with pytest.raises(LedgerFileError, match="incomplete"):
        ledger.balances("CNY")
    path.write_text(complete)  # what the person told to delete from that line does
    ledger.post(_voucher(2), "repayment:2")
    assert _bean_check(path).returncode == 0


def test_an_account_no_rule_names_is_refused_naming_its_line(tmp_path: Path) -> None:
    ledger = BeancountLedger(tmp_path / "ledger.beancount", CLOCK)
    money = Money("1.00", "CNY")
    voucher = LedgerVoucher(
        "v-1",
        date(2024, 1, 15),
        "x",
        [LedgerLine("1002", "debit", money), LedgerLine("cash", "credit", money)],
    )
    with pytest.raises(ValidationError) as caught:
        ledger.post(voucher, "k")
    assert caught.value.errors[0].field == "lines[1].account"
    assert not (tmp_path / "ledger.beancount").read_text()


def test_two_codes_that_would_share_a_name_are_refused(tmp_path: Path) -> None:
    ledger = BeancountLedger(tmp_path / "ledger.beancount", CLOCK)
    money = Money("1.00", "CNY")
    lines = [LedgerLine("1002 bank", "debit", money), LedgerLine("1002-bank", "credit", money)]
    with pytest.raises(ValidationError, match="already account '1002 bank'") as caught:
        ledger.post(LedgerVoucher("v-1", date(2024, 1, 15), "x", lines), "k")
    assert caught.value.errors[0].field == "lines[1].account"


def test_names_follow_the_options_and_then_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.beancount"
    ledger = BeancountLedger(
        path, CLOCK, accounts={"1002 bank": "Assets:Bank:Current"}, roots={"6": "Income"}
    )
    ledger.post(_voucher(1), "k-1")
    renamed = BeancountLedger(path, CLOCK, accounts={"1002 bank": "Assets:Bank:Other"})
    renamed.post(_voucher(2), "k-2")
    text = path.read_text()
    assert "open Income:6011-interest" in text
    assert "Assets:Bank:Other" not in text
    assert {b.account for b in renamed.balances("CNY")} == {
        "1002 bank",
        "1221 receivables",
        "6011 interest",
    }


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("1221", "Assets:1221"),
        ("2241 other payables", "Liabilities:2241-other-payables"),
        ("4001_equity", "Income:4001-equity"),
        ("1122 应收账款", "Assets:1122-应收账款"),
        ("cash", None),
    ],
)
def test_the_default_names(code: str, name: str | None) -> None:
    assert beancount_name(code) == name


def test_leasekit_builds_it_from_its_options(tmp_path: Path) -> None:
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    assert pm.source_of("ledger-beancount").startswith("leasekit-ledger-beancount ")
    kind = AdapterKind.LEDGER.value
    options = {"path": "gl/books.beancount", "operating_currency": "usd", "roots": "6=Income"}
    adapters = resolve_adapters(pm, {kind: "beancount"}, {kind: options}, tmp_path, CLOCK)
    adapters.ledger.post(_voucher(1), "k-1")
    text = (tmp_path / "gl" / "books.beancount").read_text()
    assert 'option "operating_currency" "USD"' in text
    assert "Income:6011-interest" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accounts": "1002"}, "not key=value"),
        ({"accounts": "1002=Bank:Current"}, "not a Beancount account name"),
        ({"accounts": "1002=Assets:bank"}, "not a Beancount account name"),
        ({"roots": "6=Revenue"}, "6=Revenue"),
        ({"roots": "60=Income"}, "60=Income"),
        ({"operating_currency": "XXX"}, "XXX"),
    ],
)
def test_bad_options_stop_the_start(options: dict[str, str], message: str, tmp_path: Path) -> None:
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    kind = AdapterKind.LEDGER.value
    with pytest.raises(ConfigurationError, match=message):
        resolve_adapters(pm, {kind: "beancount"}, {kind: options}, tmp_path, CLOCK)
