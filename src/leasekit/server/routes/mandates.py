"""``/mandates``: customers' authorizations to debit an account for a contract. Back office."""

from __future__ import annotations

from leasekit.domain.mandates import Mandate
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route, list_route, transition_route
from leasekit.services import mandates
from leasekit.services.mandates import MandateQuery, TakeMandate

__all__ = ["api"]

api = ApiRoutes("mandates", "Customers' authorizations to debit their accounts.")

create_route(api, "/mandates", mandates.take_mandate, body=TakeMandate, reply=Mandate)
list_route(api, "/mandates", mandates.list_mandates, query=MandateQuery, item=Mandate)
get_route(api, f"/mandates/{ID}", mandates.get_mandate, reply=Mandate)
transition_route(api, f"/mandates/{ID}/transitions", mandates.transition_mandate, reply=Mandate)
