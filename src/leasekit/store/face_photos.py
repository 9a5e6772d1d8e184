"""Face photos' perceptual hashes, one row per document, and the search for near-duplicates.

A photo reused on another application is found without reading every hash (multi-index
hashing): the 64 bits are cut into four bands of 16 bits, each an indexed column. Two hashes
that differ in at most seven bits differ in at most one bit of some band (pigeonhole), so the
rows whose band holds the photo's band or one of its 16 one-bit neighbours (an indexed ``IN``
per band, ``OR``-ed) hold every near-duplicate; their exact Hamming distance is then counted
in Python. A band value matches about 17 in 65,536 of random hashes, so the candidates are
about one in a thousand of the table, read as two short columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leasekit.domain.face_photos import (
    BAND_COUNT,
    FacePhotoHash,
    band_probes,
    bands,
    hamming_distance,
)
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
    band0: Mapped[int]
    band1: Mapped[int]
    band2: Mapped[int]
    band3: Mapped[int]
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

    def near(self, value: int, distance: int, *, besides_application: str) -> list[str]:
        """The applications, besides *besides_application*, with a photo whose hash is within
        *distance* bits of *value* (at most seven: see the module), in id order."""
        table = self._table
        probed = sa.or_(*(
            table.c[name].in_(probes)
            for name, probes in zip(BAND_COLUMNS, band_probes(value), strict=True)
        ))  # fmt: skip
        statement = sa.select(table.c.application_id, table.c.perceptual_hash).where(
            probed, table.c.application_id != besides_application
        )
        near = {
            row.application_id
            for row in self._session.connection().execute(statement)
            if hamming_distance(int(row.perceptual_hash, 16), value) <= distance
        }
        return sorted(near)
