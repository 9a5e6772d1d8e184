"""The face-to-face photo's checks on SQLite and PostgreSQL: a face is found, the capture time
and place fit the application and the dealer, a photo reused on another application is caught,
and the face verifier's answer (or silence) becomes facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from leasekit.domain.documents import DocumentKind, OwnerKind
from leasekit.domain.face_photos import FaceCheck, FacePhotoHash
from leasekit.domain.identity import Actor
from leasekit.domain.partner_profiles import PostalAddress
from leasekit.domain.partners import Partner
from leasekit.errors import ConfigurationError, PermissionDeniedError
from leasekit.services import applications, documents, face_photos, partners
from leasekit.services.commands import Work
from leasekit.services.context import ServiceContext
from leasekit.services.face_photos import (
    FACE_FACTS,
    FacePhotoCheck,
    check_face_photo,
    face_photo_facts,
)
from leasekit.testing import Fakes
from leasekit.testing.photos import blank_image, face_photo, near_duplicate

from .conftest import register_customer, register_vehicle
from .test_applications import draft_command

SHOWROOM = (Decimal("31.2304"), Decimal("121.4737"))
NEARBY = (Decimal("31.2400"), Decimal("121.4800"))
"""About 1.2 km from the showroom."""
HALF_AN_HOUR_AGO = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)  # the clock says 09:30
CARD = b"\x89PNG\r\n\x1a\n" + b"an ID card scan" * 20


def locate(ctx: ServiceContext, officer: Actor, partner: Partner, at: tuple[Decimal, Decimal]):
    address = PostalAddress(line="88 Century Ave", city="Shanghai", country="CN",
                            latitude=at[0], longitude=at[1])  # fmt: skip
    change = partners.ProfileChange(name=partner.name, business_address=address, reason="mapped")
    partners.revise_partner(ctx, officer, partners.ProfileRevision(partner.id, change))


def application_of(ctx: ServiceContext, dealer: Actor, partner: Partner, id_body: str) -> str:
    customer = register_customer(ctx, dealer, id_body)
    vehicle = register_vehicle(ctx, dealer, {"1": "LSVAU2180N2183294",
                                             "2": "LFV3A23C9K3123457"}[id_body[-1]])  # fmt: skip
    draft = applications.create_draft(ctx, dealer, draft_command(partner, customer, vehicle))
    card = documents.UploadDocument(OwnerKind.CUSTOMER, customer, DocumentKind.ID_CARD_FRONT, "id")
    documents.upload_document(ctx, dealer, card, [CARD])
    return draft.id


def attach(ctx: ServiceContext, dealer: Actor, application_id: str, photo: bytes) -> str:
    upload = documents.UploadDocument(
        OwnerKind.APPLICATION, application_id, DocumentKind.FACE_PHOTO, "signing.jpg"
    )
    return documents.upload_document(ctx, dealer, upload, [photo]).id


def check(ctx: ServiceContext, application_id: str) -> FacePhotoCheck:
    with ctx.uow_factory() as uow:
        work = Work(ctx, uow, Actor.system(), *ctx.moment())
        result = check_face_photo(work, uow.applications.get(application_id))
        uow.commit()
    return result


def sentence(result: FacePhotoCheck, kind: FaceCheck) -> str:
    (finding,) = (f for f in result.findings if f.check is kind)
    return finding.sentence


@pytest.fixture
def located(ctx: ServiceContext, officer: Actor, partner: Partner) -> None:
    locate(ctx, officer, partner, SHOWROOM)


@pytest.fixture
def application_id(ctx: ServiceContext, dealer: Actor, partner: Partner) -> str:
    return application_of(ctx, dealer, partner, "11010519850712001")


@pytest.mark.usefixtures("located")
def test_a_photo_taken_at_signing_passes_every_check(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, application_id: str
) -> None:
    photo = face_photo(taken=HALF_AN_HOUR_AGO, position=NEARBY)
    fakes.face_verifier.set_similarity(photo, "0.93")
    attach(ctx, dealer, application_id, photo)
    result = check(ctx, application_id)
    assert set(result.facts) == set(FACE_FACTS)
    assert result.facts == {
        "face_photo_present": True,
        "face_photo_readable": True,
        "face_detected_count": Decimal(1),
        "face_capture_time_plausible": True,
        "face_capture_distance_km": Decimal("1.22"),
        "face_capture_place_plausible": True,
        "face_photo_reused_count": Decimal(0),
        "face_match_similarity": Decimal("0.93"),
        "face_matched": True,
    }
    assert [f.passed for f in result.findings] == [True] * 5
    assert sentence(result, FaceCheck.CAPTURE_PLACE) == (
        "The photo was taken 1.22 km from the dealer's business address."
    )
    assert result.unavailable == ()


def test_a_reused_face_photo_is_caught(
    ctx: ServiceContext, admin: Actor, dealer: Actor, partner: Partner, application_id: str
) -> None:
    photo = face_photo(taken=HALF_AN_HOUR_AGO, position=NEARBY)
    attach(ctx, dealer, application_id, photo)
    assert check(ctx, application_id).facts["face_photo_reused_count"] == Decimal(0)
    # The same application checked again (a resubmission) is not a reuse of its own photo.
    assert check(ctx, application_id).facts["face_photo_reused_count"] == Decimal(0)
    second = application_of(ctx, dealer, partner, "11010519850712002")
    attach(ctx, dealer, second, near_duplicate(photo))
    result = check(ctx, second)
    assert result.facts["face_photo_reused_count"] == Decimal(1)
    assert sentence(result, FaceCheck.REUSE) == (
        "The same or a near-identical photo was used on 1 other application."
    )
    # Seen from the first application, the second now carries its photo.
    assert check(ctx, application_id).facts["face_photo_reused_count"] == Decimal(1)


def test_another_photo_of_the_same_face_is_no_reuse(
    ctx: ServiceContext, dealer: Actor, partner: Partner, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO))
    second = application_of(ctx, dealer, partner, "11010519850712002")
    attach(ctx, dealer, second, face_photo(taken=HALF_AN_HOUR_AGO, mirrored=True))
    check(ctx, application_id)
    assert check(ctx, second).facts["face_photo_reused_count"] == Decimal(0)


def test_an_image_without_a_face_says_none_was_found(
    ctx: ServiceContext, dealer: Actor, application_id: str
) -> None:
    attach(ctx, dealer, application_id, blank_image())
    result = check(ctx, application_id)
    assert result.facts["face_detected_count"] == Decimal(0)
    assert sentence(result, FaceCheck.FACE) == "No face was found in the photo."
    assert result.facts["face_capture_time_plausible"] is False
    assert sentence(result, FaceCheck.CAPTURE_TIME) == "The photo carries no capture time."


@pytest.mark.parametrize(
    ("taken", "plausible", "says"),
    [
        (HALF_AN_HOUR_AGO - timedelta(hours=71), True, "during the application"),
        (HALF_AN_HOUR_AGO - timedelta(hours=73), False, "more than 72 hours before"),
        (HALF_AN_HOUR_AGO + timedelta(hours=1), False, "after it was uploaded"),
        # 17:15 in Shanghai is 09:15 UTC: the offset the camera wrote counts.
        (datetime(2024, 1, 15, 17, 15, tzinfo=timezone(timedelta(hours=8))), True, "09:15 UTC"),
        # Without an offset the time is the company's (UTC here): 17:15 is after the upload.
        (datetime(2024, 1, 15, 17, 15), False, "after it was uploaded"),
    ],
)
def test_the_capture_time_must_fall_in_the_application(
    ctx: ServiceContext,
    dealer: Actor,
    application_id: str,
    taken: datetime,
    plausible: bool,
    says: str,
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=taken))
    result = check(ctx, application_id)
    assert result.facts["face_capture_time_plausible"] is plausible
    assert says in sentence(result, FaceCheck.CAPTURE_TIME)


@pytest.mark.usefixtures("located")
def test_a_photo_taken_far_from_the_dealer_is_implausible(
    ctx: ServiceContext, dealer: Actor, application_id: str
) -> None:
    beijing = (Decimal("39.9042"), Decimal("116.4074"))
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO, position=beijing))
    result = check(ctx, application_id)
    assert result.facts["face_capture_place_plausible"] is False
    assert Decimal(1060) < result.facts["face_capture_distance_km"] < Decimal(1075)
    assert "farther than the 5 km allowed" in sentence(result, FaceCheck.CAPTURE_PLACE)


def test_the_place_is_unknown_without_gps_or_without_the_dealers_coordinates(
    ctx: ServiceContext, officer: Actor, dealer: Actor, partner: Partner, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO, position=NEARBY))
    result = check(ctx, application_id)
    assert result.facts["face_capture_place_plausible"] is None
    assert "has no coordinates" in sentence(result, FaceCheck.CAPTURE_PLACE)
    locate(ctx, officer, partner, SHOWROOM)
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO))
    result = check(ctx, application_id)
    place = ("face_capture_place_plausible", "face_capture_distance_km")
    assert [result.facts[name] for name in place] == [None, None]
    assert sentence(result, FaceCheck.CAPTURE_PLACE) == "The photo carries no GPS position."


def test_a_verifier_that_does_not_answer_leaves_the_match_unknown(
    ctx: ServiceContext, fakes: Fakes, dealer: Actor, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO))
    fakes.face_verifier.fail_next(2)  # the first attempt and its one retry
    with ctx.uow_factory() as uow:
        work = Work(ctx, uow, Actor.system(), *ctx.moment())
        facts, unavailable = face_photo_facts(work, uow.applications.get(application_id))
    assert unavailable == ["face_verifier"]
    assert (facts["face_match_similarity"], facts["face_matched"]) == (None, None)
    assert facts["face_detected_count"] == Decimal(1)


def test_a_face_unlike_the_id_card_does_not_match(
    ctx: ServiceContext, dealer: Actor, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO))
    result = check(ctx, application_id)
    assert (result.facts["face_match_similarity"], result.facts["face_matched"]) == (
        Decimal("0.10"),
        False,
    )
    assert sentence(result, FaceCheck.MATCH) == (
        "The face does not match the ID card photo (similarity 0.10)."
    )


def test_without_a_photo_only_its_absence_is_known(
    ctx: ServiceContext, fakes: Fakes, application_id: str
) -> None:
    result = check(ctx, application_id)
    assert result.facts == dict.fromkeys(FACE_FACTS) | {"face_photo_present": False}
    assert fakes.face_verifier.comparisons == 0


def test_a_file_that_is_no_readable_image_is_a_finding(
    ctx: ServiceContext, dealer: Actor, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO)[:2000])
    result = check(ctx, application_id)
    assert result.facts["face_photo_present"] is True
    assert result.facts["face_photo_readable"] is False
    assert sentence(result, FaceCheck.FACE).startswith("The photo cannot be read: file: ")


def test_a_context_without_an_inspector_refuses_to_guess(
    ctx: ServiceContext, dealer: Actor, application_id: str
) -> None:
    attach(ctx, dealer, application_id, face_photo(taken=HALF_AN_HOUR_AGO))
    with pytest.raises(ConfigurationError, match="no photo inspector"):
        check(attrs.evolve(ctx, inspect_photo=None), application_id)


def test_back_office_staff_read_the_checks_without_recording_the_hash(
    ctx: ServiceContext, officer: Actor, dealer: Actor, partner: Partner, application_id: str
) -> None:
    photo = face_photo(taken=HALF_AN_HOUR_AGO)
    attach(ctx, dealer, application_id, photo)
    report = face_photos.face_check(ctx, officer, application_id)
    assert report.facts["face_detected_count"] == "1"
    assert [f.check for f in report.findings] == list(FaceCheck)
    with pytest.raises(PermissionDeniedError):
        face_photos.face_check(ctx, dealer, application_id)
    second = application_of(ctx, dealer, partner, "11010519850712002")
    attach(ctx, dealer, second, photo)
    assert check(ctx, second).facts["face_photo_reused_count"] == Decimal(0)


def test_the_band_search_finds_every_hash_within_seven_bits(
    ctx: ServiceContext, dealer: Actor, partner: Partner, application_id: str
) -> None:
    other = application_of(ctx, dealer, partner, "11010519850712002")
    stored = 0x0123_4567_89AB_CDEF
    document = attach(ctx, dealer, other, blank_image())
    seven_apart = stored ^ 0b111 ^ (0b11 << 16) ^ (0b11 << 32)  # 3 + 2 + 2 bits, last band same
    spread = stored ^ (0b1 << 3) ^ (0b11 << 19) ^ (0b11 << 35) ^ (0b11 << 51)  # 7, no band equal
    with ctx.uow_factory() as uow:
        application = uow.applications.get(other)
        photo = FacePhotoHash.of(
            stored,
            document_id=document,
            application_id=other,
            customer_id=application.customer_id,
            partner_id=partner.id,
            at=HALF_AN_HOUR_AGO,
        )
        uow.face_photo_hashes.add(photo)
        hashes = uow.face_photo_hashes
        assert hashes.near(seven_apart, 7, besides_application=application_id) == [other]
        assert hashes.near(spread, 7, besides_application=application_id) == [other]
        assert hashes.near(spread, 6, besides_application=application_id) == []
        assert hashes.near(stored, 7, besides_application=other) == []
