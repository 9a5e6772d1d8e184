"""A partner's credit limit: figures that always add up, takes refused beyond the available
amount with every number, references that give back no more than they took, and limit
changes approved by someone else with the authority the policy sets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from leasekit.domain.credit_limits import (
    DEFAULT_LIMIT_BANDS,
    CreditLimit,
    LimitExceededError,
    LimitMovement,
    LimitMovementKind,
    LimitPolicy,
    LimitRequest,
    LimitRequestKind,
    LimitRequestState,
    Outstanding,
    increase_of,
)
from leasekit.domain.identity import Actor, Role
from leasekit.domain.partners import PartnerRating
from leasekit.errors import PermissionDeniedError, ValidationError
from leasekit.money import Money

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
FINANCE = Actor("finance-1", Role.FINANCE)
OFFICER = Actor("officer-1", Role.OFFICER)
MANAGER = Actor("manager-1", Role.MANAGER)
DIRECTOR = Actor("director-1", Role.DIRECTOR)


def cny(amount: str | int) -> Money:
    return Money(Decimal(amount), "CNY")


def account(total: str = "500000.00") -> CreditLimit:
    return CreditLimit.open("partner-1", cny(total), AT)


class Book:
    """An account and its movements, moved as the services do."""

    def __init__(self, limit: CreditLimit) -> None:
        self.limit = limit
        self.movements: list[LimitMovement] = []

    def move(self, kind: str, reference: str, amount: str, on: date = DAY) -> LimitMovement:
        mine = [m for m in self.movements if m.reference == reference]
        outstanding = Outstanding.of(mine, cny(0))
        movement = self.limit.move(
            LimitMovementKind(kind), reference, cny(amount), outstanding,
            actor=FINANCE, at=AT, business_date=on,
        )  # fmt: skip
        self.movements.append(movement)
        return movement


@pytest.mark.parametrize("amount", ["-1.00", "1.005"])
def test_a_partner_is_onboarded_with_a_limit_in_whole_cents_not_below_zero(amount: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CreditLimit.open("partner-1", cny(amount), AT)
    assert [error.field for error in refused.value.errors] == ["credit_limit"]


def test_a_take_uses_the_limit_and_the_figures_add_up() -> None:
    book = Book(account())
    book.move("take", "contract:1", "120000.00")
    position = book.limit.position(DAY)
    assert (position.used, position.frozen, position.available) == (
        cny("120000.00"), cny(0), cny("380000.00"),
    )  # fmt: skip
    assert position.used + position.frozen + position.available == position.limit


def test_a_take_beyond_the_available_amount_is_refused_with_every_figure() -> None:
    book = Book(account())
    book.move("take", "contract:1", "450000.00")
    with pytest.raises(LimitExceededError) as refused:
        book.move("take", "contract:2", "50000.01")
    message = str(refused.value)
    for figure in ("50,000.01", "limit 500,000.00", "used 450,000.00", "available 50,000.00"):
        assert figure in message
    assert book.limit.used == cny("450000.00")


def test_the_last_cent_can_be_taken() -> None:
    book = Book(account())
    book.move("take", "contract:1", "500000.00")
    assert book.limit.position(DAY).available == cny(0)


def test_a_take_consumes_what_its_reference_froze_first() -> None:
    book = Book(account("100000.00"))
    book.move("freeze", "application:7", "80000.00")
    movement = book.move("take", "application:7", "90000.00")
    assert (movement.used_change, movement.frozen_change) == (cny("90000.00"), cny("-80000.00"))
    assert (book.limit.used, book.limit.frozen) == (cny("90000.00"), cny(0))


def test_a_frozen_amount_counts_against_other_takes() -> None:
    book = Book(account("100000.00"))
    book.move("freeze", "application:7", "80000.00")
    with pytest.raises(LimitExceededError):
        book.move("take", "contract:9", "20000.01")


def test_a_release_gives_back_no_more_than_its_reference_took() -> None:
    book = Book(account())
    book.move("take", "contract:1", "1000.00")
    book.move("take", "contract:2", "5000.00")
    with pytest.raises(ValidationError) as refused:
        book.move("release", "contract:1", "1000.01")
    assert refused.value.errors[0].field == "amount"
    book.move("release", "contract:1", "400.00")
    book.move("release", "contract:1", "600.00")
    assert book.limit.used == cny("5000.00")


def test_an_unfreeze_gives_back_no_more_than_its_reference_froze() -> None:
    book = Book(account())
    book.move("freeze", "application:1", "300.00")
    with pytest.raises(ValidationError):
        book.move("unfreeze", "application:1", "300.01")


@pytest.mark.parametrize(
    ("kind", "reference", "amount", "field"),
    [
        ("borrow", "contract:1", "1.00", "kind"),
        ("take", "", "1.00", "reference"),
        ("take", "x" * 101, "1.00", "reference"),
        ("take", "contract:\x00", "1.00", "reference"),
        ("take", "contract:1", "0", "amount"),
        ("take", "contract:1", "-5.00", "amount"),
        ("take", "contract:1", "0.001", "amount"),
    ],
)
def test_a_bad_movement_names_its_field_and_changes_nothing(
    kind: str, reference: str, amount: str, field: str
) -> None:
    limit = account()
    with pytest.raises(ValidationError) as refused:
        limit.move(kind, reference, cny(amount), Outstanding(cny(0), cny(0)),  # type: ignore[arg-type]
                   actor=FINANCE, at=AT, business_date=DAY)  # fmt: skip
    assert field in {error.field for error in refused.value.errors}
    assert (limit.used, limit.frozen, limit.version) == (cny(0), cny(0), 0)


def test_only_the_roles_that_move_money_move_a_limit() -> None:
    with pytest.raises(PermissionDeniedError):
        account().move(LimitMovementKind.TAKE, "contract:1", cny(1), Outstanding(cny(0), cny(0)),
                       actor=OFFICER, at=AT, business_date=DAY)  # fmt: skip


def test_a_temporary_addition_is_in_force_through_its_date_only() -> None:
    limit = account("100000.00")
    limit.set_temporary(cny("50000.00"), DAY + timedelta(days=30), AT)
    assert limit.limit(DAY + timedelta(days=30)) == cny("150000.00")
    assert limit.limit(DAY + timedelta(days=31)) == cny("100000.00")


def test_after_a_temporary_addition_expires_the_partner_is_over_its_limit() -> None:
    limit = account("100000.00")
    limit.set_temporary(cny("50000.00"), DAY, AT)
    book = Book(limit)
    book.move("take", "contract:1", "140000.00")
    later = limit.position(DAY + timedelta(days=1))
    assert later.available == cny("-40000.00")
    assert later.used + later.frozen + later.available == later.limit
    with pytest.raises(LimitExceededError):
        book.move("take", "contract:2", "0.01", on=DAY + timedelta(days=1))
    book.move("release", "contract:1", "1000.00", on=DAY + timedelta(days=1))


# --- limit requests ---------------------------------------------------------------------------


def request(kind: str = "standing", amount: str = "800000.00", **changes: object) -> LimitRequest:
    options: dict[str, object] = {
        "account": account(), "kind": kind, "amount": cny(amount), "reason": "more volume",
        "actor": OFFICER, "at": AT, "business_date": DAY,
    } | changes  # fmt: skip
    return LimitRequest.new(**options)  # type: ignore[arg-type]


def test_a_request_records_how_much_it_raises_the_limit() -> None:
    assert request(amount="800000.00").increase == cny("300000.00")
    assert request(amount="200000.00").increase == cny(0)
    temporary = request("temporary", "100000.00", until=DAY + timedelta(days=10))
    assert temporary.increase == cny("100000.00")


def test_a_new_standing_total_keeps_the_temporary_addition_in_force() -> None:
    limit = account("100000.00")
    limit.set_temporary(cny("50000.00"), DAY, AT)
    assert increase_of(limit, LimitRequestKind.STANDING, cny("120000.00"), DAY) == cny("20000.00")
    assert increase_of(limit, LimitRequestKind.TEMPORARY, cny("80000.00"), DAY) == cny("30000.00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "temporary", "amount": "100.00"}, "until"),
        ({"kind": "temporary", "amount": "100.00", "until": DAY - timedelta(days=1)}, "until"),
        ({"kind": "temporary", "amount": "0"}, "amount"),
        ({"kind": "standing", "until": DAY}, "until"),
        ({"amount": "-1.00"}, "amount"),
        ({"reason": " "}, "reason"),
        ({"kind": "forever"}, "kind"),
    ],
)
def test_a_bad_request_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        request(**changes)  # type: ignore[arg-type]
    assert field in {error.field for error in refused.value.errors}


def test_nobody_decides_their_own_request() -> None:
    own = request(actor=MANAGER)
    with pytest.raises(PermissionDeniedError, match="another person"):
        own.apply("approve", MANAGER, at=AT, business_date=DAY)
    own.apply("approve", DIRECTOR, at=AT, business_date=DAY)
    assert (own.state, own.decided_by) == (LimitRequestState.APPROVED, DIRECTOR.user_id)


def test_only_the_requester_cancels() -> None:
    change = request()
    with pytest.raises(PermissionDeniedError):
        change.apply("cancel", MANAGER, at=AT, business_date=DAY)
    change.apply("cancel", OFFICER, at=AT, business_date=DAY)
    assert change.state is LimitRequestState.CANCELLED


def test_an_officer_may_not_approve_and_a_rejection_needs_a_reason() -> None:
    with pytest.raises(PermissionDeniedError):
        request().apply("approve", Actor("officer-2", Role.OFFICER), at=AT, business_date=DAY)
    with pytest.raises(ValidationError):
        request().apply("reject", MANAGER, at=AT, business_date=DAY)


def test_an_approved_request_changes_the_account() -> None:
    limit = account()
    change = request("temporary", "100000.00", until=DAY + timedelta(days=5))
    change.apply_to(limit, AT)
    assert limit.limit(DAY) == cny("600000.00")
    request(amount="700000.00").apply_to(limit, AT)
    assert limit.limit(DAY) == cny("800000.00")


def test_the_policy_puts_large_increases_to_a_director() -> None:
    policy = LimitPolicy(Decimal("1000000"))
    low = cny("2000000.00")
    assert Role.MANAGER in policy.approver_roles(cny("1000000.00"), low, PartnerRating.A)
    assert policy.approver_roles(cny("1000000.01"), low, PartnerRating.A) == {Role.DIRECTOR}


def test_the_grade_sets_the_band_a_manager_may_approve_up_to() -> None:
    policy = LimitPolicy(Decimal("1000000"), {**DEFAULT_LIMIT_BANDS, PartnerRating.C: Decimal(3)})
    step = cny("1.00")
    assert Role.MANAGER in policy.approver_roles(step, cny("3.00"), PartnerRating.C)
    assert policy.approver_roles(step, cny("3.01"), PartnerRating.C) == {Role.DIRECTOR}
    assert Role.MANAGER in policy.approver_roles(step, cny("3.01"), PartnerRating.B)
    # Cutting a limit that is above its band is no increase: a manager may.
    assert Role.MANAGER in policy.approver_roles(cny("0.00"), cny("9.00"), PartnerRating.C)
    # An unrated partner has D's band.
    assert policy.band(None) == DEFAULT_LIMIT_BANDS[PartnerRating.D]


# --- any sequence of moves ---------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400000"), places=2)
references = st.sampled_from([f"ref:{n}" for n in range(4)])


class LimitAccounting(RuleBasedStateMachine):
    """Takes, releases, freezes, unfreezes, temporary limits, expiries and standing changes
    in any order: the figures always add up, each reference holds what its movements say,
    and nothing is taken beyond what was available."""

    def __init__(self) -> None:
        super().__init__()
        self.book = Book(account("300000.00"))
        self.day = DAY

    def _try(self, kind: str, reference: str, amount: Decimal) -> None:
        before = self.book.limit.position(self.day)
        try:
            self.book.move(kind, reference, str(amount), on=self.day)
        except LimitExceededError:
            assert kind in ("take", "freeze")
            assert self.book.limit.position(self.day) == before
        except ValidationError:
            assert kind in ("release", "unfreeze")
            assert self.book.limit.position(self.day) == before
        else:
            if kind in ("take", "freeze"):
                assert self.book.limit.position(self.day).available.amount >= 0

    @rule(kind=st.sampled_from(["take", "release", "freeze", "unfreeze"]), reference=references,
          amount=amounts)  # fmt: skip
    def move(self, kind: str, reference: str, amount: Decimal) -> None:
        self._try(kind, reference, amount)

    @rule(amount=amounts, days=st.integers(min_value=0, max_value=5))
    def temporary_limit(self, amount: Decimal, days: int) -> None:
        self.book.limit.set_temporary(cny(str(amount)), self.day + timedelta(days=days), AT)

    @rule(amount=st.decimals(min_value=0, max_value=Decimal("600000"), places=2))
    def standing_change(self, amount: Decimal) -> None:
        self.book.limit.set_total(cny(str(amount)), AT)

    @rule(days=st.integers(min_value=1, max_value=3))
    def time_passes(self, days: int) -> None:
        self.day += timedelta(days=days)

    @precondition(lambda self: self.book.movements)
    @rule()
    def release_everything(self) -> None:
        for reference in {m.reference for m in self.book.movements}:
            held = Outstanding.of(
                [m for m in self.book.movements if m.reference == reference], cny(0)
            )
            if held.used.amount:
                self.book.move("release", reference, str(held.used.amount), on=self.day)
            if held.frozen.amount:
                self.book.move("unfreeze", reference, str(held.frozen.amount), on=self.day)
        assert (self.book.limit.used, self.book.limit.frozen) == (cny(0), cny(0))

    @invariant()
    def figures_add_up(self) -> None:
        position = self.book.limit.position(self.day)
        assert position.used + position.frozen + position.available == position.limit
        assert position.used.amount >= 0
        assert position.frozen.amount >= 0

    @invariant()
    def the_account_is_the_sum_of_its_movements(self) -> None:
        total = Outstanding.of(self.book.movements, cny(0))
        assert (total.used, total.frozen) == (self.book.limit.used, self.book.limit.frozen)
        for reference in {m.reference for m in self.book.movements}:
            held = Outstanding.of(
                [m for m in self.book.movements if m.reference == reference], cny(0)
            )
            assert held.used.amount >= 0
            assert held.frozen.amount >= 0


LimitAccounting.TestCase.settings = settings(max_examples=150, stateful_step_count=30,
                                             deadline=None)  # fmt: skip
test_limit_accounting = LimitAccounting.TestCase
