"""Registering and finding customers."""

from __future__ import annotations

import attrs

from leasekit.domain.customers import Customer, CustomerKind
from leasekit.domain.identity import Actor
from leasekit.errors import ValidationError
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.partners import load_partner_reference

__all__ = ["RegisterCustomer", "get_customer", "list_customers", "register_customer"]


@attrs.frozen
class RegisterCustomer:
    kind: CustomerKind
    name: str
    id_number: str
    country: str = "CN"
    partner_id: str | None = None
    """For back-office staff registering on a partner's behalf; dealers always get their own."""


def register_customer(
    ctx: ServiceContext,
    actor: Actor,
    command: RegisterCustomer,
    *,
    idempotency_key: str | None = None,
) -> Customer:
    """A new customer; the same official number may be registered once per partner."""
    retry = Retry.of(idempotency_key, "register_customer", command)
    with ctx.unit_of_work() as uow:
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.customers.get(earlier)
        if command.partner_id is not None:
            load_partner_reference(uow, actor, command.partner_id)
        customer = Customer.register(
            kind=command.kind,
            name=command.name,
            id_number=command.id_number,
            country=command.country,
            partner_id=command.partner_id,
            actor=actor,
            at=ctx.clock.now(),
        )
        for existing in uow.customers.find_by_id_number(customer.country, customer.id_number):
            if existing.partner_id == customer.partner_id:
                raise ValidationError.single(
                    "id_number", f"already registered as customer {existing.id}"
                )
        uow.customers.add(customer)
        retry.remember(uow, actor, "customer", customer.id, customer.created_at)
        uow.record(
            ctx.event(
                actor,
                "customer_registered",
                "customer",
                customer.id,
                {"kind": customer.kind.value, "partner_id": customer.partner_id},
            )
        )
        uow.commit()
    return customer


def get_customer(ctx: ServiceContext, actor: Actor, customer_id: str) -> Customer:
    with ctx.uow_factory() as uow:
        customer = uow.customers.get(customer_id)
    return visible_or_not_found(actor, customer, "customer", customer_id)


def list_customers(ctx: ServiceContext, actor: Actor) -> list[Customer]:
    """Every customer the actor may see: a dealer's own, or all for the back office."""
    with ctx.uow_factory() as uow:
        return uow.customers.all(partner_id=actor.partner_id)
