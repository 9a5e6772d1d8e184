"""HTTP routes: one module per resource, each with one :class:`~leasekit.server.openapi.ApiRoutes`
(``api``), listed in :data:`leasekit.server.app.API`; :mod:`.helpers` has what handlers share."""
