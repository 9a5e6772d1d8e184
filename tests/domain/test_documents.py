from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from leasekit.domain.documents import (
    ALLOWED_CONTENT_TYPES,
    Document,
    DocumentKind,
    OwnerKind,
    storage_key_for,
)
from leasekit.domain.identity import Actor, Role
from leasekit.errors import PermissionDeniedError, ValidationError

SHA = hashlib.sha256(b"%PDF-1.7 scan").hexdigest()


def record(actor: Actor, at: datetime, **overrides: object) -> Document:
    values: dict[str, object] = {
        "owner_kind": "application", "owner_id": "a1", "kind": "id_card_front",
        "filename": "身份证 front.pdf", "content_type": "application/pdf", "size": 13,
        "sha256": SHA,
    }  # fmt: skip
    values.update(overrides)
    return Document.record(actor=actor, at=at, **values)  # type: ignore[arg-type]


def test_record(dealer: Actor, at: datetime) -> None:
    document = record(dealer, at)
    assert (document.owner_kind, document.kind) == (
        OwnerKind.APPLICATION,
        DocumentKind.ID_CARD_FRONT,
    )
    assert document.filename == "身份证 front.pdf"
    assert (
        document.storage_key == storage_key_for(document.id) == f"{document.id[-2:]}/{document.id}"
    )
    assert document.partner_id == dealer.partner_id
    assert (document.uploaded_by, document.uploaded_at) == (dealer.user_id, at)


def test_the_service_may_choose_id_and_key(officer: Actor, at: datetime) -> None:
    document = record(officer, at, document_id="abc123", storage_key="custom/key", partner_id="p9")
    assert (document.id, document.storage_key, document.partner_id) == (
        "abc123",
        "custom/key",
        "p9",
    )


def test_record_names_every_bad_field(officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        record(
            officer, at, owner_kind="planet", kind="selfie", filename="../etc/passwd",
            content_type="application/x-msdownload", size=0, sha256=SHA.upper(),
        )  # fmt: skip
    assert [e.field for e in caught.value.errors] == [
        "owner_kind", "kind", "filename", "content_type", "size", "sha256",
    ]  # fmt: skip


@pytest.mark.parametrize("size", [13.0, 12.5, True])
def test_a_size_is_a_whole_number_of_bytes(officer: Actor, at: datetime, size: object) -> None:
    with pytest.raises(ValidationError, match="size: must be a whole number of bytes"):
        record(officer, at, size=size)


@pytest.mark.parametrize(
    ("filename", "message"),
    [("", "blank"), ("..", "blank"), ("a" * 256, "at most 255"), ("a\\b.pdf", "separators"),
     ("a\nb.pdf", "control")],
)  # fmt: skip
def test_filenames_cannot_escape_or_break_headers(
    officer: Actor, at: datetime, filename: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        record(officer, at, filename=filename)


def test_allowed_content_types_are_scans_and_photos() -> None:
    assert {"application/pdf", "image/jpeg", "image/png"} <= ALLOWED_CONTENT_TYPES
    assert "text/html" not in ALLOWED_CONTENT_TYPES


def test_admins_do_not_upload(at: datetime) -> None:
    with pytest.raises(PermissionDeniedError):
        record(Actor("a1", Role.ADMIN), at)
