"""How fast is ``leasekit.calc.schedule`` compared with code a user could write instead?

Run it with ``python benchmarks/bench_schedule.py`` (``--quick`` for a smoke run). It prints a
table and is never a pass/fail timing test: the exit code is 0 whatever the speed. The one
failure is a correctness failure: the hand-written baseline must produce exactly leasekit's
rows, otherwise the speed comparison would compare two different tables.

For each method, one 360-row monthly plan is built repeatedly by three implementations:

* **leasekit**: the public ``schedule(...)`` call, validation and ``Terms`` included, because
  that is what a caller pays for.
* **plain Decimal**: the shortest obvious ``Decimal`` loop producing the same table (same due
  dates, same installment, same half-up cent rounding of each row's interest, last row
  absorbing the residue). The project target is leasekit ≥ 1.0× its speed.
* **float reference**: numpy-financial (``npf.pmt``/``ipmt``/``ppmt``) for the annuity and the
  closest vectorized numpy closed form for the others, with a numpy calendar, so the table
  also shows what the float shortcut costs in cents.
"""

from __future__ import annotations

import argparse
import calendar
import decimal
import gc
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

import leasekit
from leasekit.calc.schedule import METHODS, ScheduleRow, schedule

try:
    import numpy_financial as npf
except ImportError:  # the float column degrades to "n/a" rather than hiding the main result
    npf = None

PRINCIPAL = Decimal("250000.00")
ANNUAL_RATE = Decimal("0.0625")
PERIODS = 360
START = date(2024, 1, 31)  # a 31st, so February and the 30-day months clamp every year
TARGET_RATIO = 1.0

CENT = Decimal("0.01")
NO_CENTS = Decimal("0.00")
FIELDS = ("payment", "principal", "interest", "balance")
WORKING = decimal.Context(prec=34)
"""The same 34 digits as leasekit's working context, so the installment is rounded alike and
the row-by-row check compares like with like. Interest is ``balance × annual / 12``, divided
last as leasekit does, so an exact half cent stays a tie that half-up rounds up."""

Row = tuple[int, date, Decimal, Decimal, Decimal, Decimal]
Floats = npt.NDArray[np.floating[Any]]


# -- baseline: the plain Decimal loop --------------------------------------------------------


def cents(amount: Decimal) -> Decimal:
    """Half-up to the cent: leasekit's ``standard`` rounding of installments and interest."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def plain_due_dates(start: date, periods: int) -> list[date]:
    """One date per month after *start*, always aiming at ``start.day`` (31 Jan → 29 Feb →
    31 Mar), never stepping from the previous date, which would lose the month end."""
    dates = []
    for k in range(1, periods + 1):
        year, month = divmod(start.year * 12 + start.month - 1 + k, 12)
        last_day = calendar.monthrange(year, month + 1)[1]
        dates.append(date(year, month + 1, min(start.day, last_day)))
    return dates


def plain_annuity(principal: Decimal, annual_rate: Decimal, periods: int, start: date) -> list[Row]:
    """Textbook level payment ``B·r / (1 − (1 + r)^−n)``, then one row per month."""
    with decimal.localcontext(WORKING):
        rate = annual_rate / 12
        payment = cents(principal * rate / (1 - (1 + rate) ** -periods))
        rows: list[Row] = []
        balance = principal
        for k, due in enumerate(plain_due_dates(start, periods), start=1):
            interest = cents(balance * annual_rate / 12)
            if k == periods:
                rows.append((k, due, balance + interest, balance, interest, NO_CENTS))
                break
            principal_part = payment - interest
            balance -= principal_part
            rows.append((k, due, payment, principal_part, interest, balance))
        return rows


def plain_equal_principal(
    principal: Decimal, annual_rate: Decimal, periods: int, start: date
) -> list[Row]:
    """The same principal every month plus interest on the balance; the last row clears it."""
    with decimal.localcontext(WORKING):
        repayment = cents(principal / periods)
        rows: list[Row] = []
        balance = principal
        for k, due in enumerate(plain_due_dates(start, periods), start=1):
            interest = cents(balance * annual_rate / 12)
            if k == periods:
                rows.append((k, due, balance + interest, balance, interest, NO_CENTS))
                break
            balance -= repayment
            rows.append((k, due, repayment + interest, repayment, interest, balance))
        return rows


def plain_interest_only(
    principal: Decimal, annual_rate: Decimal, periods: int, start: date
) -> list[Row]:
    """Interest every month, the whole principal with the last one."""
    with decimal.localcontext(WORKING):
        rows: list[Row] = []
        for k, due in enumerate(plain_due_dates(start, periods), start=1):
            interest = cents(principal * annual_rate / 12)
            if k == periods:
                rows.append((k, due, principal + interest, principal, interest, NO_CENTS))
            else:
                rows.append((k, due, interest, NO_CENTS, interest, principal))
        return rows


def plain_flat(principal: Decimal, annual_rate: Decimal, periods: int, start: date) -> list[Row]:
    """leasekit's flat rule: add-on interest ``B × rate × years`` rounded once, spread as a
    rounded level installment and a rounded level interest; the last row takes the rest."""
    with decimal.localcontext(WORKING):
        total_interest = cents(principal * annual_rate * periods / 12)
        payment = cents((principal + total_interest) / periods)
        interest = cents(total_interest / periods)
        principal_part = payment - interest
        rows: list[Row] = []
        balance = principal
        for k, due in enumerate(plain_due_dates(start, periods), start=1):
            if k == periods:
                last_interest = total_interest - interest * (periods - 1)
                rows.append((k, due, balance + last_interest, balance, last_interest, NO_CENTS))
                break
            balance -= principal_part
            rows.append((k, due, payment, principal_part, interest, balance))
        return rows


PLAIN: dict[str, Callable[[Decimal, Decimal, int, date], list[Row]]] = {
    "annuity": plain_annuity,
    "equal_principal": plain_equal_principal,
    "interest_only": plain_interest_only,
    "flat": plain_flat,
}


# -- float reference: numpy-financial and numpy --------------------------------------------


class FloatRows(NamedTuple):
    """A float schedule as columns, the way numpy users hold one."""

    due_dates: npt.NDArray[np.datetime64]
    payment: Floats
    principal: Floats
    interest: Floats
    balance: Floats


def numpy_due_dates(start: date, periods: int) -> npt.NDArray[np.datetime64]:
    """The same month-end-anchored calendar, vectorized, so the float side pays for one too."""
    months = np.datetime64(start, "M") + np.arange(1, periods + 1)
    month_ends = (months + 1).astype("datetime64[D]") - 1
    dates: npt.NDArray[np.datetime64] = np.minimum(
        months.astype("datetime64[D]") + (start.day - 1), month_ends
    )
    return dates


def npf_annuity(principal: float, annual_rate: float, periods: int, start: date) -> FloatRows:
    """numpy-financial's own per-period split: ``pmt``, ``ipmt`` and ``ppmt`` over 1..n."""
    rate = annual_rate / 12
    per = np.arange(1, periods + 1)
    payment = float(npf.pmt(rate, periods, -principal))
    interest = npf.ipmt(rate, per, periods, -principal)
    principal_part = npf.ppmt(rate, per, periods, -principal)
    balance = principal - np.cumsum(principal_part)
    return FloatRows(
        numpy_due_dates(start, periods),
        np.full(periods, payment),
        principal_part,
        interest,
        balance,
    )


def numpy_equal_principal(
    principal: float, annual_rate: float, periods: int, start: date
) -> FloatRows:
    """No numpy-financial function exists; the closed form is one ``arange``."""
    repayment = principal / periods
    opening = principal - repayment * np.arange(periods)
    interest = opening * (annual_rate / 12)
    return FloatRows(
        numpy_due_dates(start, periods),
        repayment + interest,
        np.full(periods, repayment),
        interest,
        opening - repayment,
    )


def numpy_interest_only(
    principal: float, annual_rate: float, periods: int, start: date
) -> FloatRows:
    """No numpy-financial function exists; constant interest, principal in the last row."""
    interest = np.full(periods, principal * annual_rate / 12)
    principal_part = np.zeros(periods)
    principal_part[-1] = principal
    balance = np.full(periods, principal)
    balance[-1] = 0.0
    return FloatRows(
        numpy_due_dates(start, periods),
        interest + principal_part,
        principal_part,
        interest,
        balance,
    )


def numpy_flat(principal: float, annual_rate: float, periods: int, start: date) -> FloatRows:
    """No numpy-financial function exists; add-on interest spread evenly, unrounded."""
    total_interest = principal * annual_rate * periods / 12
    payment = np.full(periods, (principal + total_interest) / periods)
    interest = np.full(periods, total_interest / periods)
    principal_part = payment - interest
    return FloatRows(
        numpy_due_dates(start, periods),
        payment,
        principal_part,
        interest,
        principal - np.cumsum(principal_part),
    )


FLOAT: dict[str, tuple[str, Callable[[float, float, int, date], FloatRows]]] = {
    "annuity": ("npf.pmt/ipmt/ppmt", npf_annuity),
    "equal_principal": ("numpy closed form", numpy_equal_principal),
    "interest_only": ("numpy closed form", numpy_interest_only),
    "flat": ("numpy closed form", numpy_flat),
}


# -- correctness -----------------------------------------------------------------------------


def leasekit_rows(method: str) -> tuple[ScheduleRow, ...]:
    return schedule(
        principal=PRINCIPAL,
        annual_rate=ANNUAL_RATE,
        periods=PERIODS,
        start_date=START,
        method=method,  # type: ignore[arg-type]
    ).rows


def as_printed(row: Sequence[object]) -> tuple[str, ...]:
    """Equal ``Decimal`` values can still print differently (``0`` vs ``0.00``, ``-0.00``);
    comparing the text too makes "the same table" mean the same printed table."""
    return tuple(str(value) for value in row)


def first_difference(
    expected: Sequence[ScheduleRow], actual: Sequence[Row]
) -> tuple[int, object, object] | None:
    """Index and both versions of the first row that differs, or None when the tables match."""
    if len(expected) != len(actual):
        index = min(len(expected), len(actual))
        missing = "(no row)"
        return (
            index,
            expected[index] if index < len(expected) else missing,
            actual[index] if index < len(actual) else missing,
        )
    for index, (mine, theirs) in enumerate(zip(expected, actual, strict=True)):
        if tuple(mine) != tuple(theirs) or as_printed(mine) != as_printed(theirs):
            return index, mine, theirs
    return None


def check_baseline(method: str) -> bool:
    """Prove the plain loop computes leasekit's table before any of it is timed."""
    found = first_difference(
        leasekit_rows(method), PLAIN[method](PRINCIPAL, ANNUAL_RATE, PERIODS, START)
    )
    if found is None:
        return True
    index, mine, theirs = found
    print(f"CORRECTNESS FAILURE ({method}): first differing row is #{index + 1}")
    print(f"  leasekit:      {mine}")
    print(f"  plain Decimal: {theirs}")
    return False


def to_cents(amounts: Sequence[Decimal]) -> npt.NDArray[np.int64]:
    return np.array([int(amount * 100) for amount in amounts], dtype=np.int64)


def float_deviation(method: str) -> tuple[dict[str, int], int, bool]:
    """How far the float rows, rounded to the cent, are from leasekit's exact rows.

    Returns per column the largest |float − exact| in cents; how many rounded float rows do not
    add up (payment ≠ principal + interest, or balance ≠ previous balance − principal), which
    is what a ledger posting those rows would trip over; and whether the due dates agree.
    """
    rows = leasekit_rows(method)
    floats = FLOAT[method][1](float(PRINCIPAL), float(ANNUAL_RATE), PERIODS, START)
    rounded = {field: np.rint(getattr(floats, field) * 100).astype(np.int64) for field in FIELDS}
    deviation = {
        field: int(np.abs(rounded[field] - to_cents([getattr(row, field) for row in rows])).max())
        for field in FIELDS
    }
    opening = np.concatenate(([int(PRINCIPAL * 100)], rounded["balance"][:-1]))
    broken = (rounded["payment"] != rounded["principal"] + rounded["interest"]) | (
        rounded["balance"] != opening - rounded["principal"]
    )
    dates_match = floats.due_dates.tolist() == [row.due_date for row in rows]
    return deviation, int(broken.sum()), dates_match


# -- timing ----------------------------------------------------------------------------------


def run_once(fn: Callable[[], object], number: int) -> float:
    """Seconds for *number* calls, the garbage collector paused as ``timeit`` does."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()


def calibrate(fn: Callable[[], object], target_s: float) -> int:
    """Calls per repeat so one repeat lasts about *target_s*: long enough to dwarf the timer's
    resolution, short enough that several repeats fit the time budget. Doubles as warm-up."""
    number = 1
    while True:
        elapsed = run_once(fn, number)
        if elapsed >= target_s / 4:
            return max(1, round(number * target_s / elapsed))
        number *= 2


class Timing(NamedTuple):
    """Best rate, and how much slower the median repeat was: the run's own noise gauge."""

    per_second: float
    spread: float


def best_rates(fns: Sequence[Callable[[], object]], repeats: int, target_s: float) -> list[Timing]:
    """Schedules per second for each of *fns*, best of *repeats* short repeats.

    Repeats are short and interleaved (A, B, C, A, B, C, ...): on a shared or virtual machine
    whole seconds can run twice as slow, and a long block of repeats per implementation can
    fall entirely inside such a stretch and skew one ratio. Many short interleaved repeats
    give every implementation its share of the quiet moments, and the best repeat is the one
    least disturbed by the rest of the machine.
    """
    numbers = [calibrate(fn, target_s) for fn in fns]
    seconds: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for times, fn, number in zip(seconds, fns, numbers, strict=True):
            times.append(run_once(fn, number) / number)
    return [Timing(1.0 / min(times), statistics.median(times) / min(times)) for times in seconds]


class Result(NamedTuple):
    method: str
    leasekit: float
    plain: float
    float_name: str
    float_rate: float | None
    spread: float
    deviation: dict[str, int]
    rows_not_adding_up: int
    dates_match: bool | None


def measure(method: str, repeats: int, target_s: float) -> Result:
    """Time the three implementations of *method* on the same inputs in the same run."""
    plain = PLAIN[method]
    float_name, float_fn = FLOAT[method]
    fns: list[Callable[[], object]] = [
        lambda: schedule(
            principal=PRINCIPAL,
            annual_rate=ANNUAL_RATE,
            periods=PERIODS,
            start_date=START,
            method=method,  # type: ignore[arg-type]
        ),
        lambda: plain(PRINCIPAL, ANNUAL_RATE, PERIODS, START),
    ]
    have_float = npf is not None
    if have_float:
        p, r = float(PRINCIPAL), float(ANNUAL_RATE)
        fns.append(lambda: float_fn(p, r, PERIODS, START))
    timings = best_rates(fns, repeats, target_s)
    rates = [timing.per_second for timing in timings]
    spread = max(timing.spread for timing in timings)
    if not have_float:
        return Result(method, rates[0], rates[1], "n/a", None, spread, {}, 0, None)
    deviation, broken, dates_match = float_deviation(method)
    return Result(
        method, rates[0], rates[1], float_name, rates[2], spread, deviation, broken, dates_match
    )


# -- report ----------------------------------------------------------------------------------

HEADERS = (
    "method",
    "leasekit sch/s",
    "plain sch/s",
    "lk/plain",
    f"≥{TARGET_RATIO}×",
    "float reference",
    "float sch/s",
    "lk/float",
    "float max dev ¢",
)


def cells(result: Result) -> list[str]:
    ratio = result.leasekit / result.plain
    if result.float_rate is None:
        float_cells = ["n/a", "n/a", "n/a"]
    else:
        worst = max(result.deviation, key=result.deviation.__getitem__)
        dev = f"{result.deviation[worst]} ({worst})" if result.deviation[worst] else "0"
        if not result.dates_match:
            dev += " dates differ!"
        float_cells = [
            f"{result.float_rate:,.0f}",
            f"{result.leasekit / result.float_rate:.3f}×",
            dev,
        ]
    return [
        result.method,
        f"{result.leasekit:,.0f}",
        f"{result.plain:,.0f}",
        f"{ratio:.2f}×",
        "yes" if ratio >= TARGET_RATIO else "NO",
        result.float_name,
        *float_cells,
    ]


def print_table(results: Sequence[Result]) -> None:
    """A rich table when rich is importable (it is a leasekit dependency), plain text if not."""
    rows = [cells(result) for result in results]
    try:
        from rich import box
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
        for line in (HEADERS, *rows):
            print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
        return
    table = Table(
        title=f"{PERIODS}-row monthly schedules per second, best of repeats", box=box.SIMPLE_HEAD
    )
    for i, header in enumerate(HEADERS):
        table.add_column(header, justify="left" if i in (0, 5) else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    # Never wrap a cell, even when piped: rich assumes 80 columns off a terminal.
    Console(width=max(160, shutil.get_terminal_size().columns)).print(table)


def print_deviations(results: Sequence[Result]) -> None:
    """Every column's worst float deviation, not only the largest: they differ in kind (a
    balance drifting with unrounded installments, a residue the exact last row absorbs)."""
    for result in results:
        if result.float_rate is not None:
            detail = ", ".join(f"{field} {result.deviation[field]}" for field in FIELDS)
            print(
                f"  {result.method}: max |float − exact| in cents: {detail}; "
                f"float rows not adding up to the cent: {result.rows_not_adding_up}/{PERIODS}"
            )


def describe_run(repeats: int, target_s: float) -> None:
    npf_version = getattr(npf, "__version__", "not installed (pip install numpy-financial)")
    print(
        f"leasekit {leasekit.__version__} | Python {platform.python_version()} | "
        f"numpy {np.__version__} | numpy-financial {npf_version} | {os.cpu_count()} CPUs"
    )
    print(
        f"inputs: principal {PRINCIPAL}, {(ANNUAL_RATE * 100).normalize()} % p.a., "
        f"{PERIODS} monthly periods from {START}, 30/360, standard rounding | "
        f"best of {repeats} repeats of ~{target_s} s"
    )


def explain_ratios() -> None:
    print(
        "lk/plain = leasekit schedules/s ÷ plain Decimal loop schedules/s (>1: leasekit is "
        f"faster; project target ≥ {TARGET_RATIO}×, informational only)."
    )
    print(
        "lk/float = leasekit ÷ float reference; float max dev ¢ = largest difference in cents "
        "between the float rows rounded to the cent and leasekit's exact rows."
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="fewer, shorter repeats: a smoke run, not numbers"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    repeats, target_s = (5, 0.01) if args.quick else (60, 0.02)
    methods = [method for method in METHODS if method in PLAIN]
    for method in sorted(set(METHODS) - set(PLAIN)):
        print(f"note: leasekit method {method!r} has no plain baseline here yet; not timed")
    # Check every method before giving up, so one run lists every failing table.
    failing = [method for method in methods if not check_baseline(method)]
    if failing:
        return 1
    print("plain Decimal baseline reproduces leasekit's rows exactly for every method timed.")
    describe_run(repeats, target_s)
    results = [measure(method, repeats, target_s) for method in methods]
    print_table(results)
    print_deviations(results)
    explain_ratios()
    spread = max(result.spread for result in results)
    print(
        f"timing noise: the median repeat was up to {spread:.2f}× slower than the best "
        "(close to 1× on a quiet machine; far above it, other load competed: compare ratios "
        "only, or re-run)."
    )
    below = [r.method for r in results if r.leasekit / r.plain < TARGET_RATIO]
    if below:
        print(f"below the {TARGET_RATIO}× target: {', '.join(below)} (exit code stays 0)")
    else:
        print(f"every method meets the {TARGET_RATIO}× target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
