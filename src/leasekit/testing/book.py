"""Books of active contracts made up on the spot: for demos, tests and benchmarks of what
happens after payout (collections, accounting, end of day), which would otherwise first have
to take every contract through origination, signing and payout.

Each contract is real as far as storage goes: a partner, a customer, a vehicle and an
approved application behind it, its plan computed by the calculator, its receivables the
plan's rows, and (if asked) an active debit mandate. It is written straight through the unit
of work, as a book taken over from an earlier system would be: no event is recorded but, if
asked, ``contract_taken_over`` with what it owed, from which the voucher engine books its
opening balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Final

import attrs
from stdnum.cn import ric

from leasekit.domain.applications import Application, RequestedTerms
from leasekit.domain.business import BusinessType
from leasekit.domain.contracts import Contract, ContractSigner, Receivable, receivables
from leasekit.domain.credit_limits import CreditLimit
from leasekit.domain.customers import Customer
from leasekit.domain.events import DomainEvent
from leasekit.domain.funds import ReceivablePart
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.mandates import AccountType, DebitScheme, Mandate, MandateState
from leasekit.domain.partners import Partner
from leasekit.domain.plans import PlanConvention, plan_for
from leasekit.domain.products import ProductTerms
from leasekit.domain.vehicles import Vehicle, Vin, vin_check_digit
from leasekit.money import Money
from leasekit.services.storage import UnitOfWork

__all__ = [
    "TAKEN_OVER_TERMS",
    "BookContract",
    "Debtor",
    "book_partner",
    "months_before",
    "serial_id_number",
    "serial_vin",
    "taken_over_book",
    "taken_over_contract",
]

TAKEN_OVER_TERMS: Final = ProductTerms(
    name="Taken-over book",
    currency="CNY",
    annual_rate_min=Decimal(0),
    annual_rate_max=Decimal(1),
    term_months=tuple(range(1, 121)),
    min_down_payment_ratio=Decimal(0),
    max_financed_ratio=Decimal(1),
    schedule_methods=("annuity",),
)
"""The terms a taken-over book is priced on: anything its contracts were written at."""
_VIN_CHARS: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


@attrs.frozen
class Debtor:
    """Whose account a contract's mandate debits (the account as its scheme writes it)."""

    name: str
    scheme: DebitScheme
    account: str
    agent: str = ""
    account_type: AccountType = AccountType.CHECKING


@attrs.frozen
class BookContract:
    contract: Contract
    lines: tuple[Receivable, ...]
    mandate: Mandate | None


def months_before(day: date, months: int) -> date:
    """The same day *months* earlier (the 28th at most, so that every month has it)."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, min(day.day, 28))


def book_partner(
    uow: UnitOfWork,
    name: str,
    registration_number: str,
    at: datetime,
    *,
    limit: Decimal = Decimal(0),
    currency: str = "CNY",
    rating: str = "A",
) -> Partner:
    """An active partner (a dealer, A-rated unless *rating* says otherwise) that a taken-over
    book's contracts came through, with its credit limit account (*limit*: none to draw on
    unless given)."""
    partner = Partner(
        id=new_id(), name=name, country="CN", registration_number=registration_number,
        kind="new_car_dealer", rating=rating, state="active", created_at=at,
    )  # fmt: skip
    uow.partners.add(partner)
    uow.credit_limits.add(CreditLimit.open(partner.id, Money(limit, currency), at))
    return partner


def serial_vin(serial: int) -> Vin:
    """A VIN of its own for each serial, its check digit computed as a real one's is."""
    body = "".join(_VIN_CHARS[(serial // 33**n) % 33] for n in range(6))[::-1]
    text = f"LBKSDN1X0N{'0'}{body}"
    return Vin.parse(text[:8] + vin_check_digit(text) + text[9:])


def taken_over_contract(
    uow: UnitOfWork,
    partner: Partner,
    *,
    number: str,
    serial: int,
    customer_name: str,
    price: Money,
    term_months: int,
    annual_rate: Decimal,
    priced_on: date,
    at: datetime,
    debtor: Debtor | None = None,
    business_type: BusinessType = BusinessType.LOAN,
    taken_over_on: date | None = None,
) -> BookContract:
    """An active contract on *price* (20 % down), its first installment a month after
    *priced_on*, with its receivables and, for a *debtor*, an active mandate; with
    *taken_over_on*, the event that books what it owed on that business date."""
    cur = price.currency
    customer = Customer(new_id(), "individual", customer_name, "CN", serial_id_number(serial),
                        partner.id, at)  # fmt: skip
    vehicle = Vehicle(new_id(), serial_vin(serial), "Taken-over", "Sedan", priced_on.year, "new",
                      "registered", partner.id, at)  # fmt: skip
    down = Money((price.amount / 5).quantize(Decimal(1).scaleb(-cur.minor_unit)), cur)
    terms = RequestedTerms(price, down, term_months, annual_rate)
    application = Application(new_id(), partner.id, customer.id, vehicle.id, business_type,
                              terms, "active", "system", at)  # fmt: skip
    plan = plan_for(attrs.evolve(TAKEN_OVER_TERMS, currency=cur.code), terms, "annuity", priced_on,
                    PlanConvention())  # fmt: skip
    contract = Contract(
        new_id(), number, application.id, partner.id, customer.id, vehicle.id, business_type,
        None, price, down, terms.amount_financed, annual_rate, term_months, None, plan.summary,
        (ContractSigner(customer.id, "customer", customer_name),), "en", priced_on, "active",
        at,
    )  # fmt: skip
    lines = receivables(contract, plan.rows)
    uow.customers.add(customer)
    uow.vehicles.add(vehicle)
    uow.applications.add(application)
    uow.contracts.add(contract)
    uow.receivables.add_many(lines)
    mandate = None if debtor is None else _mandate(contract, debtor, priced_on, at)
    if mandate is not None:
        uow.mandates.add(mandate)
    if taken_over_on is not None:
        uow.record(_taken_over(contract, lines, taken_over_on, at))
    return BookContract(contract, tuple(lines), mandate)


def taken_over_book(
    uow: UnitOfWork, count: int, *, priced_on: date, at: datetime, price: Money | None = None
) -> list[str]:
    """*count* active twelve-month loans of one partner, priced on *priced_on* (installments
    fall due on that day of each later month); their ids, in the order made."""
    partner = book_partner(uow, "Book Dealer", "91310000MA1FL0BOOK", at)
    ids = []
    for serial in range(count):
        made = taken_over_contract(
            uow, partner, number=f"TO-{serial:06d}", serial=serial + 1,
            customer_name=f"Customer {serial}", price=price or Money("60000.00", "CNY"),
            term_months=12, annual_rate=Decimal("0.06"), priced_on=priced_on, at=at,
        )  # fmt: skip
        ids.append(made.contract.id)
    return ids


def _taken_over(
    contract: Contract, lines: Sequence[Receivable], on: date, at: datetime
) -> DomainEvent:
    """``contract_taken_over`` with what *lines* owed of each part on *on*."""
    cur = contract.principal.currency
    owed = {
        str(part): str(sum((line.owed(str(part)).amount for line in lines), Decimal(0)))
        for part in ReceivablePart
    }
    return DomainEvent.new(
        "contract_taken_over", "contract", contract.id,
        {"contract_id": contract.id, "currency": cur.code, **owed},
        occurred_at=at, business_date=on, actor_id=Actor.system().user_id,
    )  # fmt: skip


def _mandate(contract: Contract, debtor: Debtor, signed_on: date, at: datetime) -> Mandate:
    return Mandate(
        id=new_id(), contract_id=contract.id, reference=f"MD-{contract.number}",
        scheme=debtor.scheme, debtor_name=debtor.name, account=debtor.account,
        agent=debtor.agent, account_type=debtor.account_type, signed_on=signed_on,
        state=MandateState.ACTIVE, created_at=at, created_by="system",
    )  # fmt: skip


def serial_id_number(serial: int) -> str:
    """A resident id number of its own for each serial, its check character computed."""
    body = f"110105198501{serial % 10**5:05d}"
    return body + ric.calc_check_digit(body + "0")
