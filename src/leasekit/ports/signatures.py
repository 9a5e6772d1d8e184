"""Signature provider: documents sent to be signed electronically, and fetched back signed."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol, runtime_checkable

import attrs

from leasekit.errors import ValidationError
from leasekit.ports.common import not_blank

__all__ = ["SignatureProvider", "SignatureRequest", "SignatureStatus", "Signer"]


@attrs.frozen
class Signer:
    name: str
    email: str | None = None
    phone: str | None = None
    id_number: str | None = None

    def __attrs_post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ValidationError.single("email", "a signer needs an email address or a phone")


def _signers(values: Iterable[Signer]) -> tuple[Signer, ...]:
    return tuple(values)


@attrs.frozen
class SignatureRequest:
    """A document to be signed by every signer, in order."""

    request_id: str = attrs.field(validator=not_blank)
    """The company's id for the request; a repeat returns the first envelope."""
    title: str
    filename: str
    document: bytes = attrs.field(repr=False)
    signers: tuple[Signer, ...] = attrs.field(converter=_signers)

    @signers.validator
    def _check_signers(
        self, attribute: attrs.Attribute[tuple[Signer, ...]], value: tuple[Signer, ...]
    ) -> None:
        if not value:
            raise ValidationError.single("signers", "a signature request needs a signer")


class SignatureStatus(StrEnum):
    PENDING = "pending"
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"


@runtime_checkable
class SignatureProvider(Protocol):
    def request(self, request: SignatureRequest) -> str:
        """Send the document for signing; returns the provider's envelope id."""
        ...

    def status(self, envelope_id: str) -> SignatureStatus:
        """Where the envelope stands; an unknown id raises
        :class:`~leasekit.errors.NotFoundError`."""
        ...

    def signed_document(self, envelope_id: str) -> bytes:
        """The signed document; an envelope not yet signed raises
        :class:`~leasekit.errors.DomainError`."""
        ...
