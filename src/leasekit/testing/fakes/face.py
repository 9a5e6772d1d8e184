"""A face verifier that matches identical images and the similarities a test set."""

from __future__ import annotations

from decimal import Decimal

from leasekit.money import DecimalLike, to_decimal
from leasekit.ports import AdapterContext, FaceMatch
from leasekit.testing.fakes._common import Outages, decimal_option

__all__ = ["FakeFaceVerifier"]


class FakeFaceVerifier(Outages):
    """Identical images match with similarity 1; a probe scripted with :meth:`set_similarity`
    gets that similarity; any other pair gets *other_similarity*."""

    def __init__(
        self,
        *,
        threshold: DecimalLike = Decimal("0.80"),
        other_similarity: DecimalLike = Decimal("0.10"),
    ) -> None:
        super().__init__()
        self.threshold = to_decimal(threshold, "threshold")
        self.other_similarity = to_decimal(other_similarity, "other_similarity")
        self.comparisons = 0
        self._scripted: dict[bytes, Decimal] = {}

    @classmethod
    def from_context(cls, context: AdapterContext) -> FakeFaceVerifier:
        """Options ``threshold``: the similarity from which faces match (default 0.80);
        ``other_similarity``: what two different images score (default 0.10)."""
        return cls(
            threshold=decimal_option(context, "threshold", Decimal("0.80")),
            other_similarity=decimal_option(context, "other_similarity", Decimal("0.10")),
        )

    def set_similarity(self, probe: bytes, similarity: DecimalLike) -> None:
        self._scripted[probe] = to_decimal(similarity, "similarity")

    def compare(self, reference: bytes, probe: bytes) -> FaceMatch:
        self._call("compare")
        self.comparisons += 1
        if probe in self._scripted:
            similarity = self._scripted[probe]
        else:
            similarity = Decimal(1) if probe == reference else self.other_similarity
        return FaceMatch(similarity, similarity >= self.threshold, f"fake-face-{self.comparisons}")
