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

create_route(api, "/vehicles", vehicles.register_vehicle, body=RegisterVehicle, reply=Vehicle)
list_route(api, "/vehicles", vehicles.list_vehicles, query=VehicleQuery, item=Vehicle)
get_route(api, f"/vehicles/{ID}", vehicles.get_vehicle, reply=Vehicle)
transition_route(api, f"/vehicles/{ID}/transitions", vehicles.transition_vehicle, reply=Vehicle)
