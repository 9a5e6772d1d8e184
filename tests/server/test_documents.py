"""Documents over HTTP: typed by their bytes, streamed both ways, nothing kept on refusal."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image, grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def customer_path(demo: Any) -> str:
    return f"/customers/{demo.company.applications[0].customer_id}"


async def upload(demo: Any, owner: str, body: Any, expect: int, **query: str) -> Any:
    params = {"kind": "id_card_front", "filename": "id.pdf"} | query
    return await demo.call(
        "POST",
        f"{owner}/documents",
        "sunrise",
        expect,
        params=params,
        data=body,
        # Claimed as a PDF, named as a PDF: neither is believed.
        headers={"Content-Type": "application/pdf"},
    )


async def test_an_upload_is_typed_by_its_bytes_and_downloads_identically(demo) -> None:
    image = png()
    created = await upload(demo, customer_path(demo), image, 201)
    assert created["content_type"] == "image/png"
    assert created["filename"] == "id.pdf"
    assert created["sha256"] == hashlib.sha256(image).hexdigest()
    assert created["size"] == len(image)
    assert created["owner_kind"] == "customer"
    assert created["kind"] == "id_card_front"
    assert created["partner_id"] == demo.partner_id("Sunrise Motors")
    assert created["uploaded_by"] == demo.user("sunrise").id
    assert "storage_key" not in created, "where the store keeps the bytes is internal"

    record = await demo.call("GET", f"/documents/{created['id']}", "officer", 200)
    assert record == created
    listed = await demo.listing(f"{customer_path(demo)}/documents", "sunrise")
    assert listed == [created]

    async with demo.client.get(
        f"/documents/{created['id']}/content", headers=demo.auth("sunrise")
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert await response.read() == image
    assert len(demo.stored_files()) == 1


@pytest.mark.parametrize(
    "owner",
    ["customers", "vehicles", "partners", "applications"],
)
async def test_every_owner_with_a_resource_takes_documents(demo, owner) -> None:
    first = demo.company.applications[0]
    owner_id = {
        "customers": first.customer_id,
        "vehicles": first.vehicle_id,
        "partners": first.partner_id,
        "applications": first.id,
    }[owner]
    created = await upload(demo, f"/{owner}/{owner_id}", png(), 201, kind="other")
    assert (created["owner_kind"], created["owner_id"]) == (owner.removesuffix("s"), owner_id)
    # A partner holds its onboarding documents besides.
    listed = await demo.listing(f"/{owner}/{owner_id}/documents?kind=other", "officer")
    assert [d["id"] for d in listed] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120, "application/x-executable content"),
        (b"MZ\x90\x00" + b"\x00" * 120, "application/x-msdownload content"),
        (b"just some text, not a scan", "content of no recognised type"),
        (b"", "is empty"),
    ],
)
async def test_anything_but_a_scan_is_refused_and_nothing_kept(demo, body, found) -> None:
    problem = await upload(demo, customer_path(demo), body, 422)
    assert [e["field"] for e in problem["errors"]] == ["file"]
    assert found in problem["errors"][0]["message"]
    assert await demo.listing(f"{customer_path(demo)}/documents", "sunrise") == []
    assert demo.stored_paths() == [], "nothing on disk, folders included"


async def test_an_upload_declared_too_large_is_refused_before_reading(demo) -> None:
    body = png() + b"\x00" * demo.upload_limit
    problem = await upload(demo, customer_path(demo), body, 422)
    assert problem["errors"][0]["field"] == "file"
    assert str(demo.upload_limit) in problem["errors"][0]["message"]
    assert await demo.listing(f"{customer_path(demo)}/documents", "sunrise") == []
    assert demo.stored_paths() == [], "nothing on disk, folders included"


async def test_a_streamed_upload_is_cut_off_at_the_limit_and_nothing_kept(demo) -> None:
    """Chunked, so without a Content-Length: the limit is found while storing."""

    async def body() -> AsyncIterator[bytes]:
        yield png()
        for _ in range(2 * demo.upload_limit // 1024):
            yield b"\x00" * 1024

    problem = await upload(demo, customer_path(demo), body(), 422)
    assert problem["errors"][0]["field"] == "file"
    assert await demo.listing(f"{customer_path(demo)}/documents", "sunrise") == []
    assert demo.stored_paths() == [], "nothing on disk, folders included"


async def test_another_partners_documents_and_owners_are_not_found(demo) -> None:
    created = await upload(demo, customer_path(demo), png(), 201)
    for path in (f"/documents/{created['id']}", f"/documents/{created['id']}/content"):
        problem = await demo.call("GET", path, "harbour", 404)
        assert problem["type"] == "urn:leasekit:problem:not-found"
    await demo.call("GET", f"{customer_path(demo)}/documents", "harbour", 404)
    problem = await demo.call(
        "POST",
        f"{customer_path(demo)}/documents",
        "harbour",
        404,
        params={"kind": "id_card_front", "filename": "x.png"},
        data=png(),
    )
    assert "customer" in problem["detail"]
    await demo.call("GET", "/customers/nosuchcustomer/documents", "officer", 404)
    assert len(demo.stored_files()) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"kind": "selfie"}, "kind"),
        ({"filename": "../../etc/passwd"}, "filename"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_upload_parameters_are_422(demo, query, field) -> None:
    problem = await upload(demo, customer_path(demo), png(), 422, **query)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert demo.stored_paths() == [], "nothing on disk, folders included"


async def test_a_missing_kind_is_named(demo) -> None:
    problem = await demo.call(
        "POST",
        f"{customer_path(demo)}/documents",
        "sunrise",
        422,
        params={"filename": "id.png"},
        data=png(),
    )
    assert problem["errors"] == [{"field": "kind", "message": "this field is required"}]
