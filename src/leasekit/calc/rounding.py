"""Rounding conventions for repayment schedules.

A schedule rounds in exactly two places, each with a named :class:`~leasekit.money.Rounding`:
the installment and each row's interest. What is left over after rounding (a few cents at most
under the standard convention) must land somewhere; the *residue* rule says where.
"""

from __future__ import annotations

import decimal
from typing import Final, Literal

import attrs

from leasekit.errors import CalculationError
from leasekit.money import CEILING_TO_UNIT, HALF_UP, Rounding

__all__ = ["CONVENTIONS", "RoundingConvention", "rounding_convention"]

Residue = Literal["last_payment", "last_interest"]


@attrs.frozen
class RoundingConvention:
    """How a schedule rounds, and which row absorbs what rounding leaves over.

    ``residue="last_payment"``: the final payment is whatever closes the balance exactly at the
    balloon, so it may differ from the others by the accumulated rounding.
    ``residue="last_interest"``: every payment is equal, so the total is installment × n; the
    final row's interest is what makes that true.
    """

    name: str
    installment: Rounding
    interest: Rounding = HALF_UP
    residue: Residue = "last_payment"


_UP_TO_CENT: Final = Rounding("ceiling", decimal.ROUND_CEILING)

CONVENTIONS: Final[dict[str, RoundingConvention]] = {
    c.name: c
    for c in (
        # Installment and interest half-up to the cent; the last payment absorbs the residue.
        RoundingConvention("standard", installment=HALF_UP),
        # Installments in whole currency units, rounded up; the last payment is smaller. For
        # equal principal the part in whole units is the principal per row (interest varies).
        RoundingConvention("installment_up_to_unit", installment=CEILING_TO_UNIT),
        # Level payments whose total is exactly installment × n. The installment is rounded up
        # to the cent, and raised by a cent more while the final row's interest would be
        # negative (the rows' own interest roundings can outweigh the rounding up).
        RoundingConvention("level_total", installment=_UP_TO_CENT, residue="last_interest"),
    )
}


def rounding_convention(value: str | RoundingConvention) -> RoundingConvention:
    """Resolve a convention by name; the error lists the names available."""
    if isinstance(value, RoundingConvention):
        return value
    try:
        return CONVENTIONS[value]
    except KeyError:
        raise CalculationError(
            f"rounding: {value!r} is not one of {', '.join(CONVENTIONS)}"
        ) from None
