"""``/customers``: registering the people and companies that borrow or lease, and finding them.

The customer record goes on the wire as the domain keeps it: nothing in it is internal, and
one shape for the record everywhere is easier to learn than a second, nearly equal one.
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.customers import Customer
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import customers
from leasekit.services.customers import RegisterCustomer

__all__ = ["api"]

api = ApiRoutes("customers", "People and companies that borrow or lease.")


@api.post(
    "/customers",
    retryable=True,
    summary="Register a customer",
    body=RegisterCustomer,
    responses={201: Reply("The new customer, its id number in compact form.", Customer)},
)
async def register_customer(request: web.Request) -> web.Response:
    """The id number is checked against the official scheme for the country and kind (a
    resident identity card number for a Chinese individual, say); a wrong check digit is a 422
    on ``id_number``. A dealer user's customer belongs to its own partner; back-office staff
    may name a ``partner_id`` to register on a partner's behalf."""
    command = await read_json(request, RegisterCustomer)
    customer = await run_sync(
        request,
        customers.register_customer,
        services(request),
        actor(request),
        command,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, customer, status=201)


@api.get(
    "/customers",
    summary="List customers",
    responses={200: Reply("Every customer the caller may see.", list[Customer])},
)
async def list_customers(request: web.Request) -> web.Response:
    """A dealer user sees its own partner's customers; back-office staff see all."""
    found = await run_sync(request, customers.list_customers, services(request), actor(request))
    return json_response(request, found)


@api.get(
    "/customers/{id}",
    summary="Get a customer",
    responses={200: Reply("The customer.", Customer)},
)
async def get_customer(request: web.Request) -> web.Response:
    """Another partner's customer is a 404, like a missing one, so ids reveal nothing."""
    customer = await run_sync(
        request,
        customers.get_customer,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return json_response(request, customer)
