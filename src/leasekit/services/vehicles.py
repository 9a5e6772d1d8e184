"""Registering, releasing and finding vehicles."""

from __future__ import annotations

from datetime import date

import attrs

from leasekit.domain.access import owner_partner_id
from leasekit.domain.identity import Actor
from leasekit.domain.partners import PartnerCapability
from leasekit.domain.vehicles import VEHICLE_LIFECYCLE, Vehicle, VehicleCondition, VehicleState
from leasekit.errors import ValidationError
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import ServiceContext, page_size, scoped, visible_or_not_found
from leasekit.services.partners import load_partner_reference
from leasekit.services.storage import Page, Record

__all__ = [
    "RegisterVehicle",
    "VehicleQuery",
    "get_vehicle",
    "list_vehicles",
    "register_vehicle",
    "transition_vehicle",
]


@attrs.frozen
class RegisterVehicle:
    vin: str
    make: str
    model: str
    year: int
    condition: VehicleCondition
    partner_id: str | None = None


@attrs.frozen
class VehicleQuery:
    """Which vehicles to list; every field left out matches all."""

    partner_id: str | None = None
    vin: str | None = None
    state: VehicleState | None = None
    condition: VehicleCondition | None = None
    created_from: date | None = None
    created_to: date | None = None


@command(
    "register_vehicle",
    subject="vehicle",
    creates="vehicle",
    reload=lambda uow, vehicle_id: uow.vehicles.get(vehicle_id),
)
def register_vehicle(work: Work, request: RegisterVehicle) -> Vehicle:
    """A new vehicle, its VIN checked. A VIN is held by one registered record at a time, so
    that one car cannot be financed twice; a car financed again later is registered again
    once the back office released the earlier record."""
    owner = owner_partner_id(work.actor, request.partner_id)
    if owner is not None:
        load_partner_reference(work.uow, work.actor, owner, PartnerCapability.SUBMIT_APPLICATIONS)
    vehicle = Vehicle.register(
        vin=request.vin,
        make=request.make,
        model=request.model,
        year=request.year,
        condition=request.condition,
        partner_id=request.partner_id,
        actor=work.actor,
        at=work.at,
    )
    if work.uow.vehicles.find_registered(str(vehicle.vin)) is not None:
        raise ValidationError.single(
            "vin", "is already registered; the earlier record must be released first"
        )
    work.uow.vehicles.add(vehicle)
    work.event(
        "vehicle_registered",
        "vehicle",
        vehicle.id,
        {"vin": str(vehicle.vin), "partner_id": vehicle.partner_id},
    )
    return vehicle


transition_vehicle = transition_command("vehicle", VEHICLE_LIFECYCLE, lambda uow: uow.vehicles)
"""``release``: the back office frees a VIN for a new registration, with a reason."""


def get_vehicle(ctx: ServiceContext, actor: Actor, vehicle_id: str) -> Vehicle:
    with ctx.uow_factory() as uow:
        vehicle = uow.vehicles.get(vehicle_id)
    return visible_or_not_found(actor, vehicle, "vehicle", vehicle_id)


def list_vehicles(
    ctx: ServiceContext,
    actor: Actor,
    query: VehicleQuery | None = None,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> Page[Record]:
    confined = scoped(actor, query or VehicleQuery())
    with ctx.uow_factory() as uow:
        return uow.vehicles.page(confined, after=after, limit=page_size(limit))
