"""How close does the reference server come to what aiohttp itself can serve?

Run it with ``python benchmarks/bench_server.py`` (``--quick`` for a smoke run,
``--postgres URL`` to run against PostgreSQL as well as SQLite). It prints a table and is never
a pass/fail timing test: the exit code is 0 whatever the speed.

Every server is a real process: ``leasekit serve`` configured through ``LEASEKIT_*``
variables, as an operator runs it, and a bare aiohttp app answering ``{"hello": "world"}``
(this script with ``--serve-hello PORT``), the ceiling every rate is divided by. The load
comes from a small closed-loop HTTP/1.1 client in this process: a fixed number of keep-alive
connections, each sending its next request as soon as the previous answer is complete. It
parses no more than the status line and ``Content-Length``, so it costs far less per request
than any server, and the ceiling is measured with the same client; the CPU columns show how
busy the client, the servers and everything else (the database) were.

Each database holds the demo company (``leasekit.demo.seed_demo`` on the demo adapters) and
more customers inserted with Core ``executemany`` (every column as the repository writes it,
``name_key`` included; no events or audit entries, which no read looks at): 1k, 20k and 100k
for the lists, each size its own database and server, and 20k where the creates go.
Scenarios run in interleaved rounds and the best round of each is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.client
import json
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Final, NamedTuple

import aiohttp
from aiohttp import web

import leasekit
from bench_commands import (
    BOOK,
    POSTGRES_URL_VARIABLE,
    insert_customers,
    postgres_durability,
    scratch_schema,
)
from leasekit.demo import DEMO_ADAPTERS, resident_id, seed_demo
from leasekit.plugins import create_plugin_manager
from leasekit.runtime import build_runtime
from leasekit.settings import load_settings

HOST: Final = "127.0.0.1"
SECRET_KEY: Final = "bench-server-secret"
CONNECTIONS: Final = 8
"""Keep-alive connections per server process under load."""
GET_TARGET: Final = 0.25
GET_P99_MS: Final = 10.0
LIST_TARGET: Final = 0.1
FLAT: Final = 0.8
"""A list is "flat" when its rate on the largest table is at least this share of the smallest."""
SCALE_TARGET: Final = 1.6


# -- the ceiling -----------------------------------------------------------------------------


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "world"})


def serve_hello(port: int) -> None:
    """The ceiling: aiohttp with one JSON route, no middleware, no access log."""
    app = web.Application()
    app.router.add_get("/hello", hello)
    web.run_app(app, host=HOST, port=port, access_log=None, print=None)


# -- server processes ------------------------------------------------------------------------


class Server(NamedTuple):
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    """A port nobody listens on, as the kernel picks one."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    """Poll *path* until it answers 200; fail with the log's tail if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server {server.name} exited:\n{tail}")
        with contextlib.suppress(OSError):
            connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            finally:
                connection.close()
        time.sleep(0.1)
    raise RuntimeError(f"server {server.name} did not answer {path} within {timeout} s")


def start(
    name: str, port: int, command: list[str], env: dict[str, str], folder: Path, ready: str
) -> Server:
    """Start *command*, its output to ``<name>.log``, and return once *ready* answers."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log)
    try:
        wait_until_ready(server, ready)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server) -> None:
    """SIGTERM, so aiohttp shuts down cleanly and the runtime stops its worker."""
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def clean_environment() -> dict[str, str]:
    """This process's environment without the caller's ``LEASEKIT_`` settings: servers get
    exactly the settings below, whatever the shell exports."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("LEASEKIT_")}


def leasekit_environment(url: str, folder: Path, worker_id: str) -> dict[str, str]:
    """The settings of every leasekit server: the demo adapters, no plugins from entry
    points, one secret key for all processes on a database, a worker id of its own."""
    return clean_environment() | {
        "LEASEKIT_DATABASE_URL": url,
        "LEASEKIT_DATA_DIR": str(folder),
        "LEASEKIT_ADAPTERS": json.dumps(DEMO_ADAPTERS),
        "LEASEKIT_SECRET_KEY": SECRET_KEY,
        "LEASEKIT_DISABLE_PLUGIN_AUTOLOAD": "1",
        "LEASEKIT_OUTBOX__WORKER_ID": worker_id,
    }


def start_leasekit(name: str, url: str, folder: Path) -> Server:
    port = free_port()
    env = leasekit_environment(url, folder, name) | {"LEASEKIT_SERVER__PORT": str(port)}
    command = [str(Path(sysconfig.get_path("scripts")) / "leasekit"), "serve"]
    return start(name, port, command, env, folder, "/health")


def start_hello(folder: Path) -> Server:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-hello", str(port)]
    return start("hello", port, command, clean_environment(), folder, "/hello")


# -- databases -------------------------------------------------------------------------------


class Company(NamedTuple):
    token: str
    """The demo credit officer's token."""
    customer_ids: list[str]
    """The bulk-inserted customers, in id order."""


def seed(url: str, folder: Path, customers: int) -> Company:
    """Migrate and seed the demo company through the services, as ``leasekit demo`` does,
    then add *customers* rows in bulk."""
    settings = load_settings(
        database_url=url,
        data_dir=folder,
        adapters=DEMO_ADAPTERS,
        secret_key=SECRET_KEY,
        disable_plugin_autoload=True,
    )
    runtime = build_runtime(settings, create_plugin_manager(load_entrypoints=False, blocked=()))
    try:
        company = seed_demo(runtime.services)
        ids = insert_customers(runtime.engine, customers)
    finally:
        runtime.close()
    return Company(company.tokens["officer"][1], ids)


@contextlib.contextmanager
def database(base: str | None, folder: Path, name: str) -> Iterator[str]:
    """A fresh database URL: a SQLite file in *folder*, or a scratch PostgreSQL schema."""
    if base is None:
        yield f"sqlite:///{folder / f'{name}.db'}"
    else:
        with scratch_schema(base) as url:
            yield url


# -- the load generator ----------------------------------------------------------------------

_CONTENT_LENGTH: Final = re.compile(rb"\r\ncontent-length: *([0-9]+)", re.IGNORECASE)


def response_end(buffer: bytearray) -> int | None:
    """Where the first complete response in *buffer* ends, or None if it is not all in."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    match = _CONTENT_LENGTH.search(buffer, 0, head_end)
    if match is None:
        raise RuntimeError("a response without Content-Length; this client reads no other")
    end = head_end + 4 + int(match.group(1))
    return end if len(buffer) >= end else None


class Load:
    """What the connections of one run share: the requests, and what was recorded."""

    def __init__(self, request: Callable[[], bytes], expect: int) -> None:
        self.request = request
        self.expect = expect
        self.recording = False
        self.stopping = False
        self.latencies: list[float] = []
        self.errors = 0

    def record(self, status: int, seconds: float) -> None:
        if self.recording:
            self.latencies.append(seconds)
            self.errors += status != self.expect


class Connection(asyncio.Protocol):
    """One keep-alive connection: send, read the whole answer, send the next."""

    def __init__(self, load: Load, closed: asyncio.Future[None]) -> None:
        self.load = load
        self.closed = closed
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        if self.load.stopping:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(self.load.request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = response_end(self.buffer)
        if end is None:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:end]
        self.load.record(status, time.perf_counter() - self.sent)
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.load.stopping:
            self.load.errors += 1  # the server hung up mid-run
        if not self.closed.done():
            self.closed.set_result(None)


def request_bytes(method: str, path: str, token: str | None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- CPU use, to show who was busy -----------------------------------------------------------

_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds a process has used so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_cpu() -> float:
    """CPU seconds all processes have used so far, idle time excluded (NaN off Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return math.nan
    ticks = [int(value) for value in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICKS


def background_load(seconds: float = 1.0) -> float:
    """Cores other processes kept busy over *seconds* before anything starts: load that will
    compete with the servers all run long, and that best-of rounds cannot filter out."""
    before, own = machine_cpu(), time.process_time()
    time.sleep(seconds)
    return (machine_cpu() - before - (time.process_time() - own)) / seconds


class Cores(NamedTuple):
    """Cores kept busy, on average, over a recorded stretch."""

    client: float
    servers: float
    other: float
    """Everything else: PostgreSQL, idle servers, and any other work on the machine."""


class CpuClock(NamedTuple):
    """CPU seconds used so far by this process, by the servers, and by the whole machine."""

    client: float
    servers: float
    machine: float

    @classmethod
    def read(cls, pids: Sequence[int]) -> CpuClock:
        return cls(time.process_time(), sum(map(process_cpu, pids)), machine_cpu())

    def cores_since(self, earlier: CpuClock, seconds: float) -> Cores:
        client, servers, machine = ((a - b) / seconds for a, b in zip(self, earlier, strict=True))
        return Cores(client, servers, machine - client - servers)


# -- running one scenario --------------------------------------------------------------------


class Scenario(NamedTuple):
    name: str
    group: str
    """What the verdicts compare it with: ceiling, one, me, first page, later page, create."""
    servers: tuple[Server, ...]
    request: Callable[[], bytes]
    expect: int = 200
    target: float | None = None
    """The least share of the ceiling's rate the project asks for, if any."""


class Sample(NamedTuple):
    rate: float
    """Answers per second."""
    latencies: list[float]
    """Seconds from sending a request to its last byte, sorted."""
    errors: int
    cores: Cores


async def run_load(scenario: Scenario, warmup: float, seconds: float) -> Sample:
    """*CONNECTIONS* per server, *warmup* seconds unrecorded, then *seconds* recorded."""
    loop = asyncio.get_running_loop()
    load = Load(scenario.request, scenario.expect)
    closed: list[asyncio.Future[None]] = []
    for server in scenario.servers:
        for _ in range(CONNECTIONS):
            closed.append(loop.create_future())
            await loop.create_connection(
                functools.partial(Connection, load, closed[-1]), HOST, server.port
            )
    pids = [server.process.pid for server in scenario.servers]
    await asyncio.sleep(warmup)
    before, started = CpuClock.read(pids), time.perf_counter()
    load.recording = True
    await asyncio.sleep(seconds)
    load.recording = False
    elapsed = time.perf_counter() - started
    cores = CpuClock.read(pids).cores_since(before, elapsed)
    load.stopping = True
    await asyncio.wait_for(asyncio.gather(*closed), 30)
    return Sample(len(load.latencies) / elapsed, sorted(load.latencies), load.errors, cores)


class Result(NamedTuple):
    scenario: Scenario
    best: Sample
    spread: float
    """Best rate ÷ median rate: the run's noise gauge."""


async def run_rounds(
    scenarios: Sequence[Scenario], rounds: int, warmup: float, seconds: float
) -> list[Result]:
    """Interleaved rounds (A, B, C, A, B, C, ...), the best round of each scenario kept."""
    samples: list[list[Sample]] = [[] for _ in scenarios]
    for _ in range(rounds):
        for scenario, kept in zip(scenarios, samples, strict=True):
            kept.append(await run_load(scenario, warmup, seconds))
    results = []
    for scenario, kept in zip(scenarios, samples, strict=True):
        best = max(kept, key=lambda sample: sample.rate)
        median = statistics.median(sample.rate for sample in kept)
        results.append(Result(scenario, best, best.rate / median))
    return results


# -- what is asked ---------------------------------------------------------------------------


def fixed(request: bytes) -> Callable[[], bytes]:
    return lambda: request


def creates(token: str) -> Callable[[], bytes]:
    """``POST /customers`` with a new valid resident number each time (Beijing area codes:
    the bulk-inserted customers have Shanghai's)."""
    numbers = (
        resident_id(f"110105{date(1960, 1, 1) + timedelta(days=day):%Y%m%d}{sequence:03d}")
        for day in range(100_000)
        for sequence in range(1000)
    )

    def next_request() -> bytes:
        body = {"kind": "individual", "name": "Zhang Wei", "id_number": next(numbers)}
        return request_bytes("POST", "/customers", token, json.dumps(body).encode())

    return next_request


class Listed(NamedTuple):
    """A server on a database holding *size* bulk-inserted customers."""

    size: int
    server: Server
    company: Company

    def middle(self) -> str:
        return self.company.customer_ids[len(self.company.customer_ids) // 2]


def get(
    name: str, group: str, server: Server, path: str, token: str | None, target: float | None = None
) -> Scenario:
    return Scenario(name, group, (server,), fixed(request_bytes("GET", path, token)), 200, target)


def read_scenarios(ceiling: Server, largest: Listed) -> list[Scenario]:
    """The ceiling, one customer by id, and ``/me``, on the largest table."""
    token, server = largest.company.token, largest.server
    return [
        get("hello JSON (ceiling)", "ceiling", ceiling, "/hello", None),
        get("GET /customers/{id}", "one", server, f"/customers/{largest.middle()}", token,
            GET_TARGET),
        get("GET /me", "me", server, "/me", token),
    ]  # fmt: skip


def list_scenarios(listed: Sequence[Listed]) -> list[Scenario]:
    """The first page of 50 for each size, then for each size the page after the middle
    row (``after=`` its id), which a table scan would make dearer as the table grows."""
    first = [
        get(f"GET /customers?limit=50, {item.size:,} rows", "first page", item.server,
            "/customers?limit=50", item.company.token, LIST_TARGET)
        for item in listed
    ]  # fmt: skip
    later = [
        get(f"  …&after=<middle id>, {item.size:,} rows", "later page", item.server,
            f"/customers?limit=50&after={item.middle()}", item.company.token, LIST_TARGET)
        for item in listed
    ]  # fmt: skip
    return first + later


def create_scenarios(writers: Sequence[Server], token: str) -> list[Scenario]:
    """Creates on one process, and on every process of *writers* at once (one database)."""
    request = creates(token)
    made = [Scenario("POST /customers, 1 process", "create", (writers[0],), request, 201)]
    if len(writers) > 1:
        name = f"POST /customers, {len(writers)} processes"
        made.append(Scenario(name, "create", tuple(writers), request, 201))
    return made


# -- one database ------------------------------------------------------------------------------


class Plan(NamedTuple):
    sizes: tuple[int, ...]
    rounds: int
    warmup: float
    seconds: float


def bench_database(base: str | None, folder: Path, plan: Plan) -> list[Result]:
    """Seed, start every server, run every scenario; on PostgreSQL (*base*) creates also run
    on two processes sharing one database. Each database has a data folder of its own, where
    its servers also write their logs."""
    with contextlib.ExitStack() as stack:

        def seeded(name: str, customers: int) -> tuple[str, Path, Company]:
            url = stack.enter_context(database(base, folder, name))
            return url, folder / name, seed(url, folder / name, customers)

        def served(name: str, url: str, data: Path) -> Server:
            server = start_leasekit(name, url, data)
            stack.callback(stop, server)
            return server

        ceiling = start_hello(folder)
        stack.callback(stop, ceiling)
        listed = []
        for size in plan.sizes:
            url, data, company = seeded(f"list-{size}", size)
            listed.append(Listed(size, served(f"lk-{size}", url, data), company))
        url, data, company = seeded("writes", BOOK)
        writers = [served("writer-1", url, data)]
        if base is not None:
            writers.append(served("writer-2", url, data))
        scenarios = (
            read_scenarios(ceiling, listed[-1])
            + list_scenarios(listed)
            + create_scenarios(writers, company.token)
        )
        return asyncio.run(run_rounds(scenarios, plan.rounds, plan.warmup, plan.seconds))


# -- report --------------------------------------------------------------------------------------


def percentile(latencies: Sequence[float], share: float) -> float:
    return latencies[min(len(latencies) - 1, int(share * len(latencies)))]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def table_row(result: Result, ceiling: float) -> str:
    best, target = result.best, result.scenario.target
    ratio = best.rate / ceiling
    goal = "" if target is None else f"≥{target:g}× {'yes' if ratio >= target else 'NO'}"
    cores = best.cores
    p50, p99 = (percentile(best.latencies, share) * 1000 for share in (0.5, 0.99))
    return (
        f"{result.scenario.name:<40}{best.rate:>10,.0f}{ratio:>9.3f}×{goal:>12}{p50:>8.2f}{p99:>8.2f}"
        f"{cores.client:>8.2f}{cores.servers:>8.2f}{cores.other:>7.2f}"
        f"{cores.servers / best.rate * 1e6:>10,.0f}{best.errors:>8}"
    )


def print_table(title: str, results: Sequence[Result]) -> None:
    ceiling = results[0].best.rate
    print(f"{title}: {CONNECTIONS} connections per server process")
    print(
        f"{'scenario':<40}{'answers/s':>10}{'× hello':>10}{'target':>12}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'client':>8}{'servers':>8}{'other':>7}{'µs CPU':>10}{'errors':>8}"
    )
    print(f"{'':<78}{'CPU cores busy':^23}{'/answer':>10}")
    for result in results:
        print(table_row(result, ceiling))


def in_group(results: Sequence[Result], group: str) -> list[Sample]:
    return [result.best for result in results if result.scenario.group == group]


def print_verdicts(results: Sequence[Result], sizes: Sequence[int]) -> None:
    """One line per target: the figures it is judged on, and whether it is met."""
    ceiling = in_group(results, "ceiling")[0].rate
    one = in_group(results, "one")[0]
    p99 = percentile(one.latencies, 0.99) * 1000
    print(
        f"GET one customer: {one.rate / ceiling:.3f}× the ceiling (target ≥ {GET_TARGET}×), "
        f"p99 {p99:.2f} ms (target < {GET_P99_MS:g} ms): "
        f"{verdict(one.rate / ceiling >= GET_TARGET and p99 < GET_P99_MS)}"
    )
    for group in ("first page", "later page"):
        rates = [sample.rate for sample in in_group(results, group)]
        flat = rates[-1] / rates[0]
        above = all(rate / ceiling >= LIST_TARGET for rate in rates)
        print(
            f"list, {group}: {' / '.join(f'{rate:,.0f}' for rate in rates)} answers/s at "
            f"{' / '.join(f'{size:,}' for size in sizes)} rows; largest ÷ smallest {flat:.2f} "
            f"(flat if ≥ {FLAT}): {verdict(flat >= FLAT)}; each ≥ {LIST_TARGET}× the ceiling: "
            f"{verdict(above)}"
        )
    creates = in_group(results, "create")
    if len(creates) > 1:
        scale = creates[1].rate / creates[0].rate
        print(
            f"creates: two processes do {scale:.2f}× the creates/s of one "
            f"(target ≥ {SCALE_TARGET}×): {verdict(scale >= SCALE_TARGET)}"
        )
    spread = max(result.spread for result in results)
    errors = sum(result.best.errors for result in results)
    print(
        f"timing noise: the best round was up to {spread:.2f}× the median (close to 1× on a "
        f"quiet machine); unexpected answers in the kept rounds: {errors}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean little")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(POSTGRES_URL_VARIABLE) or None,
        help=f"also run against this database [{POSTGRES_URL_VARIABLE}]",
    )
    parser.add_argument("--serve-hello", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_hello is not None:
        serve_hello(args.serve_hello)
        return 0
    plan = (
        Plan((1_000, 2_000, 5_000), 2, 0.1, 0.3)
        if args.quick
        else Plan((1_000, 20_000, 100_000), 7, 0.3, 1.0)
    )
    print(
        f"leasekit {leasekit.__version__}, Python {platform.python_version()}, aiohttp "
        f"{aiohttp.__version__}, {os.cpu_count()} CPUs; {plan.rounds} interleaved rounds of "
        f"{plan.seconds} s (after {plan.warmup} s unrecorded) per scenario, best round kept"
    )
    targets = [("SQLite (file, WAL)", None)]
    if args.postgres:
        targets.append((f"{postgres_durability(args.postgres)}", args.postgres))
    for title, base in targets:
        print(f"\n{title}: other processes kept {background_load():.2f} cores busy before the run")
        with tempfile.TemporaryDirectory() as folder:
            results = bench_database(base, Path(folder), plan)
        print_table(title, results)
        print_verdicts(results, plan.sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
