"""``/customers``: registering the people and companies that borrow or lease, and finding them.

The customer record goes on the wire as the domain keeps it: nothing in it is internal, and
one shape for the record everywhere is easier to learn than a second, nearly equal one.
"""

from __future__ import annotations

from leasekit.domain.customers import Customer
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route
from leasekit.services import customers
from leasekit.services.customers import CustomerQuery, RegisterCustomer

__all__ = ["api"]

api = ApiRoutes("customers", "People and companies that borrow or lease.")

create_route(
    api,
    "/customers",
    customers.register_customer,
    body=RegisterCustomer,
    reply=Customer,
    summary="Register a customer",
    doc="The id number is checked against the official scheme for the country and kind (a "
    "resident identity card number for a Chinese individual, say); a wrong check digit is a "
    "422 on ``id_number``, and so is a number already registered by the same owner. A dealer "
    "user's customer belongs to its own partner; back-office staff may name a ``partner_id`` "
    "to register on a partner's behalf.",
)
list_route(
    api,
    "/customers",
    customers.list_customers,
    query=CustomerQuery,
    item=Customer,
    name="list_customers",
    summary="List customers",
    doc="A dealer user sees its own partner's customers; back-office staff see all. Oldest "
    "first, a page at a time; ``q`` finds names by their start, in any case.",
)
get_route(
    api,
    f"/customers/{ID}",
    customers.get_customer,
    reply=Customer,
    name="get_customer",
    summary="Get a customer",
    doc="Another partner's customer is a 404, like a missing one, so ids reveal nothing.",
)
