"""Use cases: one function per command, one transaction per call.

Services load aggregates through a unit of work (:mod:`leasekit.services.ports`), let the
domain decide, call external parties only through the adapters in the context, record the
events the domain returns and commit once. They are synchronous and import no web framework
or database library, so the reference server, a worker or a script call them the same way.
"""
