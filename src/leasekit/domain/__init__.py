"""The domain model: entities, value objects, lifecycles and their rules, free of I/O.

Modules, roughly in the order a deal meets them:

- :mod:`~leasekit.domain.identity`: roles, the acting :class:`.Actor`, users.
- :mod:`~leasekit.domain.clock`: wall-clock time and the separate business date.
- :mod:`~leasekit.domain.events`: domain events, written to the audit log and the outbox.
- :mod:`~leasekit.domain.lifecycle`: every state machine, with who may perform each move.
- :mod:`~leasekit.domain.access`: which objects an actor may see, create and act on.
- :mod:`~leasekit.domain.customers`, :mod:`~leasekit.domain.vehicles`,
  :mod:`~leasekit.domain.partners`: the parties and the goods.
- :mod:`~leasekit.domain.applications`, :mod:`~leasekit.domain.documents`,
  :mod:`~leasekit.domain.approvals`: origination and review.
- :mod:`~leasekit.domain.contracts`, :mod:`~leasekit.domain.vouchers`,
  :mod:`~leasekit.domain.exception_requests`: the running contract and its money.

Entities are mutable attrs classes whose plain constructor rehydrates stored rows as they
are; named constructors (``Customer.register``, ``Application.draft`` ...) make new ones,
generating ids and validating input. ``version`` belongs to the store, which uses it for
compare-and-set updates; the domain never changes it.
"""
