"""Documents: the files behind a decision (ID cards, licences, invoices, signed contracts).

The content lives in a document store adapter under ``storage_key``; this record says whose it
is, what it is, and carries the SHA-256 of the bytes so that a file can be proven unchanged
years later. The owner's partner is copied onto the record so that access checks need not
load the owner.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.access import ensure_may_create, owner_partner_id
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, new_id
from leasekit.domain.validation import Checks, choice, is_whole_number

__all__ = [
    "ALLOWED_CONTENT_TYPES",
    "MAX_FILENAME",
    "TEXT_STATEMENT",
    "Document",
    "DocumentKind",
    "OwnerKind",
    "check_filename",
    "content_types_for",
    "storage_key_for",
]

ALLOWED_CONTENT_TYPES: Final = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic", "image/webp"}
)
"""What may be uploaded: scans and photos. The server checks the bytes, not the client's
claim, so an executable renamed ``id.pdf`` is refused."""
TEXT_STATEMENT: Final = "text/plain"
"""A bank statement may also be the bank's text export (CSV, camt.053 XML, MT940), which the
statement parsers read: text without control characters, in any encoding that keeps ASCII."""

MAX_FILENAME: Final = 255
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_UNSAFE_IN_NAME: Final = re.compile(r"[/\\\x00-\x1f\x7f]")


class OwnerKind(StrEnum):
    """The kinds of object a document may be attached to."""

    CUSTOMER = "customer"
    VEHICLE = "vehicle"
    PARTNER = "partner"
    APPLICATION = "application"
    CONTRACT = "contract"
    EXCEPTION_REQUEST = "exception_request"


class DocumentKind(StrEnum):
    """What a document is; reviewers and rules ask for documents by kind."""

    ID_CARD_FRONT = "id_card_front"
    ID_CARD_BACK = "id_card_back"
    BUSINESS_LICENSE = "business_license"
    LEGAL_REPRESENTATIVE_ID = "legal_representative_id"
    """A company's legal representative's identity card, both sides."""
    BANK_ACCOUNT_PROOF = "bank_account_proof"
    """The bank's proof that a settlement account is the company's (an account opening
    permit, a bank letter)."""
    BRAND_AUTHORIZATION = "brand_authorization"
    """A manufacturer's letter authorising a dealer to sell its brand."""
    DRIVING_LICENSE = "driving_license"
    FACE_PHOTO = "face_photo"
    BANK_STATEMENT = "bank_statement"
    INCOME_PROOF = "income_proof"
    VEHICLE_INVOICE = "vehicle_invoice"
    VEHICLE_REGISTRATION = "vehicle_registration"
    INSURANCE_POLICY = "insurance_policy"
    SIGNED_CONTRACT = "signed_contract"
    DELIVERY_RECEIPT = "delivery_receipt"
    OTHER = "other"


def storage_key_for(document_id: str) -> str:
    """Where a document's bytes go: fanned out by the id's last two hex digits (its random
    part; the first ones are the time it was made) so that no directory of a filesystem store
    holds millions of files."""
    return f"{document_id[-2:]}/{document_id}"


def check_filename(filename: str) -> None:
    """Refuse a name no document may have, before its bytes are stored."""
    checks = Checks()
    _filename_errors(checks, filename)
    if checks.errors:
        raise checks.error()


def _filename_errors(checks: Checks, filename: str) -> None:
    if not filename.strip() or filename in {".", ".."}:
        checks.add("filename", "must not be blank")
    elif len(filename) > MAX_FILENAME:
        checks.add("filename", f"at most {MAX_FILENAME} characters")
    elif _UNSAFE_IN_NAME.search(filename):
        checks.add("filename", "must not contain path separators or control characters")


def content_types_for(kind: DocumentKind) -> frozenset[str]:
    """What a document of *kind* may be: scans and photos, and text for a bank statement."""
    if kind is DocumentKind.BANK_STATEMENT:
        return ALLOWED_CONTENT_TYPES | {TEXT_STATEMENT}
    return ALLOWED_CONTENT_TYPES


def _content_errors(
    checks: Checks, kind: DocumentKind | None, content_type: str, size: int, sha256: str
) -> None:
    allowed_types = ALLOWED_CONTENT_TYPES if kind is None else content_types_for(kind)
    if content_type not in allowed_types:
        allowed = ", ".join(sorted(allowed_types))
        checks.add("content_type", f"{content_type!r} is not one of {allowed}")
    if not is_whole_number(size):
        checks.add("size", "must be a whole number of bytes")
    elif size <= 0:
        checks.add("size", "an empty file is not a document")
    if not _SHA256.fullmatch(sha256):
        checks.add("sha256", "must be 64 lower-case hexadecimal digits")


@attrs.define
class Document:
    """One uploaded file attached to one owner. Documents are never edited, only added."""

    id: str
    owner_kind: OwnerKind = attrs.field(converter=OwnerKind)
    owner_id: str
    kind: DocumentKind = attrs.field(converter=DocumentKind)
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    partner_id: str | None
    uploaded_by: str
    uploaded_at: datetime
    version: int = 0

    @classmethod
    def record(
        cls,
        *,
        owner_kind: OwnerKind | str,
        owner_id: str,
        kind: DocumentKind | str,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
        actor: Actor,
        at: datetime,
        partner_id: str | None = None,
        document_id: str | None = None,
        storage_key: str | None = None,
    ) -> Document:
        """The record of a file already written to the store.

        The service streams the upload first (to learn its size and hash), so it may choose
        *document_id* and *storage_key* up front; both default as :func:`storage_key_for` says.
        *partner_id* is the owner's partner; a dealer user's own partner is always used.
        """
        ensure_may_create(actor, "document")
        owner_partner = owner_partner_id(actor, partner_id)
        checks = Checks()
        valid_owner_kind = checks.run(lambda: choice(OwnerKind, owner_kind, "owner_kind"))
        valid_kind = checks.run(lambda: choice(DocumentKind, kind, "kind"))
        _filename_errors(checks, filename)
        _content_errors(checks, valid_kind, content_type, size, sha256)
        if valid_owner_kind is None or valid_kind is None or checks.errors:
            raise checks.error()
        new = document_id or new_id()
        return cls(
            id=new,
            owner_kind=valid_owner_kind,
            owner_id=owner_id,
            kind=valid_kind,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            storage_key=storage_key or storage_key_for(new),
            partner_id=owner_partner,
            uploaded_by=actor.user_id,
            uploaded_at=require_utc(at),
        )
