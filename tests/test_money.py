"""Money, Currency, Rounding and to_decimal: exactness first, then named rounding."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from decimal import Decimal

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import given

from leasekit.money import (
    CEILING_TO_UNIT,
    CURRENCIES,
    HALF_EVEN,
    HALF_UP,
    ROUNDINGS,
    Currency,
    CurrencyMismatchError,
    Money,
    Rounding,
    currency,
    to_decimal,
)

USD = currency("USD")
JPY = currency("JPY")
BHD = currency("BHD")

# Amounts whose sums and differences stay within Decimal's default 28 significant digits, the
# range in which Money arithmetic is exact (see test_arithmetic_is_exact_within_28_digits).
amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    places=12,
    allow_nan=False,
    allow_infinity=False,
)
amounts_any_scale = st.integers(min_value=0, max_value=10).flatmap(
    lambda places: st.decimals(
        min_value=Decimal("-1e12"),
        max_value=Decimal("1e12"),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )
)
currencies = st.sampled_from([USD, JPY, BHD])
roundings = st.sampled_from(list(ROUNDINGS.values()))


class TestToDecimal:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (Decimal("1.10"), Decimal("1.10")),
            (7, Decimal(7)),
            (-7, Decimal(-7)),
            ("0.1", Decimal("0.1")),
            (" 12.50 ", Decimal("12.50")),
            ("-0.000000000001", Decimal("-1E-12")),
            (10**30, Decimal(10**30)),
        ],
    )
    def test_exact_inputs_are_kept_exactly(self, value: object, expected: Decimal) -> None:
        result = to_decimal(value)
        assert result == expected
        assert result.as_tuple() == expected.as_tuple()

    @pytest.mark.parametrize("value", [0.1, 1.0, 0.0, -2.5, float("nan")])
    def test_float_is_rejected_naming_the_field(self, value: float) -> None:
        with pytest.raises(TypeError, match=r"^price: float .* is not exact"):
            to_decimal(value, "price")

    def test_float_message_shows_the_exact_spelling_to_use(self) -> None:
        with pytest.raises(TypeError, match=r"pass Decimal\('0\.049'\) or the string '0\.049'"):
            to_decimal(0.049, "rate")

    @pytest.mark.parametrize("value", [True, False])
    def test_bool_is_rejected_although_it_is_an_int(self, value: bool) -> None:
        with pytest.raises(TypeError, match=rf"^term: expected .*, got bool {value}$"):
            to_decimal(value, "term")

    @pytest.mark.parametrize(
        "value", ["NaN", "nan", "sNaN", "inf", "-Infinity", Decimal("NaN"), Decimal("-Infinity")]
    )
    def test_non_finite_values_are_rejected(self, value: object) -> None:
        with pytest.raises(ValueError, match=r"^residual: .* is not a finite number$"):
            to_decimal(value, "residual")

    @pytest.mark.parametrize("value", ["", "  ", "abc", "1,000.00", "12.3.4", "$10", "10 USD"])
    def test_strings_that_are_not_numbers_are_rejected(self, value: str) -> None:
        with pytest.raises(ValueError, match=r"^down: .* is not a decimal number$"):
            to_decimal(value, "down")

    @pytest.mark.parametrize("value", [None, [1], object(), Money("1", "USD")])
    def test_other_types_are_rejected_by_type_name(self, value: object) -> None:
        with pytest.raises(TypeError, match=rf"^value: expected .*, got {type(value).__name__}$"):
            to_decimal(value)


class TestCurrency:
    @pytest.mark.parametrize(
        ("code", "quantum"), [("USD", "0.01"), ("EUR", "0.01"), ("JPY", "1"), ("BHD", "0.001")]
    )
    def test_quantum_is_the_minor_unit(self, code: str, quantum: str) -> None:
        result = currency(code).quantum
        assert result == Decimal(quantum)
        assert result.as_tuple().exponent == Decimal(quantum).as_tuple().exponent

    def test_lookup_ignores_case_and_passes_currencies_through(self) -> None:
        assert currency("usd") is CURRENCIES["USD"]
        assert currency(BHD) is BHD

    def test_unknown_code_lists_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match=r"unknown currency 'XYZ'; known currencies: .*USD"):
            currency("XYZ")

    def test_str_is_the_code(self) -> None:
        assert str(JPY) == "JPY"


class TestMoney:
    def test_decimal_fractions_add_exactly(self) -> None:
        assert Money("0.1", "USD") + Money("0.2", "USD") == Money("0.3", "USD")

    def test_amount_and_currency_are_converted(self) -> None:
        money = Money(5, "usd")
        assert money.amount == Decimal(5)
        assert money.currency is USD

    def test_float_amount_is_rejected_naming_amount(self) -> None:
        with pytest.raises(TypeError, match=r"^amount: float 19\.99 is not exact"):
            Money(19.99, "USD")

    def test_bool_amount_is_rejected(self) -> None:
        with pytest.raises(TypeError, match=r"^amount: .* got bool True$"):
            Money(True, "USD")

    def test_non_finite_amount_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"^amount: 'Infinity' is not a finite number$"):
            Money("Infinity", "USD")

    def test_is_immutable(self) -> None:
        money = Money("1", "USD")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            money.amount = Decimal(2)

    def test_equal_values_with_different_scales_are_equal_and_hash_alike(self) -> None:
        assert Money("1.0", "USD") == Money("1.00", "USD")
        assert len({Money("1.0", "USD"), Money("1.00", "USD")}) == 1

    def test_equality_across_currencies_is_false_not_an_error(self) -> None:
        """``==`` must stay total so Money can live in sets and dict keys; ordering raises."""
        assert Money("1", "USD") != Money("1", "EUR")

    def test_zero(self) -> None:
        assert Money.zero("JPY") == Money("0", "JPY")

    def test_str(self) -> None:
        assert str(Money("1234.50", "USD")) == "1234.50 USD"
        assert str(Money("1.005", "BHD")) == "1.005 BHD"

    @pytest.mark.parametrize(
        ("amount", "expected"), [("10.00", True), ("10.010", True), ("10", True), ("10.001", False)]
    )
    def test_is_quantized(self, amount: str, expected: bool) -> None:
        assert Money(amount, "USD").is_quantized is expected

    def test_is_quantized_follows_the_currency(self) -> None:
        assert Money("1.005", "BHD").is_quantized
        assert not Money("1.5", "JPY").is_quantized


class TestArithmetic:
    def test_subtraction_and_negation(self) -> None:
        assert Money("10.00", "USD") - Money("12.50", "USD") == Money("-2.50", "USD")
        assert -Money("2.50", "USD") == Money("-2.50", "USD")

    @pytest.mark.parametrize(
        ("factor", "expected"),
        [(Decimal("0.065"), "6.50000"), (3, "300.00"), (Decimal("-1"), "-100.00"), (0, "0")],
    )
    def test_multiplication_by_decimal_or_int(self, factor: Decimal | int, expected: str) -> None:
        money = Money("100.00", "USD")
        assert money * factor == Money(expected, "USD")
        assert factor * money == Money(expected, "USD")

    @pytest.mark.parametrize("factor", [1.5, True])
    def test_multiplication_rejects_float_and_bool_naming_factor(self, factor: object) -> None:
        with pytest.raises(TypeError, match=r"^factor: "):
            Money("1", "USD") * factor

    def test_multiplying_two_amounts_is_refused(self) -> None:
        with pytest.raises(TypeError, match=r"^factor: .* got Money$"):
            Money("1", "USD") * Money("2", "USD")

    def test_division_keeps_precision_until_quantized(self) -> None:
        third = Money("100", "USD") / 3
        assert not third.is_quantized
        assert third.quantize(HALF_UP) == Money("33.33", "USD")

    def test_division_rejects_float_naming_divisor(self) -> None:
        with pytest.raises(TypeError, match=r"^divisor: float 2\.0"):
            Money("1", "USD") / 2.0

    def test_division_by_zero_raises(self) -> None:
        with pytest.raises(ZeroDivisionError):
            Money("1", "USD") / 0

    @pytest.mark.parametrize(
        "operation",
        [
            pytest.param(lambda a, b: a + b, id="add"),
            pytest.param(lambda a, b: a - b, id="subtract"),
            pytest.param(lambda a, b: a < b, id="lt"),
            pytest.param(lambda a, b: a <= b, id="le"),
            pytest.param(lambda a, b: a > b, id="gt"),
            pytest.param(lambda a, b: a >= b, id="ge"),
        ],
    )
    def test_currency_mismatch_raises(self, operation: Callable[[Money, Money], object]) -> None:
        with pytest.raises(CurrencyMismatchError, match=r"USD and EUR$"):
            operation(Money("1", "USD"), Money("1", "EUR"))

    def test_currency_mismatch_is_a_value_error(self) -> None:
        assert issubclass(CurrencyMismatchError, ValueError)

    def test_adding_a_plain_number_is_refused(self) -> None:
        with pytest.raises(TypeError, match=r"^cannot add Money and int$"):
            Money("1", "USD") + 1

    def test_ordering_within_one_currency(self) -> None:
        small, large = Money("9.99", "USD"), Money("10", "USD")
        assert small < large
        assert small <= large
        assert large > small
        assert large >= Money("10.00", "USD")
        assert sorted([large, small]) == [small, large]


class TestRounding:
    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            ("0.005", "0.01"),
            ("0.015", "0.02"),
            ("0.025", "0.03"),
            ("2.675", "2.68"),
            ("0.0049999", "0.00"),
            ("-0.005", "-0.01"),
            ("-0.025", "-0.03"),
            ("-2.675", "-2.68"),
        ],
    )
    def test_half_up_sends_ties_away_from_zero(self, amount: str, expected: str) -> None:
        assert Money(amount, "USD").quantize(HALF_UP).amount.as_tuple() == (
            Decimal(expected).as_tuple()
        )

    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            ("0.005", "0.00"),
            ("0.015", "0.02"),
            ("0.025", "0.02"),
            ("0.0250001", "0.03"),
            ("-0.015", "-0.02"),
            ("-0.025", "-0.02"),
        ],
    )
    def test_half_even_sends_ties_to_the_even_cent(self, amount: str, expected: str) -> None:
        assert Money(amount, "USD").quantize(HALF_EVEN) == Money(expected, "USD")

    @pytest.mark.parametrize(
        ("amount", "expected"),
        [
            ("10.00", "10.00"),
            ("10.001", "11.00"),
            ("10.50", "11.00"),
            ("0.001", "1.00"),
            ("-10.50", "-10.00"),
            ("-10.99", "-10.00"),
            ("-11", "-11.00"),
        ],
    )
    def test_ceiling_to_unit_rounds_towards_positive_infinity(
        self, amount: str, expected: str
    ) -> None:
        """Negative amounts move towards zero: -10.50 becomes -10, not -11.

        That is the documented meaning of CEILING_TO_UNIT (``decimal.ROUND_CEILING``). It is
        not symmetric: ``quantize(-x) != -quantize(x)``, so a reversal must negate the rounded
        original, never round the negated raw amount.
        """
        result = Money(amount, "USD").quantize(CEILING_TO_UNIT)
        assert result.amount.as_tuple() == Decimal(expected).as_tuple()

    @pytest.mark.parametrize(
        ("amount", "rounding"),
        [("-0.004", HALF_UP), ("-0.005", HALF_EVEN), ("-0.5", CEILING_TO_UNIT)],
    )
    def test_a_zero_result_is_never_negative(self, amount: str, rounding: Rounding) -> None:
        result = Money(amount, "USD").quantize(rounding)
        assert result.amount.is_zero()
        assert not result.amount.is_signed()
        assert not str(result).startswith("-")

    @pytest.mark.parametrize(
        ("amount", "rounding", "expected"),
        [
            ("100.5", HALF_UP, "101"),
            ("100.5", HALF_EVEN, "100"),
            ("101.5", HALF_EVEN, "102"),
            ("-100.5", HALF_UP, "-101"),
            ("99.4", HALF_UP, "99"),
            ("100.01", CEILING_TO_UNIT, "101"),
        ],
    )
    def test_yen_has_no_minor_unit(self, amount: str, rounding: Rounding, expected: str) -> None:
        result = Money(amount, "JPY").quantize(rounding)
        assert result.amount.as_tuple() == Decimal(expected).as_tuple()
        assert result.is_quantized

    @pytest.mark.parametrize(
        ("amount", "rounding", "expected"),
        [
            ("1.0005", HALF_UP, "1.001"),
            ("1.0005", HALF_EVEN, "1.000"),
            ("1.0015", HALF_EVEN, "1.002"),
            ("-1.0005", HALF_UP, "-1.001"),
            ("1.0001", CEILING_TO_UNIT, "2.000"),
        ],
    )
    def test_dinar_has_three_decimal_places(
        self, amount: str, rounding: Rounding, expected: str
    ) -> None:
        result = Money(amount, "BHD").quantize(rounding)
        assert result.amount.as_tuple() == Decimal(expected).as_tuple()

    def test_registry_is_keyed_by_name(self) -> None:
        assert ROUNDINGS == {
            "half_up": HALF_UP,
            "half_even": HALF_EVEN,
            "ceiling_to_unit": CEILING_TO_UNIT,
        }

    def test_unit_must_be_minor_or_major(self) -> None:
        with pytest.raises(ValueError, match="unit"):
            Rounding("to_tens", decimal.ROUND_HALF_UP, unit="tens")

    def test_rounding_keeps_the_currency(self) -> None:
        assert Money("1.0005", "BHD").quantize(HALF_UP).currency is BHD


class TestProperties:
    @given(a=amounts, b=amounts, cur=currencies)
    def test_arithmetic_is_exact_within_28_digits(
        self, a: Decimal, b: Decimal, cur: Currency
    ) -> None:
        first, second = Money(a, cur), Money(b, cur)
        assert first + second - second == first
        assert (first + second).amount == a + b

    @given(a=amounts, n=st.integers(min_value=-50, max_value=50))
    def test_multiplying_by_an_int_is_repeated_addition(self, a: Decimal, n: int) -> None:
        money = Money(a, "USD")
        total = Money.zero("USD")
        for _ in range(abs(n)):
            total += money
        assert money * n == (total if n >= 0 else -total)

    @given(a=amounts_any_scale, cur=currencies, rounding=roundings)
    def test_quantize_is_idempotent(self, a: Decimal, cur: Currency, rounding: Rounding) -> None:
        once = Money(a, cur).quantize(rounding)
        assert once.is_quantized
        assert once.quantize(rounding) == once

    @given(a=amounts_any_scale, cur=currencies, rounding=st.sampled_from([HALF_UP, HALF_EVEN]))
    def test_half_roundings_move_at_most_half_a_quantum(
        self, a: Decimal, cur: Currency, rounding: Rounding
    ) -> None:
        rounded = Money(a, cur).quantize(rounding).amount
        assert abs(rounded - a) <= cur.quantum / 2

    @given(a=amounts_any_scale, cur=currencies, rounding=st.sampled_from([HALF_UP, HALF_EVEN]))
    def test_half_roundings_are_symmetric_around_zero(
        self, a: Decimal, cur: Currency, rounding: Rounding
    ) -> None:
        assert Money(-a, cur).quantize(rounding) == -Money(a, cur).quantize(rounding)

    @given(a=amounts_any_scale, cur=currencies)
    def test_ceiling_to_unit_never_goes_down_and_stays_within_one_unit(
        self, a: Decimal, cur: Currency
    ) -> None:
        rounded = Money(a, cur).quantize(CEILING_TO_UNIT).amount
        assert a <= rounded < a + 1
        assert rounded == rounded.to_integral_value()

    @given(a=amounts_any_scale, b=amounts_any_scale)
    def test_ordering_agrees_with_the_amounts(self, a: Decimal, b: Decimal) -> None:
        first, second = Money(a, "EUR"), Money(b, "EUR")
        assert (first < second) == (a < b)
        assert (first >= second) == (a >= b)
