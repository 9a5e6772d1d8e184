"""The face verifier suite."""

from __future__ import annotations

import pytest

from leasekit.ports import FaceVerifier
from leasekit.testing.suites._base import Suite, provide

__all__ = ["FaceVerifierSuite"]


class FaceVerifierSuite(Suite):
    port = FaceVerifier

    @pytest.fixture
    def same_person(self) -> tuple[bytes, bytes]:
        provide("same_person", "(reference, probe) images of one person")

    @pytest.fixture
    def different_people(self) -> tuple[bytes, bytes]:
        provide("different_people", "(reference, probe) images of two people")

    def test_the_same_person_matches(
        self, adapter: FaceVerifier, same_person: tuple[bytes, bytes]
    ) -> None:
        assert adapter.compare(*same_person).matched

    def test_different_people_do_not_match_and_score_lower(
        self,
        adapter: FaceVerifier,
        same_person: tuple[bytes, bytes],
        different_people: tuple[bytes, bytes],
    ) -> None:
        match = adapter.compare(*same_person)
        mismatch = adapter.compare(*different_people)
        assert not mismatch.matched
        assert mismatch.similarity < match.similarity
