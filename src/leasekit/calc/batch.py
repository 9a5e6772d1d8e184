"""Many schedules or rates at once, for books of contracts: simulations, checks, end of day.

Every function takes a sequence of items and returns one result per item, in input order.
``workers=1`` (the default) computes in this process; ``workers=n`` spreads chunks of items
over *n* processes (:class:`concurrent.futures.ProcessPoolExecutor`), ``workers=None`` over
one per core. An item that fails stops the batch with a
:class:`~leasekit.errors.BatchError` naming its index, the first such item in input order,
whatever the number of workers; it is re-exported here for convenience.

Items and results cross process boundaries by pickling, which costs about as much per
``Decimal`` as the arithmetic that made it: workers pay off for rates (many flows in, one
number out) and for a function that reduces a schedule to a few figures (:func:`run`), much
less for whole schedules sent back row by row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, Final, TypeVar

from leasekit.calc.apr import apr
from leasekit.calc.rates import irr, xirr
from leasekit.calc.schedule import Schedule, Terms, build
from leasekit.calc.seeded import Solver
from leasekit.errors import BatchError, CalculationError
from leasekit.money import DecimalLike

__all__ = ["BatchError", "aprs", "irrs", "run", "schedules", "xirrs"]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
Flows = Sequence[tuple[date, DecimalLike]]

_CHUNKS_PER_WORKER: Final = 4
"""Chunks each worker gets: enough that one slow chunk does not leave the others idle."""


def run(
    function: Callable[[_Item], _Result], items: Sequence[_Item], *, workers: int | None = 1
) -> list[_Result]:
    """``[function(item) for item in items]``, on *workers* processes.

    *function* must be picklable for ``workers > 1``: a module-level function, or a
    ``functools.partial`` of one.
    """
    count = _worker_count(workers)
    if count == 1 or len(items) < 2:
        return _unwrap(_each(function, items), 0)
    size = max(1, -(-len(items) // (count * _CHUNKS_PER_WORKER)))
    starts = range(0, len(items), size)
    with ProcessPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(_each, function, items[start : start + size]) for start in starts]
        try:
            return [
                result
                for start, future in zip(starts, futures, strict=True)
                for result in _unwrap(future.result(), start)
            ]
        except BatchError:
            pool.shutdown(cancel_futures=True)
            raise


def schedules(terms: Sequence[Terms], *, workers: int | None = 1) -> list[Schedule]:
    """The schedule of each of *terms* (validated :class:`~leasekit.calc.schedule.Terms`)."""
    return run(build, terms, workers=workers)


def irrs(
    cash_flows: Sequence[Sequence[DecimalLike]],
    *,
    solver: Solver = "bracket",
    workers: int | None = 1,
) -> list[Decimal]:
    """:func:`~leasekit.calc.rates.irr` of each series of equally spaced flows."""
    return run(partial(_irr, solver=solver), cash_flows, workers=workers)


def xirrs(
    flows: Sequence[Flows], *, solver: Solver = "bracket", workers: int | None = 1
) -> list[Decimal]:
    """:func:`~leasekit.calc.rates.xirr` of each series of dated flows."""
    return run(partial(_xirr, solver=solver), flows, workers=workers)


def aprs(
    credits: Sequence[tuple[Flows, Flows]],
    *,
    convention: str = "us_actuarial",
    unit_period: str | None = "monthly",
    time_basis: str | None = None,
    solver: Solver = "bracket",
    workers: int | None = 1,
) -> list[Decimal]:
    """:func:`~leasekit.calc.apr.apr` of each ``(advances, payments)`` pair."""
    options = {
        "convention": convention,
        "unit_period": unit_period,
        "time_basis": time_basis,
        "solver": solver,
    }
    return run(partial(_apr, options=options), credits, workers=workers)


def _irr(cash_flows: Sequence[DecimalLike], *, solver: Solver) -> Decimal:
    return irr(cash_flows, solver=solver)


def _xirr(flows: Flows, *, solver: Solver) -> Decimal:
    return xirr(flows, solver=solver)


def _apr(credit: tuple[Flows, Flows], *, options: dict[str, Any]) -> Decimal:
    advances, payments = credit
    return apr(advances=advances, payments=payments, **options)


class _Failed:
    """An item's exception, carried back in place of its result."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _each(function: Callable[[_Item], _Result], items: Sequence[_Item]) -> list[_Result | _Failed]:
    """Apply *function* to a chunk, catching each item's exception so the batch can name it."""
    results: list[_Result | _Failed] = []
    for item in items:
        try:
            results.append(function(item))
        except Exception as error:  # whatever it is, _unwrap raises it as a BatchError
            results.append(_Failed(error))
            break
    return results


def _unwrap(results: list[_Result | _Failed], start: int) -> list[_Result]:
    """The results of a chunk beginning at input index *start*; a failure raises."""
    for offset, result in enumerate(results):
        if isinstance(result, _Failed):
            raise BatchError(start + offset, result.error) from result.error
    return [result for result in results if not isinstance(result, _Failed)]


def _worker_count(workers: int | None) -> int:
    count = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise CalculationError(f"workers: expected a whole number from 1, or None, got {workers!r}")
    return count
