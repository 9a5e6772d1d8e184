"""Photos for tests of face checks and face verifiers: the sample face photo with the capture
time and place a test needs, a near-duplicate of a photo, and an image without a face."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from importlib import resources

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

__all__ = ["blank_image", "face_photo", "near_duplicate", "sample_face_photo"]


def sample_face_photo() -> bytes:
    """``leasekit/samples/face-photo.jpg`` as shipped (see :mod:`leasekit.samples`)."""
    return resources.files("leasekit.samples").joinpath("face-photo.jpg").read_bytes()


def face_photo(
    *,
    taken: datetime | None = None,
    position: tuple[Decimal, Decimal] | None = None,
    mirrored: bool = False,
) -> bytes:
    """The sample face as a JPEG whose EXIF says it was *taken* (the offset written when
    *taken* has one) at *position* (latitude, longitude); left out, the EXIF does not say.
    *mirrored* gives another photo of the same face."""
    with Image.open(io.BytesIO(sample_face_photo())) as sample:
        image = sample.convert("RGB")
    if mirrored:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    exif = Image.Exif()
    if taken is not None:
        tags = exif.get_ifd(IFD.Exif)
        tags[Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if taken.tzinfo is not None:
            tags[Base.OffsetTimeOriginal] = taken.isoformat()[-6:]  # +08:00
    if position is not None:
        gps = exif.get_ifd(IFD.GPSInfo)
        tags_of = ((GPS.GPSLatitudeRef, GPS.GPSLatitude, "NS"),
                   (GPS.GPSLongitudeRef, GPS.GPSLongitude, "EW"))  # fmt: skip
        for value, (ref_tag, tag, refs) in zip(position, tags_of, strict=True):
            gps[ref_tag] = refs[value < 0]
            gps[tag] = _dms(abs(value))
    return _jpeg(image, exif=exif)


def _dms(degrees: Decimal) -> tuple[float, float, float]:
    """Decimal degrees as EXIF's degrees, minutes and seconds."""
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    seconds = (degrees - whole - Decimal(minutes) / 60) * 3600
    return float(whole), float(minutes), float(round(seconds, 4))


def near_duplicate(photo: bytes, *, scale: float = 0.8, quality: int = 60) -> bytes:
    """*photo* resized and recompressed, its EXIF dropped: what a photo reused from another
    application looks like after a messaging app has passed it on."""
    with Image.open(io.BytesIO(photo)) as original:
        width, height = original.size
        resized = original.convert("RGB").resize((int(width * scale), int(height * scale)))
    return _jpeg(resized, quality=quality)


def blank_image(colour: tuple[int, int, int] = (128, 160, 96), size: int = 256) -> bytes:
    """A flat colour: a readable image with no face in it, as PNG."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "PNG")
    return out.getvalue()


def _jpeg(image: Image.Image, *, exif: Image.Exif | None = None, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return out.getvalue()
