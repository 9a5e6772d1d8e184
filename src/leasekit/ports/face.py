"""Face verification: a live photo compared with the photo on an ID card."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from leasekit.errors import ValidationError
from leasekit.money import to_decimal

__all__ = ["FaceMatch", "FaceVerifier"]


def _similarity(value: object) -> Decimal:
    similarity = to_decimal(value, "similarity")
    if not 0 <= similarity <= 1:
        raise ValidationError.single("similarity", f"{similarity} is outside 0-1")
    return similarity


@attrs.frozen
class FaceMatch:
    """How alike two faces are (0 to 1) and whether the verifier calls it the same person;
    the threshold is the verifier's, as vendors calibrate it per model."""

    similarity: Decimal = attrs.field(converter=_similarity)
    matched: bool
    reference: str = ""


@runtime_checkable
class FaceVerifier(Protocol):
    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        """Compare *probe* (a live photo) with *reference* (the ID card photo), both images."""
        ...
