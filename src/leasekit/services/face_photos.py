"""The face-to-face photo's checks, as facts for the pre-approval rules and findings for people.

:func:`face_photo_facts` reads the application's newest face photo (a document of kind
``face_photo`` attached to it), has the context's inspector read the image, and judges it with
:mod:`leasekit.domain.face_photos`: a face is in it, it was taken during the application near
the dealer, it was not used on another application, and the face matches the ID card's (the
newest ``id_card_front`` of the application, else of the customer) by the face verifier. It
records the photo's perceptual hash, once per document, for the applications that come later.

Facts (the rules read them; None when unknown):

=============================  ======================================================
``face_photo_present``         a face photo is attached (bool)
``face_photo_readable``        its image could be read (bool)
``face_detected_count``        faces found (Decimal)
``face_capture_time_plausible``  taken during the application, before its upload (bool)
``face_capture_distance_km``   from the dealer's business address (Decimal)
``face_capture_place_plausible``  within the allowed distance (bool)
``face_photo_reused_count``    other applications with the same or a near-identical photo
``face_match_similarity``      the verifier's similarity with the ID card photo, 0-1
``face_matched``               the verifier calls it the same person (bool)
=============================  ======================================================
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import attrs

from leasekit.domain.applications import Application
from leasekit.domain.documents import Document, DocumentKind, OwnerKind
from leasekit.domain.face_photos import (
    FaceCheck,
    FaceFinding,
    FacePhotoHash,
    GeoPoint,
    PhotoFacts,
    capture_place_finding,
    capture_time_finding,
    face_finding,
    match_finding,
    reuse_finding,
)
from leasekit.domain.identity import Actor
from leasekit.domain.pre_approvals import shown_facts
from leasekit.errors import ConfigurationError, ValidationError
from leasekit.services.calls import ask
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext, back_office_only

__all__ = [
    "FACE_FACTS",
    "FaceCheckReport",
    "FacePhotoCheck",
    "check_face_photo",
    "face_check",
    "face_photo_facts",
]


FACE_VERIFIER: Final = "face_verifier"
FACE_FACTS: Final = (
    "face_photo_present",
    "face_photo_readable",
    "face_detected_count",
    "face_capture_time_plausible",
    "face_capture_distance_km",
    "face_capture_place_plausible",
    "face_photo_reused_count",
    "face_match_similarity",
    "face_matched",
)
"""Every fact :func:`face_photo_facts` gives, each present in its answer."""


@attrs.frozen
class FacePhotoCheck:
    """The facts for the rules, the findings for people, and the parties that did not
    answer."""

    facts: dict[str, Any]
    findings: tuple[FaceFinding, ...] = ()
    unavailable: tuple[str, ...] = ()


@attrs.frozen
class FaceCheckReport:
    """The face photo's checks as back-office staff read them."""

    application_id: str
    facts: dict[str, Any] = attrs.field(converter=shown_facts)
    findings: tuple[FaceFinding, ...]
    unavailable: tuple[str, ...]


def face_check(ctx: ServiceContext, actor: Actor, application_id: str) -> FaceCheckReport:
    """Check an application's face photo.

    Back-office staff only. The checks pre-approval makes, made now: a face in the newest
    face photo, its capture time and place, its reuse on other applications and its match
    with the ID card photo, which asks the face verifier. Each finding has a sentence for
    the officer; ``passed`` is null when a check could not be judged. Nothing is recorded.
    """
    back_office_only(actor, "face_check")
    with ctx.uow_factory() as uow:
        work = Work(ctx, uow, actor, *ctx.moment())
        check = check_face_photo(work, uow.applications.get(application_id), record=False)
    return FaceCheckReport(application_id, check.facts, check.findings, check.unavailable)


def face_photo_facts(work: Work, application: Application) -> tuple[dict[str, Any], list[str]]:
    """The face photo's facts and the parties that did not answer, as pre-approval gathers
    them (see the module)."""
    check = check_face_photo(work, application)
    return check.facts, list(check.unavailable)


def check_face_photo(
    work: Work, application: Application, *, record: bool = True
) -> FacePhotoCheck:
    """Every check of the application's newest face photo (see the module); *record*: keep
    the photo's hash for the applications that come later."""
    facts: dict[str, Any] = dict.fromkeys(FACE_FACTS)
    photo = work.uow.documents.latest_of(
        OwnerKind.APPLICATION, application.id, DocumentKind.FACE_PHOTO
    )
    facts["face_photo_present"] = photo is not None
    if photo is None:
        missing = FaceFinding(FaceCheck.FACE, None, "No face-to-face photo is attached.")
        return FacePhotoCheck(facts, (missing,))
    content = _content(work, photo)
    try:
        inspected = _inspector(work)(content, work.ctx.face_policy.max_pixels)
    except ValidationError as exc:
        facts["face_photo_readable"] = False
        unreadable = FaceFinding(FaceCheck.FACE, False, f"The photo cannot be read: {exc}.")
        return FacePhotoCheck(facts, (unreadable,))
    facts["face_photo_readable"] = True
    unavailable: list[str] = []
    # The verifier is asked before the hash is recorded: no write, so no lock, is held while
    # a vendor answers (on SQLite a write would hold the database's one write lock).
    match = _match(work, facts, application, content, unavailable)
    findings = (
        _face(facts, inspected),
        _capture_time(work, facts, application, photo, inspected),
        _capture_place(work, facts, application, inspected),
        _reuse(work, facts, application, photo, inspected, record=record),
        match,
    )
    return FacePhotoCheck(facts, findings, tuple(unavailable))


def _inspector(work: Work) -> Callable[[bytes, int], PhotoFacts]:
    inspect = work.ctx.inspect_photo
    if inspect is None:
        raise ConfigurationError("no photo inspector is configured; face photos cannot be read")
    return inspect


def _content(work: Work, document: Document) -> bytes:
    return b"".join(work.ctx.adapters.document_store.open(document.storage_key))


def _face(facts: dict[str, Any], inspected: PhotoFacts) -> FaceFinding:
    facts["face_detected_count"] = Decimal(inspected.faces)
    return face_finding(inspected.faces)


def _capture_time(
    work: Work,
    facts: dict[str, Any],
    application: Application,
    photo: Document,
    inspected: PhotoFacts,
) -> FaceFinding:
    finding = capture_time_finding(
        inspected.captured_at,
        application_created_at=application.created_at,
        uploaded_at=photo.uploaded_at,
        policy=work.ctx.face_policy,
    )
    facts["face_capture_time_plausible"] = finding.passed
    return finding


def _dealer_position(work: Work, application: Application) -> GeoPoint | None:
    """Where the dealer trades: its business address's coordinates, else its registered
    address's."""
    profile = work.uow.partners.get(application.partner_id)
    for address in (profile.business_address, profile.registered_address):
        if address is not None and address.position is not None:
            return address.position
    return None


def _capture_place(
    work: Work, facts: dict[str, Any], application: Application, inspected: PhotoFacts
) -> FaceFinding:
    finding, km = capture_place_finding(
        inspected.position, _dealer_position(work, application), work.ctx.face_policy
    )
    facts["face_capture_distance_km"] = km
    facts["face_capture_place_plausible"] = finding.passed
    return finding


def _reuse(
    work: Work,
    facts: dict[str, Any],
    application: Application,
    photo: Document,
    inspected: PhotoFacts,
    *,
    record: bool,
) -> FaceFinding:
    """Other applications with a near-identical photo; the photo's hash recorded once."""
    hashes = work.uow.face_photo_hashes
    near = hashes.near(
        inspected.perceptual_hash,
        work.ctx.face_policy.reuse_distance,
        besides_application=application.id,
    )
    if record and hashes.for_document(photo.id) is None:
        hashes.add(
            FacePhotoHash.of(
                inspected.perceptual_hash,
                document_id=photo.id,
                application_id=application.id,
                customer_id=application.customer_id,
                partner_id=application.partner_id,
                at=work.at,
            )
        )
    others = len(near)
    facts["face_photo_reused_count"] = Decimal(others)
    return reuse_finding(others)


def _id_card(work: Work, application: Application) -> Document | None:
    """The ID card's front: the application's newest, else the customer's."""
    documents = work.uow.documents
    kind = DocumentKind.ID_CARD_FRONT
    return documents.latest_of(OwnerKind.APPLICATION, application.id, kind) or (
        documents.latest_of(OwnerKind.CUSTOMER, application.customer_id, kind)
    )


def _match(
    work: Work,
    facts: dict[str, Any],
    application: Application,
    probe: bytes,
    unavailable: list[str],
) -> FaceFinding:
    card = _id_card(work, application)
    if card is None:
        return match_finding(None, None, reason="No ID card photo is attached to compare with.")
    reference = _content(work, card)
    verifier = work.ctx.adapters.face_verifier
    calls = work.ctx.party_calls
    match = ask(FACE_VERIFIER, lambda: verifier.compare(reference, probe), calls, unavailable)
    if match is None:
        return match_finding(None, None, reason="The face verifier did not answer.")
    facts["face_match_similarity"] = match.similarity
    facts["face_matched"] = match.matched
    return match_finding(match.similarity, match.matched, reason="")
