"""The composition root: settings in, services wired, events delivered after commit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from leasekit import hookimpl
from leasekit import runtime as runtime_module
from leasekit.demo import DEMO_ADAPTERS, seed_demo
from leasekit.domain.applications import ApplicationState
from leasekit.domain.events import DomainEvent
from leasekit.errors import UnknownAdapterError
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import Runtime, build_runtime
from leasekit.services import applications
from leasekit.settings import load_settings
from leasekit.store.audit import count_entries, verify
from leasekit.store.database import create_engine


class Recorder:
    """A plugin that listens to every event and to one named hook, and can be made to fail."""

    def __init__(self) -> None:
        self.published: list[DomainEvent] = []
        self.submitted: list[DomainEvent] = []
        self.failures = 0

    @hookimpl
    def leasekit_event_published(self, event: DomainEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("receiver down")
        self.published.append(event)

    @hookimpl
    def leasekit_application_submitted(self, event: DomainEvent) -> None:
        self.submitted.append(event)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime(database_url: str, tmp_path: Path, recorder: Recorder) -> Iterator[Runtime]:
    settings = load_settings(
        database_url=database_url,
        data_dir=tmp_path,
        adapters=DEMO_ADAPTERS,
        business_date=date(2026, 3, 2),
        outbox={"first_backoff_seconds": 0.05},
    )
    pm = create_plugin_manager(load_entrypoints=False, blocked=(), extra_plugins=[recorder])
    runtime = build_runtime(settings, pm)
    yield runtime
    runtime.close()


def test_the_demo_company_is_seeded_through_the_services(
    runtime: Runtime, recorder: Recorder
) -> None:
    company = seed_demo(runtime.services)
    assert {user.role.value for user, _ in company.tokens.values()} >= {
        "admin",
        "officer",
        "manager",
        "director",
        "finance",
        "post_loan_supervisor",
        "finance_director",
        "dealer_user",
    }
    for user, token in company.tokens.values():
        assert runtime.authenticate(token) == user.actor()
    assert runtime.wait_for_delivery()
    assert [a.state for a in company.applications] == [
        ApplicationState.DRAFT,
        ApplicationState.SUBMITTED,
    ]
    report = verify(runtime.engine)
    assert report.ok
    assert report.checked > 20
    assert len(recorder.published) == report.checked
    assert {event.business_date for event in recorder.published} == {date(2026, 3, 2)}


def test_events_reach_hooks_after_commit_with_their_keys(
    runtime: Runtime, recorder: Recorder
) -> None:
    company = seed_demo(runtime.services)
    assert runtime.wait_for_delivery()
    (submitted,) = recorder.submitted
    assert submitted.subject_id == company.applications[1].id
    keys = [event.idempotency_key for event in recorder.published]
    assert len(set(keys)) == len(keys)
    assert submitted.idempotency_key in keys


def test_a_failing_receiver_gets_the_event_again_later(
    runtime: Runtime, recorder: Recorder
) -> None:
    company = seed_demo(runtime.services)
    assert runtime.wait_for_delivery()
    dealer = company.tokens["sunrise"][0].actor()
    recorder.failures = 1
    draft = company.applications[0]
    applications.transition_application(runtime.services, dealer, draft.id, "submit")
    assert runtime.wait_for_delivery()
    assert recorder.failures == 0, "the background worker tried, and the receiver failed"
    for _ in range(500):
        redelivered = [e.name for e in recorder.published if e.subject_id == draft.id]
        if "application_submitted" in redelivered:
            break
        time.sleep(0.01)
    assert redelivered.count("application_submitted") == 1, "retried by itself, once"
    assert runtime.wait_for_delivery()
    assert runtime.deliver_outbox() == 0, "and nothing is left"


def test_closing_delivers_what_is_pending(
    database_url: str, tmp_path: Path, recorder: Recorder
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path, adapters=DEMO_ADAPTERS)
    pm = create_plugin_manager(load_entrypoints=False, blocked=(), extra_plugins=[recorder])
    runtime = build_runtime(settings, pm)
    seed_demo(runtime.services)
    runtime.close()
    engine = create_engine(database_url)
    try:
        recorded = count_entries(engine)
        assert len(recorder.published) == recorded, "handlers' events too"
        assert verify(engine).checked == recorded, "and chained every audit entry"
    finally:
        engine.dispose()
    assert not runtime.worker.drain(timeout=0.1), "the worker thread has ended"


def test_a_runtime_built_not_to_deliver_leaves_events_to_the_next_one(
    database_url: str, tmp_path: Path, recorder: Recorder
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path, adapters=DEMO_ADAPTERS)
    pm = create_plugin_manager(load_entrypoints=False, blocked=(), extra_plugins=[recorder])
    loading = build_runtime(settings, pm, deliver=False)
    seed_demo(loading.services)
    assert loading.worker is None
    assert not loading.wait_for_delivery()
    loading.close()
    assert recorder.published == []
    serving = build_runtime(settings, pm)
    try:
        assert serving.wait_for_delivery()
        assert {event.name for event in recorder.published} >= {"application_submitted"}
    finally:
        serving.close()


def test_an_unknown_adapter_id_fails_at_start(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        database_url=database_url, data_dir=tmp_path, adapters={"bank": "acme"}
    )
    with pytest.raises(UnknownAdapterError, match=r"bank.*acme.*fake"):
        build_runtime(settings, create_plugin_manager(load_entrypoints=False, blocked=()))


def test_a_failed_migration_leaves_no_connection_open(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: list[Engine] = []

    def keep(url: str, **options: int) -> Engine:
        engines.append(create_engine(url, **options))
        return engines[-1]

    def fail(engine: Engine) -> None:
        engine.connect().close()  # the pool now holds a connection
        raise RuntimeError("migration failed half way")

    monkeypatch.setattr(runtime_module, "create_engine", keep)
    monkeypatch.setattr(runtime_module, "upgrade", fail)
    settings = load_settings(database_url=database_url, data_dir=tmp_path, adapters=DEMO_ADAPTERS)
    with pytest.raises(RuntimeError, match="half way"):
        build_runtime(settings, create_plugin_manager(load_entrypoints=False, blocked=()))
    [engine] = engines
    assert engine.pool.checkedin() == 0
