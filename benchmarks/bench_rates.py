"""How fast are leasekit's rates (IRR, XIRR, both APRs) over a book, against pyxirr?

Run it with ``python benchmarks/bench_rates.py`` (``--quick`` for a smoke run). Like
``bench_schedule.py`` it prints a table and exits 0 whatever the speed; it exits 1 only when
the float-seeded solver and the bracketing solver disagree beyond 1e-15 on a contract, the
float-seeded solver's promise (absolute, on the rate as a fraction: an APR divided by 100).

The book: 100 monthly loans of 36 to 60 payments, in cents, as ``(date, Decimal)`` pairs. Each
rate is timed over the whole book with ``solver="bracket"`` (the default), with
``solver="float_seed"``, and with pyxirr (a float implementation in Rust) on the same flows:
the same ``(date, Decimal)`` tuples for XIRR and the EU APRC (days over 365), the same amounts
for IRR and the US APR (monthly IRR times 12); numpy-financial's ``irr`` is timed too. Every
implementation's inputs are built before anything is timed. The batch lines time
:mod:`leasekit.calc.batch` with one worker and with two.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import leasekit
from bench_schedule import Timing, best_rates
from leasekit.calc import apr, batch, irr, xirr
from leasekit.calc.dates import add_months
from leasekit.calc.schedule import Terms, build
from leasekit.calc.seeded import AGREEMENT

try:
    import pyxirr
except ImportError:  # the pyxirr columns degrade to "n/a"
    pyxirr = None
try:
    import numpy_financial as npf
except ImportError:
    npf = None

CONTRACTS = 100
TARGET_RATIO = 0.1
AGREE = Decimal(AGREEMENT)

Flows = list[tuple[date, Decimal]]


class Loan(NamedTuple):
    start: date
    principal: Decimal
    payments: Flows

    @property
    def flows(self) -> Flows:
        return [(self.start, -self.principal), *self.payments]

    @property
    def amounts(self) -> list[Decimal]:
        return [amount for _, amount in self.flows]


def book(seed: int = 16) -> list[Loan]:
    """Level monthly loans at 2 % to 15 %, due on the start date's day of the month."""
    rng = random.Random(seed)
    loans = []
    for _ in range(CONTRACTS):
        count = rng.randint(36, 60)
        start = date(2024, rng.randint(1, 12), rng.randint(1, 28))
        principal = Decimal(rng.randint(5_000_00, 50_000_00)) / 100
        rate = Decimal(rng.randint(200, 1500)) / 10000 / 12
        payment = (principal * rate / (1 - (1 + rate) ** -count)).quantize(Decimal("0.01"))
        payments = [(add_months(start, k), payment) for k in range(1, count + 1)]
        loans.append(Loan(start, principal, payments))
    return loans


# -- what is timed: one call per contract of the book --------------------------------------


def inputs_of(loans: Sequence[Loan], kind: str) -> list[Any]:
    """What each call takes, built once before anything is timed and shared by every
    implementation: dated flows for XIRR, amounts for IRR, (advances, payments) for an APR."""
    if kind == "xirr":
        return [loan.flows for loan in loans]
    if kind == "irr":
        return [loan.amounts for loan in loans]
    return [([(loan.start, loan.principal)], loan.payments) for loan in loans]


def leasekit_rates(kind: str, inputs: Sequence[Any], solver: str) -> list[Decimal]:
    """The rate of each loan; an APR in percent, as apr() returns it."""
    if kind == "xirr":
        return [xirr(flows, solver=solver) for flows in inputs]  # type: ignore[arg-type]
    if kind == "irr":
        return [irr(amounts, solver=solver) for amounts in inputs]  # type: ignore[arg-type]
    convention = "us_actuarial" if kind == "apr us_actuarial" else "eu"
    return [
        apr(
            advances=advances,
            payments=payments,
            convention=convention,
            solver=solver,  # type: ignore[arg-type]
        )
        for advances, payments in inputs
    ]


def pyxirr_inputs(loans: Sequence[Loan], kind: str) -> list[Any]:
    """pyxirr's inputs for the same loans, also built before anything is timed: the dated
    pairs for XIRR and the EU APRC, the amounts for IRR and the US APR."""
    dated = kind in ("xirr", "apr eu")
    return [loan.flows if dated else loan.amounts for loan in loans]


def pyxirr_rates(kind: str, inputs: Sequence[Any]) -> list[float]:
    """pyxirr on the same flows; the US APR is the monthly IRR times 12 for these loans (no
    odd days)."""
    if kind in ("xirr", "apr eu"):
        return [pyxirr.xirr(flows) for flows in inputs]
    scale = 12 if kind == "apr us_actuarial" else 1
    return [pyxirr.irr(amounts) * scale for amounts in inputs]


KINDS = ("irr", "xirr", "apr us_actuarial", "apr eu")


class Result(NamedTuple):
    kind: str
    bracket: float
    seeded: float
    pyxirr: float | None
    npf: float | None
    spread: float
    worst_disagreement: Decimal
    worst_pyxirr_gap: float | None


def measure(kind: str, loans: Sequence[Loan], repeats: int, target_s: float) -> Result:
    """Contracts per second for each implementation, interleaved in the same run."""
    ours = inputs_of(loans, kind)
    inputs = ours if kind in ("xirr", "irr") else pyxirr_inputs(loans, kind)
    fns: list[Callable[[], object]] = [
        lambda: leasekit_rates(kind, ours, "bracket"),
        lambda: leasekit_rates(kind, ours, "float_seed"),
    ]
    if pyxirr is not None:
        fns.append(lambda: pyxirr_rates(kind, inputs))
    if npf is not None and kind == "irr":
        floats = [[float(amount) for amount in amounts] for amounts in inputs]
        fns.append(lambda: [npf.irr(amounts) for amounts in floats])
    timings = best_rates(fns, repeats, target_s)
    per_second = [timing.per_second * len(loans) for timing in timings]
    bracket = leasekit_rates(kind, ours, "bracket")
    seeded = leasekit_rates(kind, ours, "float_seed")
    percent = 100 if kind.startswith("apr") else 1  # apr() answers in percent
    worst = max(abs(a - b) for a, b in zip(bracket, seeded, strict=True)) / percent
    gap = None
    if pyxirr is not None:
        theirs = pyxirr_rates(kind, inputs)
        gap = max(abs(float(a) / percent - b) for a, b in zip(seeded, theirs, strict=True))
    return Result(
        kind,
        per_second[0],
        per_second[1],
        per_second[2] if pyxirr is not None else None,
        per_second[3] if len(per_second) > 3 else None,
        max(timing.spread for timing in timings),
        worst,
        gap,
    )


# -- batches ------------------------------------------------------------------------------


def contract_apr(terms: Terms) -> Decimal:
    """What a simulator asks of each contract: its schedule, reduced to the APR."""
    plan = build(terms)
    return apr(
        advances=[(terms.start_date, terms.principal)],
        payments=plan.cash_flows(),
        solver="float_seed",
    )


def book_terms(loans: Sequence[Loan]) -> list[Terms]:
    return [
        Terms(
            principal=loan.principal,
            annual_rate=Decimal("0.069"),
            periods=len(loan.payments),
            start_date=loan.start,
        )
        for loan in loans
    ]


def measure_batches(loans: Sequence[Loan], copies: int) -> list[tuple[str, Timing, Timing]]:
    """Items per second through leasekit.calc.batch with one worker and with two; each
    timing includes starting the processes, as a caller's would."""
    flows = [loan.flows for loan in loans] * copies
    terms = book_terms(loans) * max(1, copies // 4)
    lines = []
    for name, one, two, count in (
        (
            "xirrs (float_seed), flows in, rates out",
            lambda: batch.xirrs(flows, solver="float_seed"),
            lambda: batch.xirrs(flows, solver="float_seed", workers=2),
            len(flows),
        ),
        (
            "run(schedule → APR), terms in, APRs out",
            lambda: batch.run(contract_apr, terms),
            lambda: batch.run(contract_apr, terms, workers=2),
            len(terms),
        ),
    ):
        single, double = best_rates([one, two], repeats=3, target_s=0.0)
        lines.append(
            (
                name,
                Timing(single.per_second * count, single.spread),
                Timing(double.per_second * count, double.spread),
            )
        )
    return lines


# -- report -------------------------------------------------------------------------------


def print_report(results: Sequence[Result], batches: Sequence[tuple[str, Timing, Timing]]) -> None:
    header = (
        f"{'rate':18} {'bracket/s':>10} {'float_seed/s':>13} {'speed-up':>9} {'pyxirr/s':>10} "
        f"{'seed/pyxirr':>12} {'≥0.1×':>6} {'npf.irr/s':>10} {'|seed−bracket|':>15} "
        f"{'|seed−pyxirr|':>14}"
    )
    print(header)
    print("─" * len(header))
    for r in results:
        ratio = f"{r.seeded / r.pyxirr:.3f}×" if r.pyxirr else "n/a"
        meets = ("yes" if r.seeded / r.pyxirr >= TARGET_RATIO else "NO") if r.pyxirr else "n/a"
        print(
            f"{r.kind:18} {r.bracket:>10,.0f} {r.seeded:>13,.0f} {r.seeded / r.bracket:>8.0f}× "
            f"{r.pyxirr or 0:>10,.0f} {ratio:>12} {meets:>6} "
            f"{'' if r.npf is None else f'{r.npf:,.0f}':>10} {r.worst_disagreement:>15.1E} "
            f"{'n/a' if r.worst_pyxirr_gap is None else f'{r.worst_pyxirr_gap:.1E}':>14}"
        )
    print()
    print(
        f"{'batch (' + str(os.cpu_count()) + ' CPUs)':42} {'workers=1/s':>12} {'workers=2/s':>12}"
    )
    for name, single, double in batches:
        print(
            f"{name:42} {single.per_second:>12,.0f} {double.per_second:>12,.0f}  "
            f"{double.per_second / single.per_second:.2f}×"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: the numbers mean little")
    args = parser.parse_args(argv)
    repeats, target_s, copies = (3, 0.01, 2) if args.quick else (15, 0.05, 40)
    loans = book()
    versions = " | ".join(
        f"{name} {getattr(module, '__version__', 'not installed')}"
        for name, module in (("pyxirr", pyxirr), ("numpy-financial", npf))
    )
    print(f"leasekit {leasekit.__version__} | {versions} | {os.cpu_count()} CPUs")
    print(
        f"book: {CONTRACTS} monthly loans of 36–60 payments; rates per second over the book, "
        f"best of {repeats} interleaved repeats"
    )
    results = [measure(kind, loans, repeats, target_s) for kind in KINDS]
    print_report(results, measure_batches(loans, copies))
    print(
        "speed-up = float_seed ÷ bracket; seed/pyxirr = float_seed ÷ pyxirr on the same flows "
        f"(target ≥ {TARGET_RATIO}×, informational only); |seed−bracket| and |seed−pyxirr| "
        "are the largest absolute differences over the book, in the rate as a fraction (an "
        "APR divided by 100)."
    )
    spread = max(result.spread for result in results)
    print(
        f"timing noise: the median repeat was up to {spread:.2f}× slower than the best "
        "(close to 1× on a quiet machine; far above it, compare ratios only, or re-run)."
    )
    failing = [r.kind for r in results if r.worst_disagreement > AGREE]
    if failing:
        print(f"CORRECTNESS FAILURE: float_seed and bracket differ beyond {AGREE}: {failing}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
