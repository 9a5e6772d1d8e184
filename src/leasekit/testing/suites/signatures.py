"""The signature provider suite."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from leasekit.errors import DomainError, NotFoundError
from leasekit.ports import SignatureProvider, SignatureRequest, SignatureStatus, Signer
from leasekit.testing.pdfs import sample_pdf
from leasekit.testing.suites._base import Suite, provide

__all__ = ["SignatureProviderSuite"]


class SignatureProviderSuite(Suite):
    port = SignatureProvider

    @pytest.fixture
    def signature_request(self) -> SignatureRequest:
        return SignatureRequest(
            request_id=f"sign-{uuid.uuid4().hex}",
            title="Finance lease contract C-1",
            filename="contract-c-1.pdf",
            document=sample_pdf(),
            signers=(Signer("Zhang Wei", email="zhang.wei@example.com"),),
        )

    @pytest.fixture
    def complete_signing(self, adapter: SignatureProvider) -> Callable[[str], None]:
        provide("complete_signing", "a function that has every signer sign an envelope id")

    def test_a_new_envelope_is_pending(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        envelope_id = adapter.request(signature_request)
        assert envelope_id
        assert adapter.status(envelope_id) is SignatureStatus.PENDING

    def test_a_repeated_request_returns_the_same_envelope(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        assert adapter.request(signature_request) == adapter.request(signature_request)

    def test_an_unknown_envelope_is_not_found(self, adapter: SignatureProvider) -> None:
        with pytest.raises(NotFoundError):
            adapter.status(f"no-such-envelope-{uuid.uuid4().hex}")

    def test_a_pending_envelope_has_no_signed_document(
        self, adapter: SignatureProvider, signature_request: SignatureRequest
    ) -> None:
        envelope_id = adapter.request(signature_request)
        with pytest.raises(DomainError):
            adapter.signed_document(envelope_id)

    def test_a_signed_envelope_gives_the_signed_document(
        self,
        adapter: SignatureProvider,
        signature_request: SignatureRequest,
        complete_signing: Callable[[str], None],
    ) -> None:
        envelope_id = adapter.request(signature_request)
        complete_signing(envelope_id)
        assert adapter.status(envelope_id) is SignatureStatus.SIGNED
        assert adapter.signed_document(envelope_id)
