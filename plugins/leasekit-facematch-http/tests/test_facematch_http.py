"""The HTTP face verifier against a stand-in for the vendor's API, served by aiohttp on the
loopback in a thread of its own (the adapter blocks, as leasekit's core does): it passes
leasekit's face verifier suite, sends what the API expects, and turns every failure into a
FaceMatchError that quotes no image."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from leasekit_facematch_http import FaceMatchError, HttpFaceVerifier

from leasekit.domain.clock import FixedClock
from leasekit.errors import ConfigurationError
from leasekit.plugins import create_plugin_manager, resolve_adapters
from leasekit.ports import AdapterKind
from leasekit.testing.photos import blank_image, face_photo, sample_face_photo
from leasekit.testing.suites import FaceVerifierSuite

KEY = "the-api-key"
CARD = sample_face_photo()
SAME_PERSON = face_photo()
SOMEONE_ELSE = blank_image()
PEOPLE = {CARD: "collins", SAME_PERSON: "collins", SOMEONE_ELSE: "nobody"}


class Vendor:
    """What the stand-in received, and how it answers: a confidence of 96 for two images of
    one person, 12 otherwise, or the *failure* a test sets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failure: web.StreamResponse | None = None
        self.delay = 0.0

    async def compare(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-API-Key") != KEY:
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        self.requests.append(body)
        await asyncio.sleep(self.delay)
        if self.failure is not None:
            return self.failure
        source = PEOPLE.get(base64.b64decode(body["source_image"]))
        target = PEOPLE.get(base64.b64decode(body["target_image"]))
        confidence = 96.5 if source is not None and source == target else 12
        return web.json_response({"confidence": confidence, "request_id": "req-1"})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Vendor]]:
    """The stand-in's URL and its state, for the module's tests."""
    vendor = Vendor()
    app = web.Application()
    app.router.add_post("/v1/compare", vendor.compare)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/v1/compare", vendor
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def vendor(served: tuple[str, Vendor]) -> Iterator[Vendor]:
    _, state = served
    yield state
    state.failure, state.delay = None, 0.0
    state.requests.clear()


@pytest.fixture
def verifier(served: tuple[str, Vendor], vendor: Vendor) -> HttpFaceVerifier:
    return HttpFaceVerifier(served[0], api_key=KEY, timeout=Decimal("0.5"))


class TestHttpFaceVerifier(FaceVerifierSuite):
    @pytest.fixture
    def adapter(self, verifier: HttpFaceVerifier) -> HttpFaceVerifier:
        return verifier

    @pytest.fixture
    def same_person(self) -> tuple[bytes, bytes]:
        return CARD, SAME_PERSON

    @pytest.fixture
    def different_people(self) -> tuple[bytes, bytes]:
        return CARD, SOMEONE_ELSE


def test_it_sends_both_images_and_reads_the_confidence_as_a_share(
    verifier: HttpFaceVerifier, vendor: Vendor
) -> None:
    match = verifier.compare(CARD, SAME_PERSON)
    assert (match.similarity, match.matched, match.reference) == (Decimal("0.965"), True, "req-1")
    assert vendor.requests == [
        {"source_image": base64.b64encode(CARD).decode(),
         "target_image": base64.b64encode(SAME_PERSON).decode()}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (web.Response(status=503, text="upstream down"), "answered HTTP 503"),
        (web.Response(text="<html>maintenance</html>"), "malformed JSON"),
        (web.json_response([1, 2]), "not an object"),
        (web.json_response({"request_id": "r"}), "no similarity or confidence"),
        (web.json_response({"similarity": "high"}), "not a number"),
        (web.json_response({"similarity": 1.5}), "out of range"),
    ],
)
def test_a_failure_is_a_face_match_error_quoting_no_image(
    verifier: HttpFaceVerifier, vendor: Vendor, failure: web.StreamResponse, message: str
) -> None:
    vendor.failure = failure
    with pytest.raises(FaceMatchError, match=message) as caught:
        verifier.compare(CARD, SAME_PERSON)
    assert base64.b64encode(CARD).decode()[:40] not in str(caught.value)
    assert caught.value.__cause__ is None


def test_a_slow_answer_times_out(verifier: HttpFaceVerifier, vendor: Vendor) -> None:
    vendor.delay = 2.0
    with pytest.raises(FaceMatchError, match=r"did not answer within 0\.5 s"):
        verifier.compare(CARD, SAME_PERSON)


def test_a_wrong_key_and_an_unreachable_api_are_errors(served: tuple[str, Vendor]) -> None:
    wrong = HttpFaceVerifier(served[0], api_key="not-the-key")
    with pytest.raises(FaceMatchError, match="HTTP 401"):
        wrong.compare(CARD, SAME_PERSON)
    assert "not-the-key" not in repr(wrong)
    closed = HttpFaceVerifier("http://127.0.0.1:9/v1/compare", timeout=Decimal(2))
    with pytest.raises(FaceMatchError, match="could not be reached"):
        closed.compare(CARD, SAME_PERSON)


def test_leasekit_builds_it_from_its_options(served: tuple[str, Vendor], tmp_path: Path) -> None:
    clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    assert pm.source_of("facematch-http").startswith("leasekit-facematch-http ")
    kind = AdapterKind.FACE_VERIFIER.value
    options = {"url": served[0], "api_key": KEY, "threshold": "0.99", "timeout": "3"}
    adapters = resolve_adapters(pm, {kind: "http"}, {kind: options}, tmp_path, clock)
    match = adapters.face_verifier.compare(CARD, SAME_PERSON)
    assert (match.similarity, match.matched) == (Decimal("0.965"), False)  # below 0.99


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "LEASEKIT_ADAPTER_OPTIONS__FACE_VERIFIER__URL"),
        ({"url": "ftp://vendor/compare"}, "not an http"),
        ({"url": "https://vendor/compare", "threshold": "2"}, "outside 0-1"),
        ({"url": "https://vendor/compare", "timeout": "soon"}, "timeout"),
    ],
)
def test_bad_options_stop_the_start(options: dict[str, str], message: str, tmp_path: Path) -> None:
    clock = FixedClock(now=datetime(2024, 1, 15, tzinfo=UTC), business_date=date(2024, 1, 15))
    pm = create_plugin_manager(load_entrypoints=True, blocked=())
    kind = AdapterKind.FACE_VERIFIER.value
    with pytest.raises(ConfigurationError, match=message):
        resolve_adapters(pm, {kind: "http"}, {kind: options}, tmp_path, clock)
