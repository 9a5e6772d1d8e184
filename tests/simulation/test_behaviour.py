"""Payer shares: read from the command line, checked, and dealt out exactly and repeatably."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from leasekit.simulation.behaviour import DEFAULT_BEHAVIOUR, Payer, deal, parse_behaviour

START = date(2026, 1, 1)


def test_shares_are_read_with_kinds_left_out_at_zero() -> None:
    behaviour = parse_behaviour("on_time=0.9, late=0.1")
    assert behaviour.shares == {Payer.ON_TIME: Decimal("0.9"), Payer.LATE: Decimal("0.1"),
                                Payer.DEFAULT: 0, Payer.EARLY: 0}  # fmt: skip
    assert parse_behaviour("on_time=0.85,late=0.08,default=0.04,early=0.03") == DEFAULT_BEHAVIOUR


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("on_time=0.9,late=0.2", "sum to 1.1"),
        ("on_time=1.5,late=-0.5", "between 0 and 1"),
        ("on_time=0.9,sometimes=0.1", "expected KIND=SHARE"),
        ("on_time=lots", "not a number"),
        ("on_time=NaN", "not a number"),
        ("on_time=0.5,on_time=0.5", "given twice"),
        ("", "at least one"),
    ],
)
def test_bad_shares_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_behaviour(text)


def test_counts_are_exact_and_add_up_to_the_book() -> None:
    assert DEFAULT_BEHAVIOUR.counts(2000) == {Payer.ON_TIME: 1700, Payer.LATE: 160,
                                              Payer.DEFAULT: 80, Payer.EARLY: 60}  # fmt: skip
    thirds = parse_behaviour("on_time=0.34,late=0.33,default=0.33")
    assert sum(thirds.counts(10).values()) == 10


def test_the_same_seed_deals_the_same_conduct() -> None:
    first = deal(DEFAULT_BEHAVIOUR, 500, START, 365, random.Random(7))
    assert first == deal(DEFAULT_BEHAVIOUR, 500, START, 365, random.Random(7))
    assert first != deal(DEFAULT_BEHAVIOUR, 500, START, 365, random.Random(8))
    defaults = [one.day for one in first if one.payer is Payer.DEFAULT]
    assert all(day is not None and START <= day < date(2026, 7, 3) for day in defaults)
