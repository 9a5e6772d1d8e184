"""The simulation's figures as CSV tables and the PNG charts drawn from them.

Each chart is drawn from its CSV's rows and nothing else, so what a chart shows can be
checked in its table. Amounts are exact decimals in the tables; they become floats only on
their way into matplotlib, which is imported here alone (the ``simulate`` extra), and only
when a chart is drawn.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

from leasekit.domain.contracts import PaymentSource
from leasekit.domain.partners import PartnerRating
from leasekit.simulation.figures import DELINQUENT, Bucket
from leasekit.simulation.run import MonthEnd, SimulationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHARTS",
    "FORWARD_ROLLS",
    "Table",
    "draw_charts",
    "roll_counts",
    "tables",
    "write_tables",
]

Table = list[list[str]]
"""A header row, then rows of text (amounts as exact decimals)."""
CHARTS: Final = ("delinquency", "roll_rates", "collections", "exposure")
"""Each chart's name: ``<name>.csv`` and ``<name>.png`` in the output folder."""
FORWARD_ROLLS: Final = (
    (Bucket.CURRENT, Bucket.DAYS_1_30),
    (Bucket.DAYS_1_30, Bucket.DAYS_31_60),
    (Bucket.DAYS_31_60, Bucket.DAYS_61_90),
    (Bucket.DAYS_61_90, Bucket.DAYS_90_PLUS),
)
"""The rolls the roll-rate chart draws: a month further behind."""
_SHARE: Final = Decimal("0.0001")


def roll_counts(
    before: Mapping[str, Bucket], after: Mapping[str, Bucket]
) -> Counter[tuple[Bucket, Bucket]]:
    """How many contracts went from each bucket to each other (or stayed) between two
    month ends."""
    return Counter((before[cid], after[cid]) for cid in after)


def _delinquency(ends: Sequence[MonthEnd]) -> Table:
    rows = [["month", "date", *map(str, Bucket)]]
    for end in ends:
        counts = Counter(end.buckets.values())
        rows.append([end.month, str(end.on), *(str(counts[bucket]) for bucket in Bucket)])
    return rows


def _roll_rates(ends: Sequence[MonthEnd], book: Sequence[str]) -> Table:
    """Per month, each (from, to) pair seen: the contracts that moved so, of how many were in
    *from* a month before (the book starts current), and that share."""
    rows = [["month", "from", "to", "contracts", "of", "share"]]
    before: Mapping[str, Bucket] = dict.fromkeys(book, Bucket.CURRENT)
    for end in ends:
        moved = roll_counts(before, end.buckets)
        held = Counter(before.values())
        for (start, to), count in sorted(moved.items(), key=lambda pair: _order(pair[0])):
            share = (Decimal(count) / held[start]).quantize(_SHARE)
            rows.append([end.month, str(start), str(to), str(count), str(held[start]), str(share)])
        before = end.buckets
    return rows


def _order(pair: tuple[Bucket, Bucket]) -> tuple[int, int]:
    buckets = list(Bucket)
    return buckets.index(pair[0]), buckets.index(pair[1])


def _collections(collections: Mapping[str, Mapping[str, Decimal]]) -> Table:
    rows = [["month", *map(str, PaymentSource), "total"]]
    for month, by_source in collections.items():
        amounts = [by_source.get(str(source), Decimal(0)) for source in PaymentSource]
        rows.append([month, *map(str, amounts), str(sum(amounts, Decimal(0)))])
    return rows


def _exposure(ends: Sequence[MonthEnd]) -> Table:
    rows = [["month", "date", *map(str, PartnerRating), "total"]]
    for end in ends:
        amounts = [end.exposure.get(grade, Decimal(0)) for grade in PartnerRating]
        rows.append([end.month, str(end.on), *map(str, amounts), str(sum(amounts, Decimal(0)))])
    return rows


def tables(result: SimulationResult) -> dict[str, Table]:
    """Each chart's table, by chart name."""
    book = [entry.contract_id for entry in result.book]
    return {
        "delinquency": _delinquency(result.month_ends),
        "roll_rates": _roll_rates(result.month_ends, book),
        "collections": _collections(result.collections),
        "exposure": _exposure(result.month_ends),
    }


def write_tables(folder: Path, made: Mapping[str, Table]) -> list[Path]:
    """Each table as ``<name>.csv`` in *folder*; the paths written."""
    written = []
    for name, rows in made.items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        written.append(path)
    return written


def _columns(rows: Table, names: Sequence[str]) -> dict[str, list[float]]:
    """Columns *names* of *rows* as floats, for plotting only."""
    header = rows[0]
    return {name: [float(row[header.index(name)]) for row in rows[1:]] for name in names}


def _months(rows: Table) -> list[str]:
    return [row[0] for row in rows[1:]]


def _stacked(axes: Axes, months: Sequence[str], columns: Mapping[str, list[float]]) -> None:
    bottom = [0.0] * len(months)
    for name, values in columns.items():
        axes.bar(months, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.legend()


def _dollars(axes: Axes) -> None:
    """Whole dollars with thousands separators on the y axis, not matplotlib's 1e6 offset."""
    from matplotlib.ticker import StrMethodFormatter

    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axes.set_ylabel("USD")


def _draw_delinquency(axes: Axes, rows: Table) -> None:
    _stacked(axes, _months(rows), _columns(rows, [str(bucket) for bucket in DELINQUENT]))
    axes.set_title("Delinquent contracts by days past due (month end)")
    axes.set_ylabel("contracts")


def _draw_roll_rates(axes: Axes, rows: Table) -> None:
    months = sorted({row[0] for row in rows[1:]})
    held = {(row[0], row[1]) for row in rows[1:]}
    for start, to in FORWARD_ROLLS:
        shares = {row[0]: float(row[5]) * 100 for row in rows[1:]
                  if (row[1], row[2]) == (str(start), str(to))}  # fmt: skip
        # No line where the bucket was empty a month before: the rate is undefined there.
        points = [shares.get(month, 0.0 if (month, str(start)) in held else math.nan)
                  for month in months]  # fmt: skip
        axes.plot(months, points, marker="o", label=f"{start} → {to}")
    axes.set_title("Roll rates: share of a bucket one bucket further behind a month later")
    axes.set_ylabel("%")
    axes.legend()


def _draw_collections(axes: Axes, rows: Table) -> None:
    sources = [str(source) for source in PaymentSource]
    columns = _columns(rows, sources)
    _stacked(axes, _months(rows), {name: values for name, values in columns.items()
                                   if any(values)})  # fmt: skip
    axes.set_title("Collections per month, by source")
    _dollars(axes)


def _draw_exposure(axes: Axes, rows: Table) -> None:
    _stacked(axes, _months(rows), _columns(rows, [str(grade) for grade in PartnerRating]))
    axes.set_title("Principal outstanding by partner grade (month end)")
    _dollars(axes)


_DRAW: Final = {
    "delinquency": _draw_delinquency,
    "roll_rates": _draw_roll_rates,
    "collections": _draw_collections,
    "exposure": _draw_exposure,
}


def draw_charts(folder: Path, made: Mapping[str, Table]) -> list[Path]:
    """Each table's chart as ``<name>.png`` in *folder*; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    written = []
    for name, draw in _DRAW.items():
        figure, axes = pyplot.subplots(figsize=(10, 5.5), layout="constrained")
        draw(axes, made[name])
        axes.tick_params(axis="x", labelrotation=45)
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=100, metadata={"Software": None})
        pyplot.close(figure)
        written.append(path)
    return written
