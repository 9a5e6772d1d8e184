"""The face photo's judgements: distances, capture windows, hash bands and findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.face_photos import (
    MAX_REUSE_DISTANCE,
    FacePhotoHash,
    FacePolicy,
    GeoPoint,
    band_probes,
    bands,
    capture_place_finding,
    capture_time_finding,
    distance_km,
    hamming_distance,
    reuse_finding,
)
from leasekit.errors import ValidationError

SHANGHAI = GeoPoint(Decimal("31.2304"), Decimal("121.4737"))
BEIJING = GeoPoint(Decimal("39.9042"), Decimal("116.4074"))
MADE = datetime(2024, 1, 15, 9, 30, tzinfo=UTC)

hashes = st.integers(min_value=0, max_value=(1 << 64) - 1)


def test_the_distance_is_the_great_circle_one() -> None:
    assert distance_km(SHANGHAI, BEIJING) == Decimal("1067.31")
    assert distance_km(SHANGHAI, SHANGHAI) == Decimal("0.00")
    antipode = GeoPoint(Decimal("-31.2304"), Decimal("-58.5263"))
    assert distance_km(SHANGHAI, antipode) == Decimal("20015.11")  # half the circumference


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"), [("90.1", "0", "latitude"), ("0", "-180.5", "longitude")]
)
def test_a_position_off_the_globe_is_refused(latitude: str, longitude: str, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        GeoPoint(Decimal(latitude), Decimal(longitude))


@given(hashes, st.sets(st.integers(0, 63), max_size=MAX_REUSE_DISTANCE))
def test_hashes_within_the_reuse_distance_meet_in_a_probed_band(
    value: int, flipped: set[int]
) -> None:
    other = value
    for bit in flipped:
        other ^= 1 << bit
    assert hamming_distance(value, other) == len(flipped)
    assert any(
        band in probes for band, probes in zip(bands(other), band_probes(value), strict=True)
    )


def test_one_more_bit_may_escape_the_probes() -> None:
    value = 0
    other = sum(0b11 << (16 * band) for band in range(4))  # two bits in every band: 8 in all
    assert not any(
        band in probes for band, probes in zip(bands(other), band_probes(value), strict=True)
    )


def test_bands_are_the_hash_cut_in_16_bits_highest_first() -> None:
    assert bands(0x0001_0002_0003_FFFF) == (1, 2, 3, 0xFFFF)
    assert band_probes(0)[0] == (0, *(1 << bit for bit in range(16)))
    with pytest.raises(ValidationError, match="64-bit"):
        bands(1 << 64)


def test_a_reuse_distance_the_bands_cannot_guarantee_is_refused() -> None:
    with pytest.raises(ValidationError, match="reuse_distance"):
        FacePolicy(reuse_distance=MAX_REUSE_DISTANCE + 1)


def test_a_stored_hash_keeps_its_64_bits_as_hex() -> None:
    photo = FacePhotoHash.of(
        (1 << 64) - 1, document_id="d", application_id="a", customer_id="c", partner_id="p",
        at=MADE,
    )  # fmt: skip
    assert (photo.perceptual_hash, photo.value) == ("f" * 16, (1 << 64) - 1)


def _time(taken: datetime | None, policy: FacePolicy | None = None) -> tuple[bool | None, str]:
    finding = capture_time_finding(
        taken,
        application_created_at=MADE,
        uploaded_at=MADE + timedelta(hours=2),
        policy=policy or FacePolicy(capture_window_hours=24),
    )
    return finding.passed, finding.sentence


def test_the_capture_time_falls_between_the_window_and_the_upload() -> None:
    assert _time(MADE - timedelta(hours=24))[0] is True
    assert _time(MADE + timedelta(hours=2))[0] is True
    assert _time(MADE - timedelta(hours=24, seconds=1)) == (
        False,
        "The photo was taken at 2024-01-14 09:29 UTC, more than 24 hours before the "
        "application was made.",
    )
    assert _time(MADE + timedelta(hours=2, seconds=1))[0] is False
    assert _time(None) == (False, "The photo carries no capture time.")


def test_a_capture_time_without_an_offset_is_read_in_the_companys_zone() -> None:
    shanghai = FacePolicy(capture_window_hours=24, local_zone=ZoneInfo("Asia/Shanghai"))
    assert _time(datetime(2024, 1, 15, 19, 0), shanghai)[0] is True  # 11:00 UTC
    assert _time(datetime(2024, 1, 15, 19, 0))[0] is False  # 19:00 UTC, after the upload


def test_the_place_is_judged_only_with_both_positions() -> None:
    policy = FacePolicy(max_distance_km=Decimal("2"))
    near = GeoPoint(Decimal("31.2400"), Decimal("121.4800"))
    finding, km = capture_place_finding(near, SHANGHAI, policy)
    assert (finding.passed, km) == (True, Decimal("1.22"))
    finding, km = capture_place_finding(BEIJING, SHANGHAI, policy)
    assert finding.passed is False
    assert finding.sentence.endswith("farther than the 2 km allowed.")
    assert capture_place_finding(None, SHANGHAI, policy)[0].passed is None
    assert capture_place_finding(near, None, policy)[0].passed is None


def test_reuse_is_counted_in_other_applications() -> None:
    assert reuse_finding(0).passed is True
    assert reuse_finding(2).sentence == (
        "The same or a near-identical photo was used on 2 other applications."
    )
