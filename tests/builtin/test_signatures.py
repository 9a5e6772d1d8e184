"""The built-in ``local`` signature provider: real PAdES signatures, in turn, on disk, that
a validator finds intact, valid and trusted against the local root, and nothing else."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pypdf
import pytest

from leasekit.builtin.signatures import LocalSignatureProvider, verify_signed_pdf
from leasekit.domain.clock import FixedClock
from leasekit.errors import (
    ConfigurationError,
    ConflictError,
    DomainError,
    NotFoundError,
    ValidationError,
)
from leasekit.ports import AdapterContext, SignatureRequest, SignatureStatus, Signer
from leasekit.testing.pdfs import sample_pdf

LESSEE = "zhang.wei@example.com"
GUARANTOR = "Li Na"
"""The guarantor gave a phone and no email, so signs by name."""


@pytest.fixture
def provider(tmp_path: Path, fixed_clock: FixedClock) -> LocalSignatureProvider:
    return _provider(tmp_path / "data", fixed_clock)


@pytest.fixture
def signature_request() -> SignatureRequest:
    return _request(sample_pdf())


@pytest.fixture
def envelope_id(provider: LocalSignatureProvider, signature_request: SignatureRequest) -> str:
    return provider.request(signature_request)


@pytest.fixture
def signed_pdf(provider: LocalSignatureProvider, envelope_id: str) -> bytes:
    provider.sign(envelope_id, LESSEE)
    provider.sign(envelope_id, GUARANTOR)
    return provider.signed_document(envelope_id)


def _provider(data_dir: Path, clock: FixedClock, **options: str) -> LocalSignatureProvider:
    return LocalSignatureProvider.from_context(AdapterContext(options, data_dir, clock))


def _request(document: bytes, request_id: str | None = None) -> SignatureRequest:
    return SignatureRequest(
        request_id=request_id or f"sign-{uuid.uuid4().hex}",
        title="Finance lease contract C-1",
        filename="contract-c-1.pdf",
        document=document,
        signers=(
            Signer("Zhang Wei", email=LESSEE),
            Signer(GUARANTOR, phone="13800138000"),
        ),
    )


def test_two_signers_sign_in_turn_and_the_envelope_is_signed(
    provider: LocalSignatureProvider, signature_request: SignatureRequest, envelope_id: str
) -> None:
    assert provider.status(envelope_id) is SignatureStatus.PENDING
    provider.sign(envelope_id, LESSEE)
    assert provider.signed_by(envelope_id) == ("Zhang Wei",)
    assert provider.status(envelope_id) is SignatureStatus.PENDING
    provider.sign(envelope_id, GUARANTOR)
    assert provider.signed_by(envelope_id) == ("Zhang Wei", GUARANTOR)
    assert provider.status(envelope_id) is SignatureStatus.SIGNED
    # Incremental updates: the original bytes stay, untouched, at the start of the file.
    assert provider.signed_document(envelope_id).startswith(signature_request.document)


def test_both_signatures_are_intact_valid_and_trusted_by_the_local_root(
    provider: LocalSignatureProvider, signed_pdf: bytes
) -> None:
    first, second = verify_signed_pdf(signed_pdf, [provider.root_certificate_pem()])
    assert (first.signer, second.signer) == ("Zhang Wei", GUARANTOR)
    assert first.ok
    assert second.ok
    assert not first.covers_whole_file
    assert second.covers_whole_file
    assert first.signed_at is not None


def test_a_byte_changed_inside_the_signed_content_breaks_every_signature(
    provider: LocalSignatureProvider, signed_pdf: bytes
) -> None:
    at = signed_pdf.index(b"/MediaBox") + len(b"/MediaBox [ 0 0 5")
    tampered = signed_pdf[:at] + bytes([signed_pdf[at] ^ 1]) + signed_pdf[at + 1 :]
    checks = verify_signed_pdf(tampered, [provider.root_certificate_pem()])
    assert [check.intact for check in checks] == [False, False]
    assert not any(check.ok for check in checks)


def test_a_pdf_signed_under_another_authority_is_intact_but_not_trusted(
    tmp_path: Path, fixed_clock: FixedClock, provider: LocalSignatureProvider, signed_pdf: bytes
) -> None:
    other = _provider(tmp_path / "elsewhere", fixed_clock)
    checks = verify_signed_pdf(signed_pdf, [other.root_certificate_pem()])
    assert [(check.intact, check.valid, check.trusted) for check in checks] == [
        (True, True, False),
        (True, True, False),
    ]


def test_a_pdf_without_signatures_has_no_checks(provider: LocalSignatureProvider) -> None:
    assert verify_signed_pdf(sample_pdf(), [provider.root_certificate_pem()]) == ()


@pytest.mark.parametrize("content", [b"", b"not a pdf", sample_pdf()[:60]])
def test_unreadable_bytes_are_refused_on_the_file(content: bytes) -> None:
    with pytest.raises(ValidationError) as caught:
        verify_signed_pdf(content, [])
    assert [error.field for error in caught.value.errors] == ["file"]


def test_a_signer_whose_turn_has_not_come_is_refused(
    provider: LocalSignatureProvider, envelope_id: str
) -> None:
    with pytest.raises(DomainError, match=r"Zhang Wei must sign .* before Li Na"):
        provider.sign(envelope_id, GUARANTOR)
    assert provider.signed_by(envelope_id) == ()


def test_a_signer_signs_once(provider: LocalSignatureProvider, envelope_id: str) -> None:
    provider.sign(envelope_id, LESSEE)
    with pytest.raises(DomainError, match="Zhang Wei has already signed"):
        provider.sign(envelope_id, "Zhang Wei")


def test_someone_not_asked_to_sign_is_named(
    provider: LocalSignatureProvider, envelope_id: str
) -> None:
    with pytest.raises(ValidationError, match=r"'wang\.fang@example\.com' is not a signer"):
        provider.sign(envelope_id, "wang.fang@example.com")


def test_a_declined_envelope_stays_declined(
    provider: LocalSignatureProvider, envelope_id: str
) -> None:
    provider.sign(envelope_id, LESSEE)
    provider.decline(envelope_id, GUARANTOR, "the monthly payment is higher than agreed")
    assert provider.status(envelope_id) is SignatureStatus.DECLINED
    with pytest.raises(DomainError, match="it is declined"):
        provider.sign(envelope_id, GUARANTOR)
    with pytest.raises(DomainError, match="not signed"):
        provider.signed_document(envelope_id)


def test_an_envelope_pending_past_the_expiry_has_expired(
    tmp_path: Path, fixed_clock: FixedClock
) -> None:
    provider = _provider(tmp_path, fixed_clock, expire_days="2")
    envelope_id = provider.request(_request(sample_pdf()))
    fixed_clock.advance(days=2)
    assert provider.status(envelope_id) is SignatureStatus.PENDING
    fixed_clock.advance(days=1)
    assert provider.status(envelope_id) is SignatureStatus.EXPIRED
    with pytest.raises(DomainError, match="it is expired"):
        provider.sign(envelope_id, LESSEE)


@pytest.mark.parametrize("days", ["0", "-1", "thirty"])
def test_an_expiry_that_is_no_number_of_days_fails_at_start_up(
    tmp_path: Path, fixed_clock: FixedClock, days: str
) -> None:
    with pytest.raises(ConfigurationError, match="expire_days"):
        _provider(tmp_path, fixed_clock, expire_days=days)


def test_a_repeated_request_with_another_document_conflicts(
    provider: LocalSignatureProvider, signature_request: SignatureRequest, envelope_id: str
) -> None:
    again = _request(signature_request.document, signature_request.request_id)
    assert provider.request(again) == envelope_id
    with pytest.raises(ConflictError, match=signature_request.request_id):
        provider.request(_request(sample_pdf("Another contract"), signature_request.request_id))


def test_a_document_that_is_no_pdf_is_refused_when_sent(provider: LocalSignatureProvider) -> None:
    with pytest.raises(ValidationError) as caught:
        provider.request(_request(b"%PDF-1.7\n% not really\n"))
    assert [error.field for error in caught.value.errors] == ["document"]


@pytest.mark.parametrize("envelope_id", ["../../etc", "env-" + "0" * 32, "fake-envelope-1"])
def test_an_envelope_id_not_made_here_is_not_found(
    provider: LocalSignatureProvider, envelope_id: str
) -> None:
    with pytest.raises(NotFoundError):
        provider.status(envelope_id)


def test_two_providers_on_one_folder_share_envelopes_and_authority(
    tmp_path: Path, fixed_clock: FixedClock, signature_request: SignatureRequest
) -> None:
    server, cli = _provider(tmp_path, fixed_clock), _provider(tmp_path, fixed_clock)
    envelope_id = server.request(signature_request)
    assert cli.request(signature_request) == envelope_id
    cli.sign(envelope_id, LESSEE)
    server.sign(envelope_id, GUARANTOR)
    assert cli.status(envelope_id) is SignatureStatus.SIGNED
    assert server.root_certificate_pem() == cli.root_certificate_pem()
    checks = verify_signed_pdf(cli.signed_document(envelope_id), [server.root_certificate_pem()])
    assert all(check.ok for check in checks)


def test_the_data_stays_under_the_signatures_folder(
    tmp_path: Path, provider: LocalSignatureProvider, envelope_id: str, signed_pdf: bytes
) -> None:
    envelope = tmp_path / "data" / "signatures" / "envelopes" / envelope_id
    assert sorted(path.name for path in envelope.iterdir()) == [
        "current.pdf",
        "original.pdf",
        "request.json",
    ]
    assert (envelope / "current.pdf").read_bytes() == signed_pdf
    assert (tmp_path / "data" / "signatures" / "authority" / "root-key.pem").is_file()


def test_a_document_signed_in_another_envelope_can_be_signed_again(
    provider: LocalSignatureProvider, signed_pdf: bytes
) -> None:
    addendum = provider.request(_request(signed_pdf))
    assert provider.signed_by(addendum) == ()
    provider.sign(addendum, LESSEE)
    provider.sign(addendum, GUARANTOR)
    checks = verify_signed_pdf(
        provider.signed_document(addendum), [provider.root_certificate_pem()]
    )
    assert [check.ok for check in checks] == [True] * 4


def test_an_encrypted_document_is_refused_when_sent(provider: LocalSignatureProvider) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(sample_pdf()))
    writer.encrypt("secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ValidationError, match="encrypted"):
        provider.request(_request(buffer.getvalue()))
