"""Persistence: SQLAlchemy tables, repositories, the unit of work, the outbox and the audit log.

The only package that imports SQLAlchemy or Alembic. Services see it through the
:class:`leasekit.services.ports.UnitOfWork` protocol; the composition root builds one with
:func:`leasekit.store.uow.unit_of_work_factory`.
"""
