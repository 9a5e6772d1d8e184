"""``/vehicles``: registering the vehicles to be financed, and finding them.

The vehicle record goes on the wire as the domain keeps it; its VIN is a plain string (the
``Vin`` codec in :mod:`leasekit.server.payloads`).
"""

from __future__ import annotations

from aiohttp import web

from leasekit.domain.vehicles import Vehicle
from leasekit.server.openapi import ApiRoutes, Reply
from leasekit.server.routes.helpers import (
    actor,
    idempotency_key,
    json_response,
    read_json,
    run_sync,
    services,
)
from leasekit.services import vehicles
from leasekit.services.vehicles import RegisterVehicle

__all__ = ["api"]

api = ApiRoutes("vehicles", "The vehicles that are financed or leased.")


@api.post(
    "/vehicles",
    retryable=True,
    summary="Register a vehicle",
    body=RegisterVehicle,
    responses={201: Reply("The new vehicle, its VIN in canonical form.", Vehicle)},
)
async def register_vehicle(request: web.Request) -> web.Response:
    """The VIN's check digit is verified where the law requires one (North America, China),
    so a mistyped VIN is a 422 on ``vin`` before any money is lent against it. The same VIN
    may be registered again: a used car is financed more than once in its life."""
    command = await read_json(request, RegisterVehicle)
    vehicle = await run_sync(
        request,
        vehicles.register_vehicle,
        services(request),
        actor(request),
        command,
        idempotency_key=idempotency_key(request),
    )
    return json_response(request, vehicle, status=201)


@api.get(
    "/vehicles",
    summary="List vehicles",
    responses={200: Reply("Every vehicle the caller may see.", list[Vehicle])},
)
async def list_vehicles(request: web.Request) -> web.Response:
    """A dealer user sees its own partner's vehicles; back-office staff see all."""
    found = await run_sync(request, vehicles.list_vehicles, services(request), actor(request))
    return json_response(request, found)


@api.get(
    "/vehicles/{id}",
    summary="Get a vehicle",
    responses={200: Reply("The vehicle.", Vehicle)},
)
async def get_vehicle(request: web.Request) -> web.Response:
    """Another partner's vehicle is a 404, like a missing one."""
    vehicle = await run_sync(
        request,
        vehicles.get_vehicle,
        services(request),
        actor(request),
        request.match_info["id"],
    )
    return json_response(request, vehicle)
