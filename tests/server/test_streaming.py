"""Document bodies stream through the thread pool in both directions, within the size limit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest
from aiohttp import ClientPayloadError, web

from leasekit.errors import NotFoundError, ValidationError
from leasekit.server.routes import helpers
from leasekit.server.routes.helpers import receive_upload, send_download

LIMIT = 1000  # settings.server.max_upload_bytes in conftest


class Sink:
    """A stand-in for the upload service: consumes the chunks in a worker thread."""

    def __init__(self) -> None:
        self.received = b""
        self.calls = 0
        self.thread = ""

    def __call__(self, chunks: Iterable[bytes]) -> int:
        self.calls += 1
        self.thread = threading.current_thread().name
        for chunk in chunks:
            self.received += chunk
        return len(self.received)


class Source:
    """A stand-in for DocumentStore.open: a blocking iterator that records how it was used."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = False
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[bytes]:
        return self.read()

    def read(self) -> Iterator[bytes]:
        try:
            for index, chunk in enumerate(self.chunks):
                self.threads.add(threading.current_thread().name)
                if index == self.fail_at:
                    raise OSError("disk gone")
                yield chunk
        finally:
            self.closed = True


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def source() -> Source:
    return Source([b"%PDF-", b"1.7 ", b"body"])


@pytest.fixture
async def client(make_client: Any, sink: Sink, source: Source) -> Any:
    routes = web.RouteTableDef()

    @routes.put("/upload")
    async def upload(request: web.Request) -> web.Response:
        size = await receive_upload(request, sink)
        return web.json_response({"size": size})

    @routes.get("/download")
    async def download(request: web.Request) -> web.StreamResponse:
        if "missing" in request.query:
            raise NotFoundError("document", "d-1")
        return await send_download(
            request,
            iter(source),
            content_type="application/pdf",
            filename='合同 "final".pdf',
        )

    return await make_client(routes)


async def test_an_upload_reaches_the_service_in_a_worker_thread(
    client: Any, auth: Any, sink: Sink
) -> None:
    response = await client.put("/upload", data=b"x" * LIMIT, headers=auth)
    assert response.status == 200
    assert await response.json() == {"size": LIMIT}
    assert sink.received == b"x" * LIMIT
    assert sink.thread.startswith("leasekit")


async def test_an_upload_declared_too_large_is_refused_before_reading(
    client: Any, auth: Any, sink: Sink
) -> None:
    response = await client.put("/upload", data=b"x" * (LIMIT + 1), headers=auth)
    assert response.status == 422
    body = await response.json()
    assert body["errors"] == [{"field": "file", "message": "larger than the limit of 1000 bytes"}]
    assert sink.calls == 0


async def test_a_streamed_upload_stops_at_the_limit(client: Any, auth: Any, sink: Sink) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 100
            yield b"y" * 100

    response = await client.put("/upload", data=body(), headers=auth)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "file"
    assert len(sink.received) <= LIMIT, "the service must never see more than the limit"


def test_reading_stops_as_soon_as_the_limit_is_passed() -> None:
    reads = 0
    consumed: list[bytes] = []

    async def read() -> bytes:
        nonlocal reads
        reads += 1
        return b"z" * 300

    async def consume() -> None:
        chunks = helpers._blocking_chunks(read, asyncio.get_running_loop(), 1000, "file")
        await asyncio.to_thread(consumed.extend, chunks)

    with pytest.raises(ValidationError) as caught:
        asyncio.run(consume())
    assert caught.value.errors[0].field == "file"
    assert reads == 4, "300 + 300 + 300 + 300 passes 1000 on the fourth read; nothing after"
    assert len(b"".join(consumed)) == 900, "the chunk that passes the limit is not handed on"


async def test_a_download_streams_every_chunk(client: Any, auth: Any, source: Source) -> None:
    response = await client.get("/download", headers=auth)
    assert response.status == 200
    assert await response.read() == b"%PDF-1.7 body"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="__ _final_.pdf"; '
        "filename*=UTF-8''%E5%90%88%E5%90%8C%20%22final%22.pdf"
    )
    assert source.closed
    assert all(name.startswith("leasekit") for name in source.threads)


async def test_a_download_that_fails_at_once_is_a_problem(
    client: Any, auth: Any, source: Source
) -> None:
    source.fail_at = 0
    response = await client.get("/download", headers=auth)
    assert response.status == 500
    assert response.content_type == "application/problem+json"
    assert source.closed


async def test_a_download_that_fails_midway_is_cut_short(
    client: Any, auth: Any, source: Source
) -> None:
    source.fail_at = 2
    async with asyncio.timeout(10):
        response = await client.get("/download", headers=auth)
        assert response.status == 200
        with pytest.raises(ClientPayloadError):
            await response.read()
    assert source.closed


async def test_errors_before_the_download_are_problems(client: Any, auth: Any) -> None:
    response = await client.get("/download?missing", headers=auth)
    assert response.status == 404
