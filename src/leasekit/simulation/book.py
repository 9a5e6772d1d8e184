"""The simulated book: dealers of every grade and the US-dollar loans that came through them,
each with an active ACH mandate, so that the debit runs collect them.

Every contract is written through :func:`leasekit.testing.book.taken_over_contract`, as a
book taken over on the first simulated day: its opening balance is an event the voucher
engine books, its installments fall due a month after it was priced. Pricing days are spread
over the month before the start, so about a 28th of the book falls due each day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Final

import attrs

from leasekit.demo import credit_code
from leasekit.domain.mandates import DebitScheme
from leasekit.domain.partners import Partner, PartnerRating
from leasekit.money import Money
from leasekit.services.context import ServiceContext
from leasekit.testing.book import Debtor, book_partner, months_before, taken_over_contract

__all__ = ["ACCOUNT_ID", "CURRENCY", "DEALERS", "BookEntry", "build_book"]

ACCOUNT_ID: Final = "us"
"""The creditor account the book is collected into (the demo company's ACH account)."""
CURRENCY: Final = "USD"
DEALERS: Final = (
    (PartnerRating.A, 4, Decimal("0.059")),
    (PartnerRating.B, 3, Decimal("0.069")),
    (PartnerRating.C, 2, Decimal("0.089")),
    (PartnerRating.D, 1, Decimal("0.119")),
)
"""Per grade: how many dealers, and the rate their customers' loans are priced at. A dealer
is drawn for each contract, so the book is about 40 % A, 30 % B, 20 % C and 10 % D."""
TERMS: Final = (24, 36, 48)
ROUTING: Final = "011000015"
CHUNK: Final = 500
"""Contracts written per transaction."""


@attrs.frozen
class BookEntry:
    """What the simulation keeps of one contract."""

    contract_id: str
    number: str


@attrs.frozen
class _Dealer:
    partner: Partner
    rate: Decimal


def _dealers(ctx: ServiceContext) -> list[_Dealer]:
    at = ctx.clock.now()
    made: list[_Dealer] = []
    with ctx.unit_of_work() as uow:
        for grade, count, rate in DEALERS:
            for n in range(count):
                serial = len(made) + 1
                partner = book_partner(
                    uow, f"{grade}-grade Motors {n + 1}", credit_code(f"91440300MA{serial:07d}"),
                    at, currency=CURRENCY, rating=str(grade),
                )  # fmt: skip
                made.append(_Dealer(partner, rate))
        uow.commit()
    return made


def build_book(
    ctx: ServiceContext,
    contracts: int,
    rng: random.Random,
    progress: Callable[[int], None] = lambda done: None,
) -> list[BookEntry]:
    """*contracts* active loans on the business date, through dealers of every grade;
    *progress* is told how many are written so far."""
    start, at = ctx.clock.business_date(), ctx.clock.now()
    first_pricing = months_before(start, 1)
    dealers = _dealers(ctx)
    book: list[BookEntry] = []
    for first in range(0, contracts, CHUNK):
        with ctx.unit_of_work() as uow:
            for serial in range(first + 1, min(first + CHUNK, contracts) + 1):
                dealer = rng.choice(dealers)
                number = f"SIM-{serial:07d}"
                name = f"Customer {serial}"
                made = taken_over_contract(
                    uow, dealer.partner, number=number, serial=serial, customer_name=name,
                    price=Money(rng.randrange(30, 121) * 500, CURRENCY),
                    term_months=rng.choice(TERMS), annual_rate=dealer.rate,
                    priced_on=first_pricing + timedelta(days=serial % 28), at=at,
                    debtor=Debtor(name, DebitScheme.NACHA, f"{serial:012d}", ROUTING),
                    taken_over_on=start,
                )  # fmt: skip
                book.append(BookEntry(made.contract.id, number))
            uow.commit()
        progress(len(book))
    return book
