"""Reading face photos: faces found with the shipped cascade, EXIF capture time and place,
a perceptual hash that survives recompression, and hostile files refused without a crash."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from PIL import Image

from leasekit.builtin.faces import inspect_photo
from leasekit.domain.face_photos import GeoPoint, hamming_distance
from leasekit.errors import ValidationError
from leasekit.testing.photos import blank_image, face_photo, near_duplicate, sample_face_photo

PIXELS = 40_000_000


def test_the_sample_shows_one_face_taken_in_shanghai() -> None:
    sample = sample_face_photo()
    assert len(sample) < 60_000
    facts = inspect_photo(sample, PIXELS)
    assert facts.faces == 1
    assert facts.captured_at == datetime(2026, 11, 30, 10, 15, tzinfo=timezone(timedelta(hours=8)))
    assert facts.position == GeoPoint(Decimal("31.2304000"), Decimal("121.4737000"))


def test_an_image_without_a_face_shows_none() -> None:
    facts = inspect_photo(blank_image(), PIXELS)
    assert (facts.faces, facts.captured_at, facts.position) == (0, None, None)


def test_southern_and_western_positions_are_negative() -> None:
    photo = face_photo(position=(Decimal("-33.8688"), Decimal("-70.6693")))
    assert inspect_photo(photo, PIXELS).position == GeoPoint(
        Decimal("-33.8688000"), Decimal("-70.6693000")
    )


def test_a_recompressed_copy_keeps_its_hash_and_another_photo_does_not() -> None:
    photo = face_photo()
    value = inspect_photo(photo, PIXELS).perceptual_hash
    copy = inspect_photo(near_duplicate(photo, scale=0.6, quality=40), PIXELS).perceptual_hash
    other = inspect_photo(face_photo(mirrored=True), PIXELS).perceptual_hash
    assert hamming_distance(value, copy) <= 6
    assert hamming_distance(value, other) > 12


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7 not a photo", "is not an image this check can read"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "is not an image this check can read"),
        (sample_face_photo()[:3000], "is a damaged image"),
        (_png(4000, 3000), "more than the 1000000 pixels allowed"),
        # Past Pillow's own limit: refused from the header, never decoded.
        (_png(20000, 10000), "more than the 1000000 pixels allowed"),
    ],
)
def test_a_file_that_is_no_readable_photo_is_refused(content: bytes, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        inspect_photo(content, 1_000_000)
    assert [error.field for error in caught.value.errors] == ["file"]


def test_corrupt_exif_is_read_as_far_as_it_goes() -> None:
    photo = bytearray(face_photo(taken=datetime(2024, 1, 1, 8, 0, tzinfo=UTC)))
    tiff = photo.index(b"Exif\x00\x00") + 6
    order = "little" if photo[tiff : tiff + 2] == b"II" else "big"
    ifd = tiff + int.from_bytes(photo[tiff + 4 : tiff + 8], order)
    photo[ifd : ifd + 2] = (0x7FFF).to_bytes(2, order)  # more entries than the file holds
    facts = inspect_photo(bytes(photo), PIXELS)  # warnings are errors in these tests
    assert (facts.faces, facts.position) == (1, None)
