"""The composition root: settings in, a working leasekit out.

Everything that is chosen by configuration is built here and nowhere else: the plugin manager
and the adapters it registers, the database engine and its unit-of-work factory, the clock,
the secret key, the event subscribers and the background worker that delivers to them. The
reference server, the CLI and an integrator's own code all start from :func:`build_runtime`,
so they run the same services on the same wiring.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from pathlib import Path

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leasekit.builtin.faces import inspect_photo
from leasekit.domain.clock import Clock, SystemClock
from leasekit.domain.events import DomainEvent, EventSubscriber
from leasekit.domain.identity import Actor
from leasekit.domain.partner_monitoring import PartnerOversight
from leasekit.domain.partner_onboarding import RequiredDocuments
from leasekit.money import currency
from leasekit.plugins import (
    Adapters,
    Hooks,
    PluginManager,
    as_hooks,
    create_plugin_manager,
    resolve_adapters,
)
from leasekit.ports import AdapterKind
from leasekit.render import contract_renderer
from leasekit.services import catalog, users
from leasekit.services.calls import CallPolicy
from leasekit.services.context import ServiceContext
from leasekit.services.end_of_day import PartitionRunner, run_inline
from leasekit.services.events import handler_subscribers
from leasekit.services.ledger_sync import LedgerSubscriber
from leasekit.services.sheets import SheetLimits
from leasekit.settings import OutboxSettings, PartnerSettings, PreApprovalSettings, Settings
from leasekit.store.database import create_engine, upgrade
from leasekit.store.end_of_day import ClosedDateClock
from leasekit.store.outbox import OutboxRelay, RelayPolicy
from leasekit.store.uow import unit_of_work_factory
from leasekit.store.worker import BackgroundWorker

__all__ = ["NotifierSubscriber", "PluginSubscriber", "Runtime", "build_runtime"]

logger = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret.key"


@attrs.frozen
class PluginSubscriber:
    """One plugin's event hooks, a subscriber of its own."""

    plugin: str
    hooks: Hooks
    events: frozenset[str] | None
    """The event names it takes; None for all."""

    @property
    def name(self) -> str:
        return f"plugin:{self.plugin}"

    def wants(self, event_name: str) -> bool:
        return self.events is None or event_name in self.events

    def deliver(self, event: DomainEvent) -> None:
        self.hooks.publish_to(self.plugin, event)


@attrs.frozen
class NotifierSubscriber:
    """The notifier adapter: told about every event, to tell people what they need to know."""

    adapters: Adapters

    @property
    def name(self) -> str:
        return "notifier"

    def wants(self, event_name: str) -> bool:
        return True

    def deliver(self, event: DomainEvent) -> None:
        self.adapters.notifier.notify(event)


@attrs.define
class Runtime:
    """One configured leasekit: what the server and the CLI hold while they run."""

    settings: Settings
    plugin_manager: PluginManager
    engine: Engine
    relay: OutboxRelay
    worker: BackgroundWorker | None
    """None when built not to deliver: events wait in the outbox for another process."""
    services: ServiceContext

    def authenticate(self, token: str) -> Actor:
        return users.authenticate(self.services, token)

    def check_database(self) -> None:
        """Raise if the database cannot answer a trivial query (health checks)."""
        with self.engine.connect() as connection:
            connection.execute(sa.select(1))

    def deliver_outbox(self) -> int:
        """Fan out and deliver pending events on the calling thread; how many went out."""
        return self.relay.run_pass()

    def wait_for_delivery(self, timeout: float | None = 30) -> bool:
        """Wait until the events of every command committed so far have been attempted (by
        the background worker); False if that took longer than *timeout* seconds, or if
        this runtime has no worker."""
        return self.worker is not None and self.worker.drain(timeout)

    def partition_runner(self, distribute: bool | None = None) -> PartitionRunner:
        """How the close of business gets its partitions done: in this process, or queued
        for ``leasekit worker`` processes (PostgreSQL) when *distribute* says so, or when it
        is None and ``LEASEKIT_EOD__DISTRIBUTE`` does."""
        if not (self.settings.eod.distribute if distribute is None else distribute):
            return run_inline
        from leasekit.jobs import run_queued  # procrastinate, only where workers are used

        return run_queued(
            self.settings.database_url.get_secret_value(), self.engine,
            heartbeat_seconds=self.settings.eod.worker_heartbeat_seconds,
        )  # fmt: skip

    def close(self) -> None:
        """Deliver what is pending, stop the worker thread and release the database."""
        if self.worker is not None:
            self.worker.stop()
        self.engine.dispose()


def build_runtime(
    settings: Settings,
    plugin_manager: PluginManager | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    deliver: bool = True,
) -> Runtime:
    """Wire leasekit from *settings*; apply pending migrations first unless *migrate* is off.
    Without *deliver* no worker delivers events: they wait in the outbox for the next process
    that does (a bulk load that should not wait for its subscribers).

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
    # The server's worker threads, its health check's thread, the background worker, and one
    # for a command line sharing the runtime.
    engine = create_engine(
        settings.database_url.get_secret_value(), connections=settings.server.worker_threads + 3
    )
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    clock = ClosedDateClock(clock, engine)
    catalog.commands()
    wake = _Wake()
    services = ServiceContext(
        uow_factory=unit_of_work_factory(engine),
        adapters=adapters,
        clock=clock,
        currency=currency(settings.currency),
        max_upload_bytes=settings.server.max_upload_bytes,
        secret_key=secret_key(settings),
        after_commit=wake,
        limit_policy=settings.partners.limit_policy(),
        approval_rules=settings.approvals.rules(),
        partner_oversight=partner_oversight(settings.partners, pm),
        required_documents=RequiredDocuments(settings.partners.required_documents),
        import_limits=SheetLimits(
            settings.partners.import_max_bytes, settings.partners.import_max_rows
        ),
        party_calls=party_calls(settings.pre_approval),
        voters=tuple(as_hooks(pm).application_voters()),
        pricing=settings.pricing.convention(),
        face_policy=settings.faces.policy(settings.timezone),
        inspect_photo=inspect_photo,
        payout_rules=settings.payouts.rules(),
        contracting=settings.contracts.contracting(),
        collection=settings.funds.rules(),
        close_rules=settings.eod.rules(),
        end_of_day_steps=tuple(as_hooks(pm).end_of_day_steps()),
        accounting=settings.accounting.accounting(
            settings.contracts.company_name, settings.currency
        ),
        render_contract=contract_renderer(
            settings.contracts.template_dir, settings.contracts.cjk_font
        ),
    )
    relay = OutboxRelay(
        engine, subscribers(pm, adapters, services), policy=_policy(settings.outbox)
    )
    worker = (
        BackgroundWorker(
            relay, engine, batch=settings.outbox.batch, retry_every=settings.outbox.retry_seconds
        )
        if deliver
        else None
    )
    wake.worker = worker
    return Runtime(settings, pm, engine, relay, worker, services)


@attrs.define
class _Wake:
    """What commands call after committing: the worker, once it exists (event handlers run
    commands too, and their context is made before the worker that runs them)."""

    worker: BackgroundWorker | None = None

    def __call__(self) -> None:
        if self.worker is not None:
            self.worker.wake()


def subscribers(
    pm: PluginManager, adapters: Adapters, ctx: ServiceContext
) -> list[EventSubscriber]:
    """Who receives committed events, each on its own: every plugin with an event hook, the
    notifier and the ledger if they are configured, and every in-process handler."""
    hooks = as_hooks(pm)
    found: list[EventSubscriber] = [
        PluginSubscriber(plugin, hooks, events)
        for plugin, events in hooks.event_receivers().items()
    ]
    if adapters.active_id(AdapterKind.NOTIFIER):
        found.append(NotifierSubscriber(adapters))
    if adapters.active_id(AdapterKind.LEDGER):
        found.append(LedgerSubscriber(ctx))
    found.extend(handler_subscribers(ctx))
    return found


def partner_oversight(settings: PartnerSettings, pm: PluginManager) -> PartnerOversight:
    """How partners are rated and monitored: the settings' scorecard unless a plugin
    replaces the model."""
    return PartnerOversight(
        settings.figures_window_months,
        as_hooks(pm).partner_rating_model(settings.scorecard()),
        settings.monitoring_rules(),
    )


def party_calls(settings: PreApprovalSettings) -> CallPolicy:
    return CallPolicy(
        settings.timeout_seconds,
        settings.timeouts,
        settings.retries,
        settings.retry_backoff_seconds,
    )


def _policy(settings: OutboxSettings) -> RelayPolicy:
    return RelayPolicy(
        worker_id=settings.worker_id or f"{socket.gethostname()}:{os.getuid()}",
        lease=dt.timedelta(seconds=settings.lease_seconds),
        max_attempts=settings.max_attempts,
        first_backoff=dt.timedelta(seconds=settings.first_backoff_seconds),
        max_backoff=dt.timedelta(seconds=settings.max_backoff_seconds),
    )


def secret_key(settings: Settings) -> bytes:
    """The installation's secret: ``LEASEKIT_SECRET_KEY``, or else one kept in the data
    folder (made on first use, readable by the owner only). Several servers on one database
    must share it, so set the variable where there is more than one."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = Path(settings.data_dir) / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with open(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48))
            logger.warning("made a secret key in %s; set LEASEKIT_SECRET_KEY for production", path)
    return path.read_text(encoding="ascii").strip().encode()
