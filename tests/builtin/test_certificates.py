"""The local certificate authority: one root made once, however many start together, and one
certificate per signer, issued by the root and kept."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from leasekit.builtin._files import publish_once
from leasekit.builtin.certificates import ROOT_NAME, LocalAuthority
from leasekit.domain.clock import FixedClock


def _common_name(name: x509.Name) -> object:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_the_root_is_made_once_and_kept(tmp_path: Path, fixed_clock: FixedClock) -> None:
    first = LocalAuthority.open_or_create(tmp_path, clock=fixed_clock)
    again = LocalAuthority.open_or_create(tmp_path, clock=fixed_clock)
    assert first.root_certificate_pem() == again.root_certificate_pem()
    assert (tmp_path / "root-certificate.pem").read_bytes() == first.root_certificate_pem()
    root = first.root.certificate
    assert _common_name(root.subject) == _common_name(root.issuer) == ROOT_NAME
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_authorities_started_together_share_one_root(
    tmp_path: Path, fixed_clock: FixedClock
) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(
            pool.map(lambda _: LocalAuthority.open_or_create(tmp_path, clock=fixed_clock), range(8))
        )
    assert len({authority.root_certificate_pem() for authority in started}) == 1
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_a_signer_certificate_is_issued_by_the_root_and_kept(
    tmp_path: Path, fixed_clock: FixedClock
) -> None:
    authority = LocalAuthority.open_or_create(tmp_path, clock=fixed_clock)
    issued = authority.credentials("Zhang Wei", "zhang.wei@example.com")
    certificate = issued.certificate
    certificate.verify_directly_issued_by(authority.root.certificate)
    assert _common_name(certificate.subject) == "Zhang Wei"
    emails = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert emails.get_values_for_type(x509.RFC822Name) == ["zhang.wei@example.com"]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.digital_signature, usage.content_commitment, usage.key_cert_sign) == (
        True,
        True,
        False,
    )
    reopened = LocalAuthority.open_or_create(tmp_path, clock=fixed_clock)
    assert reopened.credentials("Zhang Wei", "zhang.wei@example.com").to_pem() == issued.to_pem()
    assert authority.credentials("Li Na").certificate != certificate


def test_private_keys_are_readable_by_their_owner_only(
    tmp_path: Path, fixed_clock: FixedClock
) -> None:
    LocalAuthority.open_or_create(tmp_path, clock=fixed_clock).credentials("Li Na")
    keys = [tmp_path / "root-key.pem", *(tmp_path / "signers").iterdir()]
    assert [stat.S_IMODE(path.stat().st_mode) for path in keys] == [0o600, 0o600]


def test_a_file_published_once_keeps_its_first_content(tmp_path: Path) -> None:
    assert publish_once(tmp_path / "root-key.pem", b"first")
    assert not publish_once(tmp_path / "root-key.pem", b"second")
    assert (tmp_path / "root-key.pem").read_bytes() == b"first"
    assert [path.name for path in tmp_path.iterdir()] == ["root-key.pem"]
