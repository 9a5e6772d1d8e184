"""The face-to-face photo: the customer photographed with the dealer's staff at signing.

Four checks, each giving a :class:`FaceFinding` (a verdict and one sentence for the officer):

* a face is in the photo (:func:`face_finding`);
* the photo was taken when and where the signing happened: its capture time (EXIF) is present,
  not after the upload and not long before the application (:func:`capture_time_finding`), and
  its position, when the camera recorded one, near the dealer (:func:`capture_place_finding`);
* the same or a near-identical photo was not used for another application: 64-bit perceptual
  hashes within a Hamming distance (:func:`reuse_finding`), found through :func:`bands` and
  :func:`band_probes`;
* the face matches the ID card's (:func:`match_finding`), as the face verifier judges.

This module only judges; reading the image is :mod:`leasekit.builtin.faces`'s work, and the
use case that brings the two together is :mod:`leasekit.services.face_photos`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Final

import attrs

from leasekit.domain.clock import require_utc
from leasekit.domain.identity import new_id
from leasekit.errors import ValidationError
from leasekit.money import to_decimal

__all__ = [
    "BAND_BITS",
    "BAND_COUNT",
    "MAX_REUSE_DISTANCE",
    "FaceCheck",
    "FaceFinding",
    "FacePhotoHash",
    "FacePolicy",
    "GeoPoint",
    "PhotoFacts",
    "PhotoInspector",
    "band_probes",
    "bands",
    "capture_place_finding",
    "capture_time_finding",
    "distance_km",
    "face_finding",
    "hamming_distance",
    "match_finding",
    "reuse_finding",
]

HASH_BITS: Final = 64
BAND_COUNT: Final = 4
BAND_BITS: Final = HASH_BITS // BAND_COUNT
MAX_REUSE_DISTANCE: Final = 2 * BAND_COUNT - 1
"""Two hashes that differ in at most this many bits differ in at most one bit of one of the
:data:`BAND_COUNT` bands (pigeonhole: were every band two bits apart, they would be eight),
so looking each band up with its one-bit neighbours (:func:`band_probes`) finds every such
pair."""
EARTH_RADIUS_KM: Final = 6371.0088
"""The mean radius (IUGG); the haversine distance is good to about 0.5 %."""
_KM: Final = Decimal("0.01")


def _latitude(value: object) -> Decimal:
    degrees = to_decimal(value, "latitude")
    if not -90 <= degrees <= 90:
        raise ValidationError.single("latitude", f"{degrees} is outside -90 to 90 degrees")
    return degrees


def _longitude(value: object) -> Decimal:
    degrees = to_decimal(value, "longitude")
    if not -180 <= degrees <= 180:
        raise ValidationError.single("longitude", f"{degrees} is outside -180 to 180 degrees")
    return degrees


@attrs.frozen
class GeoPoint:
    """A position in decimal degrees (WGS 84, as GPS and maps give it)."""

    latitude: Decimal = attrs.field(converter=_latitude)
    longitude: Decimal = attrs.field(converter=_longitude)


def distance_km(a: GeoPoint, b: GeoPoint) -> Decimal:
    """The great-circle (haversine) distance, to the ten metres."""
    lat1, lon1, lat2, lon2 = map(
        math.radians, map(float, (a.latitude, a.longitude, b.latitude, b.longitude))
    )
    h = math.sin((lat2 - lat1) / 2) ** 2 + (
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return Decimal(repr(km)).quantize(_KM)


def _reuse_distance(_: object, __: object, value: int) -> None:
    if not 0 <= value <= MAX_REUSE_DISTANCE:
        raise ValidationError.single(
            "reuse_distance", f"{value} is outside 0-{MAX_REUSE_DISTANCE} bits"
        )


def _kilometres(value: object) -> Decimal:
    return to_decimal(value, "max_distance_km")


@attrs.frozen
class FacePolicy:
    """How strict the checks are (settings ``LEASEKIT_FACES__*``)."""

    max_distance_km: Decimal = attrs.field(default=Decimal(5), converter=_kilometres)
    """How far from the dealer's business address a photo may have been taken."""
    capture_window_hours: int = 72
    """How long before the application was made a photo may have been taken."""
    reuse_distance: int = attrs.field(default=6, validator=_reuse_distance)
    """How many of the 64 hash bits two photos may differ in and still be one photo."""
    max_pixels: int = 40_000_000
    """The most pixels a photo may have; a larger one is refused unread."""
    local_zone: tzinfo = UTC
    """Where a capture time the camera wrote without an offset is read (the company's)."""


@attrs.frozen
class PhotoFacts:
    """What a face photo's image says: faces found, when and where it was taken (EXIF) and
    its 64-bit perceptual hash. A capture time without an offset is the camera's local
    time (*captured_at* naive)."""

    faces: int
    perceptual_hash: int
    captured_at: datetime | None = None
    position: GeoPoint | None = None


PhotoInspector = Callable[[bytes, int], PhotoFacts]
"""Reads an image's :class:`PhotoFacts`, given the most pixels allowed; a file that is not a
readable image is a ``ValidationError`` on ``file``."""


class FaceCheck(StrEnum):
    FACE = "face"
    CAPTURE_TIME = "capture_time"
    CAPTURE_PLACE = "capture_place"
    REUSE = "reuse"
    MATCH = "match"


@attrs.frozen
class FaceFinding:
    """One check's verdict (None: it could not be judged) and its sentence for the officer."""

    check: FaceCheck
    passed: bool | None
    sentence: str


def face_finding(faces: int) -> FaceFinding:
    if faces == 0:
        return FaceFinding(FaceCheck.FACE, False, "No face was found in the photo.")
    if faces == 1:
        return FaceFinding(FaceCheck.FACE, True, "One face was found in the photo.")
    return FaceFinding(FaceCheck.FACE, True, f"{faces} faces were found in the photo.")


def capture_time_finding(
    captured_at: datetime | None,
    *,
    application_created_at: datetime,
    uploaded_at: datetime,
    policy: FacePolicy,
) -> FaceFinding:
    """The capture time must be there, not after the upload, and not more than the window's
    hours before the application was made: a photo from another day is not of this signing."""
    if captured_at is None:
        return FaceFinding(FaceCheck.CAPTURE_TIME, False, "The photo carries no capture time.")
    taken = require_utc(
        captured_at if captured_at.tzinfo else captured_at.replace(tzinfo=policy.local_zone)
    )
    uploaded = require_utc(uploaded_at)
    earliest = require_utc(application_created_at) - timedelta(hours=policy.capture_window_hours)
    when = f"The photo was taken at {taken:%Y-%m-%d %H:%M} UTC"
    if taken > uploaded:
        return FaceFinding(
            FaceCheck.CAPTURE_TIME, False, f"{when}, after it was uploaded ({uploaded:%H:%M})."
        )
    if taken < earliest:
        hours = policy.capture_window_hours
        return FaceFinding(
            FaceCheck.CAPTURE_TIME,
            False,
            f"{when}, more than {hours} hours before the application was made.",
        )
    return FaceFinding(FaceCheck.CAPTURE_TIME, True, f"{when}, during the application.")


def capture_place_finding(
    position: GeoPoint | None, dealer: GeoPoint | None, policy: FacePolicy
) -> tuple[FaceFinding, Decimal | None]:
    """Whether the photo was taken near the dealer, and how far from it (km); not judged
    when the camera recorded no position or the dealer's location is unknown."""
    if position is None:
        return FaceFinding(
            FaceCheck.CAPTURE_PLACE, None, "The photo carries no GPS position."
        ), None
    if dealer is None:
        sentence = "The dealer's business address has no coordinates to compare with."
        return FaceFinding(FaceCheck.CAPTURE_PLACE, None, sentence), None
    km = distance_km(position, dealer)
    near = km <= policy.max_distance_km
    sentence = (
        f"The photo was taken {km} km from the dealer's business address"
        f"{'' if near else f', farther than the {policy.max_distance_km} km allowed'}."
    )
    return FaceFinding(FaceCheck.CAPTURE_PLACE, near, sentence), km


def hamming_distance(a: int, b: int) -> int:
    """How many bits two hashes differ in."""
    return (a ^ b).bit_count()


def bands(perceptual_hash: int) -> tuple[int, ...]:
    """The hash cut into :data:`BAND_COUNT` bands of :data:`BAND_BITS` bits, highest first:
    the indexed keys near-duplicates are looked up by."""
    if not 0 <= perceptual_hash < 1 << HASH_BITS:
        raise ValidationError.single("perceptual_hash", "must be a 64-bit unsigned number")
    mask = (1 << BAND_BITS) - 1
    return tuple(
        (perceptual_hash >> (BAND_BITS * (BAND_COUNT - 1 - index))) & mask
        for index in range(BAND_COUNT)
    )


def _hex_hash(_: object, __: object, value: str) -> None:
    if len(value) != HASH_BITS // 4 or value.strip("0123456789abcdef"):
        raise ValidationError.single("perceptual_hash", "must be 16 lower-case hex digits")


@attrs.frozen
class FacePhotoHash:
    """A face photo's perceptual hash, kept once per document so that later applications
    can be checked against it; the application, customer and dealer say where it was used."""

    id: str
    document_id: str
    application_id: str
    customer_id: str
    partner_id: str
    perceptual_hash: str = attrs.field(validator=_hex_hash)
    """The 64 bits as 16 hex digits (the databases have no unsigned 64-bit integer)."""
    recorded_at: datetime = attrs.field(converter=require_utc)

    @classmethod
    def of(
        cls,
        value: int,
        *,
        document_id: str,
        application_id: str,
        customer_id: str,
        partner_id: str,
        at: datetime,
    ) -> FacePhotoHash:
        bands(value)  # refuses a value that is not 64 bits
        return cls(new_id(), document_id, application_id, customer_id, partner_id,
                   f"{value:016x}", at)  # fmt: skip

    @property
    def value(self) -> int:
        return int(self.perceptual_hash, 16)


def band_probes(perceptual_hash: int) -> tuple[tuple[int, ...], ...]:
    """For each band, its value and the :data:`BAND_BITS` values one bit away: a hash within
    :data:`MAX_REUSE_DISTANCE` bits has one of them in the same band."""
    return tuple(
        (band, *(band ^ (1 << bit) for bit in range(BAND_BITS))) for band in bands(perceptual_hash)
    )


def reuse_finding(other_applications: int) -> FaceFinding:
    """*other_applications*: how many other applications carry the same or a near-identical
    photo."""
    if other_applications == 0:
        return FaceFinding(
            FaceCheck.REUSE, True, "The photo was not used on any other application."
        )
    return FaceFinding(
        FaceCheck.REUSE,
        False,
        f"The same or a near-identical photo was used on {other_applications} other "
        f"application{'s' if other_applications > 1 else ''}.",
    )


def match_finding(similarity: Decimal | None, matched: bool | None, *, reason: str) -> FaceFinding:
    """The verifier's verdict; *reason* says why there is none when *matched* is None."""
    if matched is None or similarity is None:
        return FaceFinding(FaceCheck.MATCH, None, reason)
    verdict = "matches" if matched else "does not match"
    return FaceFinding(
        FaceCheck.MATCH,
        matched,
        f"The face {verdict} the ID card photo (similarity {similarity}).",
    )
