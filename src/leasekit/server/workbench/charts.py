"""Bar charts drawn on the server as SVG (``macros.html``'s ``bar_chart``): where people
would rather look than read, such as the queue's ageing or exposure by partner grade. The
figures come with a table for screen readers; no script is needed to see them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import attrs

__all__ = ["Bar", "BarChart", "bar_chart"]

_WIDTH: Final = 640
_LABEL_WIDTH: Final = 150
_VALUE_ROOM: Final = 130
_BAR_HEIGHT: Final = 20
_GAP: Final = 8


@attrs.frozen
class Bar:
    label: str
    text: str
    """The value as the page shows it (a count, an amount)."""
    length: int
    y: int


@attrs.frozen
class BarChart:
    id: str
    bars: tuple[Bar, ...]
    width: int = _WIDTH
    label_width: int = _LABEL_WIDTH
    bar_height: int = _BAR_HEIGHT

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (_BAR_HEIGHT + _GAP)


def bar_chart(chart_id: str, values: Sequence[tuple[str, Decimal | int, str]]) -> BarChart:
    """Bars for *values* (label, value, shown text), the longest as wide as the room allows
    and the others in proportion; a zero is no bar, a tiny value still a visible sliver."""
    room = _WIDTH - _LABEL_WIDTH - _VALUE_ROOM
    largest = max((Decimal(value) for _, value, _ in values), default=Decimal(0))
    bars = []
    for index, (label, value, text) in enumerate(values):
        share = Decimal(value) / largest if largest > 0 else Decimal(0)
        length = 0 if share <= 0 else max(2, int(share * room))
        bars.append(Bar(label, text, length, index * (_BAR_HEIGHT + _GAP)))
    return BarChart(chart_id, tuple(bars))
