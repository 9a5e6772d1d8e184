"""Batches: one result per item in input order, the same with any number of workers, and a
failing item named by its index."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from leasekit.calc import apr, batch, irr, schedule, xirr
from leasekit.calc.dates import add_months
from leasekit.calc.schedule import Terms
from leasekit.errors import AmountError, BatchError, CalculationError

START = date(2024, 1, 31)


def terms(index: int) -> Terms:
    return Terms(
        principal=Decimal(10_000 + 1_000 * index),
        annual_rate=Decimal("0.05") + Decimal(index) / 1000,
        periods=12 + index,
        start_date=START,
        method=("annuity", "equal_principal", "interest_only", "flat")[index % 4],
    )


def loan(index: int) -> tuple[list[tuple[date, Decimal]], list[tuple[date, Decimal]]]:
    principal = Decimal(10_000 + 100 * index)
    payment = (principal / 11).quantize(Decimal("0.01"))
    return [(START, principal)], [(add_months(START, k), payment) for k in range(1, 13)]


TERMS = [terms(index) for index in range(9)]
LOANS = [loan(index) for index in range(9)]
DATED = [[(START, -advances[0][1]), *payments] for advances, payments in LOANS]


def test_schedules_are_the_schedules_of_each_terms() -> None:
    built = batch.schedules(TERMS)
    assert built == [schedule(**_arguments(t)) for t in TERMS]
    assert batch.schedules(TERMS, workers=2) == built


def _arguments(t: Terms) -> dict[str, object]:
    return {
        "principal": t.principal,
        "annual_rate": t.annual_rate,
        "periods": t.periods,
        "start_date": t.start_date,
        "method": t.method,
    }


@pytest.mark.parametrize("solver", ["bracket", "float_seed"])
def test_rates_match_single_calls_with_any_number_of_workers(solver: str) -> None:
    expected = [xirr(flows, solver=solver) for flows in DATED]  # type: ignore[arg-type]
    assert batch.xirrs(DATED, solver=solver) == expected  # type: ignore[arg-type]
    assert batch.xirrs(DATED, solver=solver, workers=2) == expected  # type: ignore[arg-type]
    amounts = [[amount for _, amount in flows] for flows in DATED]
    expected = [irr(flows, solver=solver) for flows in amounts]  # type: ignore[arg-type]
    assert batch.irrs(amounts, solver=solver, workers=2) == expected  # type: ignore[arg-type]
    expected = [
        apr(advances=a, payments=p, convention="eu", solver=solver)  # type: ignore[arg-type]
        for a, p in LOANS
    ]
    aprs = batch.aprs(LOANS, convention="eu", solver=solver, workers=2)  # type: ignore[arg-type]
    assert aprs == expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_item_is_named_by_its_index(workers: int) -> None:
    flows = [*DATED]
    flows[5] = [(START, "-100"), (START, "ten")]  # type: ignore[list-item]
    flows[7] = []
    with pytest.raises(batch.BatchError, match=r"item 5: AmountError: flows\[1\] amount") as info:
        batch.xirrs(flows, workers=workers)  # type: ignore[arg-type]
    assert info.value.index == 5
    assert isinstance(info.value.error, AmountError)
    assert info.value.__cause__ is info.value.error


def test_a_batch_error_is_a_calculation_error_of_the_one_error_tree() -> None:
    assert batch.BatchError is BatchError
    assert issubclass(BatchError, CalculationError)
    error = BatchError(2, AmountError("flows[0] amount: 'x' is not a decimal number"))
    assert (error.index, str(error)) == (2, "item 2: AmountError: " + str(error.error))


def test_a_schedule_that_cannot_be_built_is_named_by_its_index() -> None:
    # Terms are valid, but the rounded installment repays the loan early (test_schedule.py).
    bad = Terms(
        principal=Decimal(100), annual_rate=Decimal("0.0297"), periods=166, start_date=START
    )
    with pytest.raises(batch.BatchError, match="item 3: CalculationError") as info:
        batch.schedules([*TERMS[:3], bad, *TERMS[3:]], workers=2)
    assert info.value.index == 3


def test_run_applies_any_picklable_function() -> None:
    assert batch.run(abs, [-1, 2, -3], workers=2) == [1, 2, 3]
    assert batch.run(abs, [], workers=2) == []
    assert batch.run(abs, [-5], workers=None) == [5]


@pytest.mark.parametrize("workers", [0, -1, True, 1.5])
def test_workers_must_be_a_positive_whole_number(workers: object) -> None:
    with pytest.raises(CalculationError, match="workers"):
        batch.run(abs, [1, 2], workers=workers)  # type: ignore[arg-type]
