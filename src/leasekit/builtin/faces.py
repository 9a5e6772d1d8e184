"""Reading a face photo: faces found, capture time and place (EXIF), perceptual hash.

Pillow decodes the image and reads its EXIF; OpenCV's frontal-face Haar cascade, a file
shipped inside opencv-python-headless (``cv2.data.haarcascades``), finds faces, so nothing is
downloaded at run time; imagehash gives the 64-bit DCT perceptual hash (pHash), which a
resized or recompressed copy of a photo keeps within a few bits.

The libraries are imported on the first photo, not with leasekit: OpenCV alone takes a good
part of a second to load.

Uploads are hostile until decoded: the pixel count is checked from the header before any
decoding (a small file can declare a gigapixel image), and anything Pillow cannot read is a
``ValidationError`` on ``file``, never a crash.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from leasekit.domain.face_photos import GeoPoint, PhotoFacts
from leasekit.errors import ValidationError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["inspect_photo"]

DETECTION_SIDE: Final = 1024
"""Faces are looked for in the photo shrunk to this many pixels on its longer side: a face
at signing fills a good part of the frame, and the cascade's cost grows with the area."""
_CASCADE: Final = "haarcascade_frontalface_default.xml"
_EXIF_TIME: Final = "%Y:%m:%d %H:%M:%S"
_WARNINGS: Final = threading.Lock()


def inspect_photo(content: bytes, max_pixels: int) -> PhotoFacts:
    """What :mod:`leasekit.domain.face_photos` judges, read from the image *content* of at
    most *max_pixels* pixels."""
    import imagehash

    image = _opened(content, max_pixels)
    captured_at, position = _exif_facts(image)
    upright = _decoded(image)
    return PhotoFacts(
        faces=_count_faces(upright),
        perceptual_hash=int(str(imagehash.phash(upright)), 16),
        captured_at=captured_at,
        position=position,
    )


def _opened(content: bytes, max_pixels: int) -> Image.Image:
    """The image, its header read and its size checked, nothing decoded yet."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _quietly():
            image = Image.open(io.BytesIO(content))
    except Image.DecompressionBombError:
        raise _too_large(max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError.single("file", "is not an image this check can read") from None
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large(max_pixels)
    return image


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Pillow's warnings silenced: of corrupt EXIF (whose bad tags it skips) and of a
    decompression bomb (which :func:`_opened` refuses by its own, lower limit). The filters
    are global, so one thread at a time changes them."""
    from PIL import Image

    with _WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def _too_large(max_pixels: int) -> ValidationError:
    return ValidationError.single("file", f"has more than the {max_pixels} pixels allowed")


def _decoded(image: Image.Image) -> Image.Image:
    """The pixels in grey, turned upright as the EXIF orientation says, shrunk for detection
    (a JPEG decodes straight at the smaller size)."""
    from PIL import ImageOps

    try:
        with _quietly():
            image.draft("L", (DETECTION_SIDE, DETECTION_SIDE))
            grey = ImageOps.exif_transpose(image).convert("L")
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError.single("file", f"is a damaged image ({type(exc).__name__})") from None
    grey.thumbnail((DETECTION_SIDE, DETECTION_SIDE))
    return grey


@functools.cache
def _cascade() -> Any:
    import cv2
    from cv2.data import haarcascades

    cascade = cv2.CascadeClassifier(haarcascades + _CASCADE)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {_CASCADE} could not be loaded")
    return cascade


def _count_faces(grey: Image.Image) -> int:
    import cv2
    import numpy as np

    pixels = cv2.equalizeHist(np.asarray(grey, dtype=np.uint8))
    smallest = max(30, min(grey.size) // 8)
    faces = _cascade().detectMultiScale(
        pixels, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    return len(faces)


def _exif_facts(image: Image.Image) -> tuple[datetime | None, GeoPoint | None]:
    """The capture time and place, as far as Pillow can read the EXIF (it skips the tags it
    finds corrupt); EXIF it cannot read at all says neither."""
    try:
        with _quietly():
            exif = image.getexif()
            return _capture_time(exif), _position(exif)
    except (OSError, ValueError, KeyError, TypeError, SyntaxError):
        return None, None


def _capture_time(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (when the shutter fired), with its offset when the camera wrote one;
    a missing or malformed value is None."""
    from PIL.ExifTags import IFD, Base

    tags = exif.get_ifd(IFD.Exif)
    written = tags.get(Base.DateTimeOriginal)
    try:
        taken = datetime.strptime(str(written).strip("\x00 "), _EXIF_TIME)
    except ValueError:
        return None
    offset = _offset(tags.get(Base.OffsetTimeOriginal))
    return taken if offset is None else taken.replace(tzinfo=offset)


def _offset(written: object) -> timezone | None:
    """An EXIF offset (``+08:00``) as a time zone; anything else is None."""
    text = str(written or "").strip("\x00 ")
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if text[0] == "-" else delta)
    except ValueError:
        return None


def _position(exif: Image.Exif) -> GeoPoint | None:
    """The GPS position in decimal degrees; a missing or malformed one is None."""
    from PIL.ExifTags import GPS, IFD

    gps = exif.get_ifd(IFD.GPSInfo)
    try:
        latitude = _degrees(gps[GPS.GPSLatitude], gps[GPS.GPSLatitudeRef], "S")
        longitude = _degrees(gps[GPS.GPSLongitude], gps[GPS.GPSLongitudeRef], "W")
        return GeoPoint(latitude, longitude)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, InvalidOperation):
        return None


def _degrees(dms: Any, ref: object, negative: str) -> Decimal:
    """Degrees, minutes and seconds (EXIF rationals) as signed decimal degrees, to about a
    centimetre."""
    degrees, minutes, seconds = (Decimal(str(float(part))) for part in dms)
    value = (degrees + minutes / 60 + seconds / 3600).quantize(Decimal("0.0000001"))
    return -value if str(ref).strip("\x00 ").upper() == negative else value
