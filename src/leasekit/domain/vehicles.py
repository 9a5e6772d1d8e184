"""Vehicles and their identification numbers.

A VIN (ISO 3779) is 17 characters from digits and capital letters without ``I``, ``O`` and
``Q`` (too easily read as 1 and 0). Position 9 is a check digit in North America (49 CFR
565.15) and in China (GB 16735), computed from the other sixteen characters by transliterating
letters to numbers, weighting positions and taking the sum modulo 11 (10 is written ``X``).

Elsewhere ISO 3779 does not require a check digit, and European makers commonly put a plant
or model code in position 9, so verifying it would refuse real cars. The rule here is
therefore: the check digit is verified, and must be right, when the world manufacturer
identifier says the car was made for North America (first character ``1``-``5``) or China
(``L``); for every other VIN it is not verified, whatever character position 9 holds.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Final

import attrs

from leasekit.domain.access import ensure_may_create, owner_partner_id
from leasekit.domain.clock import require_utc
from leasekit.domain.identity import Actor, Role, new_id
from leasekit.domain.lifecycle import Stateful, StateMachine, row
from leasekit.domain.validation import Checks, choice, is_whole_number, text
from leasekit.errors import ValidationError

__all__ = [
    "CHECK_DIGIT_REGIONS",
    "VEHICLE_LIFECYCLE",
    "Vehicle",
    "VehicleAction",
    "VehicleCondition",
    "VehicleState",
    "Vin",
    "vin_check_digit",
]

_ALPHABET: Final = re.compile(r"[0-9A-HJ-NPR-Z]{17}")
_TRANSLITERATION: Final = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

CHECK_DIGIT_REGIONS: Final = frozenset("12345L")
"""First characters of VINs whose check digit is mandatory: North America and China."""

_EARLIEST_MODEL_YEAR: Final = 1981
"""The first model year of 17-character VINs (49 CFR 565, effective for 1981 models)."""


def vin_check_digit(vin: str) -> str:
    """The check digit for a 17-character VIN (its own position 9 is ignored)."""
    total = sum(_TRANSLITERATION[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _normalise(value: str) -> str:
    return "".join(value.split()).upper()


@attrs.frozen
class Vin:
    """A vehicle identification number, valid by construction."""

    value: str

    def __attrs_post_init__(self) -> None:
        if not _ALPHABET.fullmatch(self.value):
            raise ValidationError.single(
                "vin",
                f"{self.value!r} is not 17 characters of digits and capital letters "
                "other than I, O and Q",
            )
        if self.check_digit_required and self.value[8] != vin_check_digit(self.value):
            raise ValidationError.single(
                "vin",
                f"check digit is {self.value[8]!r} but should be "
                f"{vin_check_digit(self.value)!r}; the VIN is mistyped",
            )

    @classmethod
    def parse(cls, text: str) -> Vin:
        """A VIN as typed: blanks removed, letters made capital, then validated."""
        return cls(_normalise(text))

    @property
    def wmi(self) -> str:
        """World manufacturer identifier: who made the vehicle, and for which region."""
        return self.value[:3]

    @property
    def check_digit_required(self) -> bool:
        return self.value[0] in CHECK_DIGIT_REGIONS

    def __str__(self) -> str:
        return self.value


def _vin(value: Vin | str) -> Vin:
    return value if isinstance(value, Vin) else Vin.parse(value)


class VehicleCondition(StrEnum):
    NEW = "new"
    USED = "used"


class VehicleState(StrEnum):
    REGISTERED = "registered"
    """The record holds its VIN: no other record may register it (double financing)."""
    RELEASED = "released"
    """The deal is over or never happened; the VIN may be registered again."""


class VehicleAction(StrEnum):
    RELEASE = "release"


VEHICLE_LIFECYCLE: Final = StateMachine(
    "vehicle",
    VehicleState.REGISTERED,
    (
        # The back office decides when a VIN may be financed again, and says why.
        row(VehicleAction.RELEASE, [VehicleState.REGISTERED], VehicleState.RELEASED,
            [Role.OFFICER, Role.MANAGER], "vehicle_released", True),
    ),
    final=frozenset({VehicleState.RELEASED}),
    actions_enum=VehicleAction,
)  # fmt: skip


@attrs.define
class Vehicle(Stateful):
    """A financed vehicle; ``partner_id`` is set when a dealer user registered it."""

    id: str
    vin: Vin = attrs.field(converter=_vin)
    make: str
    model: str
    year: int
    condition: VehicleCondition = attrs.field(converter=VehicleCondition)
    state: VehicleState = attrs.field(converter=VehicleState)
    partner_id: str | None
    created_at: datetime
    version: int = 0

    lifecycle: ClassVar[StateMachine[VehicleState]] = VEHICLE_LIFECYCLE
    event_fields: ClassVar[tuple[str, ...]] = ("vin", "partner_id")

    @classmethod
    def register(
        cls,
        *,
        vin: str,
        make: str,
        model: str,
        year: int,
        condition: VehicleCondition | str,
        actor: Actor,
        at: datetime,
        partner_id: str | None = None,
    ) -> Vehicle:
        """A new vehicle. *year* is the model year, which may run one ahead of the calendar."""
        ensure_may_create(actor, "vehicle")
        owner = owner_partner_id(actor, partner_id)
        created_at = require_utc(at)
        checks = Checks()
        valid_vin = checks.run(lambda: Vin.parse(vin))
        valid_make = checks.run(lambda: text(make, "make"))
        valid_model = checks.run(lambda: text(model, "model"))
        valid_condition = checks.run(lambda: choice(VehicleCondition, condition, "condition"))
        latest = created_at.year + 1
        if not is_whole_number(year) or not _EARLIEST_MODEL_YEAR <= year <= latest:
            checks.add("year", f"model year must be between {_EARLIEST_MODEL_YEAR} and {latest}")
        if (
            valid_vin is None
            or valid_make is None
            or valid_model is None
            or valid_condition is None
            or checks.errors
        ):
            raise checks.error()
        return cls(
            id=new_id(),
            vin=valid_vin,
            make=valid_make,
            model=valid_model,
            year=year,
            condition=valid_condition,
            state=VehicleState.REGISTERED,
            partner_id=owner,
            created_at=created_at,
        )
