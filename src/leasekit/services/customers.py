"""Registering and finding customers."""

from __future__ import annotations

from datetime import date

import attrs

from leasekit.domain.access import owner_partner_id
from leasekit.domain.customers import Customer, CustomerKind
from leasekit.domain.identity import Actor
from leasekit.domain.partners import PartnerCapability
from leasekit.errors import ValidationError
from leasekit.services.commands import Work, command
from leasekit.services.context import ServiceContext, page_size, scoped, visible_or_not_found
from leasekit.services.partners import load_partner_reference
from leasekit.services.storage import Page, Record

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
    """A new customer; the same official number may be registered once per partner (and once
    by the back office), which the database enforces when two requests race."""
    owner = owner_partner_id(work.actor, request.partner_id)
    if owner is not None:
        load_partner_reference(work.uow, work.actor, owner, PartnerCapability.SUBMIT_APPLICATIONS)
    customer = Customer.register(
        kind=request.kind,
        name=request.name,
        id_number=request.id_number,
        country=request.country,
        partner_id=request.partner_id,
        actor=work.actor,
        at=work.at,
    )
    for existing in work.uow.customers.find_by_id_number(customer.country, customer.id_number):
        if existing.partner_id == customer.partner_id:
            raise ValidationError.single(
                "id_number", f"already registered as customer {existing.id}"
            )
    work.uow.customers.add(customer)
    work.event(
        "customer_registered",
        "customer",
        customer.id,
        {"kind": customer.kind.value, "partner_id": customer.partner_id},
    )
    return customer


def get_customer(ctx: ServiceContext, actor: Actor, customer_id: str) -> Customer:
    with ctx.uow_factory() as uow:
        customer = uow.customers.get(customer_id)
    return visible_or_not_found(actor, customer, "customer", customer_id)


def list_customers(
    ctx: ServiceContext,
    actor: Actor,
    query: CustomerQuery | None = None,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    """The customers the actor may see: a dealer's own, or any for the back office."""
    confined = scoped(actor, query or CustomerQuery())
    with ctx.uow_factory() as uow:
        return uow.customers.page(confined, after=after, limit=page_size(limit))
