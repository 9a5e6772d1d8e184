"""The close of business spread over worker processes, with procrastinate's job queue on the
PostgreSQL database leasekit already uses.

Each pending partition of a step becomes a job (:func:`run_queued`); ``leasekit worker``
processes, on any machine that reaches the database, take them (:func:`run_worker`). A job
calls :func:`leasekit.services.end_of_day.run_partition`, which does the partition and marks
it done in one transaction under the partition's row lock, so the queue may deliver a job
twice (a worker killed after its commit but before the queue heard of it) and the book is
still changed once. A worker that dies mid-partition stops sending heartbeats; its job is
sent back to the queue once it counts as stalled, and the rolled-back partition is done
again elsewhere.

procrastinate rather than pgqueuer: it speaks psycopg 3, the driver leasekit already uses,
from synchronous code as well as async; it keeps its schema with versioned migrations of its
own; and it has what this needs built in: per-job retries, a queueing lock against deferring
one partition twice, and worker heartbeats that tell a stalled job from a slow one.
pgqueuer is async-only, and would need a second driver or an async close.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import procrastinate
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from leasekit.domain.end_of_day import PartitionState
from leasekit.errors import ConfigurationError
from leasekit.services.end_of_day import CloseFailed, run_partition
from leasekit.services.storage import PartitionRecord

if TYPE_CHECKING:
    from leasekit.runtime import Runtime
    from leasekit.services.context import ServiceContext
    from leasekit.services.end_of_day import PartitionRunner

__all__ = ["QUEUE", "ensure_job_schema", "job_app", "run_queued", "run_worker"]

QUEUE: Final = "leasekit_end_of_day"
TASK: Final = "leasekit:end_of_day_partition"
_SCHEMA_LOCK: Final = 0x1EA5E_E0D
"""The advisory lock two processes applying the queue's schema at once take in turn."""
_POLL_SECONDS: Final = (0.02, 0.1)
"""How long the coordinator waits between looks at the partitions: from the first, doubling
to the second, so a step of one quick partition is not held up by the pause a long one
needs. A look is three small queries; at 0.5 s the pauses added about a second and a half
to a close of five steps."""


def _conninfo(database_url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (its options, a search path say, kept)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("workers need PostgreSQL: LEASEKIT_DATABASE_URL is not one")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def job_app(database_url: str) -> procrastinate.App:
    """A procrastinate app on the database, knowing the partition task."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=_conninfo(database_url))
    )

    @app.task(name=TASK, queue=QUEUE, pass_context=True, retry=3)
    def end_of_day_partition(context: Any, business_date: str, step: str, low: str) -> None:
        runtime: Runtime = context.additional_context["runtime"]
        run_partition(runtime.services, date.fromisoformat(business_date), step, low)

    return app


def ensure_job_schema(engine: Engine) -> None:
    """Apply the queue's schema unless the database has it (once, however many processes
    start together)."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        found = connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
        if found is None:
            schema = procrastinate.schema.SchemaManager.get_schema()
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute(schema)  # no parameters: psycopg reads no placeholders in it


def run_worker(runtime: Runtime, database_url: str, *, heartbeat_seconds: float) -> None:
    """Take partition jobs until stopped (SIGINT or SIGTERM finish the job in hand)."""
    ensure_job_schema(runtime.engine)
    app = job_app(database_url)
    app.run_worker(
        queues=[QUEUE],
        name=f"{socket.gethostname()}-{os.getpid()}",
        additional_context={"runtime": runtime},
        update_heartbeat_interval=heartbeat_seconds,
        stalled_worker_timeout=3 * heartbeat_seconds,
        delete_jobs="successful",
    )


def run_queued(database_url: str, engine: Engine, *, heartbeat_seconds: float) -> PartitionRunner:
    """A partition runner that defers each pending partition as a job and waits until the
    workers have done them all, sending back the jobs of workers that stopped beating."""
    ensure_job_schema(engine)

    def runner(
        ctx: ServiceContext,
        business_date: date,
        step: str,
        pending: Sequence[PartitionRecord],
        advanced: Callable[[int], None],
    ) -> None:
        asyncio.run(
            _defer_and_wait(job_app(database_url), ctx, business_date, step, pending, advanced,
                            stalled_after=3 * heartbeat_seconds)
        )  # fmt: skip

    return runner


async def _defer_and_wait(
    app: procrastinate.App,
    ctx: ServiceContext,
    business_date: date,
    step: str,
    pending: Sequence[PartitionRecord],
    advanced: Callable[[int], None],
    *,
    stalled_after: float,
) -> None:
    async with app.open_async():
        jobs = {await _defer(app, business_date, step, p.low) for p in pending}
        left, pause = len(pending), _POLL_SECONDS[0]
        while left:
            await asyncio.sleep(pause)
            pause = min(2 * pause, _POLL_SECONDS[1])
            for job in await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=stalled_after
            ):
                await app.job_manager.retry_job(job)
            failed = await app.job_manager.list_jobs_async(task=TASK, status="failed")
            for job in failed:
                if job.id in jobs:
                    raise CloseFailed(
                        f"the job for the partition from {job.task_kwargs['low']!r} failed "
                        "every attempt; its error is in the worker's log"
                    )
            now_left = await asyncio.to_thread(_pending_count, ctx, business_date, step)
            advanced(left - now_left)
            left = now_left


async def _defer(app: procrastinate.App, business_date: date, step: str, low: str) -> int:
    """The id of the partition's job: deferred now, or the one a close of the same date
    running beside this one deferred (the queueing lock admits one waiting job)."""
    lock = f"{business_date}/{step}/{low}"
    try:
        return (
            await app.tasks[TASK]
            .configure(queueing_lock=lock)
            .defer_async(business_date=business_date.isoformat(), step=step, low=low)
        )
    except procrastinate.exceptions.AlreadyEnqueued:
        waiting = await app.job_manager.list_jobs_async(queueing_lock=lock)
        found = [job.id for job in waiting if job.id is not None]
        return found[0] if found else await _defer(app, business_date, step, low)


def _pending_count(ctx: ServiceContext, business_date: date, step: str) -> int:
    with ctx.unit_of_work() as uow:
        partitions = uow.end_of_day.partitions(business_date, step)
    return sum(partition.state is PartitionState.PENDING for partition in partitions)
