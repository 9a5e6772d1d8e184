"""Registering and finding customers."""

from __future__ import annotations

from datetime import date

import attrs

from leasekit.domain.access import owner_partner_id
from leasekit.domain.customers import Customer, CustomerKind
from leasekit.domain.partners import PartnerCapability
from leasekit.errors import ValidationError
from leasekit.services.commands import Work, command
from leasekit.services.context import scoped
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import Record

__all__ = [
    "CustomerQuery",
    "RegisterCustomer",
    "get_customer",
    "list_customers",
    "register_customer",
]


@attrs.frozen
class RegisterCustomer:
    kind: CustomerKind
    name: str
    id_number: str
    country: str = "CN"
    partner_id: str | None = None
    """For back-office staff registering on a partner's behalf; dealers always get their own."""
    phone: str | None = attrs.field(default=None, metadata={"max_length": 32})
    """The customer's mobile number; separators are dropped."""


@attrs.frozen
class CustomerQuery:
    """Which customers to list; every field left out matches all. There is no search by id
    number in the query string: addresses end up in logs, identity numbers must not."""

    partner_id: str | None = None
    kind: CustomerKind | None = None
    country: str | None = None
    q: str | None = attrs.field(
        default=None, metadata={"description": "The start of the name, in any case."}
    )
    created_from: date | None = None
    created_to: date | None = None


@command(
    "register_customer",
    subject="customer",
    creates="customer",
    reload=lambda uow, customer_id: uow.customers.get(customer_id),
)
def register_customer(work: Work, request: RegisterCustomer) -> Customer:
    """Register a customer.

    The id number is checked against the official scheme for the country and kind (a
    resident identity card number for a Chinese individual, say): a wrong check digit is a
    fault on ``id_number``, and so is a number the same owner registered already (the
    database enforces it when two requests race). A dealer user's customer belongs to its own
    partner; back-office staff may name a ``partner_id`` to register on a partner's behalf.
    Either way the partner's state must allow ``create_customers`` (a 409 naming the state).
    """
    owner = owner_partner_id(work.actor, request.partner_id)
    if owner is not None:
        load_partner_reference(work.uow, work.actor, owner, PartnerCapability.CREATE_CUSTOMERS)
    customer = Customer.register(
        kind=request.kind,
        name=request.name,
        id_number=request.id_number,
        country=request.country,
        partner_id=request.partner_id,
        phone=request.phone,
        actor=work.actor,
        at=work.at,
    )
    existing = work.uow.customers.find_registered(customer)
    if existing is not None:
        raise ValidationError.single("id_number", f"already registered as customer {existing.id}")
    work.uow.customers.add(customer)
    work.event(
        "customer_registered",
        "customer",
        customer.id,
        {"kind": customer.kind.value, "partner_id": customer.partner_id},
    )
    return customer


get_customer = reader(
    "get_customer",
    "customer",
    lambda uow: uow.customers,
    """Get a customer.

    Another partner's customer reads as missing, so ids reveal nothing.""",
)
list_customers: Lister[CustomerQuery, Record] = lister(
    "list_customers",
    CustomerQuery,
    lambda uow: uow.customers,
    scoped,
    """List customers.

    A dealer user sees its own partner's customers; back-office staff see all. Oldest first,
    a page at a time; ``q`` finds names by their start, in any case.""",
)
