"""The demo's adapters: fakes for the external parties, and files a person can read for what
the notifier would have told people."""

from __future__ import annotations

import json
from pathlib import Path

from leasekit.demo import DEMO_ADAPTERS, seed_demo
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings


def test_the_demo_writes_its_events_under_the_data_dir(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path, adapters=DEMO_ADAPTERS)
    runtime = build_runtime(settings, create_plugin_manager(load_entrypoints=False, blocked=()))
    try:
        company = seed_demo(runtime.services)
        assert runtime.wait_for_delivery()
    finally:
        runtime.close()
    lines = (tmp_path / "messages" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    (submitted,) = [event for event in events if event["name"] == "application_submitted"]
    assert submitted["subject_id"] == company.applications[1].id
    fields = {"name", "subject", "subject_id", "business_date", "idempotency_key"}
    assert all(event.keys() == fields for event in events), "payloads stay out of the file"
