from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.identity import Actor
from leasekit.errors import NotFoundError, ValidationError
from leasekit.services import documents
from leasekit.services.context import ServiceContext
from leasekit.testing.fakes import Fakes

from .conftest import register_customer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + b"1 0 obj << >> endobj\n" * 100
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 1000


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def upload(ctx: ServiceContext, actor: Actor, owner_id: str, data: bytes, name: str = "id.png"):
    command = documents.UploadDocument(
        OwnerKind.CUSTOMER, owner_id, DocumentKind.ID_CARD_FRONT, name
    )
    return documents.upload_document(ctx, actor, command, chunks(data))


def test_upload_records_type_size_and_hash_and_streams_back(
    ctx: ServiceContext, dealer: Actor
) -> None:
    customer = register_customer(ctx, dealer)
    document = upload(ctx, dealer, customer, PNG, name="id.pdf")
    assert document.content_type == "image/png"  # from the bytes, not the name
    assert document.size == len(PNG)
    assert document.sha256 == hashlib.sha256(PNG).hexdigest()
    record, content = documents.open_document(ctx, dealer, document.id)
    assert record == document
    assert b"".join(content) == PNG
    assert [
        d["id"] for d in documents.list_documents(ctx, dealer, OwnerKind.CUSTOMER, customer).items
    ] == [document.id]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXECUTABLE, "application/x-msdownload content"),
        (b"just some text, not a scan", "no recognised type"),
        (b"", "is empty"),
        (PDF * 100, "larger than"),
    ],
)
def test_a_bad_upload_stores_nothing(
    ctx: ServiceContext, dealer: Actor, fakes: Fakes, data: bytes, message: str
) -> None:
    customer = register_customer(ctx, dealer)
    stored = list(fakes.document_store.documents)  # the partner's onboarding documents
    with pytest.raises(ValidationError, match=message) as caught:
        upload(ctx, dealer, customer, data)
    assert [e.field for e in caught.value.errors] == ["file"]
    assert list(fakes.document_store.documents) == stored
    assert documents.list_documents(ctx, dealer, OwnerKind.CUSTOMER, customer).items == []


def test_a_record_that_fails_removes_the_stored_file(
    ctx: ServiceContext, dealer: Actor, fakes: Fakes
) -> None:
    customer = register_customer(ctx, dealer)
    stored = list(fakes.document_store.documents)
    with pytest.raises(ValidationError) as caught:
        upload(ctx, dealer, customer, PNG, name="../../etc/passwd")
    assert [e.field for e in caught.value.errors] == ["filename"]
    assert list(fakes.document_store.documents) == stored


def test_documents_of_unknown_or_hidden_owners_are_refused(
    ctx: ServiceContext, dealer: Actor, other_dealer: Actor, fakes: Fakes
) -> None:
    customer = register_customer(ctx, dealer)
    stored = list(fakes.document_store.documents)
    with pytest.raises(ValidationError, match="owner_id"):
        upload(ctx, other_dealer, customer, PNG)
    with pytest.raises(ValidationError, match="owner_id"):
        upload(ctx, dealer, "missing", PNG)
    document = upload(ctx, dealer, customer, PNG)
    with pytest.raises(NotFoundError):
        documents.open_document(ctx, other_dealer, document.id)
    assert list(fakes.document_store.documents) == [*stored, document.storage_key]


@pytest.mark.parametrize(
    "data",
    [
        b"date,amount,counterparty\r\n2024-01-10,12000.00,Employer\r\n",
        "日期,金额\n2024-01-10,12000.00\n".encode("gb18030"),
        b'<?xml version="1.0"?>\n<Document>\t</Document>\n',
    ],
)
def test_a_bank_statement_may_be_the_banks_text_export(
    ctx: ServiceContext, dealer: Actor, data: bytes
) -> None:
    customer = register_customer(ctx, dealer)
    command = documents.UploadDocument(
        OwnerKind.CUSTOMER, customer, DocumentKind.BANK_STATEMENT, "statement.csv"
    )
    document = documents.upload_document(ctx, dealer, command, chunks(data))
    assert document.content_type == "text/plain"


def test_only_a_bank_statement_may_be_text_and_text_has_no_control_characters(
    ctx: ServiceContext, dealer: Actor, fakes: Fakes
) -> None:
    customer = register_customer(ctx, dealer)
    stored = list(fakes.document_store.documents)  # the partner's onboarding documents
    with pytest.raises(ValidationError, match="no recognised type"):
        upload(ctx, dealer, customer, b"date,amount\n2024-01-10,1.00\n", name="id.csv")
    binary = documents.UploadDocument(
        OwnerKind.CUSTOMER, customer, DocumentKind.BANK_STATEMENT, "statement.bin"
    )
    with pytest.raises(ValidationError, match="bank_statement documents must be one of"):
        documents.upload_document(ctx, dealer, binary, [b"date,amount\x00\x01\n"])
    assert list(fakes.document_store.documents) == stored
