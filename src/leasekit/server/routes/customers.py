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

create_route(api, "/customers", customers.register_customer, body=RegisterCustomer, reply=Customer)
list_route(api, "/customers", customers.list_customers, query=CustomerQuery, item=Customer)
get_route(api, f"/customers/{ID}", customers.get_customer, reply=Customer)
