"""``/vehicles``: registering the vehicles to be financed, releasing them, and finding them.

The vehicle record goes on the wire as the domain keeps it; its VIN is a plain string (the
``Vin`` codec in :mod:`leasekit.server.payloads`).
"""

from __future__ import annotations

from leasekit.domain.vehicles import Vehicle
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import vehicles
from leasekit.services.vehicles import RegisterVehicle, VehicleQuery

__all__ = ["api"]

api = ApiRoutes("vehicles", "The vehicles that are financed or leased.")

create_route(
    api,
    "/vehicles",
    vehicles.register_vehicle,
    body=RegisterVehicle,
    reply=Vehicle,
    summary="Register a vehicle",
    doc="The VIN's check digit is verified where the law requires one (North America, China), "
    "so a mistyped VIN is a 422 on ``vin`` before any money is lent against it. A VIN is "
    "held by one registered record at a time, whoever registered it (one car is not financed "
    "twice); a car financed again later is registered anew once the back office released "
    "its earlier record.",
)
list_route(
    api,
    "/vehicles",
    vehicles.list_vehicles,
    query=VehicleQuery,
    item=Vehicle,
    name="list_vehicles",
    summary="List vehicles",
    doc="A dealer user sees its own partner's vehicles; back-office staff see all.",
)
get_route(
    api,
    f"/vehicles/{ID}",
    vehicles.get_vehicle,
    reply=Vehicle,
    name="get_vehicle",
    summary="Get a vehicle",
    doc="Another partner's vehicle is a 404, like a missing one.",
)
transition_route(
    api,
    f"/vehicles/{ID}/transitions",
    vehicles.transition_vehicle,
    reply=Vehicle,
    doc="``release`` (officers and managers, with a reason) frees the VIN for a new "
    "registration when the deal is over or never happened.",
)
