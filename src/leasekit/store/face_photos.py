"""Face photos' perceptual hashes, one row per document, and the search for near-duplicates.

A photo reused on another application is found without reading every hash: the 64 bits are
cut into eight bands of eight bits, each an indexed column. Two hashes that differ in at most
seven bits agree exactly on one band at least (pigeonhole), so the rows sharing a band with
the photo (one indexed equality per band, ``OR``-ed) hold every near-duplicate; their exact
Hamming distance is then counted in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.face_photos import BAND_COUNT, FacePhotoHash, bands, hamming_distance
from leasekit.store.repository import Rule, SqlRepository, Stored, repository
from leasekit.store.schema import ID_LENGTH, Base, id_column, reference

__all__ = ["FacePhotoHashRepository", "FacePhotoHashRow"]

BAND_COLUMNS = tuple(f"band{index}" for index in range(BAND_COUNT))


class FacePhotoHashRow(Base):
    """Never updated; ``document_id`` is unique, so a photo is hashed into the table once."""

    __tablename__ = "face_photo_hashes"

    id: Mapped[str] = id_column()
    document_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), sa.ForeignKey("documents.id"), unique=True
    )
    application_id: Mapped[str] = reference("applications")
    customer_id: Mapped[str] = reference("customers")
    partner_id: Mapped[str] = reference("partners", index=False)
    perceptual_hash: Mapped[str] = mapped_column(String(16))
    band0: Mapped[int] = mapped_column(SmallInteger)
    band1: Mapped[int] = mapped_column(SmallInteger)
    band2: Mapped[int] = mapped_column(SmallInteger)
    band3: Mapped[int] = mapped_column(SmallInteger)
    band4: Mapped[int] = mapped_column(SmallInteger)
    band5: Mapped[int] = mapped_column(SmallInteger)
    band6: Mapped[int] = mapped_column(SmallInteger)
    band7: Mapped[int] = mapped_column(SmallInteger)
    recorded_at: Mapped[dt.datetime]

    __table_args__ = tuple(Index(None, column) for column in BAND_COLUMNS)


def _band(index: int) -> Callable[[FacePhotoHash], int]:
    return lambda photo: bands(photo.value)[index]


@repository("face_photo_hashes")
class FacePhotoHashRepository(SqlRepository[FacePhotoHash]):
    stored = Stored.of(
        "face photo hash",
        FacePhotoHashRow,
        FacePhotoHash,
        rules=[
            Rule(
                "uq_face_photo_hashes_document_id",
                ("document_id",),
                "document_id",
                "the photo's hash is recorded already",
            )
        ],
        computed={name: _band(index) for index, name in enumerate(BAND_COLUMNS)},
    )

    def for_document(self, document_id: str) -> FacePhotoHash | None:
        found = self._find(self._table.c.document_id == document_id)
        return found[0] if found else None

    def near(self, value: int, distance: int, *, besides_application: str) -> list[FacePhotoHash]:
        """The hashes of other applications' photos within *distance* bits of *value*
        (at most seven: see the module)."""
        table = self._table
        shares_a_band = sa.or_(
            *(table.c[name] == band for name, band in zip(BAND_COLUMNS, bands(value), strict=True))
        )
        candidates = self._find(shares_a_band, table.c.application_id != besides_application)
        return [photo for photo in candidates if hamming_distance(photo.value, value) <= distance]
