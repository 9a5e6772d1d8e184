"""Registering and finding vehicles."""

from __future__ import annotations

import attrs

from leasekit.domain.identity import Actor
from leasekit.domain.vehicles import Vehicle, VehicleCondition
from leasekit.services.context import ServiceContext, visible_or_not_found
from leasekit.services.idempotency import Retry
from leasekit.services.partners import load_partner_reference

__all__ = ["RegisterVehicle", "get_vehicle", "list_vehicles", "register_vehicle"]


@attrs.frozen
class RegisterVehicle:
    vin: str
    make: str
    model: str
    year: int
    condition: VehicleCondition
    partner_id: str | None = None


def register_vehicle(
    ctx: ServiceContext,
    actor: Actor,
    command: RegisterVehicle,
    *,
    idempotency_key: str | None = None,
) -> Vehicle:
    """A new vehicle, its VIN checked. One VIN may be on several records (a used car financed
    again later), so duplicates are for the risk checks to weigh, not refused here."""
    retry = Retry.of(idempotency_key, "register_vehicle", command)
    with ctx.unit_of_work() as uow:
        earlier = retry.earlier(uow, actor)
        if earlier is not None:
            return uow.vehicles.get(earlier)
        if command.partner_id is not None:
            load_partner_reference(uow, actor, command.partner_id)
        vehicle = Vehicle.register(
            vin=command.vin,
            make=command.make,
            model=command.model,
            year=command.year,
            condition=command.condition,
            partner_id=command.partner_id,
            actor=actor,
            at=ctx.clock.now(),
        )
        uow.vehicles.add(vehicle)
        retry.remember(uow, actor, "vehicle", vehicle.id, vehicle.created_at)
        uow.record(
            ctx.event(
                actor,
                "vehicle_registered",
                "vehicle",
                vehicle.id,
                {"vin": str(vehicle.vin), "partner_id": vehicle.partner_id},
            )
        )
        uow.commit()
    return vehicle


def get_vehicle(ctx: ServiceContext, actor: Actor, vehicle_id: str) -> Vehicle:
    with ctx.uow_factory() as uow:
        vehicle = uow.vehicles.get(vehicle_id)
    return visible_or_not_found(actor, vehicle, "vehicle", vehicle_id)


def list_vehicles(ctx: ServiceContext, actor: Actor) -> list[Vehicle]:
    with ctx.uow_factory() as uow:
        return uow.vehicles.all(partner_id=actor.partner_id)
