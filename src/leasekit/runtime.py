"""The composition root: settings in, a working leasekit out.

Everything that is chosen by configuration is built here and nowhere else: the plugin manager
and the adapters it registers, the database engine and its unit-of-work factory, the clock and
the outbox relay. The reference server, the CLI and an integrator's own code all start from
:func:`build_runtime`, so they run the same services on the same wiring.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.domain.clock import Clock, SystemClock
from leasekit.domain.events import DomainEvent
from leasekit.domain.identity import Actor
from leasekit.money import currency
from leasekit.plugins import (
    Adapters,
    PluginManager,
    as_hooks,
    create_plugin_manager,
    resolve_adapters,
)
from leasekit.ports import AdapterKind
from leasekit.services import users
from leasekit.services.context import ServiceContext
from leasekit.settings import Settings
from leasekit.store.database import create_engine, upgrade
from leasekit.store.outbox import OutboxRelay, OutboxWorker
from leasekit.store.uow import unit_of_work_factory

__all__ = ["Runtime", "build_runtime"]


@attrs.define
class Runtime:
    """One configured leasekit: what the server and the CLI hold while they run."""

    settings: Settings
    plugin_manager: PluginManager
    engine: Engine
    relay: OutboxRelay
    outbox_worker: OutboxWorker
    services: ServiceContext

    def authenticate(self, token: str) -> Actor:
        return users.authenticate(self.services, token)

    def check_database(self) -> None:
        """Raise if the database cannot answer a trivial query (health checks)."""
        with self.engine.connect() as connection:
            connection.execute(sa.select(1))

    def deliver_outbox(self) -> int:
        """Deliver pending events on the calling thread; return how many went out."""
        return self.relay.deliver_pending()

    def wait_for_delivery(self, timeout: float | None = 30) -> bool:
        """Wait until the events of every command committed so far have been attempted
        (by the background worker); False if that took longer than *timeout* seconds."""
        return self.outbox_worker.drain(timeout)

    def close(self) -> None:
        """Deliver what is pending, stop the worker thread and release the database."""
        self.outbox_worker.stop()
        self.engine.dispose()


def build_runtime(
    settings: Settings,
    plugin_manager: PluginManager | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
) -> Runtime:
    """Wire leasekit from *settings*; apply pending migrations first unless *migrate* is off.

    *plugin_manager* defaults to one built from the settings' plugin switches. Unknown adapter
    ids and unusable settings fail here, at start-up, rather than on first use.
    """
    pm = plugin_manager or create_plugin_manager(
        load_entrypoints=not settings.disable_plugin_autoload,
        blocked=settings.disabled_plugins,
    )
    clock = clock or SystemClock(settings.timezone, business_date=settings.business_date)
    adapters = resolve_adapters(
        pm,
        settings.adapters.model_dump(),
        settings.adapter_options,
        Path(settings.data_dir),
        clock,
    )
    engine = create_engine(settings.database_url.get_secret_value())
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    relay = OutboxRelay(engine, _receivers(pm, adapters))
    worker = OutboxWorker(relay, retry_every=settings.outbox_retry_seconds)
    services = ServiceContext(
        uow_factory=unit_of_work_factory(engine),
        adapters=adapters,
        clock=clock,
        currency=currency(settings.currency),
        max_upload_bytes=settings.server.max_upload_bytes,
        after_commit=worker.wake,
    )
    return Runtime(settings, pm, engine, relay, worker, services)


def _receivers(pm: PluginManager, adapters: Adapters) -> Callable[[DomainEvent], None]:
    """Where each committed event goes: the notification hooks of every plugin, then the
    notifier adapter if one is configured. Either failing leaves the event pending."""
    hooks = as_hooks(pm)
    notifier = adapters.notifier if adapters.active_id(AdapterKind.NOTIFIER) else None

    def deliver(event: DomainEvent) -> None:
        hooks.publish(event)
        if notifier is not None:
            notifier.notify(event)

    return deliver
