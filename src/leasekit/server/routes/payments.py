"""``/payments``: money received for contracts, recorded by hand or from the bank's files, and
what each payment paid (its allocations)."""

from __future__ import annotations

from leasekit.domain.contracts import Payment
from leasekit.server.openapi import ApiRoutes
from leasekit.server.resources import ID, create_route, get_route
from leasekit.services import funds
from leasekit.services.funds import PaymentView, RecordPayment

__all__ = ["api"]

api = ApiRoutes("payments", "Money received for contracts, and what it paid.")

create_route(api, "/payments", funds.record_payment, body=RecordPayment, reply=Payment)
get_route(api, f"/payments/{ID}", funds.get_payment, reply=PaymentView)
