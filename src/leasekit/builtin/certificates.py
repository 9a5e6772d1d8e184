"""A certificate authority in a folder, for signing documents without a vendor.

The built-in ``local`` signature provider signs PDFs with certificates from here: one root
(self-signed, "leasekit local signing CA") and one certificate per signer, issued on the
signer's first signature and reused afterwards. Whoever checks the signatures trusts
:meth:`LocalAuthority.root_certificate_pem`; nothing here is trusted by PDF readers out of
the box, which is right for development, QA and in-house archives, not for customers' courts.

Keys are EC P-256: generated in a millisecond, where RSA takes a good part of a second, and
accepted by PAdES validators. Each key is kept with its certificate in one PEM file of mode
``0o600``, so a key and a certificate can never come from two different writers. Files are
published with :func:`leasekit.builtin._files.publish_once`: when two processes create the
same file at once, the first one's is kept and the other reads it, so the root is created once
however many processes start together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leasekit.builtin._files import publish_once, replace_file
from leasekit.domain.clock import Clock

__all__ = ["ROOT_NAME", "Credentials", "LocalAuthority"]

ROOT_NAME: Final = "leasekit local signing CA"
VALIDITY: Final = dt.timedelta(days=20 * 365)
"""How long the root lasts; signers' certificates end with it, so none needs renewing."""
BACKDATE: Final = dt.timedelta(days=1)
"""Certificates start a day before they are made, so a clock a little behind still sees
them valid."""
ROOT_FILE: Final = "root-key.pem"
ROOT_CERTIFICATE_FILE: Final = "root-certificate.pem"
SIGNERS_FOLDER: Final = "signers"


@attrs.frozen(eq=False)
class Credentials:
    """A private key and the certificate that names its holder; keys do not compare, so
    compare :meth:`to_pem`."""

    key: ec.EllipticCurvePrivateKey = attrs.field(repr=False)
    certificate: x509.Certificate

    def to_pem(self) -> bytes:
        key = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key + self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, content: bytes) -> Credentials:
        key = serialization.load_pem_private_key(content, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"expected an EC private key, found {type(key).__name__}")
        return cls(key, x509.load_pem_x509_certificate(content))


class LocalAuthority:
    """The root and the signers' certificates kept under *directory*."""

    def __init__(self, directory: Path, root: Credentials, clock: Clock) -> None:
        self.directory = directory
        self.root = root
        self.clock = clock

    @classmethod
    def open_or_create(cls, directory: Path, *, clock: Clock) -> LocalAuthority:
        """The authority kept in *directory*, created there first if it is not yet."""
        root = _kept(directory / ROOT_FILE, lambda: _new_root(clock.now()))
        authority = cls(directory, root, clock)
        certificate = directory / ROOT_CERTIFICATE_FILE
        if not certificate.is_file():
            replace_file(certificate, authority.root_certificate_pem(), mode=0o644)
        return authority

    def root_certificate_pem(self) -> bytes:
        """The root certificate, for whoever checks signatures to trust."""
        return self.root.certificate.public_bytes(serialization.Encoding.PEM)

    def credentials(self, name: str, email: str | None = None) -> Credentials:
        """The key and certificate of the signer called *name* with *email*: issued on the
        first call, the same on every later one."""
        path = self.directory / SIGNERS_FOLDER / f"{_identity_digest(name, email)}.pem"
        return _kept(path, lambda: self._issue(name, email))

    def _issue(self, name: str, email: str | None) -> Credentials:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _builder(_name(name), self.root.certificate.subject, key, self.clock.now())
            .not_valid_after(self.root.certificate.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.root.key.public_key()),
                critical=False,
            )
        )
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            )
        return Credentials(key, builder.sign(self.root.key, hashes.SHA256()))


def _new_root(now: dt.datetime) -> Credentials:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(_name(ROOT_NAME), _name(ROOT_NAME), key, now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Credentials(key, certificate)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    """A signer's key signs documents and stands behind them (non-repudiation); the root's
    signs only certificates."""
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _identity_digest(name: str, email: str | None) -> str:
    """A file name for the signer that is safe whatever characters the name holds."""
    return hashlib.sha256(f"{name}\0{email or ''}".encode()).hexdigest()[:32]


def _kept(path: Path, create: Callable[[], Credentials]) -> Credentials:
    """The credentials in *path*, made by *create* and published there if it is missing;
    when another process publishes first, its credentials are the ones kept."""
    if not path.is_file():
        publish_once(path, create().to_pem())
    return Credentials.from_pem(path.read_bytes())
