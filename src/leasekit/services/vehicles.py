"""Registering, releasing and finding vehicles."""

from __future__ import annotations

from datetime import date

import attrs

from leasekit.domain.access import owner_partner_id
from leasekit.domain.partners import PartnerCapability
from leasekit.domain.vehicles import VEHICLE_LIFECYCLE, Vehicle, VehicleCondition, VehicleState
from leasekit.errors import ValidationError
from leasekit.services.commands import Work, command, transition_command
from leasekit.services.context import scoped
from leasekit.services.partners import load_partner_reference
from leasekit.services.reads import Lister, lister, reader
from leasekit.services.storage import Record

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
    """Register a vehicle.

    The VIN's check digit is verified where the law requires one (North America, China), so
    a mistyped VIN is a fault on ``vin`` before any money is lent against it. A VIN is held
    by one registered record at a time, whoever registered it, so that one car is not
    financed twice; a car financed again later is registered anew once the back office
    released its earlier record. A partner's vehicle needs its state to allow
    ``register_vehicles`` (a 409 naming the state).
    """
    owner = owner_partner_id(work.actor, request.partner_id)
    if owner is not None:
        load_partner_reference(work.uow, work.actor, owner, PartnerCapability.REGISTER_VEHICLES)
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


get_vehicle = reader(
    "get_vehicle",
    "vehicle",
    lambda uow: uow.vehicles,
    """Get a vehicle.

    Another partner's vehicle reads as missing, like a missing one.""",
)
list_vehicles: Lister[VehicleQuery, Record] = lister(
    "list_vehicles",
    VehicleQuery,
    lambda uow: uow.vehicles,
    scoped,
    """List vehicles.

    A dealer user sees its own partner's vehicles; back-office staff see all.""",
)
