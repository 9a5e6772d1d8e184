"""Income, regularity, balance trend, largest inflows and months covered, on synthetic
statements."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from leasekit.domain.statement_features import IncomeSource, statement_features
from leasekit.domain.statements import BankStatement, StatementLine
from leasekit.money import Money


def cny(amount: str | Decimal) -> Money:
    return Money(amount, "CNY")


def booking(number: int, day: date, amount: str, name: str, account: str = "") -> StatementLine:
    return StatementLine(f"tx-{number}", day, cny(amount), name, account)


def statement(
    lines: list[StatementLine], start: date, end: date, opening: str = "1000.00"
) -> BankStatement:
    total = sum((line.amount for line in lines), cny(opening))
    return BankStatement("acct", start, end, cny(opening), total, lines)


def salaried() -> BankStatement:
    """Three months: salary on about the 10th (amounts vary a little), a monthly rent out, a
    car sold once, a friend who paid back twice at random."""
    lines = [
        booking(1, date(2024, 1, 10), "12000.00", "Employer Ltd", "6222 0001"),
        booking(2, date(2024, 1, 12), "-4000.00", "Landlord"),
        booking(3, date(2024, 2, 9), "12500.00", "EMPLOYER LTD.", "62220001"),
        booking(4, date(2024, 2, 12), "-4000.00", "Landlord"),
        booking(5, date(2024, 2, 20), "60000.00", "Car Buyer"),
        booking(6, date(2024, 3, 11), "11800.00", "Employer Ltd", "6222 0001"),
        booking(7, date(2024, 3, 12), "-4000.00", "Landlord"),
        booking(8, date(2024, 1, 3), "300.00", "Friend"),
        booking(9, date(2024, 3, 29), "200.00", "friend"),
    ]
    lines.sort(key=lambda line: line.booked_on)
    return statement(lines, date(2024, 1, 1), date(2024, 3, 31))


def test_recurring_salary_is_the_income_and_one_offs_are_not() -> None:
    features = statement_features(salaried())
    assert features.months_covered.value == 3
    assert features.monthly_income.value == cny("12000.00")
    assert features.income_sources.value == (IncomeSource("Employer Ltd", cny("12000.00"), 3, 3),)
    assert "Employer Ltd 12000.00 CNY" in features.monthly_income.explanation
    assert features.income_regularity.value == Decimal("1.00")
    assert "paid 3 time(s) in the 3 calendar month(s)" in features.income_regularity.explanation


def test_largest_inflows_first() -> None:
    features = statement_features(salaried(), largest=2)
    assert [line.amount for line in features.largest_inflows.value] == [
        cny("60000.00"),
        cny("12500.00"),
    ]
    assert "60000.00 CNY from Car Buyer on 2024-02-20" in features.largest_inflows.explanation


def test_the_balance_trend_is_per_thirty_days() -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(0, 90, 10)]
    lines = [booking(n, day, "100.00", "Savings") for n, day in enumerate(days, start=1)]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 3, 21)))
    # 100 every 10 days is 300 every 30 days.
    assert features.balance_trend.value == cny("300.00")
    assert "grows by 300.00 CNY per 30 days" in features.balance_trend.explanation


def test_a_shrinking_balance_has_a_negative_trend() -> None:
    lines = [booking(n, date(2024, 1, n * 5), "-50.00", "Shop") for n in range(1, 6)]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 1, 30)))
    assert features.balance_trend.value.amount < 0
    assert "shrinks" in features.balance_trend.explanation


def test_irregular_or_varying_inflows_are_no_income() -> None:
    weekly = [
        booking(n, date(2024, 1, 1) + timedelta(days=7 * n), "500.00", "Gig App") for n in range(12)
    ]
    varying = [
        booking(20, date(2024, 1, 10), "1000.00", "Client"),
        booking(21, date(2024, 2, 10), "9000.00", "Client"),
        booking(22, date(2024, 3, 10), "1000.00", "Client"),
    ]
    lines = sorted([*weekly, *varying], key=lambda line: line.booked_on)
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 3, 31)))
    assert features.monthly_income.value == cny("0.00")
    assert features.income_sources.value == ()
    assert features.income_regularity.value == Decimal("0.00")
    assert "no inflow recurs" in features.monthly_income.explanation


def test_a_salary_missing_one_month_is_less_regular() -> None:
    lines = [
        booking(1, date(2024, 1, 25), "8000.00", "Employer"),
        booking(2, date(2024, 2, 26), "8000.00", "Employer"),
        booking(3, date(2024, 4, 25), "8000.00", "Employer"),
        booking(4, date(2024, 5, 24), "8000.00", "Employer"),
    ]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 5, 31)))
    assert features.monthly_income.value == cny("8000.00")
    assert features.income_regularity.value == Decimal("0.80")


def test_a_salary_drifting_across_month_ends_is_still_monthly() -> None:
    """Paid on the last working day: 31 January, 1 March (29 February was a Saturday in
    this story), 29 March. February has none and March two; it is still one salary."""
    lines = [
        booking(1, date(2024, 1, 31), "8000.00", "Employer"),
        booking(2, date(2024, 3, 1), "8000.00", "Employer"),
        booking(3, date(2024, 3, 29), "8000.00", "Employer"),
    ]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 3, 31)))
    assert features.monthly_income.value == cny("8000.00")
    assert features.income_sources.value == (IncomeSource("Employer", cny("8000.00"), 2, 3),)
    assert features.income_regularity.value == Decimal("1.00")


def test_a_statement_without_inflows() -> None:
    lines = [booking(1, date(2024, 1, 5), "-10.00", "Shop")]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 1, 31)))
    assert features.largest_inflows.value == ()
    assert features.largest_inflows.explanation == "no money came in"
    assert features.months_covered.value == 1


def test_printed_balances_are_the_trend_s_points() -> None:
    lines = [
        StatementLine("a", date(2024, 1, 10), cny("100.00"), "X", "", balance=cny("1100.00")),
        StatementLine("b", date(2024, 1, 20), cny("100.00"), "X", "", balance=cny("1200.00")),
    ]
    features = statement_features(statement(lines, date(2024, 1, 1), date(2024, 1, 31)))
    assert features.balance_trend.value.amount > 0


@given(
    st.lists(st.decimals("0.01", "100000", places=2), min_size=1, max_size=12),
    st.integers(1, 28),
)
def test_a_steady_monthly_salary_is_always_found(amounts: list[Decimal], day: int) -> None:
    """Any salary paid on the same day each month, within 30 % of its median, is the income."""
    base = amounts[0]
    months = len(amounts)
    lines = [
        booking(n, date(2024 + (n // 12), n % 12 + 1, day), str(base), "Employer")
        for n in range(months)
    ]
    end = date(2024 + ((months - 1) // 12), (months - 1) % 12 + 1, 28)
    features = statement_features(statement(lines, date(2024, 1, 1), end))
    if months >= 2:
        assert features.monthly_income.value == cny(base)
        assert features.income_regularity.value == Decimal("1.00")
    else:
        assert features.monthly_income.value == cny("0.00")
    assert features.months_covered.value == months
    assert all(isinstance(line.amount.amount, Decimal) for line in features.largest_inflows.value)
