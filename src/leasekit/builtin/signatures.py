"""The built-in ``local`` signature provider: PDFs really signed (PAdES), without a vendor.

Each signer's signature is a PAdES signature made with pyHanko, appended to the PDF as an
incremental update so that every earlier signature stays valid, with a certificate from the
:class:`~leasekit.builtin.certificates.LocalAuthority` kept next to the envelopes. The signed
PDF is what a vendor would return; :func:`verify_signed_pdf` checks one against the
authority's root (or any other), which is what an auditor or a court expert would do.

Envelopes live on disk so that the server and a CLI process share them::

    <data_dir>/signatures/
        authority/                      root-key.pem, root-certificate.pem, signers/
        envelopes/env-<32 hex>/
            request.json                the request, without its document, and when it came
            original.pdf                the document as sent
            current.pdf                 the document with the signatures made so far
            declined.json               who declined and why, if someone did

Who has signed is read from ``current.pdf`` itself (its signature fields named
``<envelope id>-signer-<n>``, so that signatures a document already carried when it was sent
do not count), and the progress can never disagree with the document; the PDF is replaced
whole at each signature. Signers sign in the order of the request, so two processes
can never add two different signatures at once: only the next signer may sign.

pyHanko (and the ``cryptography`` it brings) is imported on the first signature or check, not
with leasekit: it takes a third of a second to load.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from leasekit.builtin._files import publish_once, replace_file
from leasekit.domain.clock import Clock
from leasekit.errors import (
    ConfigurationError,
    ConflictError,
    DomainError,
    NotFoundError,
    ValidationError,
)
from leasekit.hookspecs import hookimpl
from leasekit.ports import (
    AdapterContext,
    Register,
    SignatureProvider,
    SignatureRequest,
    SignatureStatus,
    Signer,
)

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from leasekit.builtin.certificates import Credentials, LocalAuthority

__all__ = [
    "EXPIRE_DAYS",
    "LOCAL",
    "LocalSignatureProvider",
    "SignatureCheck",
    "verify_signed_pdf",
]

LOCAL: Final = "local"
EXPIRE_DAYS: Final = "30"
"""Default of option ``expire_days``: how long an envelope waits for its signers."""
FOLDER: Final = "signatures"
_ENVELOPE_ID: Final = re.compile(r"env-[0-9a-f]{32}")
_REQUEST: Final = "request.json"
_ORIGINAL: Final = "original.pdf"
_CURRENT: Final = "current.pdf"
_DECLINED: Final = "declined.json"


@attrs.frozen
class SignatureCheck:
    """What a PDF reader's signature panel would say of one signature."""

    field_name: str
    signer: str
    """The common name in the signer's certificate."""
    intact: bool
    """The bytes the signature covers are the bytes that were signed."""
    valid: bool
    """The signature value is the signer's key's, over those bytes."""
    trusted: bool
    """The signer's certificate chains to one of the trust roots given."""
    covers_whole_file: bool
    """Nothing was appended to the file after this signature."""
    later_changes_allowed: bool
    """Whatever was appended after this signature is of a kind a signed PDF permits (more
    signatures, form filling), not a change to what was signed."""
    signed_at: dt.datetime | None
    """When the signer's software says it signed; not proof without a timestamp authority."""

    @property
    def ok(self) -> bool:
        """Intact, valid, trusted, and nothing but permitted changes after it."""
        return self.intact and self.valid and self.trusted and self.later_changes_allowed


@attrs.frozen
class _Envelope:
    """A request as kept in ``request.json``: everything but the document, whose digest
    stands for it, so that a repeat can be told from another request with the same id."""

    request_id: str
    title: str
    filename: str
    document_sha256: str
    signers: tuple[Signer, ...]
    requested_at: dt.datetime

    @classmethod
    def of(cls, request: SignatureRequest, requested_at: dt.datetime) -> _Envelope:
        digest = hashlib.sha256(request.document).hexdigest()
        return cls(
            request.request_id,
            request.title,
            request.filename,
            digest,
            request.signers,
            requested_at,
        )

    def same_request(self, other: _Envelope) -> bool:
        return attrs.evolve(self, requested_at=other.requested_at) == other

    def to_json(self) -> bytes:
        fields = attrs.asdict(self, recurse=True)
        fields["requested_at"] = self.requested_at.isoformat()
        return json.dumps(fields, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, content: bytes) -> _Envelope:
        fields: dict[str, Any] = json.loads(content)
        return cls(
            request_id=fields["request_id"],
            title=fields["title"],
            filename=fields["filename"],
            document_sha256=fields["document_sha256"],
            signers=tuple(Signer(**signer) for signer in fields["signers"]),
            requested_at=dt.datetime.fromisoformat(fields["requested_at"]),
        )

    def index_of(self, envelope_id: str, signer: str) -> int:
        """Where *signer*, an email address or a name, stands in the order of signing."""
        for index, candidate in enumerate(self.signers):
            if signer in (candidate.email, candidate.name):
                return index
        raise ValidationError.single(
            "signer", f"{signer!r} is not a signer of envelope {envelope_id!r}"
        )


class LocalSignatureProvider:
    """Envelopes in *folder*, signed by :meth:`sign` with certificates of the authority kept
    in ``<folder>/authority``; a pending envelope older than *expire_after* has expired."""

    def __init__(self, folder: Path, clock: Clock, *, expire_after: dt.timedelta) -> None:
        self.folder = folder
        self.clock = clock
        self.expire_after = expire_after

    @classmethod
    def from_context(cls, context: AdapterContext) -> LocalSignatureProvider:
        """Folder ``<data_dir>/signatures``; option ``expire_days`` (default 30)."""
        days = context.option("expire_days", EXPIRE_DAYS) or EXPIRE_DAYS
        if not days.isdigit() or int(days) < 1:
            raise ConfigurationError(f"expire_days: {days!r} is not a whole number of days")
        folder = context.data_dir / FOLDER
        return cls(folder, context.clock, expire_after=dt.timedelta(days=int(days)))

    @functools.cached_property
    def authority(self) -> LocalAuthority:
        """The certificate authority, opened (or created) on first use."""
        from leasekit.builtin.certificates import LocalAuthority

        return LocalAuthority.open_or_create(self.folder / "authority", clock=self.clock)

    # --- the port -------------------------------------------------------------------------

    def request(self, request: SignatureRequest) -> str:
        envelope_id = "env-" + hashlib.sha256(request.request_id.encode()).hexdigest()[:32]
        envelope = _Envelope.of(request, self.clock.now())
        if not self._folder(envelope_id).is_dir():
            _check_pdf(request.document)
            self._create(envelope_id, envelope, request.document)
        if not self._load(envelope_id).same_request(envelope):
            raise ConflictError(
                f"signature request {request.request_id!r} was sent with another document"
            )
        return envelope_id

    def status(self, envelope_id: str) -> SignatureStatus:
        envelope = self._load(envelope_id)
        folder = self._folder(envelope_id)
        if (folder / _DECLINED).is_file():
            return SignatureStatus.DECLINED
        if _signature_count(envelope_id, folder / _CURRENT) == len(envelope.signers):
            return SignatureStatus.SIGNED
        if self.clock.now() - envelope.requested_at > self.expire_after:
            return SignatureStatus.EXPIRED
        return SignatureStatus.PENDING

    def signed_document(self, envelope_id: str) -> bytes:
        status = self.status(envelope_id)
        if status is not SignatureStatus.SIGNED:
            raise DomainError(f"envelope {envelope_id!r} is {status}, not signed")
        return (self._folder(envelope_id) / _CURRENT).read_bytes()

    # --- what signers do ------------------------------------------------------------------

    def sign(self, envelope_id: str, signer: str) -> None:
        """*signer* (an email address, or the name of a signer without one) signs: one PAdES
        signature more on the current PDF. Signers sign in the order of the request, once."""
        envelope = self._pending(envelope_id, "sign")
        index = envelope.index_of(envelope_id, signer)
        current = self._folder(envelope_id) / _CURRENT
        _check_turn(envelope_id, envelope.signers, index, _signature_count(envelope_id, current))
        person = envelope.signers[index]
        credentials = self.authority.credentials(person.name, person.email)
        issuer = self.authority.root.certificate
        field = _field_name(envelope_id, index)
        signed = _signed_pdf(current.read_bytes(), credentials, issuer, field, person.name)
        replace_file(current, signed)

    def decline(self, envelope_id: str, signer: str, reason: str) -> None:
        """*signer* refuses to sign; the envelope is declined for good."""
        envelope = self._pending(envelope_id, "decline")
        name = envelope.signers[envelope.index_of(envelope_id, signer)].name
        record = {"signer": name, "reason": reason, "declined_at": self.clock.now().isoformat()}
        content = json.dumps(record, ensure_ascii=False).encode("utf-8")
        publish_once(self._folder(envelope_id) / _DECLINED, content)

    def signed_by(self, envelope_id: str) -> tuple[str, ...]:
        """The names of the signers who have signed so far, in order."""
        envelope = self._load(envelope_id)
        count = _signature_count(envelope_id, self._folder(envelope_id) / _CURRENT)
        return tuple(signer.name for signer in envelope.signers[:count])

    def root_certificate_pem(self) -> bytes:
        """The root to trust when checking the PDFs signed here (:func:`verify_signed_pdf`)."""
        return self.authority.root_certificate_pem()

    # --- on disk --------------------------------------------------------------------------

    def _folder(self, envelope_id: str) -> Path:
        if not _ENVELOPE_ID.fullmatch(envelope_id):
            raise NotFoundError("envelope", envelope_id)
        return self.folder / "envelopes" / envelope_id

    def _load(self, envelope_id: str) -> _Envelope:
        try:
            return _Envelope.from_json((self._folder(envelope_id) / _REQUEST).read_bytes())
        except FileNotFoundError:
            raise NotFoundError("envelope", envelope_id) from None

    def _pending(self, envelope_id: str, action: str) -> _Envelope:
        envelope = self._load(envelope_id)
        status = self.status(envelope_id)
        if status is not SignatureStatus.PENDING:
            raise DomainError(f"cannot {action} envelope {envelope_id!r}: it is {status}")
        return envelope

    def _create(self, envelope_id: str, envelope: _Envelope, document: bytes) -> None:
        """The envelope's folder, made aside and renamed into place whole; if another process
        made it first, its folder is kept."""
        final = self._folder(envelope_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=".new-"))
        try:
            (staging / _REQUEST).write_bytes(envelope.to_json())
            (staging / _ORIGINAL).write_bytes(document)
            (staging / _CURRENT).write_bytes(document)
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _check_turn(envelope_id: str, signers: Sequence[Signer], index: int, signed: int) -> None:
    """Refuse a signer who has signed already or whose turn has not come."""
    if index < signed:
        raise DomainError(f"{signers[index].name} has already signed envelope {envelope_id!r}")
    if index > signed:
        raise DomainError(
            f"{signers[signed].name} must sign envelope {envelope_id!r} "
            f"before {signers[index].name}"
        )


# --- PDF ----------------------------------------------------------------------------------


def _check_pdf(document: bytes) -> None:
    """Refuse a document pyHanko could not sign, when it is sent rather than at signing."""
    with _readable("document"):
        reader = _reader(document)
    if reader.encrypted:
        raise ValidationError.single("document", "is encrypted; send it without a password")


def _field_prefix(envelope_id: str) -> str:
    return f"{envelope_id}-signer-"


def _field_name(envelope_id: str, index: int) -> str:
    """The signature field of the signer at *index* in the envelope's order of signing."""
    return f"{_field_prefix(envelope_id)}{index + 1}"


def _signature_count(envelope_id: str, path: Path) -> int:
    """How many signers of the envelope have signed the PDF at *path*."""
    from pyhanko.sign.fields import enumerate_sig_fields

    reader = _reader(path.read_bytes())
    filled = enumerate_sig_fields(reader, filled_status=True)
    return sum(1 for name, _, _ in filled if name.startswith(_field_prefix(envelope_id)))


def _signed_pdf(
    document: bytes, credentials: Credentials, issuer: Certificate, field: str, name: str
) -> bytes:
    """*document* with one PAdES signature more, in a new signature field *field*, appended
    as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    metadata = signers.PdfSignatureMetadata(
        field_name=field, subfilter=SigSeedSubFilter.PADES, name=name
    )
    signer = _pyhanko_signer(credentials, issuer)
    writer = IncrementalPdfFileWriter(io.BytesIO(document))
    return bytes(signers.PdfSigner(metadata, signer=signer).sign_pdf(writer).getbuffer())


def _pyhanko_signer(credentials: Credentials, issuer: Certificate) -> Any:
    """pyHanko's in-memory signer for *credentials*, with *issuer*'s certificate embedded so
    that a validator can build the chain from the signature alone."""
    from asn1crypto import keys, x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(certificate: Certificate) -> Any:
        return x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

    key = credentials.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # pyhanko-certvalidator leaves from_certs unannotated.
    chain = SimpleCertificateStore.from_certs([der(issuer)])  # type: ignore[no-untyped-call]
    return SimpleSigner(
        signing_cert=der(credentials.certificate),
        signing_key=keys.PrivateKeyInfo.load(key),
        cert_registry=chain,
    )


def verify_signed_pdf(content: bytes, trust_roots: Sequence[bytes]) -> tuple[SignatureCheck, ...]:
    """Check every signature of the PDF *content* against *trust_roots* (PEM or DER
    certificates), offline; a PDF without signatures has no checks.

    A change to bytes a signature covers shows as ``intact=False``; a PDF that cannot be read,
    or whose signature values themselves cannot be (a byte changed inside one), is a
    ``ValidationError`` on ``file``.
    """
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=_certificates(trust_roots))
    with _readable("file"):
        signatures = _reader(content).embedded_signatures
        return tuple(_check(s, validate_pdf_signature(s, context)) for s in signatures)


def _check(signature: Any, status: Any) -> SignatureCheck:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    subject = status.signing_cert.subject.native
    return SignatureCheck(
        field_name=signature.field_name,
        signer=subject.get("common_name", status.signing_cert.subject.human_friendly),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        covers_whole_file=status.coverage is SignatureCoverageLevel.ENTIRE_FILE,
        later_changes_allowed=bool(status.docmdp_ok),
        signed_at=status.signer_reported_dt,
    )


def _certificates(trust_roots: Sequence[bytes]) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder_data

    with _readable("trust_roots"):
        return [cert for root in trust_roots for cert in load_certs_from_pemder_data(root)]


def _reader(content: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(content), strict=False)


@contextlib.contextmanager
def _readable(field: str) -> Iterator[None]:
    """pyHanko's and asn1crypto's complaints about unreadable input raised as a
    ``ValidationError`` on *field*."""
    from pyhanko.pdf_utils.misc import PdfError

    try:
        yield
    except (PdfError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError.single(field, f"cannot be read: {exc}") from exc


@hookimpl(trylast=True)
def leasekit_register_signature_providers(register: Register[SignatureProvider]) -> None:
    register(LOCAL, LocalSignatureProvider.from_context)
