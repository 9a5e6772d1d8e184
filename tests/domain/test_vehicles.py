from __future__ import annotations

import string
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.identity import Actor
from leasekit.domain.vehicles import Vehicle, VehicleCondition, Vin, vin_check_digit
from leasekit.errors import ValidationError

VIN_CHARS = "".join(c for c in string.digits + string.ascii_uppercase if c not in "IOQ")

# The transliteration table of 49 CFR 565.15 written out as the standard prints it, as an
# oracle independent of the implementation's.
VALUES = {
    **{d: int(d) for d in string.digits},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def reference_check_digit(vin: str) -> str:
    remainder = sum(VALUES[c] * w for c, w in zip(vin, WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


# Real VINs with a correct check digit: the worked example of 49 CFR 565 / Wikipedia (a 1989
# MCI coach, check digit X) and a 2003 Honda Accord widely used as a test VIN.
REAL_VALID = ["1M8GDM9AXKP042788", "1HGCM82633A004352"]


@pytest.mark.parametrize("vin", [*REAL_VALID, "11111111111111111"])
def test_real_vins_pass(vin: str) -> None:
    assert Vin.parse(vin).value == vin
    assert vin_check_digit(vin) == vin[8]


def test_the_worked_example() -> None:
    """1M8GDM9A?KP042788: transliterated and weighted the products sum to 351; 351 mod 11
    is 10, written X."""
    assert vin_check_digit("1M8GDM9A_KP042788".replace("_", "0")) == "X"


def test_a_wrong_check_digit_is_refused_for_north_america() -> None:
    with pytest.raises(ValidationError) as caught:
        Vin.parse("1M8GDM9A1KP042788")
    [error] = caught.value.errors
    assert error.field == "vin"
    assert "should be 'X'" in error.message


def test_a_wrong_check_digit_is_refused_for_china() -> None:
    assert vin_check_digit("LSVAU2180N2183294") == "X"
    assert Vin.parse("LSVAU218XN2183294").check_digit_required
    with pytest.raises(ValidationError, match="check digit is '0' but should be 'X'"):
        Vin.parse("LSVAU2180N2183294")


@pytest.mark.parametrize(
    "vin",
    [
        "WVWZZZ1JZXW000001",  # European VW: position 9 is a filler 'Z', not a check digit
        "WBA3A5C51CF256651",  # a digit in position 9 that does not compute: still accepted
        "JH4KA7561PC008269",  # Japanese domestic make
    ],
)
def test_other_regions_are_not_verified(vin: str) -> None:
    parsed = Vin.parse(vin)
    assert not parsed.check_digit_required
    assert parsed.wmi == vin[:3]


@pytest.mark.parametrize(
    "vin",
    ["1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "1M8GDM9AXKP04278O", "IM8GDM9AXKP042788",
     "1M8GDM9AXKP04278Q", "1M8GDM9AXKP04278-", ""],
)  # fmt: skip
def test_length_and_alphabet_are_enforced(vin: str) -> None:
    with pytest.raises(ValidationError, match=r"vin: .* not 17 characters"):
        Vin.parse(vin)


def test_parse_forgives_case_and_blanks() -> None:
    assert Vin.parse(" 1m8gdm9axkp 042788\n") == Vin("1M8GDM9AXKP042788")
    assert str(Vin.parse("1m8gdm9axkp042788")) == "1M8GDM9AXKP042788"


def test_the_constructor_does_not_forgive() -> None:
    with pytest.raises(ValidationError):
        Vin("1m8gdm9axkp042788")


vins = st.text(alphabet=VIN_CHARS, min_size=17, max_size=17)


@given(vin=vins)
def test_check_digit_agrees_with_the_reference(vin: str) -> None:
    assert vin_check_digit(vin) == reference_check_digit(vin)


@given(first=st.sampled_from("12345L"), rest=st.text(alphabet=VIN_CHARS, min_size=15, max_size=15))
def test_a_computed_check_digit_is_accepted_and_any_other_refused(first: str, rest: str) -> None:
    unchecked = first + rest[:7] + "0" + rest[7:]
    digit = vin_check_digit(unchecked)
    valid = unchecked[:8] + digit + unchecked[9:]
    assert Vin(valid).value == valid
    for wrong in "0123456789X":
        if wrong != digit:
            with pytest.raises(ValidationError):
                Vin(valid[:8] + wrong + valid[9:])


@given(
    first=st.sampled_from([c for c in VIN_CHARS if c not in "12345L"]),
    rest=st.text(alphabet=VIN_CHARS, min_size=16, max_size=16),
)
def test_elsewhere_any_position_nine_is_accepted(first: str, rest: str) -> None:
    assert not Vin(first + rest).check_digit_required


@given(vin=vins, position=st.integers(0, 16).filter(lambda p: p != 8))
def test_a_single_substitution_is_always_caught(vin: str, position: int) -> None:
    """11 is prime and every weight but position 9's is below it and non-zero, so changing
    one character to one of another value always changes the check digit."""
    digit = vin_check_digit(vin)
    for replacement in VIN_CHARS:
        if VALUES[replacement] != VALUES[vin[position]]:
            changed = vin[:position] + replacement + vin[position + 1 :]
            assert vin_check_digit(changed) != digit


def register(actor: Actor, at: datetime, **overrides: object) -> Vehicle:
    values: dict[str, object] = {
        "vin": "1HGCM82633A004352", "make": "Honda", "model": "Accord", "year": 2003,
        "condition": "used",
    }  # fmt: skip
    values.update(overrides)
    return Vehicle.register(actor=actor, at=at, **values)  # type: ignore[arg-type]


def test_register(officer: Actor, at: datetime) -> None:
    vehicle = register(officer, at)
    assert vehicle.vin == Vin("1HGCM82633A004352")
    assert (vehicle.make, vehicle.model, vehicle.year) == ("Honda", "Accord", 2003)
    assert vehicle.condition is VehicleCondition.USED
    assert vehicle.partner_id is None


def test_register_for_a_dealer(dealer: Actor, at: datetime) -> None:
    assert register(dealer, at).partner_id == dealer.partner_id


def test_next_years_model_is_allowed_but_not_later(officer: Actor, at: datetime) -> None:
    assert register(officer, at, year=at.year + 1).year == at.year + 1
    with pytest.raises(ValidationError, match="year: model year must be between 1981"):
        register(officer, at, year=at.year + 2)


@pytest.mark.parametrize("year", [2003.0, True])
def test_a_model_year_is_a_whole_number(officer: Actor, at: datetime, year: object) -> None:
    with pytest.raises(ValidationError, match="year: model year must be between 1981"):
        register(officer, at, year=year)


def test_register_names_every_bad_field(officer: Actor, at: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        register(officer, at, vin="1HGCM82643A004352", make="", model=" ", year=1970,
                 condition="wrecked")  # fmt: skip
    assert [e.field for e in caught.value.errors] == ["vin", "make", "model", "condition", "year"]


def test_rehydration_accepts_a_stored_string(at: datetime) -> None:
    vehicle = Vehicle(
        "v1", "1HGCM82633A004352", "Honda", "Accord", 2003, "used", "registered", None, at
    )
    assert vehicle.vin == Vin("1HGCM82633A004352")
