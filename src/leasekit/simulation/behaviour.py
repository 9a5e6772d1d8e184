"""How the simulated customers pay: a share of the book for each kind of payer, and each
contract's own conduct drawn from one seeded ``random.Random``, so that a run is repeatable.

Shares are exact: of 2,000 contracts at ``late=0.08`` exactly 160 pay late (the counts are
rounded by largest remainder, then dealt out at random), so a small book shows the mix asked
for rather than a sample of it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

import attrs

__all__ = [
    "DEFAULT_BEHAVIOUR",
    "LATE_DAYS",
    "Behaviour",
    "Conduct",
    "Payer",
    "deal",
    "late_days",
    "parse_behaviour",
]


class Payer(StrEnum):
    """What kind of payer a contract's customer is."""

    ON_TIME = "on_time"
    """Every debit is collected."""
    LATE = "late"
    """Every installment's debits come back until the customer pays it by transfer, days
    later."""
    DEFAULT = "default"
    """Pays on time until its default date, then never again."""
    EARLY = "early"
    """Pays on time until it takes a settlement quote and pays the contract off."""


_NAMES: Final = {"on_time": Payer.ON_TIME, "late": Payer.LATE, "default": Payer.DEFAULT,
                 "early": Payer.EARLY}  # fmt: skip
LATE_DAYS: Final = (5, 7, 10, 12, 15, 20, 25, 35, 45, 65, 95)
"""How many days after a returned debit a late payer's transfer arrives, one drawn per
installment: mostly within a month, some into the next buckets, a few past 90 days."""


@attrs.frozen
class Behaviour:
    """The share of the book of each kind of payer; the shares sum to 1."""

    shares: Mapping[Payer, Decimal]

    def __attrs_post_init__(self) -> None:
        for payer, share in self.shares.items():
            if not Decimal(0) <= share <= Decimal(1):
                raise ValueError(f"{payer}={share}: a share is between 0 and 1")
        if sum(self.shares.values(), Decimal(0)) != 1:
            total = sum(self.shares.values(), Decimal(0))
            raise ValueError(f"the shares sum to {total}; they must sum to 1")

    def counts(self, contracts: int) -> dict[Payer, int]:
        """How many of *contracts* are of each kind: the shares rounded by largest
        remainder, so that the counts add up to the book."""
        exact = {payer: self.shares.get(payer, Decimal(0)) * contracts for payer in Payer}
        counts = {payer: int(share) for payer, share in exact.items()}
        by_remainder = sorted(Payer, key=lambda payer: exact[payer] - counts[payer], reverse=True)
        for payer in by_remainder[: contracts - sum(counts.values())]:
            counts[payer] += 1
        return counts


DEFAULT_BEHAVIOUR: Final = Behaviour(
    {Payer.ON_TIME: Decimal("0.85"), Payer.LATE: Decimal("0.08"),
     Payer.DEFAULT: Decimal("0.04"), Payer.EARLY: Decimal("0.03")}
)  # fmt: skip


def parse_behaviour(text: str) -> Behaviour:
    """``on_time=0.85,late=0.08,default=0.04,early=0.03`` (kinds left out are 0); a
    ValueError says what is wrong."""
    shares: dict[Payer, Decimal] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, sep, value = part.partition("=")
        payer = _NAMES.get(name.strip())
        if not sep or payer is None:
            raise ValueError(f"{part!r}: expected KIND=SHARE, KIND one of {', '.join(_NAMES)}")
        if payer in shares:
            raise ValueError(f"{name.strip()} is given twice")
        try:
            shares[payer] = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{part!r}: {value.strip()!r} is not a number") from None
        if not shares[payer].is_finite():
            raise ValueError(f"{part!r}: {value.strip()!r} is not a number")
    if not shares:
        raise ValueError("give at least one KIND=SHARE")
    return Behaviour({payer: shares.get(payer, Decimal(0)) for payer in Payer})


@attrs.frozen
class Conduct:
    """One contract's payer, and the day its default or its early settlement happens."""

    payer: Payer
    day: date | None = None
    """The first day a defaulter's debits come back, or the day an early settler pays off."""

    def bounces(self, on: date) -> bool:
        """Whether a debit of this contract collected on *on* comes back (a late payer's
        depends on its installment; see the run)."""
        return self.payer is Payer.DEFAULT and self.day is not None and on >= self.day


def deal(
    behaviour: Behaviour, contracts: int, start: date, days: int, rng: random.Random
) -> list[Conduct]:
    """Each of *contracts* contracts' conduct over *days* days from *start*, in book order.

    Defaulters stop within the first half of the run (a third of them from the start), so
    that their arrears have time to age through every bucket; early settlers pay off on a
    day anywhere after the first fortnight."""
    kinds: list[Payer] = []
    for payer, count in behaviour.counts(contracts).items():
        kinds += [payer] * count
    rng.shuffle(kinds)
    return [_conduct(payer, start, days, rng) for payer in kinds]


def _conduct(payer: Payer, start: date, days: int, rng: random.Random) -> Conduct:
    if payer is Payer.DEFAULT:
        stops = 0 if rng.randrange(3) == 0 else rng.randrange(max(days // 2, 1))
        return Conduct(payer, start + timedelta(days=stops))
    if payer is Payer.EARLY:
        first = min(14, days - 1)
        return Conduct(payer, start + timedelta(days=rng.randrange(first, max(days, first + 1))))
    return Conduct(payer)


def late_days(rng: random.Random, choices: Sequence[int] = LATE_DAYS) -> int:
    """How late a late payer's next installment is paid."""
    return rng.choice(choices)
