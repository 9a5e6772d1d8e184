"""The examples are documentation that runs: each must finish and print what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_dealer_quote_runs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "dealer_quote.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("installment ")
    assert lines[0].endswith("x 48, residual 11550.00")
    # 38,500 − 15 % + 635 of financed fees, less the 395 arrangement fee (a finance charge)
    assert lines[1].startswith("amount financed 32965.00, finance charge ")
    assert any(line.startswith("settle on 2026-03-20: principal ") for line in lines)
    assert lines[-1].startswith("after prepaying 5000.00: installment ")
