"""GET /health: up and the database answers, or 503 saying the database does not."""

from __future__ import annotations

from typing import Any

import pytest

from leasekit import __version__
from leasekit.server.routes import health


async def test_healthy(client: Any, runtime: Any) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == {"status": "ok", "version": __version__, "database": "ok"}
    assert runtime.threads
    assert runtime.threads[0].startswith("leasekit")


async def test_a_failing_database_makes_the_instance_unavailable(
    client: Any, runtime: Any, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.database_error = OSError("connection refused by db.internal:5432")
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body == {"status": "unavailable", "version": __version__, "database": "error"}
    assert "db.internal" not in await response.text()
    assert any(
        record.exc_info and record.exc_info[1] is runtime.database_error
        for record in caplog.records
    )


async def test_a_hanging_database_check_times_out(
    client: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.05)
    runtime.database_delay = 0.5
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["database"] == "error"
