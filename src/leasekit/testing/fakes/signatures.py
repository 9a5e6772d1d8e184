"""A signature provider whose envelopes a test signs, declines or lets expire."""

from __future__ import annotations

import attrs

from leasekit.errors import ConflictError, DomainError, NotFoundError
from leasekit.ports import AdapterContext, SignatureRequest, SignatureStatus
from leasekit.testing.fakes._common import Outages, sequence

__all__ = ["FakeSignatureProvider"]


@attrs.define
class _Envelope:
    request: SignatureRequest
    status: SignatureStatus = SignatureStatus.PENDING


class FakeSignatureProvider(Outages):
    """Envelopes stay pending until a test calls :meth:`sign`, :meth:`decline` or
    :meth:`expire`; a signed document is the original with a trailer naming the signers."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: dict[str, _Envelope] = {}
        self._by_request: dict[str, str] = {}
        self._envelope_id = sequence("fake-envelope")

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeSignatureProvider:
        return cls()

    def request(self, request: SignatureRequest) -> str:
        self._call("request")
        known = self._by_request.get(request.request_id)
        if known is not None:
            if self.envelopes[known].request != request:
                raise ConflictError(
                    f"signature request {request.request_id!r} was sent with another document"
                )
            return known
        envelope_id = self._envelope_id()
        self.envelopes[envelope_id] = _Envelope(request)
        self._by_request[request.request_id] = envelope_id
        return envelope_id

    def status(self, envelope_id: str) -> SignatureStatus:
        self._call("status")
        return self._envelope(envelope_id).status

    def signed_document(self, envelope_id: str) -> bytes:
        self._call("signed_document")
        envelope = self._envelope(envelope_id)
        if envelope.status is not SignatureStatus.SIGNED:
            raise DomainError(f"envelope {envelope_id!r} is {envelope.status}, not signed")
        signers = ", ".join(signer.name for signer in envelope.request.signers)
        return envelope.request.document + f"\n-- signed by {signers} (fake)\n".encode()

    def sign(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.SIGNED)

    def decline(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.DECLINED)

    def expire(self, envelope_id: str) -> None:
        self._settle(envelope_id, SignatureStatus.EXPIRED)

    def _settle(self, envelope_id: str, status: SignatureStatus) -> None:
        envelope = self._envelope(envelope_id)
        if envelope.status is not SignatureStatus.PENDING:
            raise DomainError(f"envelope {envelope_id!r} is already {envelope.status}")
        envelope.status = status

    def _envelope(self, envelope_id: str) -> _Envelope:
        try:
            return self.envelopes[envelope_id]
        except KeyError:
            raise NotFoundError("envelope", envelope_id) from None
